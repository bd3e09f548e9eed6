//! The outbox relay against a real NATS server that goes away and comes back.

mod support;

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use async_nats::jetstream::{self, consumer::pull};
use futures::StreamExt;
use support::LedgerEvent;
use tenure_kernel::CommandContext;
use tenure_kernel::relay::{Relay, RelaySettings, headers};
use tenure_testkit::PrivateNats;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

async fn wait_for(what: &str, deadline: Duration, mut done: impl AsyncFnMut() -> bool) {
    let started = Instant::now();
    while !done().await {
        assert!(started.elapsed() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn events_appended_while_nats_is_down_all_arrive_once_and_in_stream_order() {
    let fx = support::store().await;
    let mut nats = PrivateNats::start().await.unwrap();
    let client = async_nats::ConnectOptions::new()
        .retry_on_initial_connect()
        .connect(nats.url())
        .await
        .unwrap();
    let js = jetstream::new(client.clone());
    let settings = RelaySettings {
        poll_interval: Duration::from_millis(100),
        max_backoff: Duration::from_millis(500),
        ..RelaySettings::new("ledger", "relaytest")
    };
    let shutdown = CancellationToken::new();
    let relay = tokio::spawn(
        Relay::new(fx.store.clone(), client.clone(), settings.clone()).run(shutdown.clone()),
    );
    wait_for(
        "the relay to create its stream",
        Duration::from_secs(20),
        async || js.get_stream(&settings.stream_name).await.is_ok(),
    )
    .await;

    nats.stop().await;
    let ctx = CommandContext::new(Uuid::now_v7(), "test");
    let streams: Vec<Uuid> = (0..10).map(|_| Uuid::now_v7()).collect();
    let mut written = HashMap::new();
    for version in 0..100 {
        for stream in &streams {
            let mut tx = fx.store.begin().await.unwrap();
            let recorded = fx
                .store
                .append(
                    &mut tx,
                    "ledger",
                    *stream,
                    version,
                    &ctx.metadata,
                    &[LedgerEvent::Deposited { amount: 1 }],
                )
                .await
                .unwrap();
            tx.commit().await.unwrap();
            fx.store.signal().appended();
            written.insert(recorded[0].event_id, (*stream, recorded[0].version));
        }
    }
    assert_eq!(written.len(), 1000, "appends succeed while NATS is down");

    nats.restart().await.unwrap();
    wait_for(
        "all 1,000 events on JetStream",
        Duration::from_secs(90),
        async || match js.get_stream(&settings.stream_name).await {
            Ok(mut stream) => stream
                .info()
                .await
                .map(|i| i.state.messages >= 1000)
                .unwrap_or(false),
            Err(_) => false,
        },
    )
    .await;
    wait_for("the outbox to drain", Duration::from_secs(30), async || {
        let left: i64 = sqlx::query_scalar("SELECT count(*) FROM outbox")
            .fetch_one(fx.store.pool())
            .await
            .unwrap();
        left == 0
    })
    .await;

    let stream = js.get_stream(&settings.stream_name).await.unwrap();
    let consumer = stream
        .create_consumer(pull::Config {
            ack_policy: jetstream::consumer::AckPolicy::None,
            ..Default::default()
        })
        .await
        .unwrap();
    let mut messages = consumer
        .fetch()
        .max_messages(2000)
        .expires(Duration::from_secs(2))
        .messages()
        .await
        .unwrap();
    let mut seen = HashSet::new();
    let mut last_version: HashMap<Uuid, i64> = HashMap::new();
    while let Some(message) = messages.next().await {
        let message = message.unwrap();
        let message_headers = message.headers.clone().unwrap();
        let id = headers::get_uuid(&message_headers, headers::MSG_ID).unwrap();
        assert!(seen.insert(id), "event {id} arrived twice");
        let (stream_id, version) = written[&id];
        let previous = last_version.insert(stream_id, version).unwrap_or(0);
        assert_eq!(
            version,
            previous + 1,
            "stream {stream_id} in order without gaps"
        );
        assert_eq!(
            headers::get(&message_headers, headers::CE_SUBJECT),
            Some(stream_id.to_string().as_str())
        );
    }
    assert_eq!(seen.len(), 1000, "every event arrived exactly once");

    shutdown.cancel();
    relay.await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn only_one_relay_of_a_service_is_active_at_a_time() {
    let fx = support::store().await;
    let nats = tenure_testkit::TestNats::connect().await.unwrap();
    let client = nats.client().await;
    let settings = RelaySettings {
        poll_interval: Duration::from_millis(50),
        ..RelaySettings::new("ledger", &nats.subject_root())
    };
    let shutdown = CancellationToken::new();
    let first = tokio::spawn(
        Relay::new(fx.store.clone(), client.clone(), settings.clone()).run(shutdown.clone()),
    );
    let second = tokio::spawn(
        Relay::new(fx.store.clone(), client.clone(), settings.clone()).run(shutdown.clone()),
    );

    let ctx = CommandContext::new(Uuid::now_v7(), "test");
    for version in 0..50 {
        let mut tx = fx.store.begin().await.unwrap();
        fx.store
            .append(
                &mut tx,
                "ledger",
                Uuid::nil(),
                version,
                &ctx.metadata,
                &[LedgerEvent::Deposited { amount: 1 }],
            )
            .await
            .unwrap();
        tx.commit().await.unwrap();
    }
    let js = jetstream::new(client);
    wait_for(
        "50 events on JetStream",
        Duration::from_secs(30),
        async || match js.get_stream(&settings.stream_name).await {
            Ok(mut stream) => stream
                .info()
                .await
                .map(|i| i.state.messages == 50)
                .unwrap_or(false),
            Err(_) => false,
        },
    )
    .await;
    let holders: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted AND objid::bigint = $1 \
         AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
    )
    .bind(i64::from(fx.store.appender_lock().key + 1))
    .fetch_one(fx.store.pool())
    .await
    .unwrap();
    assert_eq!(holders, 1, "one relay holds the lock, the other waits");

    shutdown.cancel();
    first.await.unwrap();
    second.await.unwrap();
}
