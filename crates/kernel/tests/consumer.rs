//! Durable consumers against a real NATS server and PostgreSQL: each
//! stream's messages apply exactly once and in version order, whatever
//! JetStream delivers; poison and transient failures are told apart; dead
//! letters hold their stream back visibly until an operator redrives or
//! discards them; replicas share the partitions.

mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_nats::HeaderMap;
use async_nats::jetstream::{self, stream};
use async_trait::async_trait;
use sqlx::{Executor, PgConnection};
use tenure_kernel::consumer::{
    Consumer, ConsumerSettings, Failure, Incoming, MessageHandler, Outcome, operations,
};
use tenure_kernel::partition::{PARTITIONS, partition_of};
use tenure_kernel::relay::headers;
use tenure_testkit::TestNats;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

/// Records each message's amount. `poison` is refused unless the table
/// `cured` has a row; `flaky:<n>` fails as transient until JetStream has
/// delivered it `n` times.
struct Summing;

#[async_trait]
impl MessageHandler for Summing {
    async fn handle(
        &self,
        conn: &mut PgConnection,
        message: &Incoming,
    ) -> Result<Outcome, Failure> {
        let text = std::str::from_utf8(&message.payload)
            .map_err(|e| Failure::Rejected(e.to_string()))?
            .to_owned();
        let amount: i64 = if text == "poison" {
            let cured: i64 = sqlx::query_scalar("SELECT count(*) FROM cured")
                .fetch_one(&mut *conn)
                .await?;
            if cured == 0 {
                return Err(Failure::Rejected(format!(
                    "payload {text:?} is not an amount"
                )));
            }
            0
        } else if let Some(needed) = text.strip_prefix("flaky:") {
            let needed: i64 = needed.parse().unwrap();
            if message.delivered < needed {
                return Err(Failure::Retry(format!(
                    "not yet ({} of {needed})",
                    message.delivered
                )));
            }
            0
        } else {
            text.parse()
                .map_err(|_| Failure::Rejected(format!("payload {text:?} is not an amount")))?
        };
        sqlx::query(
            "INSERT INTO applied (stream_id, version, amount, delivered) VALUES ($1, $2, $3, $4)",
        )
        .bind(message.stream_id)
        .bind(message.stream_version)
        .bind(amount)
        .bind(message.delivered)
        .execute(conn)
        .await?;
        Ok(Outcome::Applied)
    }
}

/// [`Summing`] that also records how many messages each batch call was handed.
struct Batching;

#[async_trait]
impl MessageHandler for Batching {
    async fn handle(
        &self,
        conn: &mut PgConnection,
        message: &Incoming,
    ) -> Result<Outcome, Failure> {
        Summing.handle(conn, message).await
    }

    async fn handle_batch(
        &self,
        conn: &mut PgConnection,
        messages: &[&Incoming],
    ) -> Result<(), Failure> {
        sqlx::query("INSERT INTO batches (size) VALUES ($1)")
            .bind(messages.len() as i64)
            .execute(&mut *conn)
            .await?;
        for message in messages {
            Summing.handle(conn, message).await?;
        }
        Ok(())
    }
}

struct Setup {
    fx: support::Fixture,
    nats: TestNats,
    js: jetstream::Context,
    settings: ConsumerSettings,
    root: String,
}

async fn setup() -> Setup {
    let fx = support::store().await;
    fx.store
        .pool()
        .execute(
            "CREATE TABLE applied (seq bigserial, stream_id uuid, version bigint, amount bigint, delivered bigint); \
             CREATE TABLE cured (yes boolean); CREATE TABLE batches (size bigint)",
        )
        .await
        .unwrap();
    let nats = TestNats::connect().await.unwrap();
    let js = jetstream::new(nats.client().await);
    let stream_name = nats.stream_name("source");
    let root = format!("{}.source", nats.subject_root());
    js.get_or_create_stream(stream::Config {
        name: stream_name.clone(),
        subjects: vec![format!("{root}.>")],
        ..Default::default()
    })
    .await
    .unwrap();
    let settings = ConsumerSettings {
        batch_size: 10,
        max_attempts: 3,
        first_retry_delay: Duration::from_millis(100),
        ack_wait: Duration::from_secs(5),
        lease_ttl: Duration::from_secs(3),
        parked_interval: Duration::from_millis(200),
        appends: false,
        ..ConsumerSettings::new("summing", &stream_name, &root)
    };
    Setup {
        fx,
        nats,
        js,
        settings,
        root,
    }
}

/// Publishes version `version` of `stream` as a relay would (a fresh message id).
async fn publish(setup: &Setup, stream: Uuid, version: i64, payload: &str) {
    let mut h = HeaderMap::new();
    h.insert(headers::MSG_ID, Uuid::now_v7().to_string().as_str());
    h.insert(headers::EVENT_TYPE, "Amount");
    h.insert(headers::CE_SUBJECT, stream.to_string().as_str());
    h.insert(headers::STREAM_VERSION, version.to_string().as_str());
    let subject = format!("{}.{}.Amount", setup.root, partition_of(stream));
    setup
        .js
        .publish_with_headers(subject, h, payload.to_owned().into())
        .await
        .unwrap()
        .await
        .unwrap();
}

async fn start(setup: &Setup) -> (CancellationToken, tokio::task::JoinHandle<()>) {
    start_with(setup, Arc::new(Summing)).await
}

async fn start_with(
    setup: &Setup,
    handler: Arc<dyn MessageHandler>,
) -> (CancellationToken, tokio::task::JoinHandle<()>) {
    let shutdown = CancellationToken::new();
    let consumer = Consumer::new(
        setup.fx.store.clone(),
        setup.nats.client().await,
        setup.settings.clone(),
        handler,
    );
    let task = tokio::spawn(consumer.run(shutdown.clone()));
    (shutdown, task)
}

/// `(stream, version, amount)` in the order they were applied.
async fn applied(setup: &Setup) -> Vec<(Uuid, i64, i64)> {
    sqlx::query_as("SELECT stream_id, version, amount FROM applied ORDER BY seq")
        .fetch_all(setup.fx.store.pool())
        .await
        .unwrap()
}

async fn applied_of(setup: &Setup, stream: Uuid) -> Vec<i64> {
    applied(setup)
        .await
        .into_iter()
        .filter(|(s, _, _)| *s == stream)
        .map(|(_, v, _)| v)
        .collect()
}

async fn eventually(what: &str, mut done: impl AsyncFnMut() -> bool) {
    let started = Instant::now();
    while !done().await {
        assert!(
            started.elapsed() < Duration::from_secs(40),
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits until every partition's durable consumer has nothing pending.
async fn caught_up(setup: &Setup) {
    eventually("the consumer to catch up", async || {
        let stream = setup.js.get_stream(&setup.settings.stream).await.unwrap();
        for partition in 0..PARTITIONS {
            let Ok(mut consumer) = stream
                .get_consumer::<jetstream::consumer::pull::Config>(
                    &setup.settings.durable_name(partition),
                )
                .await
            else {
                return false;
            };
            let info = consumer.info().await.unwrap();
            if info.num_pending != 0 || info.num_ack_pending != 0 {
                return false;
            }
        }
        true
    })
    .await;
}

async fn stop(running: (CancellationToken, tokio::task::JoinHandle<()>)) {
    running.0.cancel();
    running.1.await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_version_applies_once_even_when_delivered_and_published_again() {
    let setup = setup().await;
    let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
    for version in 1..=5 {
        publish(&setup, a, version, "1").await;
    }
    for version in 1..=3 {
        publish(&setup, b, version, "10").await;
    }
    let running = start(&setup).await;
    caught_up(&setup).await;
    stop(running).await;
    assert_eq!(applied(&setup).await.len(), 8);

    // The relay publishes everything again after its duplicate window (new
    // message ids), and the durable consumers start over from the stream's start.
    for version in 1..=5 {
        publish(&setup, a, version, "1").await;
    }
    let stream = setup.js.get_stream(&setup.settings.stream).await.unwrap();
    for partition in 0..PARTITIONS {
        stream
            .delete_consumer(&setup.settings.durable_name(partition))
            .await
            .ok();
    }
    let running = start(&setup).await;
    caught_up(&setup).await;
    stop(running).await;

    assert_eq!(
        applied_of(&setup, a).await,
        vec![1, 2, 3, 4, 5],
        "once each, in order"
    );
    assert_eq!(applied_of(&setup, b).await, vec![1, 2, 3]);
    let rows: i64 =
        sqlx::query_scalar("SELECT count(*) FROM consumer_streams WHERE consumer = 'summing'")
            .fetch_one(setup.fx.store.pool())
            .await
            .unwrap();
    assert_eq!(
        rows, 2,
        "the consumer remembers one row per stream, not per message"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_message_delivered_before_its_predecessor_waits_parked_and_applies_after_it() {
    let setup = setup().await;
    let running = start(&setup).await;
    let stream = Uuid::now_v7();
    publish(&setup, stream, 2, "2").await;
    publish(&setup, stream, 3, "3").await;
    eventually("versions 2 and 3 parked", async || {
        let parked: i64 = sqlx::query_scalar("SELECT count(*) FROM parked_messages")
            .fetch_one(setup.fx.store.pool())
            .await
            .unwrap();
        parked == 2
    })
    .await;
    assert!(
        applied(&setup).await.is_empty(),
        "nothing applies out of order"
    );
    publish(&setup, stream, 1, "1").await;
    eventually("all three applied", async || {
        applied(&setup).await.len() == 3
    })
    .await;
    stop(running).await;
    assert_eq!(applied_of(&setup, stream).await, vec![1, 2, 3]);
    let parked: i64 = sqlx::query_scalar("SELECT count(*) FROM parked_messages")
        .fetch_one(setup.fx.store.pool())
        .await
        .unwrap();
    assert_eq!(parked, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_poison_message_is_dead_lettered_at_once_and_holds_its_stream_back_until_redriven() {
    let setup = setup().await;
    let (sick, healthy) = (Uuid::now_v7(), Uuid::now_v7());
    publish(&setup, sick, 1, "1").await;
    publish(&setup, sick, 2, "poison").await;
    publish(&setup, sick, 3, "3").await;
    publish(&setup, healthy, 1, "10").await;
    let running = start(&setup).await;
    caught_up(&setup).await;

    assert_eq!(applied_of(&setup, sick).await, vec![1]);
    assert_eq!(
        applied_of(&setup, healthy).await,
        vec![1],
        "other streams go on"
    );
    let pool = setup.fx.store.pool();
    let letters = operations::list(pool, Some("summing"), false, 10)
        .await
        .unwrap();
    assert_eq!(letters.len(), 1);
    let letter = &letters[0];
    assert_eq!((letter.stream_id, letter.version), (Some(sick), Some(2)));
    assert_eq!(letter.attempts, 1, "rejected at once, not retried");
    assert!(letter.error.contains("not an amount"), "{}", letter.error);
    assert_eq!(
        letter.parked_behind, 1,
        "version 3 waits behind it, not dead-lettered too"
    );

    // The cause is fixed; the operator redrives the dead letter.
    sqlx::query("INSERT INTO cured VALUES (true)")
        .execute(pool)
        .await
        .unwrap();
    operations::redrive(pool, letter.id).await.unwrap();
    eventually("the stream to go on", async || {
        applied_of(&setup, sick).await.len() == 3
    })
    .await;
    stop(running).await;
    assert_eq!(applied_of(&setup, sick).await, vec![1, 2, 3]);
    let open = operations::list(pool, Some("summing"), false, 10)
        .await
        .unwrap();
    assert!(open.is_empty(), "no open dead letter left");
    assert!(matches!(
        operations::redrive(pool, letter.id).await,
        Err(operations::OperationError::AlreadyResolved(..))
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_batch_goes_to_the_handler_at_once_and_one_that_fails_is_applied_message_by_message() {
    let setup = setup().await;
    let healthy: Vec<Uuid> = (0..24).map(|_| Uuid::now_v7()).collect();
    let sick = Uuid::now_v7();
    for version in 1..=2 {
        for stream in &healthy {
            publish(&setup, *stream, version, "1").await;
        }
    }
    publish(&setup, sick, 1, "1").await;
    publish(&setup, sick, 2, "poison").await;
    publish(&setup, sick, 3, "3").await;
    let running = start_with(&setup, Arc::new(Batching)).await;
    caught_up(&setup).await;
    stop(running).await;

    for stream in &healthy {
        assert_eq!(applied_of(&setup, *stream).await, vec![1, 2]);
    }
    assert_eq!(
        applied_of(&setup, sick).await,
        vec![1],
        "stopped at the poison"
    );
    let pool = setup.fx.store.pool();
    let letters = operations::list(pool, Some("summing"), false, 10)
        .await
        .unwrap();
    assert_eq!(letters.len(), 1, "only the poison is dead-lettered");
    assert_eq!(letters[0].version, Some(2));
    let largest: Option<i64> = sqlx::query_scalar("SELECT max(size) FROM batches")
        .fetch_one(pool)
        .await
        .unwrap();
    assert!(
        largest.unwrap_or(0) > 1,
        "messages went to the handler several at a time"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_discarded_dead_letter_lets_its_stream_go_on_without_it() {
    let setup = setup().await;
    let stream = Uuid::now_v7();
    publish(&setup, stream, 1, "poison").await;
    publish(&setup, stream, 2, "2").await;
    let running = start(&setup).await;
    caught_up(&setup).await;
    assert!(applied(&setup).await.is_empty());
    let pool = setup.fx.store.pool();
    let letter = operations::list(pool, None, false, 10)
        .await
        .unwrap()
        .remove(0);
    operations::discard(pool, letter.id).await.unwrap();
    eventually("version 2 to apply", async || {
        applied_of(&setup, stream).await == vec![2]
    })
    .await;
    stop(running).await;
    let all = operations::list(pool, None, true, 10).await.unwrap();
    assert_eq!(all[0].resolution.as_deref(), Some("discarded"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_transient_failure_is_retried_by_jetstreams_delivery_count_then_dead_lettered() {
    let setup = setup().await;
    let (recovers, never) = (Uuid::now_v7(), Uuid::now_v7());
    publish(&setup, recovers, 1, "flaky:2").await;
    publish(&setup, recovers, 2, "5").await;
    publish(&setup, never, 1, "flaky:99").await;
    let running = start(&setup).await;
    eventually("the flaky message to apply", async || {
        applied_of(&setup, recovers).await.len() == 2
    })
    .await;
    let pool = setup.fx.store.pool();
    let delivered: i64 =
        sqlx::query_scalar("SELECT delivered FROM applied WHERE stream_id = $1 AND version = 1")
            .bind(recovers)
            .fetch_one(pool)
            .await
            .unwrap();
    assert_eq!(delivered, 2, "applied on JetStream's second delivery");
    assert_eq!(
        applied_of(&setup, recovers).await,
        vec![1, 2],
        "version 2 waited for it"
    );
    eventually("the hopeless message dead-lettered", async || {
        !operations::list(pool, None, false, 10)
            .await
            .unwrap()
            .is_empty()
    })
    .await;
    stop(running).await;
    let letter = operations::list(pool, None, false, 10)
        .await
        .unwrap()
        .remove(0);
    assert_eq!(letter.stream_id, Some(never));
    assert_eq!(
        letter.attempts, 3,
        "max_attempts deliveries, counted by JetStream"
    );
    assert!(
        letter.error.contains("gave up after 3 attempts"),
        "{}",
        letter.error
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_message_without_stream_headers_is_dead_lettered_once_and_the_rest_applies() {
    let setup = setup().await;
    let mut h = HeaderMap::new();
    h.insert(headers::MSG_ID, Uuid::now_v7().to_string().as_str());
    setup
        .js
        .publish_with_headers(format!("{}.0.Amount", setup.root), h, "7".into())
        .await
        .unwrap()
        .await
        .unwrap();
    let stream = Uuid::now_v7();
    publish(&setup, stream, 1, "1").await;
    let running = start(&setup).await;
    caught_up(&setup).await;
    stop(running).await;
    assert_eq!(applied_of(&setup, stream).await, vec![1]);
    let letters = operations::list(setup.fx.store.pool(), None, false, 10)
        .await
        .unwrap();
    assert_eq!(letters.len(), 1);
    assert!(
        letters[0].error.contains("ce-subject"),
        "{}",
        letters[0].error
    );
    assert!(matches!(
        operations::redrive(setup.fx.store.pool(), letters[0].id).await,
        Err(operations::OperationError::Unreadable(_))
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_replicas_share_the_partitions_and_each_stream_still_applies_in_order() {
    let setup = setup().await;
    let first = start(&setup).await;
    let second = start(&setup).await;
    let pool = setup.fx.store.pool().clone();
    eventually("both replicas to hold partitions", async || {
        let holders: i64 = sqlx::query_scalar(
            "SELECT count(DISTINCT holder) FROM leases WHERE name LIKE 'consumer:summing:p%' AND expires_at > now()",
        )
        .fetch_one(&pool)
        .await
        .unwrap();
        let held: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM leases WHERE name LIKE 'consumer:summing:p%' AND expires_at > now()",
        )
        .fetch_one(&pool)
        .await
        .unwrap();
        holders == 2 && held == i64::from(PARTITIONS)
    })
    .await;

    let streams: Vec<Uuid> = (0..20).map(|_| Uuid::now_v7()).collect();
    for version in 1..=10 {
        for stream in &streams {
            publish(&setup, *stream, version, "1").await;
        }
    }
    eventually("every message applied", async || {
        applied(&setup).await.len() == 200
    })
    .await;
    caught_up(&setup).await;
    stop(first).await;
    stop(second).await;
    for stream in &streams {
        assert_eq!(
            applied_of(&setup, *stream).await,
            (1..=10).collect::<Vec<_>>()
        );
    }
}
