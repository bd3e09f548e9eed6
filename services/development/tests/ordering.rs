//! The people read model applies each employee's events in version order,
//! whatever order JetStream delivers them in, and freezes no one.

use std::time::{Duration, Instant};

mod support;

use prost::Message;
use support::Servers;
use tenure_development::config::Config;
use tenure_proto::tenure::employees::v1 as employees;
use tenure_runtime::CancellationToken;
use uuid::Uuid;

async fn applied_version(pool: &sqlx::PgPool, employee: Uuid) -> Option<(i64, bool)> {
    sqlx::query_as(
        "SELECT last_event_version, active FROM development.people WHERE employee_id = $1",
    )
    .bind(employee)
    .fetch_optional(pool)
    .await
    .ok()
    .flatten()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_event_delivered_before_its_predecessor_waits_for_it_and_the_employee_stays_in_step() {
    let servers = Servers::start().await;
    let db = &servers.db;
    let shutdown = CancellationToken::new();
    let config = Config::new(&db.url, &servers.nats.url, &servers.root);
    let running = tenure_development::start(&config, shutdown.clone())
        .await
        .expect("start");

    let (tenant, employee) = (Uuid::now_v7(), Uuid::now_v7());
    let hired = employees::EmployeeHired {
        employee_id: employee.to_string(),
        given_name: "Ada".into(),
        family_name: "Lovelace".into(),
        department: "Engineering".into(),
        role_title: "Analyst".into(),
        effective_date: "2025-01-06".into(),
        ..Default::default()
    };
    let role = employees::RoleChanged {
        employee_id: employee.to_string(),
        role_title: "Lead".into(),
        department: "Platform".into(),
        effective_date: "2025-06-01".into(),
    };
    let ended = employees::EmploymentEnded {
        employee_id: employee.to_string(),
        effective_date: "2025-12-31".into(),
        ..Default::default()
    };
    // Versions 2 and 3 reach JetStream first, as after a publish that failed
    // and was retried while later ones had been stored; version 1 comes later
    // than a consumer's whole retry budget (5 attempts a second apart).
    servers
        .publish(tenant, employee, 2, "RoleChanged", role.encode_to_vec())
        .await;
    servers
        .publish(
            tenant,
            employee,
            3,
            "EmploymentEnded",
            ended.encode_to_vec(),
        )
        .await;
    tokio::time::sleep(Duration::from_secs(8)).await;
    servers
        .publish(tenant, employee, 1, "EmployeeHired", hired.encode_to_vec())
        .await;

    let pool = db.pool().await;
    let started = Instant::now();
    while applied_version(&pool, employee).await != Some((3, false)) {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the employee is stuck at {:?}",
            applied_version(&pool, employee).await
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let role_title: String =
        sqlx::query_scalar("SELECT role_title FROM development.people WHERE employee_id = $1")
            .bind(employee)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(role_title, "Lead", "version 2 applied after version 1");
    let dead: i64 = sqlx::query_scalar("SELECT count(*) FROM development.dead_letters")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(dead, 0, "nothing was dead-lettered");
    shutdown.cancel();
    running.wait().await.expect("stopped");
}
