//! The rules of employment through the API: a broken rule is
//! FAILED_PRECONDITION with a sentence a person understands and writes no
//! event; an unknown employee or manager is NOT_FOUND.

use chrono::{NaiveDate, Utc};
use tenure_proto::tenure::employees::v1 as proto;
use tonic::{Code, Response, Status};
use uuid::Uuid;

use crate::helpers::{
    TestService, days_from_today, expect_code, hire_request, permanent, request_for,
    violated_fields,
};

use proto::SeparationType::{Involuntary, Voluntary};

/// Asserts the command was refused for a broken rule; returns the sentence.
#[track_caller]
fn refused<T: std::fmt::Debug>(result: Result<Response<T>, Status>) -> String {
    expect_code(result, Code::FailedPrecondition)
        .message()
        .to_owned()
}

fn days_between(from: &str, to: NaiveDate) -> i64 {
    let from = NaiveDate::parse_from_str(from, "%Y-%m-%d").unwrap();
    (to - from).num_days() + 1
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn nothing_but_a_rehire_changes_a_left_employee() {
    let mut service = TestService::start().await;
    let ada = service.hire("Ada", "ada@example.com", "2024-01-08").await;
    let grace = service
        .hire("Grace", "grace@example.com", "2024-01-08")
        .await;
    service.leave(&ada, Voluntary, "2025-01-31").await;
    let events = service.event_count().await;
    let id = || ada.clone();
    let client = &mut service.client.clone();

    let mut sentences = vec![
        refused(
            client
                .change_personal_details(service.request(proto::ChangePersonalDetailsRequest {
                    employee_id: id(),
                    given_name: Some("Augusta".into()),
                    ..Default::default()
                }))
                .await,
        ),
        refused(
            client
                .change_contract(service.request(proto::ChangeContractRequest {
                    employee_id: id(),
                    change_kind: proto::ContractChangeKind::ChangeHours as i32,
                    contract: Some(proto::Contract {
                        hours_per_week: 20.0,
                        ..permanent("2024-01-08")
                    }),
                    effective_date: "2025-01-15".into(),
                    ..Default::default()
                }))
                .await,
        ),
        refused(
            client
                .change_role(service.request(proto::ChangeRoleRequest {
                    employee_id: id(),
                    role_title: "Lead".into(),
                    department: "Engineering".into(),
                    effective_date: "2025-01-15".into(),
                    ..Default::default()
                }))
                .await,
        ),
        refused(service.assign_manager(&ada, Some(&grace)).await),
        refused(
            client
                .record_work_agreement(service.request(proto::RecordWorkAgreementRequest {
                    employee_id: id(),
                    agreement: Some(proto::WorkAgreement {
                        office_days: vec![proto::Weekday::Monday as i32],
                        agreed_on: "2025-01-10".into(),
                        ..Default::default()
                    }),
                    ..Default::default()
                }))
                .await,
        ),
        refused(
            client
                .set_interests(service.request(proto::SetInterestsRequest {
                    employee_id: id(),
                    tags: vec!["chess".into()],
                    ..Default::default()
                }))
                .await,
        ),
        refused(
            client
                .announce_departure(service.request(proto::AnnounceDepartureRequest {
                    employee_id: id(),
                    separation_type: Involuntary as i32,
                    reason_code: "misconduct".into(),
                    last_working_day: days_from_today(10),
                    ..Default::default()
                }))
                .await,
        ),
        refused(
            client
                .withdraw_departure(service.request(proto::WithdrawDepartureRequest {
                    employee_id: id(),
                    reason: "changed her mind".into(),
                    ..Default::default()
                }))
                .await,
        ),
        refused(
            client
                .end_employment(service.request(proto::EndEmploymentRequest {
                    employee_id: id(),
                    ended_on: "2025-02-28".into(),
                    reason: "again".into(),
                    ..Default::default()
                }))
                .await,
        ),
    ];
    sentences.dedup();
    assert_eq!(
        sentences,
        ["Ada Tester has left; only a rehire can change a former employee"]
    );
    assert_eq!(service.event_count().await, events, "nothing written");

    service.rehire(&ada, "2025-06-02").await;
    let employee = service.employee(&ada).await;
    assert_eq!(employee.status, proto::EmployeeStatus::Active as i32);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_manager_is_an_active_employee_of_the_same_organisation() {
    let mut service = TestService::start().await;
    let ada = service.hire("Ada", "ada@example.com", "2024-01-08").await;
    let lea = service.hire("Lea", "lea@example.com", "2024-01-08").await;
    service.leave(&lea, Voluntary, "2025-01-31").await;
    let other_tenant = Uuid::now_v7();
    let outsider = service
        .client
        .hire_employee(request_for(
            other_tenant,
            hire_request("Olga", "olga@example.com", "2024-01-08"),
        ))
        .await
        .unwrap()
        .into_inner()
        .employee_id;
    let events = service.event_count().await;

    // Unknown to this organisation: NOT_FOUND, whether no one or someone elsewhere.
    for manager in [Uuid::now_v7().to_string(), outsider.clone()] {
        let status = expect_code(
            service.assign_manager(&ada, Some(&manager)).await,
            Code::NotFound,
        );
        assert!(status.message().contains(&manager), "{}", status.message());
        let request = service.request(proto::HireEmployeeRequest {
            manager_id: Some(manager.clone()),
            ..hire_request("Bea", "bea@example.com", "2025-01-06")
        });
        expect_code(service.client.hire_employee(request).await, Code::NotFound);
    }

    // A former employee manages no one.
    let sentence = refused(service.assign_manager(&ada, Some(&lea)).await);
    assert_eq!(
        sentence,
        format!("the manager {lea} is not an active employee")
    );
    let request = service.request(proto::HireEmployeeRequest {
        manager_id: Some(lea.clone()),
        ..hire_request("Bea", "bea@example.com", "2025-01-06")
    });
    refused(service.client.hire_employee(request).await);
    assert_eq!(service.event_count().await, events, "nothing written");
    assert_eq!(service.employee(&ada).await.manager_id, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn no_one_manages_themselves_and_no_management_cycle_forms() {
    let mut service = TestService::start().await;
    let a = service.hire("Ann", "ann@example.com", "2024-01-08").await;
    let b = service.hire("Ben", "ben@example.com", "2024-01-08").await;
    let c = service.hire("Cat", "cat@example.com", "2024-01-08").await;
    // Ann reports to Ben, Ben to Cat.
    service.assign_manager(&a, Some(&b)).await.unwrap();
    service.assign_manager(&b, Some(&c)).await.unwrap();
    let events = service.event_count().await;

    let sentence = refused(service.assign_manager(&c, Some(&a)).await);
    assert_eq!(
        sentence,
        format!(
            "Cat Tester cannot report to {a}: that manager already reports to Cat Tester, directly or indirectly"
        )
    );
    refused(service.assign_manager(&c, Some(&b)).await);
    let sentence = refused(service.assign_manager(&a, Some(&a)).await);
    assert_eq!(sentence, "Ann Tester cannot be their own manager");
    assert_eq!(service.event_count().await, events, "nothing written");
    assert_eq!(service.employee(&c).await.manager_id, None);

    // Ann can report to Cat directly: no cycle.
    service.assign_manager(&a, Some(&c)).await.unwrap();
    assert_eq!(service.employee(&a).await.manager_id, Some(c.clone()));
}

#[tokio::test]
async fn a_last_working_day_before_today_needs_a_backdate_reason() {
    let mut service = TestService::start().await;
    let ada = service.hire("Ada", "ada@example.com", "2024-01-08").await;
    let last_day = days_from_today(-5);
    let tenant = service.tenant;
    let announce = |backdate_reason: Option<&str>, last_working_day: &str| {
        request_for(
            tenant,
            proto::AnnounceDepartureRequest {
                employee_id: ada.clone(),
                separation_type: Involuntary as i32,
                reason_code: "redundancy".into(),
                last_working_day: last_working_day.into(),
                backdate_reason: backdate_reason.map(Into::into),
                ..Default::default()
            },
        )
    };

    let client = &mut service.client.clone();
    let sentence = refused(client.announce_departure(announce(None, &last_day)).await);
    assert_eq!(
        sentence,
        format!(
            "the last working day {last_day} is before today ({}); give a backdate reason to record it",
            days_from_today(0)
        )
    );
    // Never before the employment started, reason or not.
    let sentence = refused(
        client
            .announce_departure(announce(Some("late"), "2023-12-31"))
            .await,
    );
    assert!(sentence.contains("before Ada Tester's current employment started on 2024-01-08"));
    assert_eq!(service.event_count().await, 1, "nothing written");

    let reason = "the dismissal letter was sent on time, entered late";
    client
        .announce_departure(announce(Some(reason), &last_day))
        .await
        .expect("a backdated departure with a reason");
    let employee = service.employee(&ada).await;
    assert_eq!(employee.status, proto::EmployeeStatus::Leaving as i32);
    let departure = employee.departure.unwrap();
    assert_eq!(departure.last_working_day, last_day);
    assert_eq!(departure.announced_on, days_from_today(0));
    assert_eq!(departure.backdate_reason.as_deref(), Some(reason));
}

#[tokio::test]
async fn only_a_voluntary_departure_is_regrettable() {
    let mut service = TestService::start().await;
    let ada = service.hire("Ada", "ada@example.com", "2024-01-08").await;
    let tenant = service.tenant;
    let announce = |separation_type: proto::SeparationType| {
        request_for(
            tenant,
            proto::AnnounceDepartureRequest {
                employee_id: ada.clone(),
                separation_type: separation_type as i32,
                reason_code: "better_offer".into(),
                regrettable: Some(true),
                last_working_day: days_from_today(30),
                ..Default::default()
            },
        )
    };
    let client = &mut service.client.clone();
    // The contract makes this a malformed request, not a broken rule.
    for separation_type in [Involuntary, proto::SeparationType::Retirement] {
        let status = expect_code(
            client.announce_departure(announce(separation_type)).await,
            Code::InvalidArgument,
        );
        assert_eq!(violated_fields(&status), ["regrettable"]);
        assert!(status.message().contains("only for voluntary departures"));
    }
    assert_eq!(service.event_count().await, 1, "nothing written");

    client
        .announce_departure(announce(Voluntary))
        .await
        .unwrap();
    let departure = service.employee(&ada).await.departure.unwrap();
    assert_eq!(departure.regrettable, Some(true));
}

#[tokio::test]
async fn a_departure_is_withdrawn_only_while_leaving_and_before_the_last_day() {
    let mut service = TestService::start().await;
    let ada = service.hire("Ada", "ada@example.com", "2024-01-08").await;
    let bob = service.hire("Bob", "bob@example.com", "2024-01-08").await;
    let tenant = service.tenant;
    let withdraw = |employee_id: &str| {
        request_for(
            tenant,
            proto::WithdrawDepartureRequest {
                employee_id: employee_id.into(),
                reason: "counter-offer accepted".into(),
                ..Default::default()
            },
        )
    };
    let client = &mut service.client.clone();

    let sentence = refused(client.withdraw_departure(withdraw(&ada)).await);
    assert_eq!(
        sentence,
        "Ada Tester has no announced departure to withdraw"
    );

    // Bob's last working day has passed (a backdated departure).
    let last_day = days_from_today(-3);
    service.announce(&bob, Voluntary, &last_day).await;
    let events = service.event_count().await;
    let sentence = refused(client.withdraw_departure(withdraw(&bob)).await);
    assert_eq!(
        sentence,
        format!(
            "Bob Tester's last working day {last_day} has come; a departure can only be withdrawn before it"
        )
    );
    assert_eq!(service.event_count().await, events, "nothing written");
    assert_eq!(
        service.employee(&bob).await.status,
        proto::EmployeeStatus::Leaving as i32
    );

    service
        .announce(&ada, Voluntary, &days_from_today(30))
        .await;
    client.withdraw_departure(withdraw(&ada)).await.unwrap();
    assert_eq!(
        service.employee(&ada).await.status,
        proto::EmployeeStatus::Active as i32
    );
}

#[tokio::test]
async fn an_employment_ends_only_while_leaving_and_not_before_the_last_working_day() {
    let mut service = TestService::start().await;
    let ada = service.hire("Ada", "ada@example.com", "2024-01-08").await;
    let tenant = service.tenant;
    let end = |ended_on: String| {
        request_for(
            tenant,
            proto::EndEmploymentRequest {
                employee_id: ada.clone(),
                ended_on,
                reason: "offboarding completed".into(),
                ..Default::default()
            },
        )
    };
    let client = &mut service.client.clone();

    let sentence = refused(client.end_employment(end(days_from_today(1))).await);
    assert_eq!(
        sentence,
        "Ada Tester is not leaving; announce the departure before ending the employment"
    );
    let last_day = days_from_today(30);
    service.announce(&ada, Voluntary, &last_day).await;
    let early = days_from_today(10);
    let sentence = refused(client.end_employment(end(early.clone())).await);
    assert_eq!(
        sentence,
        format!("the employment cannot end on {early}, before the last working day {last_day}")
    );
    assert_eq!(service.event_count().await, 2, "nothing written");

    client
        .end_employment(end(last_day.clone()))
        .await
        .expect("ends on the last working day");
    let employee = service.employee(&ada).await;
    assert_eq!(employee.status, proto::EmployeeStatus::Left as i32);
    assert_eq!(employee.departure, None);
    assert_eq!(
        employee.tenure_periods[0].end_date.as_deref(),
        Some(last_day.as_str())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_rehire_is_only_of_a_former_employee_and_keeps_the_earlier_tenure() {
    let mut service = TestService::start().await;
    let ada = service.hire("Ada", "ada@example.com", "2024-01-01").await;
    let tenant = service.tenant;
    let rehire = |start: &str| {
        request_for(
            tenant,
            proto::RehireEmployeeRequest {
                employee_id: ada.clone(),
                contract: Some(permanent(start)),
                start_date: start.into(),
                role_title: Some("Staff Engineer".into()),
                ..Default::default()
            },
        )
    };
    let client = &mut service.client.clone();

    let sentence = refused(client.rehire_employee(rehire("2025-03-03")).await);
    assert_eq!(
        sentence,
        "Ada Tester is active; only a former employee can be rehired"
    );
    service.leave(&ada, Voluntary, "2024-12-31").await;
    let sentence = refused(client.rehire_employee(rehire("2024-12-31")).await);
    assert_eq!(
        sentence,
        "the new employment must start after the previous one ended on 2024-12-31, not on 2024-12-31"
    );
    assert_eq!(service.event_count().await, 3, "nothing written");

    let rehired = client
        .rehire_employee(rehire("2025-03-03"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        (rehired.employee_id.as_str(), rehired.version),
        (ada.as_str(), 4)
    );

    let employee = service.employee(&ada).await;
    assert_eq!(employee.status, proto::EmployeeStatus::Active as i32);
    assert_eq!(employee.role_title, "Staff Engineer");
    let periods: Vec<_> = employee
        .tenure_periods
        .iter()
        .map(|p| {
            (
                p.start_date.as_str(),
                p.end_date.as_deref(),
                p.separation_type,
            )
        })
        .collect();
    assert_eq!(
        periods,
        [
            ("2024-01-01", Some("2024-12-31"), Some(Voluntary as i32)),
            ("2025-03-03", None, None),
        ]
    );
    let today = Utc::now().date_naive();
    let current = days_between("2025-03-03", today);
    assert_eq!(employee.continuous_service_days, current);
    // 2024 is a leap year: 366 days in the first employment.
    assert_eq!(employee.cumulative_service_days, 366 + current);

    // Active again: a second rehire is refused.
    refused(client.rehire_employee(rehire("2025-04-01")).await);
}

#[tokio::test]
async fn a_rescinded_departure_is_not_a_rehire() {
    let mut service = TestService::start().await;
    let ada = service.hire("Ada", "ada@example.com", "2024-01-08").await;
    service
        .announce(&ada, Voluntary, &days_from_today(30))
        .await;
    let request = service.request(proto::WithdrawDepartureRequest {
        employee_id: ada.clone(),
        reason: "she stays".into(),
        ..Default::default()
    });
    service.client.withdraw_departure(request).await.unwrap();

    let employee = service.employee(&ada).await;
    assert_eq!(employee.status, proto::EmployeeStatus::Active as i32);
    assert_eq!(employee.departure, None);
    assert_eq!(employee.tenure_periods.len(), 1, "the same employment");
    assert_eq!(employee.tenure_periods[0].end_date, None);
    assert_eq!(
        service.event_types(&ada).await,
        ["EmployeeHired", "DepartureAnnounced", "DepartureWithdrawn"]
    );

    let month = &days_from_today(0)[..7];
    let request = service.request(proto::GetTurnoverRequest {
        from_month: month.into(),
        to_month: month.into(),
    });
    let turnover = service
        .client
        .get_turnover(request)
        .await
        .unwrap()
        .into_inner();
    let this_month = &turnover.months[0];
    assert_eq!((this_month.rehires, this_month.leavers), (0, 0));
    assert_eq!(
        (this_month.headcount_start, this_month.headcount_end),
        (1, 1)
    );
}

#[tokio::test]
async fn changes_before_the_current_employment_or_of_the_wrong_kind_are_refused() {
    let mut service = TestService::start().await;
    let ada = service.hire("Ada", "ada@example.com", "2025-01-06").await;
    let client = &mut service.client.clone();

    let request = service.request(proto::ChangeRoleRequest {
        employee_id: ada.clone(),
        role_title: "Lead".into(),
        department: "Engineering".into(),
        effective_date: "2025-01-05".into(),
        ..Default::default()
    });
    let sentence = refused(client.change_role(request).await);
    assert_eq!(
        sentence,
        "a role change on 2025-01-05 is before Ada Tester's current employment started on 2025-01-06"
    );
    let request = service.request(proto::ChangeContractRequest {
        employee_id: ada.clone(),
        change_kind: proto::ContractChangeKind::Extend as i32,
        contract: Some(proto::Contract {
            hours_per_week: 30.0,
            ..permanent("2025-01-06")
        }),
        effective_date: "2025-06-01".into(),
        ..Default::default()
    });
    let sentence = refused(client.change_contract(request).await);
    assert_eq!(
        sentence,
        "the contract change is not a extension: an open-ended contract cannot be extended"
    );
    assert_eq!(service.event_count().await, 1, "nothing written");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_unknown_employee_is_not_found() {
    let service = TestService::start().await;
    let nobody = Uuid::now_v7().to_string();
    let id = || nobody.clone();
    let client = &mut service.client.clone();

    let statuses = vec![
        client
            .change_role(service.request(proto::ChangeRoleRequest {
                employee_id: id(),
                role_title: "Lead".into(),
                department: "Engineering".into(),
                effective_date: "2025-06-01".into(),
                ..Default::default()
            }))
            .await
            .map(drop),
        client
            .set_interests(service.request(proto::SetInterestsRequest {
                employee_id: id(),
                tags: vec!["rust".into()],
                ..Default::default()
            }))
            .await
            .map(drop),
        client
            .announce_departure(service.request(proto::AnnounceDepartureRequest {
                employee_id: id(),
                separation_type: Voluntary as i32,
                reason_code: "better_offer".into(),
                last_working_day: days_from_today(30),
                ..Default::default()
            }))
            .await
            .map(drop),
        client
            .rehire_employee(service.request(proto::RehireEmployeeRequest {
                employee_id: id(),
                contract: Some(permanent("2025-06-02")),
                start_date: "2025-06-02".into(),
                ..Default::default()
            }))
            .await
            .map(drop),
        client
            .get_employee(service.request(proto::GetEmployeeRequest {
                employee_id: id(),
                as_of: None,
            }))
            .await
            .map(drop),
        client
            .get_employee(service.request(proto::GetEmployeeRequest {
                employee_id: id(),
                as_of: Some("2025-06-01".into()),
            }))
            .await
            .map(drop),
        client
            .get_employee_history(service.request(proto::GetEmployeeHistoryRequest {
                employee_id: id(),
                ..Default::default()
            }))
            .await
            .map(drop),
    ];
    for status in statuses {
        let status = status.expect_err("an unknown employee");
        assert_eq!(status.code(), Code::NotFound, "{status:?}");
        assert!(status.message().contains(&nobody), "{}", status.message());
    }
    assert_eq!(service.event_count().await, 0);
}
