//! `tenure-development rebuild` starts the people read model over from the
//! employees stream, and refuses while the service consumes.

use std::time::{Duration, Instant};

mod support;

use prost::Message;
use support::Servers;
use tenure_development::config::{Command, Config};
use tenure_proto::tenure::employees::v1 as employees;
use tenure_runtime::CancellationToken;
use uuid::Uuid;

async fn hire(servers: &Servers, tenant: Uuid, employee: Uuid, name: &str) {
    let hired = employees::EmployeeHired {
        employee_id: employee.to_string(),
        given_name: name.into(),
        family_name: "Tester".into(),
        department: "Engineering".into(),
        role_title: "Engineer".into(),
        effective_date: "2025-01-06".into(),
        ..Default::default()
    };
    servers
        .publish(tenant, employee, 1, "EmployeeHired", hired.encode_to_vec())
        .await;
}

async fn people(pool: &sqlx::PgPool) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM development.people")
        .fetch_one(pool)
        .await
        .unwrap_or(0)
}

async fn eventually(what: &str, mut done: impl AsyncFnMut() -> bool) {
    let started = Instant::now();
    while !done().await {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_rebuild_is_refused_while_the_service_runs_and_starts_over_when_it_is_stopped() {
    let servers = Servers::start().await;
    let db = &servers.db;
    let tenant = Uuid::now_v7();
    for name in ["Ada", "Bob", "Cy"] {
        hire(&servers, tenant, Uuid::now_v7(), name).await;
    }
    let config = Config::new(&db.url, &servers.nats.url, &servers.root);
    let shutdown = CancellationToken::new();
    let running = tenure_development::start(&config, shutdown.clone())
        .await
        .expect("start");
    let pool = db.pool().await;
    eventually("three people", async || people(&pool).await == 3).await;

    let mut rebuild = config.clone();
    rebuild.command = Some(Command::Rebuild);
    let refused = tenure_development::run(rebuild.clone(), CancellationToken::new()).await;
    let error = refused.expect_err("refused while running");
    let text = tenure_kernel::error::chain(&error);
    assert!(text.contains("running"), "{text}");
    assert_eq!(people(&pool).await, 3, "nothing was emptied");

    shutdown.cancel();
    running.wait().await.expect("stopped");
    sqlx::query("UPDATE development.people SET display_name = 'drifted'")
        .execute(&pool)
        .await
        .unwrap();
    tenure_development::run(rebuild, CancellationToken::new())
        .await
        .expect("rebuild once stopped");
    assert_eq!(people(&pool).await, 0, "emptied, to be built again");

    let shutdown = CancellationToken::new();
    let running = tenure_development::start(&config, shutdown.clone())
        .await
        .expect("start again");
    eventually("three people again", async || people(&pool).await == 3).await;
    let drifted: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM development.people WHERE display_name = 'drifted'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(drifted, 0, "rebuilt from the stream");
    shutdown.cancel();
    running.wait().await.expect("stopped");
}
