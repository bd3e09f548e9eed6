//! ImportEmployees: whole histories in, per-record results and totals out,
//! the events in the read models and on JetStream like any others.

use proto::ImportRecordStatus as S;
use proto::import_record::Change;
use tenure_kernel::relay::headers;
use tenure_proto::tenure::employees::v1 as proto;
use uuid::Uuid;

use crate::helpers::{TestService, hire_request, permanent};

fn record(key: &str, employee_id: &str, change: Change) -> proto::ImportRecord {
    proto::ImportRecord {
        record_key: key.into(),
        employee_id: employee_id.into(),
        recorded_on: String::new(),
        change: Some(change),
    }
}

fn hire(given: &str, start: &str) -> Change {
    let email = format!("{}@example.com", given.to_lowercase());
    Change::Hire(hire_request(given, &email, start))
}

fn role(title: &str, effective: &str) -> Change {
    Change::ChangeRole(proto::ChangeRoleRequest {
        role_title: title.into(),
        department: "Engineering".into(),
        effective_date: effective.into(),
        ..Default::default()
    })
}

/// The history of someone hired in 2018 who left in 2019 and came back in 2021.
fn boomerang(id: &str, given: &str) -> Vec<proto::ImportRecord> {
    let key = |n: u32| format!("{given}-{n}");
    vec![
        record(&key(1), id, hire(given, "2018-01-02")),
        record(&key(2), id, role("Senior Engineer", "2018-07-01")),
        record(
            &key(3),
            id,
            Change::ChangeContract(proto::ChangeContractRequest {
                change_kind: proto::ContractChangeKind::ChangeHours as i32,
                contract: Some(proto::Contract {
                    hours_per_week: 32.0,
                    ..permanent("2018-01-02")
                }),
                effective_date: "2018-09-01".into(),
                ..Default::default()
            }),
        ),
        proto::ImportRecord {
            recorded_on: "2019-03-01".into(),
            ..record(
                &key(4),
                id,
                Change::AnnounceDeparture(proto::AnnounceDepartureRequest {
                    separation_type: proto::SeparationType::Voluntary as i32,
                    reason_code: "relocation".into(),
                    regrettable: Some(false),
                    last_working_day: "2019-04-30".into(),
                    ..Default::default()
                }),
            )
        },
        record(
            &key(5),
            id,
            Change::EndEmployment(proto::EndEmploymentRequest {
                ended_on: "2019-04-30".into(),
                reason: "imported".into(),
                ..Default::default()
            }),
        ),
        record(
            &key(6),
            id,
            Change::Rehire(proto::RehireEmployeeRequest {
                contract: Some(permanent("2021-02-01")),
                start_date: "2021-02-01".into(),
                ..Default::default()
            }),
        ),
    ]
}

/// Sends `batches` as one call; the results by index, and the totals.
async fn import(
    service: &mut TestService,
    batches: Vec<Vec<proto::ImportRecord>>,
) -> (Vec<proto::ImportRecordResult>, proto::ImportSummary) {
    let requests = batches
        .into_iter()
        .map(|records| proto::ImportEmployeesRequest { records });
    let request = service.request(futures::stream::iter(requests));
    let mut responses = service
        .client
        .import_employees(request)
        .await
        .expect("import starts")
        .into_inner();
    let mut results = Vec::new();
    let mut summary = None;
    while let Some(response) = responses.message().await.expect("import goes on") {
        assert!(summary.is_none(), "the totals come last");
        results.extend(response.results);
        summary = response.summary;
    }
    results.sort_by_key(|result| result.index);
    (results, summary.expect("totals"))
}

fn statuses(results: &[proto::ImportRecordResult]) -> Vec<S> {
    results.iter().map(|result| result.status()).collect()
}

fn id() -> String {
    Uuid::now_v7().to_string()
}

#[tokio::test]
async fn whole_histories_are_imported_and_read_back_like_any_others() {
    let mut service = TestService::start().await;
    let (ada, grace) = (id(), id());
    let mut records = boomerang(&ada, "Ada");
    records.push(record("Grace-1", &grace, hire("Grace", "2020-05-04")));
    records.push(record(
        "Grace-2",
        &grace,
        role("Staff Engineer", "2022-01-01"),
    ));
    let (results, summary) = import(
        &mut service,
        vec![records[..3].to_vec(), records[3..].to_vec()],
    )
    .await;

    assert_eq!(statuses(&results), vec![S::Imported; 8]);
    assert_eq!(results[5].version, 6, "{:?}", results[5]);
    assert_eq!(results[5].record_key, "Ada-6");
    assert_eq!(
        (summary.records, summary.imported, summary.events),
        (8, 8, 8)
    );

    let now = service.employee(&ada).await;
    assert_eq!(now.status(), proto::EmployeeStatus::Active);
    assert_eq!(now.role_title, "Senior Engineer");
    assert_eq!(now.tenure_periods.len(), 2);
    assert_eq!(now.tenure_periods[0].start_date, "2018-01-02");
    let in_2019 = service
        .client
        .get_employee(service.request(proto::GetEmployeeRequest {
            employee_id: ada.clone(),
            as_of: Some("2019-02-01".into()),
        }))
        .await
        .unwrap()
        .into_inner()
        .employee
        .unwrap();
    assert_eq!(in_2019.contract.unwrap().hours_per_week, 32.0);
    assert_eq!(
        service.event_types(&ada).await,
        [
            "EmployeeHired",
            "RoleChanged",
            "ContractChanged",
            "DepartureAnnounced",
            "EmploymentEnded",
            "EmployeeRehired"
        ]
    );
    let listed = service
        .client
        .list_employees(service.request(proto::ListEmployeesRequest::default()))
        .await
        .unwrap()
        .into_inner()
        .employees;
    let mut names: Vec<_> = listed
        .iter()
        .map(|e| (e.given_name.as_str(), e.role_title.as_str()))
        .collect();
    names.sort();
    assert_eq!(
        names,
        [("Ada", "Senior Engineer"), ("Grace", "Staff Engineer")]
    );

    // The relay publishes them like any others.
    let js = async_nats::jetstream::new(service.nats.client().await);
    let stream = js
        .get_stream(service.nats.stream_name("employees"))
        .await
        .expect("the employees stream");
    let started = std::time::Instant::now();
    while stream.get_info().await.unwrap().state.messages < 8 {
        assert!(
            started.elapsed().as_secs() < 20,
            "the events never reached JetStream"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let mut subjects = Vec::new();
    for sequence in 1..=8 {
        let message = stream.get_raw_message(sequence).await.unwrap();
        let subject = message
            .headers
            .get(headers::CE_SUBJECT)
            .expect("ce-subject");
        subjects.push(subject.as_str().to_owned());
    }
    assert_eq!(
        subjects.iter().filter(|subject| **subject == ada).count(),
        6
    );
    assert_eq!(
        subjects.iter().filter(|subject| **subject == grace).count(),
        2
    );
}

#[tokio::test]
async fn each_refused_record_says_why_and_the_rest_goes_on() {
    let mut service = TestService::start().await;
    let (ada, grace, linus) = (id(), id(), id());
    let records = vec![
        // Grace: a malformed date, named from the record; her later record is skipped.
        record("g-1", &grace, hire("Grace", "2020-05-04")),
        record("g-2", &grace, role("Lead", "May 2021")),
        record("g-3", &grace, role("Principal", "2023-01-01")),
        // Ada: a rule broken (a role change before the hire).
        record("a-1", &ada, hire("Ada", "2018-01-02")),
        record("a-2", &ada, role("Lead", "2017-12-31")),
        // Linus: no hire at all.
        record("l-1", &linus, role("Lead", "2020-01-01")),
        // No key, no change.
        proto::ImportRecord {
            employee_id: id(),
            ..Default::default()
        },
    ];
    let (results, summary) = import(&mut service, vec![records]).await;

    assert_eq!(
        statuses(&results),
        [
            S::Imported,
            S::Invalid,
            S::Skipped,
            S::Imported,
            S::Refused,
            S::Refused,
            S::Invalid
        ]
    );
    let fields = |i: usize| -> Vec<String> {
        results[i]
            .field_violations
            .iter()
            .map(|v| v.field.clone())
            .collect()
    };
    assert_eq!(fields(1), ["change_role.effective_date"]);
    assert_eq!(fields(6), ["record_key", "change"]);
    assert!(
        results[4].reason.contains("before"),
        "{}",
        results[4].reason
    );
    assert!(
        results[5].reason.contains("no employee"),
        "{}",
        results[5].reason
    );
    assert!(!results[2].reason.is_empty());
    assert_eq!(
        (
            summary.imported,
            summary.invalid,
            summary.refused,
            summary.skipped,
            summary.events
        ),
        (2, 2, 2, 1, 2)
    );
    assert_eq!(service.event_count().await, 2);
}

#[tokio::test]
async fn a_record_sent_again_is_already_imported_and_a_changed_one_is_refused() {
    let mut service = TestService::start().await;
    let ada = id();
    let history = boomerang(&ada, "Ada");
    let (first, _) = import(&mut service, vec![history.clone()]).await;
    assert_eq!(statuses(&first), vec![S::Imported; 6]);

    let (again, summary) = import(&mut service, vec![history.clone()]).await;
    assert_eq!(statuses(&again), vec![S::AlreadyImported; 6]);
    assert_eq!(again[5].version, 6);
    assert_eq!((summary.already_imported, summary.events), (6, 0));
    assert_eq!(service.event_count().await, 6);

    // The same key with other content; a hire of an id that exists.
    let changed = record("Ada-2", &ada, role("Principal", "2018-07-01"));
    let rehired = record("Ada-7", &ada, hire("Ada", "2024-01-01"));
    let (refused, _) = import(&mut service, vec![vec![changed, rehired]]).await;
    assert_eq!(statuses(&refused), [S::Refused, S::Skipped]);
    assert!(
        refused[0].reason.contains("record_key"),
        "{}",
        refused[0].reason
    );
    let other = record("Ada-8", &id(), hire("Ada", "2024-01-01"));
    let existing = record("Ada-9", &ada, hire("Ada", "2024-01-01"));
    let (results, _) = import(&mut service, vec![vec![existing, other]]).await;
    assert_eq!(statuses(&results)[0], S::Refused);
    assert!(
        results[0].reason.contains("exists already"),
        "{}",
        results[0].reason
    );
    // The second uses Ada's email: the directory refuses it.
    assert_eq!(statuses(&results)[1], S::Refused);
    assert_eq!(service.event_count().await, 6);
}

#[tokio::test]
async fn records_of_one_employee_apply_in_the_order_sent_across_requests() {
    let mut service = TestService::start().await;
    let people: Vec<String> = (0..8).map(|_| id()).collect();
    let mut batches = vec![Vec::new(); 10];
    for (p, person) in people.iter().enumerate() {
        batches[0].push(record(
            &format!("{p}-0"),
            person,
            hire(&format!("P{p}"), "2015-01-01"),
        ));
        for step in 1..40 {
            let title = format!("Title {step}");
            let day = format!("2016-{:02}-{:02}", 1 + step / 28, 1 + step % 28);
            batches[step % 10].push(record(&format!("{p}-{step}"), person, role(&title, &day)));
        }
    }
    // Records of later steps sit in earlier requests for some people: the
    // order is the order sent, request by request.
    let (results, summary) = import(&mut service, batches).await;
    assert_eq!(summary.imported, 8 * 40, "{results:?}");
    for person in &people {
        let history = service
            .client
            .get_employee_history(service.request(proto::GetEmployeeHistoryRequest {
                employee_id: person.clone(),
                page_size: 100,
                page_token: String::new(),
            }))
            .await
            .unwrap()
            .into_inner()
            .entries;
        let sent_order: Vec<usize> = (0..10)
            .flat_map(|batch| (1..40).filter(move |step| step % 10 == batch))
            .collect();
        let summaries: Vec<String> = history[1..]
            .iter()
            .map(|entry| entry.summary.clone())
            .collect();
        let expected: Vec<String> = sent_order
            .iter()
            .map(|step| format!("Title {step}"))
            .collect();
        assert_eq!(summaries.len(), expected.len());
        for (summary, title) in summaries.iter().zip(&expected) {
            assert!(
                summary.contains(&format!("to {title} in")),
                "{summary} / {title}"
            );
        }
    }
}
