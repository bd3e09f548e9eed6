//! The people read model applies each employee's events in version order,
//! whatever order JetStream delivers them in, and freezes no one.

use std::time::{Duration, Instant};

use async_nats::HeaderMap;
use async_nats::jetstream::{self, stream};
use prost::Message;
use tenure_development::config::Config;
use tenure_kernel::relay::headers;
use tenure_proto::tenure::employees::v1 as employees;
use tenure_runtime::CancellationToken;
use tenure_testkit::{TestDatabase, TestNats};
use uuid::Uuid;

/// Publishes one employees event as the employees relay would.
async fn publish(
    js: &jetstream::Context,
    root: &str,
    tenant: Uuid,
    employee: Uuid,
    version: i64,
    event_type: &str,
    payload: Vec<u8>,
) {
    let mut h = HeaderMap::new();
    h.insert(headers::MSG_ID, Uuid::now_v7().to_string().as_str());
    h.insert(headers::EVENT_TYPE, event_type);
    h.insert(headers::TENANT, tenant.to_string().as_str());
    h.insert(headers::CE_SUBJECT, employee.to_string().as_str());
    h.insert(headers::STREAM_VERSION, version.to_string().as_str());
    let partition = tenure_kernel::partition::partition_of(employee);
    let subject = format!("{root}.employees.{partition}.{event_type}");
    js.publish_with_headers(subject, h, payload.into())
        .await
        .expect("publish")
        .await
        .expect("ack");
}

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
    tenure_testkit::init_tracing();
    let db = TestDatabase::create().await.expect("database");
    let nats = TestNats::connect().await.expect("nats");
    let root = nats.subject_root();
    let js = jetstream::new(nats.client().await);
    js.get_or_create_stream(stream::Config {
        name: nats.stream_name("employees"),
        subjects: vec![format!("{root}.employees.>")],
        ..Default::default()
    })
    .await
    .expect("stream");
    let shutdown = CancellationToken::new();
    let config = Config::new(&db.url, &nats.url, &root);
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
    publish(
        &js,
        &root,
        tenant,
        employee,
        2,
        "RoleChanged",
        role.encode_to_vec(),
    )
    .await;
    publish(
        &js,
        &root,
        tenant,
        employee,
        3,
        "EmploymentEnded",
        ended.encode_to_vec(),
    )
    .await;
    tokio::time::sleep(Duration::from_secs(8)).await;
    publish(
        &js,
        &root,
        tenant,
        employee,
        1,
        "EmployeeHired",
        hired.encode_to_vec(),
    )
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
