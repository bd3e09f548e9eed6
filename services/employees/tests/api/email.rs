//! A work email belongs to one employee of an organisation, whatever its
//! case; of racing hires with one email exactly one gets through.

use tenure_proto::tenure::employees::v1 as proto;
use tokio::task::JoinSet;
use tonic::Code;
use uuid::Uuid;

use crate::helpers::{TestService, expect_code, hire_request, request_for};

const TAKEN: &str = "the work email is already used by another employee of this organisation";

#[tokio::test]
async fn a_work_email_is_unique_in_an_organisation_whatever_its_case() {
    let mut service = TestService::start().await;
    let ada = service.hire("Ada", "ada@example.com", "2025-01-06").await;

    for email in ["ada@example.com", "ADA@Example.COM", "  Ada@example.com "] {
        let request = service.request(hire_request("Bea", email, "2025-02-03"));
        let status = expect_code(
            service.client.hire_employee(request).await,
            Code::FailedPrecondition,
        );
        assert_eq!(status.message(), TAKEN, "{email}");
    }
    assert_eq!(service.event_count().await, 1, "nothing written");
    assert_eq!(service.employee(&ada).await.work_email, "ada@example.com");

    // Another organisation has its own Ada.
    let other = request_for(
        Uuid::now_v7(),
        hire_request("Ada", "Ada@Example.com", "2025-01-06"),
    );
    service
        .client
        .hire_employee(other)
        .await
        .expect("another tenant");
    assert_eq!(service.event_count().await, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn of_ten_concurrent_hires_with_one_email_exactly_one_gets_through() {
    let service = TestService::start().await;
    for round in 0..3 {
        let email = format!("race{round}@example.com");
        let mut hires = JoinSet::new();
        for n in 0..10 {
            let mut client = service.client.clone();
            // Every hire another person; only the email is the same.
            let request = service.request(hire_request(
                &format!("Racer{n}"),
                &email.to_uppercase(),
                "2025-01-06",
            ));
            hires.spawn(async move { client.hire_employee(request).await });
        }
        let mut hired = Vec::new();
        while let Some(outcome) = hires.join_next().await {
            match outcome.unwrap() {
                Ok(response) => hired.push(response.into_inner().employee_id),
                Err(status) => {
                    assert_eq!(status.code(), Code::FailedPrecondition, "{status:?}");
                    assert_eq!(status.message(), TAKEN);
                }
            }
        }
        assert_eq!(hired.len(), 1, "round {round}: exactly one hire");
        let holders = service
            .sql_rows(&format!(
                "SELECT employee_id::text FROM employees.employee_directory WHERE work_email = '{email}'"
            ))
            .await;
        assert_eq!(holders, hired);
    }
    assert_eq!(service.event_count().await, 3, "one event per round");
}

#[tokio::test]
async fn personal_details_cannot_take_an_email_in_use() {
    let mut service = TestService::start().await;
    let _ada = service.hire("Ada", "ada@example.com", "2025-01-06").await;
    let bob = service.hire("Bob", "bob@example.com", "2025-01-06").await;
    let change_email = |email: &str| proto::ChangePersonalDetailsRequest {
        employee_id: bob.clone(),
        work_email: Some(email.into()),
        ..Default::default()
    };

    let request = service.request(change_email("Ada@Example.com"));
    let status = expect_code(
        service.client.change_personal_details(request).await,
        Code::FailedPrecondition,
    );
    assert_eq!(status.message(), TAKEN);
    assert_eq!(service.event_count().await, 2, "nothing written");
    assert_eq!(service.employee(&bob).await.work_email, "bob@example.com");

    // His own address in other letters is no change at all.
    let request = service.request(change_email("BOB@example.com"));
    let unchanged = service
        .client
        .change_personal_details(request)
        .await
        .unwrap()
        .into_inner();
    assert_eq!(unchanged.version, 1);
    assert_eq!(service.event_count().await, 2);

    // A free address is his; the old one is free again.
    let request = service.request(change_email("robert@example.com"));
    let changed = service
        .client
        .change_personal_details(request)
        .await
        .unwrap()
        .into_inner();
    assert_eq!(changed.version, 2);
    assert_eq!(
        service.employee(&bob).await.work_email,
        "robert@example.com"
    );
    service.hire("Bobby", "bob@example.com", "2025-03-03").await;
}
