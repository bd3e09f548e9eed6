//! What the development tests share: a database and an employees stream of
//! their own, and employees events published as the employees relay would.

#![allow(dead_code)]

use async_nats::HeaderMap;
use async_nats::jetstream::{self, stream};
use tenure_kernel::relay::headers;
use tenure_testkit::{TestDatabase, TestNats};
use uuid::Uuid;

/// A fresh database, the test's NATS prefix and its employees stream.
pub struct Servers {
    pub db: TestDatabase,
    pub nats: TestNats,
    pub js: jetstream::Context,
    pub root: String,
}

impl Servers {
    pub async fn start() -> Servers {
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
        Servers { db, nats, js, root }
    }

    /// Publishes one employees event as the employees relay would.
    pub async fn publish(
        &self,
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
        let subject = format!("{}.employees.{partition}.{event_type}", self.root);
        self.js
            .publish_with_headers(subject, h, payload.into())
            .await
            .expect("publish")
            .await
            .expect("ack");
    }
}
