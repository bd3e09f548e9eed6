//! A durable consumer against a real NATS server and PostgreSQL: exactly-once
//! effect under redelivery, and poison messages dead-lettered.

mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_nats::HeaderMap;
use async_nats::jetstream::{self, stream};
use async_trait::async_trait;
use sqlx::{Executor, PgConnection};
use tenure_kernel::consumer::{Consumer, ConsumerSettings, HandlerError, Incoming, MessageHandler};
use tenure_kernel::relay::headers;
use tenure_testkit::TestNats;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

/// Adds each message's amount to a table; refuses payloads that are not numbers.
struct Summing;

#[async_trait]
impl MessageHandler for Summing {
    async fn handle(
        &self,
        conn: &mut PgConnection,
        message: &Incoming,
    ) -> Result<(), HandlerError> {
        let text = std::str::from_utf8(&message.payload)?;
        let amount: i64 = text
            .parse()
            .map_err(|_| format!("payload {text:?} is not an amount"))?;
        sqlx::query("INSERT INTO applied (message_id, amount) VALUES ($1, $2)")
            .bind(message.message_id)
            .bind(amount)
            .execute(conn)
            .await?;
        Ok(())
    }
}

struct Setup {
    fx: support::Fixture,
    nats: TestNats,
    js: jetstream::Context,
    settings: ConsumerSettings,
    subject: String,
}

async fn setup() -> Setup {
    let fx = support::store().await;
    fx.store
        .pool()
        .execute("CREATE TABLE applied (message_id uuid, amount bigint)")
        .await
        .unwrap();
    let nats = TestNats::connect().await.unwrap();
    let js = jetstream::new(nats.client().await);
    let stream_name = nats.stream_name("source");
    let subject_root = format!("{}.source", nats.subject_root());
    js.get_or_create_stream(stream::Config {
        name: stream_name.clone(),
        subjects: vec![format!("{subject_root}.>")],
        ..Default::default()
    })
    .await
    .unwrap();
    let settings = ConsumerSettings {
        batch_size: 10,
        max_attempts: 3,
        retry_delay: Duration::from_millis(100),
        ack_wait: Duration::from_secs(5),
        ..ConsumerSettings::new("summing", &stream_name, &format!("{subject_root}.>"))
    };
    Setup {
        fx,
        nats,
        js,
        settings,
        subject: format!("{subject_root}.Amount"),
    }
}

async fn publish(js: &jetstream::Context, subject: &str, payload: &str) -> Uuid {
    let id = Uuid::now_v7();
    let mut message_headers = HeaderMap::new();
    message_headers.insert(headers::MSG_ID, id.to_string().as_str());
    message_headers.insert(headers::EVENT_TYPE, "Amount");
    js.publish_with_headers(
        subject.to_owned(),
        message_headers,
        payload.to_owned().into(),
    )
    .await
    .unwrap()
    .await
    .unwrap();
    id
}

async fn start(setup: &Setup) -> (CancellationToken, tokio::task::JoinHandle<()>) {
    let shutdown = CancellationToken::new();
    let consumer = Consumer::new(
        setup.fx.store.clone(),
        setup.nats.client().await,
        setup.settings.clone(),
        Arc::new(Summing),
    );
    let task = tokio::spawn(consumer.run(shutdown.clone()));
    (shutdown, task)
}

async fn totals(setup: &Setup) -> (i64, i64) {
    sqlx::query_as("SELECT count(*), COALESCE(sum(amount), 0)::bigint FROM applied")
        .fetch_one(setup.fx.store.pool())
        .await
        .unwrap()
}

async fn wait_until_caught_up(setup: &Setup) {
    let started = Instant::now();
    loop {
        let stream = setup.js.get_stream(&setup.settings.stream).await.unwrap();
        if let Ok(mut consumer) = stream
            .get_consumer::<jetstream::consumer::pull::Config>(&setup.settings.name)
            .await
        {
            let info = consumer.info().await.unwrap();
            if info.num_pending == 0 && info.num_ack_pending == 0 {
                return;
            }
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "consumer did not catch up"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn redelivery_of_an_applied_batch_changes_nothing() {
    let setup = setup().await;
    for amount in 1..=5 {
        publish(&setup.js, &setup.subject, &amount.to_string()).await;
    }
    let (shutdown, task) = start(&setup).await;
    wait_until_caught_up(&setup).await;
    shutdown.cancel();
    task.await.unwrap();
    assert_eq!(totals(&setup).await, (5, 15));

    // Deliver everything again: a new durable consumer of the same name starts
    // from the beginning of the stream.
    let stream = setup.js.get_stream(&setup.settings.stream).await.unwrap();
    stream.delete_consumer(&setup.settings.name).await.unwrap();
    let (shutdown, task) = start(&setup).await;
    wait_until_caught_up(&setup).await;
    shutdown.cancel();
    task.await.unwrap();

    assert_eq!(
        totals(&setup).await,
        (5, 15),
        "the redelivered batch had no second effect"
    );
    let inbox: i64 = sqlx::query_scalar("SELECT count(*) FROM inbox WHERE consumer = 'summing'")
        .fetch_one(setup.fx.store.pool())
        .await
        .unwrap();
    assert_eq!(inbox, 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_poison_message_is_dead_lettered_and_later_messages_still_apply() {
    let setup = setup().await;
    publish(&setup.js, &setup.subject, "1").await;
    let poison = publish(&setup.js, &setup.subject, "not a number").await;
    publish(&setup.js, &setup.subject, "2").await;
    publish(&setup.js, &setup.subject, "3").await;

    let (shutdown, task) = start(&setup).await;
    wait_until_caught_up(&setup).await;
    shutdown.cancel();
    task.await.unwrap();

    assert_eq!(
        totals(&setup).await,
        (3, 6),
        "the messages around the poison one were applied"
    );
    let (message_id, attempts, error): (Option<Uuid>, i32, String) = sqlx::query_as(
        "SELECT message_id, attempts, error FROM dead_letters WHERE consumer = 'summing'",
    )
    .fetch_one(setup.fx.store.pool())
    .await
    .unwrap();
    assert_eq!(message_id, Some(poison));
    assert_eq!(attempts, 3);
    assert!(error.contains("not an amount"), "{error}");
}
