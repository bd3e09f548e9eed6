//! The queries: an employee now and on a past date, the directory with its
//! filters and pages, a manager's team, the workforce mix, turnover, the
//! history of an employee, and that one organisation sees nothing of another.

use std::collections::BTreeSet;

use chrono::{NaiveDate, Utc};
use tenure_proto::tenure::employees::v1::{self as proto, history_entry};
use tonic::Code;
use uuid::Uuid;

use crate::helpers::{
    TestService, days_from_today, expect_code, hire_request, permanent, request_for,
};

use proto::ContractKind::{FixedTerm, Freelance, Permanent, Project, Seasonal};
use proto::SeparationType::{Involuntary, Mutual, Voluntary};

fn contract(kind: proto::ContractKind, start: &str, end: Option<&str>) -> proto::Contract {
    proto::Contract {
        kind: kind as i32,
        end_date: end.map(Into::into),
        season_window: (kind == Seasonal).then(|| proto::SeasonWindow {
            start: "03-01".into(),
            end: "10-31".into(),
        }),
        ..permanent(start)
    }
}

/// Hires `given family` into `department` on `contract`, reporting to `manager`.
async fn hire_person(
    service: &mut TestService,
    (given, family): (&str, &str),
    department: &str,
    contract: proto::Contract,
    manager: Option<&str>,
) -> String {
    let email = format!("{given}.{family}@example.com").to_lowercase();
    let request = service.request(proto::HireEmployeeRequest {
        family_name: family.into(),
        department: department.into(),
        manager_id: manager.map(Into::into),
        contract: Some(contract.clone()),
        ..hire_request(given, &email, &contract.start_date)
    });
    service
        .client
        .hire_employee(request)
        .await
        .expect("hire")
        .into_inner()
        .employee_id
}

/// A small organisation: who is where, on what contract, reporting to whom.
struct Organisation {
    /// Ada Lovelace, Engineering, permanent, active; manages Grace, Bob and Cy.
    ada: String,
    /// Grace Hopper, Engineering, fixed term, active; manages Dee.
    grace: String,
    /// Bob Builder, Sales, freelance, leaving.
    bob: String,
    /// Cy Twombly, Sales, permanent, left.
    cy: String,
    /// Dee Lovelady, Marketing, permanent, active.
    dee: String,
    /// Eve Adams, Marketing, project, active.
    eve: String,
    /// Fay Wray, Sales, seasonal, active.
    fay: String,
}

async fn organisation(service: &mut TestService) -> Organisation {
    let ada = hire_person(
        service,
        ("Ada", "Lovelace"),
        "Engineering",
        contract(Permanent, "2024-01-08", None),
        None,
    )
    .await;
    let grace = hire_person(
        service,
        ("Grace", "Hopper"),
        "Engineering",
        contract(FixedTerm, "2024-02-01", Some("2027-01-31")),
        Some(&ada),
    )
    .await;
    let bob = hire_person(
        service,
        ("Bob", "Builder"),
        "Sales",
        contract(Freelance, "2024-03-01", None),
        Some(&ada),
    )
    .await;
    let cy = hire_person(
        service,
        ("Cy", "Twombly"),
        "Sales",
        contract(Permanent, "2024-01-08", None),
        Some(&ada),
    )
    .await;
    let dee = hire_person(
        service,
        ("Dee", "Lovelady"),
        "Marketing",
        contract(Permanent, "2024-05-01", None),
        Some(&grace),
    )
    .await;
    let eve = hire_person(
        service,
        ("Eve", "Adams"),
        "Marketing",
        contract(Project, "2024-06-01", Some("2027-06-30")),
        None,
    )
    .await;
    let fay = hire_person(
        service,
        ("Fay", "Wray"),
        "Sales",
        contract(Seasonal, "2024-03-01", Some("2027-10-31")),
        None,
    )
    .await;
    service
        .announce(&bob, Voluntary, &days_from_today(30))
        .await;
    service.leave(&cy, Involuntary, "2025-01-31").await;
    Organisation {
        ada,
        grace,
        bob,
        cy,
        dee,
        eve,
        fay,
    }
}

async fn list(service: &mut TestService, filter: proto::ListEmployeesRequest) -> Vec<String> {
    let request = service.request(filter);
    let response = service
        .client
        .list_employees(request)
        .await
        .expect("list")
        .into_inner();
    assert_eq!(response.next_page_token, "", "one page");
    response
        .employees
        .into_iter()
        .map(|e| e.given_name)
        .collect()
}

fn names(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|n| (*n).to_owned()).collect()
}

fn served_days(from: &str, to: NaiveDate) -> i64 {
    (to - NaiveDate::parse_from_str(from, "%Y-%m-%d").unwrap()).num_days() + 1
}

// ---------------------------------------------------------------------------
// GetEmployee
// ---------------------------------------------------------------------------

#[tokio::test]
async fn an_employee_is_shown_with_everything_recorded_about_them() {
    let mut service = TestService::start().await;
    let ada = service.hire("Ada", "ada@example.com", "2025-01-06").await;
    let agreement = proto::WorkAgreement {
        office_days: vec![
            proto::Weekday::Tuesday as i32,
            proto::Weekday::Thursday as i32,
        ],
        remote_days: vec![
            proto::Weekday::Monday as i32,
            proto::Weekday::Wednesday as i32,
            proto::Weekday::Friday as i32,
        ],
        core_hours_start: "10:00".into(),
        core_hours_end: "15:00".into(),
        agreements: vec!["team day on Tuesday".into()],
        agreed_on: "2025-03-01".into(),
        review_date: Some("2025-09-01".into()),
    };
    let request = service.request(proto::RecordWorkAgreementRequest {
        employee_id: ada.clone(),
        agreement: Some(agreement.clone()),
        ..Default::default()
    });
    service.client.record_work_agreement(request).await.unwrap();
    let request = service.request(proto::SetInterestsRequest {
        employee_id: ada.clone(),
        tags: vec![" Rust ".into(), "rust".into(), "running".into()],
        ..Default::default()
    });
    service.client.set_interests(request).await.unwrap();
    let fewer_hours = proto::Contract {
        hours_per_week: 32.0,
        ..permanent("2025-01-06")
    };
    let request = service.request(proto::ChangeContractRequest {
        employee_id: ada.clone(),
        change_kind: proto::ContractChangeKind::ChangeHours as i32,
        contract: Some(fewer_hours.clone()),
        effective_date: "2025-04-01".into(),
        ..Default::default()
    });
    service.client.change_contract(request).await.unwrap();
    let last_day = days_from_today(60);
    let request = service.request(proto::AnnounceDepartureRequest {
        employee_id: ada.clone(),
        separation_type: Voluntary as i32,
        reason_code: "better_offer".into(),
        regrettable: Some(true),
        last_working_day: last_day.clone(),
        note: Some("moving abroad".into()),
        ..Default::default()
    });
    service.client.announce_departure(request).await.unwrap();

    let employee = service.employee(&ada).await;
    assert_eq!(employee.employee_id, ada);
    assert_eq!(
        (
            employee.given_name.as_str(),
            employee.family_name.as_str(),
            employee.work_email.as_str()
        ),
        ("Ada", "Tester", "ada@example.com")
    );
    assert_eq!(employee.status, proto::EmployeeStatus::Leaving as i32);
    assert_eq!(employee.version, 5);
    assert_eq!(employee.contract, Some(fewer_hours.clone()));
    assert_eq!(
        employee.tenure_periods,
        [proto::TenurePeriod {
            start_date: "2025-01-06".into(),
            end_date: None,
            contract: Some(fewer_hours),
            separation_type: None,
        }]
    );
    assert_eq!(employee.work_agreement, Some(agreement));
    assert_eq!(employee.interests, ["Rust", "running"]);
    assert_eq!(
        employee.departure,
        Some(proto::Departure {
            separation_type: Voluntary as i32,
            reason_code: "better_offer".into(),
            regrettable: Some(true),
            last_working_day: last_day,
            announced_on: days_from_today(0),
            note: Some("moving abroad".into()),
            backdate_reason: None,
        })
    );
    let today = Utc::now().date_naive();
    assert_eq!(
        employee.continuous_service_days,
        served_days("2025-01-06", today)
    );
    assert_eq!(
        employee.cumulative_service_days,
        employee.continuous_service_days
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_employee_on_a_past_date_is_replayed_from_the_events() {
    let mut service = TestService::start().await;
    let ada = service.hire("Ada", "ada@example.com", "2024-01-08").await;
    let request = service.request(proto::ChangeRoleRequest {
        employee_id: ada.clone(),
        role_title: "Lead".into(),
        department: "Platform".into(),
        effective_date: "2024-07-01".into(),
        ..Default::default()
    });
    service.client.change_role(request).await.unwrap();
    service.leave(&ada, Voluntary, "2025-01-31").await;
    let request = service.request(proto::RehireEmployeeRequest {
        employee_id: ada.clone(),
        contract: Some(contract(Freelance, "2025-06-02", None)),
        start_date: "2025-06-02".into(),
        role_title: Some("Consultant".into()),
        ..Default::default()
    });
    service.client.rehire_employee(request).await.unwrap();

    let tenant = service.tenant;
    let mut client = service.client.clone();
    let mut on = async |date: &str| {
        let request = request_for(
            tenant,
            proto::GetEmployeeRequest {
                employee_id: ada.clone(),
                as_of: Some(date.into()),
            },
        );
        client
            .get_employee(request)
            .await
            .map(|r| r.into_inner().employee.unwrap())
    };

    let status = on("2024-01-07").await.expect_err("not yet hired");
    assert_eq!(status.code(), Code::NotFound);
    assert!(status.message().contains("was not yet hired on 2024-01-07"));

    let first_day = on("2024-01-08").await.unwrap();
    assert_eq!(first_day.status, proto::EmployeeStatus::Active as i32);
    assert_eq!(first_day.continuous_service_days, 1);

    let before_promotion = on("2024-06-30").await.unwrap();
    assert_eq!(
        (
            before_promotion.role_title.as_str(),
            before_promotion.department.as_str()
        ),
        ("Engineer", "Engineering")
    );
    assert_eq!(before_promotion.version, 5, "the stream's current version");
    assert_eq!(before_promotion.continuous_service_days, 175);
    let promoted = on("2024-07-01").await.unwrap();
    assert_eq!(
        (promoted.role_title.as_str(), promoted.department.as_str()),
        ("Lead", "Platform")
    );

    // The departure was recorded (backdated) today: on the day before the
    // last working day nothing of it was known yet.
    let before_end = on("2025-01-30").await.unwrap();
    assert_eq!(before_end.status, proto::EmployeeStatus::Active as i32);
    let ended = on("2025-01-31").await.unwrap();
    assert_eq!(ended.status, proto::EmployeeStatus::Left as i32);
    let between = on("2025-03-01").await.unwrap();
    assert_eq!(between.status, proto::EmployeeStatus::Left as i32);
    assert_eq!(between.tenure_periods.len(), 1);
    assert_eq!(
        between.tenure_periods[0].end_date.as_deref(),
        Some("2025-01-31")
    );
    assert_eq!(between.role_title, "Lead");
    // 2024-01-08 to 2025-01-31: 359 days of 2024 (a leap year) and 31 of 2025.
    assert_eq!(between.continuous_service_days, 359 + 31);

    let back = on("2025-06-02").await.unwrap();
    assert_eq!(back.status, proto::EmployeeStatus::Active as i32);
    assert_eq!(back.role_title, "Consultant");
    assert_eq!(back.tenure_periods.len(), 2);
    assert_eq!(
        (back.continuous_service_days, back.cumulative_service_days),
        (1, 359 + 31 + 1)
    );
}

#[tokio::test]
async fn an_announced_departure_shows_as_leaving_from_its_announcement() {
    let mut service = TestService::start().await;
    let bob = service.hire("Bob", "bob@example.com", "2025-01-06").await;
    let last_day = days_from_today(30);
    service.announce(&bob, Voluntary, &last_day).await;
    let tenant = service.tenant;
    let mut client = service.client.clone();
    let mut status_on = async |date: String| {
        let request = request_for(
            tenant,
            proto::GetEmployeeRequest {
                employee_id: bob.clone(),
                as_of: Some(date),
            },
        );
        let employee = client.get_employee(request).await.unwrap().into_inner();
        employee.employee.unwrap().status
    };
    assert_eq!(
        status_on(days_from_today(-1)).await,
        proto::EmployeeStatus::Active as i32
    );
    assert_eq!(
        status_on(days_from_today(0)).await,
        proto::EmployeeStatus::Leaving as i32
    );
    assert_eq!(
        status_on(last_day).await,
        proto::EmployeeStatus::Leaving as i32,
        "leaving until the employment has ended"
    );
}

// ---------------------------------------------------------------------------
// ListEmployees and ListTeam
// ---------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_directory_filters_by_department_manager_status_contract_and_name() {
    let mut service = TestService::start().await;
    let org = organisation(&mut service).await;
    let filter = proto::ListEmployeesRequest::default;
    let set = |names: Vec<String>| names.into_iter().collect::<BTreeSet<_>>();

    assert_eq!(set(list(&mut service, filter()).await).len(), 7);
    let cases: Vec<(&str, proto::ListEmployeesRequest, BTreeSet<String>)> = vec![
        (
            "department",
            proto::ListEmployeesRequest {
                department: "Engineering".into(),
                ..filter()
            },
            names(&["Ada", "Grace"]),
        ),
        (
            "manager",
            proto::ListEmployeesRequest {
                manager_id: Some(org.ada.clone()),
                ..filter()
            },
            names(&["Grace", "Bob", "Cy"]),
        ),
        (
            "leaving",
            proto::ListEmployeesRequest {
                status: proto::EmployeeStatus::Leaving as i32,
                ..filter()
            },
            names(&["Bob"]),
        ),
        (
            "left",
            proto::ListEmployeesRequest {
                status: proto::EmployeeStatus::Left as i32,
                ..filter()
            },
            names(&["Cy"]),
        ),
        (
            "active",
            proto::ListEmployeesRequest {
                status: proto::EmployeeStatus::Active as i32,
                ..filter()
            },
            names(&["Ada", "Grace", "Dee", "Eve", "Fay"]),
        ),
        (
            "fixed term",
            proto::ListEmployeesRequest {
                contract_kind: FixedTerm as i32,
                ..filter()
            },
            names(&["Grace"]),
        ),
        (
            "permanent",
            proto::ListEmployeesRequest {
                contract_kind: Permanent as i32,
                ..filter()
            },
            names(&["Ada", "Cy", "Dee"]),
        ),
        (
            "name in capitals",
            proto::ListEmployeesRequest {
                name_query: "LOVE".into(),
                ..filter()
            },
            names(&["Ada", "Dee"]),
        ),
        (
            "given or family name",
            proto::ListEmployeesRequest {
                name_query: "ada".into(),
                ..filter()
            },
            names(&["Ada", "Eve"]),
        ),
        (
            "filters combine",
            proto::ListEmployeesRequest {
                department: "Sales".into(),
                status: proto::EmployeeStatus::Active as i32,
                ..filter()
            },
            names(&["Fay"]),
        ),
        (
            "nobody",
            proto::ListEmployeesRequest {
                department: "Legal".into(),
                ..filter()
            },
            names(&[]),
        ),
    ];
    for (case, request, expected) in cases {
        assert_eq!(set(list(&mut service, request).await), expected, "{case}");
    }

    let request = service.request(proto::ListEmployeesRequest {
        name_query: "twombly".into(),
        ..filter()
    });
    let listed = service.client.list_employees(request).await.unwrap();
    let cy = &listed.into_inner().employees[0];
    assert_eq!(
        cy,
        &proto::EmployeeSummary {
            employee_id: org.cy.clone(),
            given_name: "Cy".into(),
            family_name: "Twombly".into(),
            work_email: "cy.twombly@example.com".into(),
            department: "Sales".into(),
            role_title: "Engineer".into(),
            manager_id: Some(org.ada.clone()),
            status: proto::EmployeeStatus::Left as i32,
            contract_kind: Permanent as i32,
            employed_since: "2024-01-08".into(),
        }
    );
}

#[tokio::test]
async fn the_directory_is_ordered_by_family_name_then_given_name() {
    let mut service = TestService::start().await;
    organisation(&mut service).await;
    let listed = list(&mut service, proto::ListEmployeesRequest::default()).await;
    assert_eq!(
        listed,
        ["Eve", "Bob", "Grace", "Ada", "Dee", "Cy", "Fay"],
        "Adams, Builder, Hopper, Lovelace, Lovelady, Twombly, Wray"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn pages_cover_the_directory_without_duplicates_or_gaps() {
    let mut service = TestService::start().await;
    let mut hired = BTreeSet::new();
    for n in 0..11 {
        let department = if n % 3 == 0 { "Sales" } else { "Engineering" };
        let id = service
            .hire_with(
                &format!("Person{n:02}"),
                department,
                permanent("2025-01-06"),
            )
            .await;
        hired.insert(id);
    }

    for (department, page_size, expected_pages) in [("", 4, 3), ("Engineering", 3, 3), ("", 11, 2)]
    {
        let mut seen = Vec::new();
        let mut token = String::new();
        let mut pages = 0;
        loop {
            let request = service.request(proto::ListEmployeesRequest {
                department: department.into(),
                page_size,
                page_token: token.clone(),
                ..Default::default()
            });
            let page = service
                .client
                .list_employees(request)
                .await
                .unwrap()
                .into_inner();
            pages += 1;
            assert!(page.employees.len() <= page_size as usize);
            seen.extend(page.employees.into_iter().map(|e| e.employee_id));
            if page.next_page_token.is_empty() {
                break;
            }
            token = page.next_page_token;
            assert!(pages < 20, "paging does not end");
        }
        let unique: BTreeSet<_> = seen.iter().cloned().collect();
        assert_eq!(unique.len(), seen.len(), "no duplicates: {seen:?}");
        let expected = if department.is_empty() { 11 } else { 7 };
        assert_eq!(unique.len(), expected, "no gaps ({department:?})");
        assert!(unique.is_subset(&hired));
        assert_eq!(pages, expected_pages, "{department:?} by {page_size}");
    }

    // 0 is the default page size, which holds them all.
    let request = service.request(proto::ListEmployeesRequest::default());
    let page = service.client.list_employees(request).await.unwrap();
    let page = page.into_inner();
    assert_eq!(
        (page.employees.len(), page.next_page_token.as_str()),
        (11, "")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_team_is_the_managers_direct_reports_who_still_work_here() {
    let mut service = TestService::start().await;
    let org = organisation(&mut service).await;
    let tenant = service.tenant;
    let mut client = service.client.clone();
    let mut team = async |manager: &str, page_size: i32, page_token: String| {
        let request = request_for(
            tenant,
            proto::ListTeamRequest {
                manager_id: manager.into(),
                page_size,
                page_token,
            },
        );
        client.list_team(request).await.unwrap().into_inner()
    };

    let ada_team = team(&org.ada, 0, String::new()).await;
    let members: BTreeSet<_> = ada_team
        .members
        .iter()
        .map(|m| m.employee_id.clone())
        .collect();
    // Not Cy (left), not Dee (Grace's report).
    assert_eq!(members, [org.grace.clone(), org.bob.clone()].into());
    assert_eq!(ada_team.next_page_token, "");
    let bob = ada_team
        .members
        .iter()
        .find(|m| m.employee_id == org.bob)
        .unwrap();
    assert_eq!(bob.status, proto::EmployeeStatus::Leaving as i32);

    // One by one.
    let first = team(&org.ada, 1, String::new()).await;
    assert_eq!(first.members.len(), 1);
    let second = team(&org.ada, 1, first.next_page_token).await;
    assert_eq!(second.members.len(), 1);
    assert_ne!(first.members[0].employee_id, second.members[0].employee_id);
    let rest = team(&org.ada, 1, second.next_page_token).await;
    assert!(rest.members.is_empty() && rest.next_page_token.is_empty());

    let grace_team = team(&org.grace, 0, String::new()).await;
    assert_eq!(
        grace_team
            .members
            .iter()
            .map(|m| m.given_name.as_str())
            .collect::<Vec<_>>(),
        ["Dee"]
    );
    assert!(team(&org.dee, 0, String::new()).await.members.is_empty());
    let _ = (org.eve, org.fay);
}

#[tokio::test]
async fn the_team_of_an_unknown_manager_is_not_found() {
    let mut service = TestService::start().await;
    let request = service.request(proto::ListTeamRequest {
        manager_id: Uuid::now_v7().to_string(),
        ..Default::default()
    });
    expect_code(service.client.list_team(request).await, Code::NotFound);
}

// ---------------------------------------------------------------------------
// GetWorkforceMix and GetTurnover
// ---------------------------------------------------------------------------

async fn workforce_mix(service: &mut TestService) -> proto::GetWorkforceMixResponse {
    let request = service.request(proto::GetWorkforceMixRequest {});
    service
        .client
        .get_workforce_mix(request)
        .await
        .unwrap()
        .into_inner()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_workforce_mix_counts_core_and_flexible_contracts_per_department() {
    let mut service = TestService::start().await;
    organisation(&mut service).await;
    let mix = workforce_mix(&mut service).await;

    let counts: Vec<_> = mix
        .departments
        .iter()
        .map(|d| (d.department.as_str(), d.core_count, d.flexible_count))
        .collect();
    // Sales: Bob (leaving) and Fay count, Cy (left) does not.
    assert_eq!(
        counts,
        [("Engineering", 1, 1), ("Marketing", 1, 1), ("Sales", 0, 2)]
    );
    let total = mix.total.unwrap();
    assert_eq!(
        (
            total.department.as_str(),
            total.core_count,
            total.flexible_count
        ),
        ("", 2, 4)
    );
    let nonzero = |mix: &proto::DepartmentMix| {
        let mut kinds: Vec<_> = mix
            .by_kind
            .iter()
            .filter(|k| k.count > 0)
            .map(|k| (k.kind, k.count))
            .collect();
        kinds.sort();
        kinds
    };
    assert_eq!(
        nonzero(&total),
        [
            (Permanent as i32, 2),
            (FixedTerm as i32, 1),
            (Freelance as i32, 1),
            (Project as i32, 1),
            (Seasonal as i32, 1)
        ]
    );
    assert_eq!(
        nonzero(&mix.departments[2]),
        [(Freelance as i32, 1), (Seasonal as i32, 1)]
    );
}

#[tokio::test]
async fn the_mix_per_kind_lists_every_kind_in_enum_order() {
    let mut service = TestService::start().await;
    service
        .hire_with(
            "Fay",
            "Sales",
            contract(Seasonal, "2024-03-01", Some("2027-10-31")),
        )
        .await;
    service
        .hire_with("Bob", "Sales", contract(Freelance, "2024-03-01", None))
        .await;
    let mix = workforce_mix(&mut service).await;
    let expected = [
        (Permanent as i32, 0),
        (FixedTerm as i32, 0),
        (Freelance as i32, 1),
        (Project as i32, 0),
        (Seasonal as i32, 1),
    ];
    for department in mix.departments.iter().chain(mix.total.as_ref()) {
        let by_kind: Vec<_> = department
            .by_kind
            .iter()
            .map(|k| (k.kind, k.count))
            .collect();
        assert_eq!(by_kind, expected, "{:?}", department.department);
    }
}

async fn turnover(service: &mut TestService, from: &str, to: &str) -> Vec<proto::MonthTurnover> {
    let request = service.request(proto::GetTurnoverRequest {
        from_month: from.into(),
        to_month: to.into(),
    });
    service
        .client
        .get_turnover(request)
        .await
        .unwrap()
        .into_inner()
        .months
}

/// Month, hires, rehires, leavers, headcount at the start and at the end, rate.
type MonthFigures<'a> = (&'a str, i64, i64, i64, i64, i64, f64);

fn figures(month: &proto::MonthTurnover) -> MonthFigures<'_> {
    (
        month.month.as_str(),
        month.hires,
        month.rehires,
        month.leavers,
        month.headcount_start,
        month.headcount_end,
        month.turnover_rate,
    )
}

fn leavers_by_type(month: &proto::MonthTurnover) -> Vec<(i32, i64)> {
    month
        .leavers_by_separation_type
        .iter()
        .filter(|t| t.count > 0)
        .map(|t| (t.separation_type, t.count))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn turnover_counts_hires_rehires_leavers_and_headcount_per_month() {
    let mut service = TestService::start().await;
    let ann = service.hire("Ann", "ann@example.com", "2024-06-03").await;
    service.hire("Ben", "ben@example.com", "2025-01-15").await;
    let cat = service.hire("Cat", "cat@example.com", "2024-01-02").await;
    let dan = service.hire("Dan", "dan@example.com", "2025-02-01").await;
    service.leave(&cat, Mutual, "2024-12-31").await;
    service.rehire(&cat, "2025-03-01").await;
    service.leave(&ann, Voluntary, "2025-02-20").await;
    service.leave(&dan, Involuntary, "2025-03-14").await;

    let months = turnover(&mut service, "2025-01", "2025-04").await;
    let rows: Vec<_> = months.iter().map(figures).collect();
    assert_eq!(
        rows,
        [
            // Ben hired; Ann at the start (Cat left on the last day of 2024).
            ("2025-01", 1, 0, 0, 1, 2, 0.0),
            // Dan hired, Ann left: 1 / ((3 + 2) / 2).
            ("2025-02", 1, 0, 1, 3, 2, 0.4),
            // Cat back on the first day, Dan left.
            ("2025-03", 0, 1, 1, 3, 2, 0.4),
            ("2025-04", 0, 0, 0, 2, 2, 0.0),
        ]
    );
    assert_eq!(months[1].average_headcount, 2.5);
    assert_eq!(leavers_by_type(&months[0]), []);
    assert_eq!(leavers_by_type(&months[1]), [(Voluntary as i32, 1)]);
    assert_eq!(leavers_by_type(&months[2]), [(Involuntary as i32, 1)]);
}

#[tokio::test]
async fn an_employee_whose_last_day_ends_the_month_is_in_its_closing_headcount() {
    let mut service = TestService::start().await;
    let ann = service.hire("Ann", "ann@example.com", "2024-01-02").await;
    service.leave(&ann, Voluntary, "2024-03-31").await;
    let months = turnover(&mut service, "2024-03", "2024-04").await;
    let rows: Vec<_> = months.iter().map(figures).collect();
    assert_eq!(
        rows,
        [
            ("2024-03", 0, 0, 1, 1, 1, 1.0),
            ("2024-04", 0, 0, 0, 0, 0, 0.0)
        ]
    );
}

#[tokio::test]
async fn leavers_per_separation_type_list_every_type_in_enum_order() {
    let mut service = TestService::start().await;
    let ann = service.hire("Ann", "ann@example.com", "2024-01-02").await;
    let ben = service.hire("Ben", "ben@example.com", "2024-01-02").await;
    service.leave(&ann, Voluntary, "2024-03-10").await;
    service.leave(&ben, Involuntary, "2024-03-12").await;
    let months = turnover(&mut service, "2024-03", "2024-03").await;
    let by_type: Vec<_> = months[0]
        .leavers_by_separation_type
        .iter()
        .map(|t| (t.separation_type, t.count))
        .collect();
    assert_eq!(
        by_type,
        [
            (Voluntary as i32, 1),
            (Involuntary as i32, 1),
            (proto::SeparationType::ContractEnd as i32, 0),
            (proto::SeparationType::Retirement as i32, 0),
            (Mutual as i32, 0),
            (proto::SeparationType::Other as i32, 0),
        ]
    );
}

// ---------------------------------------------------------------------------
// GetEmployeeHistory
// ---------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_history_is_a_readable_audit_trail_in_pages() {
    let mut service = TestService::start().await;
    let ada = service.hire("Ada", "ada@example.com", "2025-01-06").await;
    let grace = service
        .hire("Grace", "grace@example.com", "2025-01-06")
        .await;
    let mut request = service.request(proto::ChangeRoleRequest {
        employee_id: ada.clone(),
        role_title: "Team Lead".into(),
        department: "Sales".into(),
        effective_date: "2025-06-01".into(),
        ..Default::default()
    });
    request
        .metadata_mut()
        .insert("x-actor", "hr:alice".parse().unwrap());
    service.client.change_role(request).await.unwrap();
    service.assign_manager(&ada, Some(&grace)).await.unwrap();
    let request = service.request(proto::SetInterestsRequest {
        employee_id: ada.clone(),
        tags: vec!["rust".into(), "chess".into()],
        ..Default::default()
    });
    service.client.set_interests(request).await.unwrap();
    let last_day = days_from_today(30);
    let request = service.request(proto::AnnounceDepartureRequest {
        employee_id: ada.clone(),
        separation_type: Voluntary as i32,
        reason_code: "better_offer".into(),
        regrettable: Some(true),
        last_working_day: last_day.clone(),
        ..Default::default()
    });
    service.client.announce_departure(request).await.unwrap();

    let mut entries = Vec::new();
    let mut token = String::new();
    let mut pages = Vec::new();
    loop {
        let request = service.request(proto::GetEmployeeHistoryRequest {
            employee_id: ada.clone(),
            page_size: 2,
            page_token: token,
        });
        let page = service
            .client
            .get_employee_history(request)
            .await
            .unwrap()
            .into_inner();
        pages.push(page.entries.len());
        entries.extend(page.entries);
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    assert_eq!(pages, [2, 2, 1]);

    let today = days_from_today(0);
    let trail: Vec<_> = entries
        .iter()
        .map(|e| {
            (
                e.version,
                e.event_type.as_str(),
                e.effective_date.as_str(),
                e.actor.as_str(),
                e.summary.as_str(),
            )
        })
        .collect();
    let manager_set = format!("Manager set to {grace} from {today}");
    let departure = format!(
        "Departure announced (voluntary, better_offer), last working day {last_day}; regrettable"
    );
    assert_eq!(
        trail,
        [
            (
                1,
                "EmployeeHired",
                "2025-01-06",
                "hr:test",
                "Hired as Engineer in Engineering from 2025-01-06 (permanent contract)"
            ),
            (
                2,
                "RoleChanged",
                "2025-06-01",
                "hr:alice",
                "Role changed to Team Lead in Sales from 2025-06-01"
            ),
            (3, "ManagerAssigned", &today, "hr:test", &manager_set),
            (
                4,
                "InterestsChanged",
                &today,
                "hr:test",
                "Interests set to rust, chess"
            ),
            (5, "DepartureAnnounced", &today, "hr:test", &departure),
        ]
    );
    let event_ids: BTreeSet<_> = entries.iter().map(|e| e.event_id.as_str()).collect();
    assert_eq!(event_ids.len(), 5);
    let now = Utc::now().timestamp();
    for entry in &entries {
        let recorded_at = entry.recorded_at.as_ref().unwrap().seconds;
        assert!((now - 60..=now + 1).contains(&recorded_at), "{entry:?}");
    }
    match &entries[1].event {
        Some(history_entry::Event::RoleChanged(changed)) => {
            assert_eq!(changed.role_title, "Team Lead");
            assert_eq!(changed.department, "Sales");
        }
        other => panic!("typed event: {other:?}"),
    }
    match &entries[4].event {
        Some(history_entry::Event::DepartureAnnounced(announced)) => {
            assert_eq!(announced.last_working_day, last_day);
            assert_eq!(announced.regrettable, Some(true));
        }
        other => panic!("typed event: {other:?}"),
    }
}

// ---------------------------------------------------------------------------
// Tenants
// ---------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn another_organisation_sees_nothing_and_changes_nothing() {
    let mut service = TestService::start().await;
    let org = organisation(&mut service).await;
    let events = service.event_count().await;
    let other = Uuid::now_v7();
    let client = &mut service.client.clone();

    let get = |as_of: Option<&str>| {
        request_for(
            other,
            proto::GetEmployeeRequest {
                employee_id: org.ada.clone(),
                as_of: as_of.map(Into::into),
            },
        )
    };
    expect_code(client.get_employee(get(None)).await, Code::NotFound);
    expect_code(
        client.get_employee(get(Some("2025-01-01"))).await,
        Code::NotFound,
    );
    let history = request_for(
        other,
        proto::GetEmployeeHistoryRequest {
            employee_id: org.ada.clone(),
            ..Default::default()
        },
    );
    expect_code(client.get_employee_history(history).await, Code::NotFound);
    let change = request_for(
        other,
        proto::ChangeRoleRequest {
            employee_id: org.ada.clone(),
            role_title: "Spy".into(),
            department: "Elsewhere".into(),
            effective_date: "2025-06-01".into(),
            ..Default::default()
        },
    );
    expect_code(client.change_role(change).await, Code::NotFound);

    let listed = client
        .list_employees(request_for(other, proto::ListEmployeesRequest::default()))
        .await
        .unwrap()
        .into_inner();
    assert!(listed.employees.is_empty());
    let by_name = client
        .list_employees(request_for(
            other,
            proto::ListEmployeesRequest {
                name_query: "Ada".into(),
                ..Default::default()
            },
        ))
        .await
        .unwrap()
        .into_inner();
    assert!(by_name.employees.is_empty());
    if let Ok(team) = client
        .list_team(request_for(
            other,
            proto::ListTeamRequest {
                manager_id: org.ada.clone(),
                ..Default::default()
            },
        ))
        .await
    {
        assert!(team.into_inner().members.is_empty());
    }
    let mix = client
        .get_workforce_mix(request_for(other, proto::GetWorkforceMixRequest {}))
        .await
        .unwrap()
        .into_inner();
    assert!(mix.departments.is_empty());
    let total = mix.total.unwrap_or_default();
    assert_eq!((total.core_count, total.flexible_count), (0, 0));
    let months = client
        .get_turnover(request_for(
            other,
            proto::GetTurnoverRequest {
                from_month: "2024-01".into(),
                to_month: "2025-12".into(),
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .months;
    assert_eq!(months.len(), 24);
    assert!(months.iter().all(|m| m.hires
        + m.rehires
        + m.leavers
        + m.headcount_start
        + m.headcount_end
        == 0));

    assert_eq!(service.event_count().await, events, "nothing written");
    assert_eq!(service.employee(&org.ada).await.role_title, "Engineer");
}
