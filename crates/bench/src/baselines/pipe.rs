//! The floor of cross-service latency: a message published to JetStream
//! (acknowledged) and applied by a plain pull consumer into a PostgreSQL
//! table, a batch of whatever is ready per transaction, then acked.

use std::time::Duration;

use async_nats::HeaderMap;
use async_nats::jetstream::consumer::{AckPolicy, PullConsumer, pull};
use async_nats::jetstream::message::PublishMessage;
use async_nats::jetstream::{self, Context};
use bytes::Bytes;
use futures::StreamExt;
use sqlx::PgPool;
use tenure_runtime::CancellationToken;
use tokio::task::JoinHandle;
use uuid::Uuid;

use super::publish::create_stream;

/// The table the consumer writes; watched for arrivals like `development.people`.
pub const TABLE: &str = "bench_raw.people";
const MSG_ID: &str = "Nats-Msg-Id";
/// Most messages applied in one transaction (as the kernel's consumers).
const BATCH: usize = 256;

/// The running consumer; stop it with [`RawPipe::stop`].
pub struct RawPipe {
    sender: RawSender,
    stop: CancellationToken,
    consumer: JoinHandle<anyhow::Result<()>>,
}

/// Sends messages into the pipe; cheap to clone.
#[derive(Clone)]
pub struct RawSender {
    js: Context,
    subject: String,
}

impl RawPipe {
    /// Creates the table, the stream `stream_name` on `<subject_root>.rawpipe.>`
    /// and its durable consumer, and starts consuming.
    pub async fn start(
        client: &async_nats::Client,
        pool: PgPool,
        stream_name: &str,
        subject_root: &str,
    ) -> anyhow::Result<RawPipe> {
        sqlx::raw_sql(&format!(
            "CREATE SCHEMA IF NOT EXISTS bench_raw; CREATE TABLE {TABLE} (id uuid PRIMARY KEY, payload bytea NOT NULL)"
        ))
        .execute(&pool)
        .await?;
        create_stream(client, stream_name, &format!("{subject_root}.rawpipe.>")).await?;
        let js = jetstream::new(client.clone());
        let stream = js
            .get_stream(stream_name)
            .await
            .map_err(|e| anyhow::anyhow!("stream {stream_name}: {e}"))?;
        let consumer = stream
            .get_or_create_consumer(
                "raw-pipe",
                pull::Config {
                    durable_name: Some("raw-pipe".to_owned()),
                    ack_policy: AckPolicy::Explicit,
                    ack_wait: Duration::from_secs(30),
                    ..Default::default()
                },
            )
            .await
            .map_err(|e| anyhow::anyhow!("raw consumer: {e}"))?;
        let stop = CancellationToken::new();
        let consumer = tokio::spawn(consume(consumer, pool, stop.clone()));
        let sender = RawSender {
            js,
            subject: format!("{subject_root}.rawpipe.EmployeeHired"),
        };
        Ok(RawPipe {
            sender,
            stop,
            consumer,
        })
    }

    pub fn sender(&self) -> RawSender {
        self.sender.clone()
    }

    pub async fn stop(self) -> anyhow::Result<()> {
        self.stop.cancel();
        self.consumer.await?
    }
}

impl RawSender {
    /// Publishes `payload` as message `id` and waits for JetStream's ack.
    pub async fn send(&self, id: Uuid, payload: Bytes) -> anyhow::Result<()> {
        let mut headers = HeaderMap::new();
        headers.insert(MSG_ID, id.to_string().as_str());
        let publish = PublishMessage::build().payload(payload).headers(headers);
        let ack = self
            .js
            .send_publish(self.subject.clone(), publish)
            .await
            .map_err(|e| anyhow::anyhow!("raw publish: {e}"))?;
        ack.await
            .map_err(|e| anyhow::anyhow!("raw publish ack: {e}"))?;
        Ok(())
    }
}

async fn consume(
    consumer: PullConsumer,
    pool: PgPool,
    stop: CancellationToken,
) -> anyhow::Result<()> {
    let messages = consumer
        .messages()
        .await
        .map_err(|e| anyhow::anyhow!("raw consumer messages: {e}"))?;
    let mut batches = messages.ready_chunks(BATCH);
    loop {
        let batch = tokio::select! {
            _ = stop.cancelled() => return Ok(()),
            batch = batches.next() => batch,
        };
        let Some(batch) = batch else { return Ok(()) };
        let messages: Vec<jetstream::Message> = batch.into_iter().filter_map(Result::ok).collect();
        let (ids, payloads): (Vec<Uuid>, Vec<&[u8]>) = messages
            .iter()
            .filter_map(|m| {
                let id = Uuid::parse_str(m.headers.as_ref()?.get(MSG_ID)?.as_str()).ok()?;
                Some((id, m.payload.as_ref()))
            })
            .unzip();
        sqlx::query(&format!(
            "INSERT INTO {TABLE} (id, payload) SELECT * FROM unnest($1::uuid[], $2::bytea[]) ON CONFLICT DO NOTHING"
        ))
        .bind(&ids)
        .bind(&payloads)
        .execute(&pool)
        .await?;
        for message in &messages {
            message
                .ack()
                .await
                .map_err(|e| anyhow::anyhow!("raw ack: {e}"))?;
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::arrivals::{self, Arrivals};

    #[tokio::test]
    async fn messages_cross_the_pipe_into_the_table() {
        let database = tenure_testkit::TestDatabase::create().await.unwrap();
        let nats = tenure_testkit::TestNats::connect().await.unwrap();
        let pool = database.pool().await;
        let client = nats.client().await;
        let pipe = RawPipe::start(
            &client,
            pool.clone(),
            &nats.stream_name("rawpipe"),
            &nats.subject_root(),
        )
        .await
        .unwrap();
        arrivals::install(&pool, TABLE, "id", "pipe_test")
            .await
            .unwrap();
        let seen = Arrivals::listen(&database.url, "pipe_test").await.unwrap();
        let ids: Vec<Uuid> = (0..20).map(|_| Uuid::now_v7()).collect();
        for id in &ids {
            pipe.sender()
                .send(*id, Bytes::from_static(b"payload"))
                .await
                .unwrap();
        }
        seen.wait_all(&ids, Duration::from_secs(20)).await.unwrap();
        pipe.stop().await.unwrap();
    }
}
