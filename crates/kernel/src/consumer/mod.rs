//! Durable JetStream consumers that apply each message exactly once.
//!
//! A batch of messages is applied in one PostgreSQL transaction that also
//! records their ids in the inbox; only after it commits are they acked. A
//! redelivered message finds its id in the inbox and has no second effect.
//! Each message runs in a savepoint: one that fails is rolled back alone and
//! redelivered later, and after `max_attempts` failures it goes to the
//! dead-letter table with its error, so it never blocks the consumer.

mod apply;
mod inbox;
mod incoming;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream::{self, consumer::pull};
use async_trait::async_trait;
use futures::StreamExt;
use sqlx::PgConnection;
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};
use uuid::Uuid;

pub use incoming::Incoming;

use crate::store::EventStore;

/// An error from a handler; its text is kept in the dead-letter table.
pub type HandlerError = Box<dyn std::error::Error + Send + Sync>;

/// What a consumer does with each message, inside the batch transaction.
#[async_trait]
pub trait MessageHandler: Send + Sync + 'static {
    /// Applies one message. An error rolls back this message's work only.
    async fn handle(&self, conn: &mut PgConnection, message: &Incoming)
    -> Result<(), HandlerError>;
}

/// Which messages a consumer reads and how it treats failures.
#[derive(Debug, Clone)]
pub struct ConsumerSettings {
    /// The durable consumer's name; also its key in the inbox.
    pub name: String,
    /// The JetStream stream to read, usually another service's.
    pub stream: String,
    /// The subjects to read, e.g. `tenure.employees.>`.
    pub filter_subject: String,
    /// Most messages applied in one transaction.
    pub batch_size: usize,
    /// Failures of one message before it is dead-lettered.
    pub max_attempts: u32,
    /// How long JetStream waits for an ack before redelivering.
    pub ack_wait: Duration,
    /// How long a failed message waits before it is delivered again.
    pub retry_delay: Duration,
}

impl ConsumerSettings {
    pub fn new(name: &str, stream: &str, filter_subject: &str) -> Self {
        Self {
            name: name.to_owned(),
            stream: stream.to_owned(),
            filter_subject: filter_subject.to_owned(),
            batch_size: 256,
            max_attempts: 5,
            ack_wait: Duration::from_secs(30),
            retry_delay: Duration::from_secs(1),
        }
    }
}

/// Runs a durable pull consumer until shut down.
pub struct Consumer {
    store: EventStore,
    jetstream: jetstream::Context,
    settings: ConsumerSettings,
    handler: Arc<dyn MessageHandler>,
    /// Handler failures per message id, for the dead-letter decision.
    /// Failures of the database itself are not counted.
    failures: HashMap<Uuid, u32>,
}

impl Consumer {
    pub fn new(
        store: EventStore,
        client: async_nats::Client,
        settings: ConsumerSettings,
        handler: Arc<dyn MessageHandler>,
    ) -> Self {
        Self {
            store,
            jetstream: jetstream::new(client),
            settings,
            handler,
            failures: HashMap::new(),
        }
    }

    /// Consumes until `shutdown`; a batch in hand is finished first.
    pub async fn run(mut self, shutdown: CancellationToken) {
        let mut backoff = Duration::from_millis(100);
        // A missing stream (its service not deployed yet) repeats forever:
        // say each distinct problem once, then quietly keep retrying.
        let mut last_problem = String::new();
        while !shutdown.is_cancelled() {
            match self.consume(&shutdown).await {
                Ok(()) => return,
                Err(error) => {
                    let problem = error.to_string();
                    if problem != last_problem {
                        warn!(consumer = %self.settings.name, error = %problem, "consumer interrupted; retrying");
                        last_problem = problem;
                    } else {
                        debug!(consumer = %self.settings.name, error = %problem, retry_in = ?backoff, "still retrying");
                    }
                    tokio::select! {
                        _ = shutdown.cancelled() => return,
                        _ = tokio::time::sleep(backoff) => {}
                    }
                    backoff = (backoff * 2).min(Duration::from_secs(5));
                }
            }
        }
    }

    async fn consume(&mut self, shutdown: &CancellationToken) -> Result<(), async_nats::Error> {
        let stream = self.jetstream.get_stream(&self.settings.stream).await?;
        let consumer: jetstream::consumer::Consumer<pull::Config> = stream
            .get_or_create_consumer(
                &self.settings.name,
                pull::Config {
                    durable_name: Some(self.settings.name.clone()),
                    filter_subject: self.settings.filter_subject.clone(),
                    ack_policy: jetstream::consumer::AckPolicy::Explicit,
                    ack_wait: self.settings.ack_wait,
                    max_ack_pending: (self.settings.batch_size * 4) as i64,
                    ..Default::default()
                },
            )
            .await?;
        let messages = consumer
            .stream()
            .max_messages_per_batch(self.settings.batch_size)
            .heartbeat(Duration::from_secs(5))
            .expires(Duration::from_secs(30))
            .messages()
            .await?;
        info!(consumer = %self.settings.name, stream = %self.settings.stream, "consuming");
        let mut batches = messages.ready_chunks(self.settings.batch_size);
        loop {
            let batch = tokio::select! {
                biased;
                _ = shutdown.cancelled() => return Ok(()),
                batch = batches.next() => batch,
            };
            let Some(batch) = batch else {
                return Err("JetStream message stream ended".into());
            };
            let mut messages = Vec::with_capacity(batch.len());
            for message in batch {
                match message {
                    Ok(message) => messages.push(message),
                    Err(error) => {
                        warn!(consumer = %self.settings.name, error = %error, "pull error")
                    }
                }
            }
            if !messages.is_empty() {
                self.apply_batch(messages).await?;
            }
        }
    }
}
