//! `tenure-employees rebuild`: every read model rebuilt from the events comes
//! out identical to the one kept inline, and the live tables keep guarding
//! what they guarded.

use tenure_employees::config::Command;
use tenure_proto::tenure::employees::v1 as proto;
use tenure_runtime::CancellationToken;
use tonic::Code;

use crate::helpers::{TestService, expect_code, hire_request};

const PERIODS: &str = "SELECT row_to_json(p)::text FROM employees.employment_periods p \
                       ORDER BY employee_id, period_no";
const DIRECTORY: &str =
    "SELECT row_to_json(d)::text FROM employees.employee_directory d ORDER BY employee_id";

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_rebuilt_directory_is_identical_to_the_inline_one() {
    let mut service = TestService::start().await;
    let ada = service.hire("Ada", "ada@example.com", "2025-01-06").await;
    let bob = service.hire("Bob", "bob@example.com", "2025-02-03").await;
    let cy = service.hire("Cy", "cy@example.com", "2025-03-03").await;
    let request = service.request(proto::AssignManagerRequest {
        employee_id: bob.clone(),
        manager_id: Some(ada.clone()),
        effective_date: "2025-03-01".into(),
        ..Default::default()
    });
    service
        .client
        .assign_manager(request)
        .await
        .expect("assign manager");
    let request = service.request(proto::ChangeRoleRequest {
        employee_id: ada.clone(),
        role_title: "Lead Engineer".into(),
        department: "Platform".into(),
        effective_date: "2025-04-01".into(),
        ..Default::default()
    });
    service
        .client
        .change_role(request)
        .await
        .expect("change role");

    service
        .leave(&cy, proto::SeparationType::Voluntary, "2099-01-31")
        .await;
    service.rehire(&cy, "2099-03-01").await;

    let inline = service.sql_rows(DIRECTORY).await;
    assert_eq!(inline.len(), 3);
    let inline_periods = service.sql_rows(PERIODS).await;
    assert_eq!(inline_periods.len(), 4, "the boomerang has two periods");
    let pool = service.db.pool().await;
    sqlx::query("UPDATE employees.employee_directory SET role_title = 'drifted'")
        .execute(&pool)
        .await
        .unwrap();
    sqlx::query("DELETE FROM employees.employment_periods")
        .execute(&pool)
        .await
        .unwrap();

    let mut config = service.config.clone();
    config.command = Some(Command::Rebuild);
    tenure_employees::run(config, CancellationToken::new())
        .await
        .expect("rebuild");

    assert_eq!(service.sql_rows(DIRECTORY).await, inline);
    assert_eq!(service.sql_rows(PERIODS).await, inline_periods);
    let shadows = service
        .sql_rows("SELECT nspname::text FROM pg_namespace WHERE nspname = 'employees_rebuild'")
        .await;
    assert!(shadows.is_empty(), "the shadow schema is dropped");

    // The refilled live directory still refuses a taken email by its
    // constraint's name, and takes new hires.
    let request = service.request(hire_request("Ada", "ADA@example.com", "2025-05-05"));
    let status = expect_code(
        service.client.hire_employee(request).await,
        Code::FailedPrecondition,
    );
    assert_eq!(
        status.message(),
        "the work email is already used by another employee of this organisation"
    );
    service.hire("Dee", "dee@example.com", "2025-05-05").await;
    assert_eq!(service.sql_rows(DIRECTORY).await.len(), 4);
}
