//! Reactions to other services' events, published to JetStream as those
//! services will: offboarding completed → employment ended; alumnus rehired →
//! a new tenure period of the same person.

use prost::Message;
use tenure_proto::tenure::alumni::v1 as alumni;
use tenure_proto::tenure::employees::v1 as proto;
use tenure_proto::tenure::offboarding::v1 as offboarding;

use crate::helpers::{TestService, permanent};

fn left(employee: &proto::Employee) -> bool {
    employee.status == proto::EmployeeStatus::Left as i32
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_completed_offboarding_ends_the_employment_once() {
    let mut service = TestService::start().await;
    let ada = service.hire("Ada", "ada@example.com", "2024-01-08").await;
    let request = service.request(proto::AnnounceDepartureRequest {
        employee_id: ada.clone(),
        separation_type: proto::SeparationType::Voluntary as i32,
        reason_code: "career_change".into(),
        regrettable: Some(true),
        last_working_day: "2099-06-30".into(),
        ..Default::default()
    });
    service
        .client
        .announce_departure(request)
        .await
        .expect("announce");

    let case = uuid::Uuid::now_v7();
    let completed = offboarding::OffboardingCompleted {
        case_id: "case-1".into(),
        employee_id: ada.clone(),
        last_working_day: "2099-06-30".into(),
        separation_type: offboarding::SeparationType::Voluntary as i32,
        completed_at: None,
    };
    // Published twice (as after a relay retry beyond the duplicate window):
    // the second has no effect.
    service
        .publish_foreign(
            case,
            1,
            "offboarding",
            "OffboardingCompleted",
            completed.encode_to_vec(),
        )
        .await;
    service
        .publish_foreign(
            case,
            1,
            "offboarding",
            "OffboardingCompleted",
            completed.encode_to_vec(),
        )
        .await;

    let employee = service.eventually(&ada, left).await;
    let period = employee.tenure_periods.last().unwrap();
    assert_eq!(period.end_date.as_deref(), Some("2099-06-30"));
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let history = service
        .sql_rows("SELECT event_type FROM employees.events ORDER BY version")
        .await;
    assert_eq!(
        history,
        ["EmployeeHired", "DepartureAnnounced", "EmploymentEnded"]
    );
    let causation = service
        .sql_rows("SELECT actor || ' ' || (causation_id IS NOT NULL)::text FROM employees.events WHERE version = 3")
        .await;
    assert_eq!(causation, ["service:employees/offboarding-completed true"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_offboarding_case_for_an_unannounced_departure_records_it_first() {
    let mut service = TestService::start().await;
    let bob = service.hire("Bob", "bob@example.com", "2024-01-08").await;
    let case = uuid::Uuid::now_v7();
    let completed = offboarding::OffboardingCompleted {
        case_id: "case-2".into(),
        employee_id: bob.clone(),
        last_working_day: "2025-01-31".into(),
        separation_type: offboarding::SeparationType::Mutual as i32,
        completed_at: None,
    };
    service
        .publish_foreign(
            case,
            1,
            "offboarding",
            "OffboardingCompleted",
            completed.encode_to_vec(),
        )
        .await;
    let employee = service.eventually(&bob, left).await;
    assert_eq!(
        employee.tenure_periods[0].separation_type,
        Some(proto::SeparationType::Mutual as i32)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_alumnus_rehired_elsewhere_returns_as_the_same_person() {
    let mut service = TestService::start().await;
    let cy = service.hire("Cy", "cy@example.com", "2023-03-01").await;
    let case = uuid::Uuid::now_v7();
    let completed = offboarding::OffboardingCompleted {
        case_id: "case-3".into(),
        employee_id: cy.clone(),
        last_working_day: "2024-02-29".into(),
        separation_type: offboarding::SeparationType::Voluntary as i32,
        completed_at: None,
    };
    service
        .publish_foreign(
            case,
            1,
            "offboarding",
            "OffboardingCompleted",
            completed.encode_to_vec(),
        )
        .await;
    service.eventually(&cy, left).await;

    let rehired = alumni::AlumnusRehired {
        alumnus_id: uuid::Uuid::now_v7().to_string(),
        employee_id: cy.clone(),
        contract: Some(proto::Contract {
            kind: proto::ContractKind::Freelance as i32,
            ..permanent("2025-09-01")
        }),
        start_date: "2025-09-01".into(),
        role_title: Some("Consultant".into()),
        department: None,
        manager_id: None,
    };
    service
        .publish_foreign(
            uuid::Uuid::now_v7(),
            1,
            "alumni",
            "AlumnusRehired",
            rehired.encode_to_vec(),
        )
        .await;
    let employee = service
        .eventually(&cy, |e| e.status == proto::EmployeeStatus::Active as i32)
        .await;
    assert_eq!(employee.employee_id, cy, "the same person");
    assert_eq!(
        employee.tenure_periods.len(),
        2,
        "a new tenure period, the old one kept"
    );
    assert_eq!(employee.role_title, "Consultant");
    assert_eq!(
        employee.contract.unwrap().kind,
        proto::ContractKind::Freelance as i32
    );
}
