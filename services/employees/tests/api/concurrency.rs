//! Optimistic concurrency (`expected_version`) and idempotency (`request_id`)
//! of the commands.

use tenure_proto::tenure::employees::v1 as proto;
use tokio::task::JoinSet;
use tonic::Code;
use uuid::Uuid;

use crate::helpers::{TestService, days_from_today, expect_code, hire_request, request_for};

fn change_role(employee_id: &str, title: &str) -> proto::ChangeRoleRequest {
    proto::ChangeRoleRequest {
        employee_id: employee_id.into(),
        role_title: title.into(),
        department: "Engineering".into(),
        effective_date: "2025-06-02".into(),
        ..Default::default()
    }
}

#[tokio::test]
async fn a_stale_expected_version_is_aborted_and_the_current_one_accepted() {
    let mut service = TestService::start().await;
    let ada = service.hire("Ada", "ada@example.com", "2025-01-06").await;

    let request = service.request(proto::ChangeRoleRequest {
        expected_version: Some(1),
        ..change_role(&ada, "Lead")
    });
    let changed = service.client.change_role(request).await.unwrap();
    assert_eq!(changed.into_inner().version, 2);

    for stale in [1, 7] {
        let request = service.request(proto::ChangeRoleRequest {
            expected_version: Some(stale),
            ..change_role(&ada, "Principal")
        });
        let status = expect_code(service.client.change_role(request).await, Code::Aborted);
        assert_eq!(
            status.message(),
            format!(
                "the employee is at version 2, not the expected {stale}; read it again and retry"
            )
        );
    }
    assert_eq!(service.event_count().await, 2, "nothing written");

    let current = service.employee(&ada).await.version;
    let request = service.request(proto::SetInterestsRequest {
        employee_id: ada.clone(),
        tags: vec!["rust".into()],
        expected_version: Some(current),
        ..Default::default()
    });
    let set = service.client.set_interests(request).await.unwrap();
    assert_eq!(set.into_inner().version, 3);
    assert_eq!(service.employee(&ada).await.role_title, "Lead");
}

#[tokio::test]
async fn an_expected_version_of_zero_on_an_existing_employee_is_aborted() {
    let mut service = TestService::start().await;
    let ada = service.hire("Ada", "ada@example.com", "2025-01-06").await;
    let request = service.request(proto::ChangeRoleRequest {
        expected_version: Some(0),
        ..change_role(&ada, "Lead")
    });
    let status = expect_code(service.client.change_role(request).await, Code::Aborted);
    assert_eq!(
        status.message(),
        "the employee is at version 1, not the expected 0; read it again and retry"
    );
    assert_eq!(service.event_count().await, 1, "nothing written");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn of_concurrent_commands_expecting_one_version_exactly_one_wins() {
    let mut service = TestService::start().await;
    let ada = service.hire("Ada", "ada@example.com", "2025-01-06").await;
    let mut changes = JoinSet::new();
    for n in 0..6 {
        let mut client = service.client.clone();
        let request = service.request(proto::ChangeRoleRequest {
            expected_version: Some(1),
            ..change_role(&ada, &format!("Role {n}"))
        });
        changes.spawn(async move { client.change_role(request).await });
    }
    let (mut won, mut aborted) = (0, 0);
    while let Some(outcome) = changes.join_next().await {
        match outcome.unwrap() {
            Ok(response) => {
                assert_eq!(response.into_inner().version, 2);
                won += 1;
            }
            Err(status) => {
                assert_eq!(status.code(), Code::Aborted, "{status:?}");
                aborted += 1;
            }
        }
    }
    assert_eq!((won, aborted), (1, 5));
    assert_eq!(service.employee(&ada).await.version, 2);
    assert_eq!(service.event_count().await, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_commands_without_an_expected_version_all_apply() {
    let mut service = TestService::start().await;
    let ada = service.hire("Ada", "ada@example.com", "2025-01-06").await;
    let mut changes = JoinSet::new();
    for n in 0..4 {
        let mut client = service.client.clone();
        let request = service.request(change_role(&ada, &format!("Role {n}")));
        changes.spawn(async move { client.change_role(request).await });
    }
    let mut versions = Vec::new();
    while let Some(outcome) = changes.join_next().await {
        versions.push(
            outcome
                .unwrap()
                .expect("retried, not refused")
                .into_inner()
                .version,
        );
    }
    versions.sort();
    assert_eq!(versions, [2, 3, 4, 5]);
    assert_eq!(service.event_count().await, 5);
}

#[tokio::test]
async fn a_retried_hire_returns_the_first_employee_and_hires_no_one_twice() {
    let mut service = TestService::start().await;
    let request_id = Uuid::now_v7().to_string();
    let hire = || proto::HireEmployeeRequest {
        request_id: request_id.clone(),
        ..hire_request("Ada", "ada@example.com", "2025-01-06")
    };

    let request = service.request(hire());
    let first = service
        .client
        .hire_employee(request)
        .await
        .unwrap()
        .into_inner();
    assert_eq!(first.version, 1);
    for _ in 0..2 {
        let request = service.request(hire());
        let retry = service
            .client
            .hire_employee(request)
            .await
            .unwrap()
            .into_inner();
        assert_eq!(retry, first);
    }
    assert_eq!(service.event_count().await, 1, "hired once");
    let request = service.request(proto::ListEmployeesRequest::default());
    let listed = service.client.list_employees(request).await.unwrap();
    assert_eq!(listed.into_inner().employees.len(), 1);

    // The key belongs to this organisation: another one hires its own Ada.
    let elsewhere = request_for(Uuid::now_v7(), hire());
    let other = service.client.hire_employee(elsewhere).await.unwrap();
    assert_ne!(other.into_inner().employee_id, first.employee_id);
    assert_eq!(service.event_count().await, 2);
}

#[tokio::test]
async fn a_retried_command_returns_the_first_result_and_appends_nothing() {
    let mut service = TestService::start().await;
    let ada = service.hire("Ada", "ada@example.com", "2025-01-06").await;
    let request_id = Uuid::now_v7().to_string();
    let role_change = |title: &str| proto::ChangeRoleRequest {
        request_id: request_id.clone(),
        ..change_role(&ada, title)
    };

    let request = service.request(role_change("Lead"));
    let first = service
        .client
        .change_role(request)
        .await
        .unwrap()
        .into_inner();
    assert_eq!(first.version, 2);
    // Something else happens to Ada in between.
    let request = service.request(proto::SetInterestsRequest {
        employee_id: ada.clone(),
        tags: vec!["chess".into()],
        ..Default::default()
    });
    service.client.set_interests(request).await.unwrap();

    // The retry answers as the first time did, even with another expected version.
    for expected_version in [None, Some(1)] {
        let request = service.request(proto::ChangeRoleRequest {
            expected_version,
            ..role_change("Lead")
        });
        let retry = service
            .client
            .change_role(request)
            .await
            .unwrap()
            .into_inner();
        assert_eq!(retry, first);
    }
    // Another body under the same id is another request: refused.
    let request = service.request(role_change("Principal"));
    let status = expect_code(
        service.client.change_role(request).await,
        Code::FailedPrecondition,
    );
    assert!(status.message().contains("different request"), "{status:?}");
    assert_eq!(service.event_count().await, 3);
    let employee = service.employee(&ada).await;
    assert_eq!(
        (employee.role_title.as_str(), employee.version),
        ("Lead", 3)
    );
}

#[tokio::test]
async fn a_request_id_used_for_one_employee_changes_no_other() {
    let mut service = TestService::start().await;
    let ada = service.hire("Ada", "ada@example.com", "2025-01-06").await;
    let bob = service.hire("Bob", "bob@example.com", "2025-01-06").await;
    let request_id = Uuid::now_v7().to_string();
    let request = service.request(proto::ChangeRoleRequest {
        request_id: request_id.clone(),
        ..change_role(&ada, "Lead")
    });
    service.client.change_role(request).await.unwrap();

    let request = service.request(proto::ChangeRoleRequest {
        request_id,
        ..change_role(&bob, "Lead")
    });
    expect_code(
        service.client.change_role(request).await,
        Code::FailedPrecondition,
    );
    assert_eq!(service.event_count().await, 3, "nothing appended for Bob");
    assert_eq!(service.employee(&bob).await.role_title, "Engineer");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_retries_of_one_command_append_once() {
    let mut service = TestService::start().await;
    let ada = service.hire("Ada", "ada@example.com", "2025-01-06").await;
    let request_id = Uuid::now_v7().to_string();
    let mut retries = JoinSet::new();
    for _ in 0..8 {
        let mut client = service.client.clone();
        // A departure cannot be announced twice: only the request log makes
        // the retries succeed.
        let request = service.request(proto::AnnounceDepartureRequest {
            employee_id: ada.clone(),
            separation_type: proto::SeparationType::Voluntary as i32,
            reason_code: "better_offer".into(),
            last_working_day: days_from_today(30),
            request_id: request_id.clone(),
            ..Default::default()
        });
        retries.spawn(async move { client.announce_departure(request).await });
    }
    let mut outcomes = Vec::new();
    while let Some(outcome) = retries.join_next().await {
        outcomes.push(outcome.unwrap().map(|r| r.into_inner().version));
    }
    assert_eq!(
        service.event_types(&ada).await,
        ["EmployeeHired", "DepartureAnnounced"]
    );
    for outcome in outcomes {
        assert_eq!(outcome.expect("the first result"), 2);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_retries_of_one_hire_hire_once() {
    let service = TestService::start().await;
    let request_id = Uuid::now_v7().to_string();
    let mut retries = JoinSet::new();
    for _ in 0..8 {
        let mut client = service.client.clone();
        let request = service.request(proto::HireEmployeeRequest {
            request_id: request_id.clone(),
            ..hire_request("Ada", "ada@example.com", "2025-01-06")
        });
        retries.spawn(async move { client.hire_employee(request).await });
    }
    let mut outcomes = Vec::new();
    while let Some(outcome) = retries.join_next().await {
        outcomes.push(outcome.unwrap().map(|r| r.into_inner()));
    }
    assert_eq!(service.event_count().await, 1, "hired once");
    let ids: Vec<_> = outcomes
        .into_iter()
        .map(|outcome| outcome.expect("the first result").employee_id)
        .collect();
    assert!(ids.iter().all(|id| *id == ids[0]), "{ids:?}");
}

#[tokio::test]
async fn a_request_id_reused_for_another_command_is_refused_and_writes_nothing() {
    let mut service = TestService::start().await;
    let request_id = Uuid::now_v7().to_string();
    let request = service.request(proto::HireEmployeeRequest {
        request_id: request_id.clone(),
        ..hire_request("Ada", "ada@example.com", "2025-01-06")
    });
    let ada = service
        .client
        .hire_employee(request)
        .await
        .unwrap()
        .into_inner();

    // Another RPC, on the employee the first request created.
    let request = service.request(proto::ChangeRoleRequest {
        request_id: request_id.clone(),
        ..change_role(&ada.employee_id, "Lead")
    });
    let status = expect_code(
        service.client.change_role(request).await,
        Code::FailedPrecondition,
    );
    assert_eq!(
        status.message(),
        format!(
            "request_id {request_id:?} was already used for a different request; \
             send a new request_id for a new request"
        )
    );
    // The same RPC for someone else.
    let request = service.request(proto::HireEmployeeRequest {
        request_id: request_id.clone(),
        ..hire_request("Bea", "bea@example.com", "2025-01-06")
    });
    expect_code(
        service.client.hire_employee(request).await,
        Code::FailedPrecondition,
    );

    assert_eq!(service.event_count().await, 1, "only Ada's hire");
    let request = service.request(proto::ListEmployeesRequest::default());
    let listed = service.client.list_employees(request).await.unwrap();
    assert_eq!(listed.into_inner().employees.len(), 1, "Bea was not hired");
    assert_eq!(
        service.employee(&ada.employee_id).await.role_title,
        "Engineer"
    );

    // The first request itself is still answered as the first time.
    let request = service.request(proto::HireEmployeeRequest {
        request_id,
        ..hire_request("Ada", "ada@example.com", "2025-01-06")
    });
    let retry = service.client.hire_employee(request).await.unwrap();
    assert_eq!(retry.into_inner(), ada);
    assert_eq!(service.event_count().await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn of_different_requests_racing_with_one_id_one_applies_and_the_rest_are_refused() {
    let mut service = TestService::start().await;
    let ada = service.hire("Ada", "ada@example.com", "2025-01-06").await;
    let request_id = Uuid::now_v7().to_string();
    let mut racing = JoinSet::new();
    for n in 0..6 {
        let mut client = service.client.clone();
        let request = service.request(proto::ChangeRoleRequest {
            request_id: request_id.clone(),
            ..change_role(&ada, &format!("Role {n}"))
        });
        racing.spawn(async move { client.change_role(request).await });
    }
    let (mut applied, mut refused) = (0, 0);
    while let Some(outcome) = racing.join_next().await {
        match outcome.unwrap() {
            Ok(response) => {
                assert_eq!(response.into_inner().version, 2);
                applied += 1;
            }
            Err(status) => {
                assert_eq!(status.code(), Code::FailedPrecondition, "{status:?}");
                refused += 1;
            }
        }
    }
    assert_eq!((applied, refused), (1, 5));
    assert_eq!(service.event_count().await, 2);
}
