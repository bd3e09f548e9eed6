//! Durable JetStream consumers that apply each stream's events exactly once
//! and in version order, across restarts and replicas.
//!
//! - **Partitions.** Events are published on `<root>.<service>.<partition>.<EventType>`
//!   ([`crate::partition`]). A consumer is one durable JetStream consumer per
//!   partition, and each partition is consumed by one replica at a time: it
//!   holds the partition's lease ([`crate::lease`]) and every batch
//!   transaction checks it. Replicas share the partitions evenly ([`owner`]).
//! - **Exactly once, in order.** A batch is applied in one PostgreSQL
//!   transaction that also stores, per stream, the last version applied;
//!   only after the commit are the messages acked. A redelivery finds its
//!   version applied and changes nothing, however late it comes. A message
//!   that arrives before the version it follows is parked in PostgreSQL and
//!   applied as soon as that version is.
//! - **Typed outcomes.** A handler applies or skips a message, or fails it as
//!   [`Failure::Rejected`] (poison: dead-lettered at once, with the reason) or
//!   [`Failure::Retry`] (transient: delivered again after a backoff, counted
//!   by JetStream's own delivery count, dead-lettered after `max_attempts`).
//! - **Dead letters block their stream, visibly.** Later messages of a stream
//!   with an open dead letter are parked behind it, never applied out of
//!   order and never dead-lettered in a cascade. [`operations`] lists, redrives
//!   and discards dead letters.
//! - If the database fails, the batch is tried again, and nothing later of
//!   the partition overtakes it.

mod apply;
mod incoming;
mod ledger;
pub mod operations;
mod owner;

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
use apply::{Abort, Partition};

/// A message applied: it changed the read model or caused a command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Applied,
    /// Not for this consumer (an event type it ignores); the stream moves on.
    Skipped,
}

/// Why a handler did not apply a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// The message can never be applied (malformed, breaks a rule): it is
    /// dead-lettered at once with this reason.
    Rejected(String),
    /// It may apply later (a database hiccup, a concurrent change): it is
    /// delivered again after a backoff, and dead-lettered after `max_attempts`.
    Retry(String),
}

impl Failure {
    /// A poison message, with the error chain as the reason.
    pub fn rejected(error: &(dyn std::error::Error + 'static)) -> Failure {
        Failure::Rejected(crate::error::chain(error))
    }

    /// A transient failure, with the error chain as the reason.
    pub fn retry(error: &(dyn std::error::Error + 'static)) -> Failure {
        Failure::Retry(crate::error::chain(error))
    }
}

/// The database failing under a handler is transient.
impl From<sqlx::Error> for Failure {
    fn from(error: sqlx::Error) -> Self {
        Failure::retry(&error)
    }
}

/// What a consumer does with each message, inside the batch transaction.
#[async_trait]
pub trait MessageHandler: Send + Sync + 'static {
    /// Applies one message, the next of its stream. A failure rolls back
    /// this message's work only.
    async fn handle(&self, conn: &mut PgConnection, message: &Incoming)
    -> Result<Outcome, Failure>;

    /// Applies several messages at once, in delivery order: each is the next
    /// of its stream once the ones before it in `messages` are applied. A
    /// failure rolls back the work of all of them, and the consumer then
    /// applies them one at a time through [`MessageHandler::handle`], so that
    /// a bad message is dead-lettered or retried on its own. Override it to
    /// fold a batch into fewer statements; by default it calls `handle` on
    /// each message in turn.
    async fn handle_batch(
        &self,
        conn: &mut PgConnection,
        messages: &[&Incoming],
    ) -> Result<(), Failure> {
        for message in messages {
            self.handle(conn, message).await?;
        }
        Ok(())
    }
}

/// Which messages a consumer reads and how it treats failures.
#[derive(Debug, Clone)]
pub struct ConsumerSettings {
    /// The consumer's name: its key in PostgreSQL and the prefix of its
    /// durable JetStream consumers (`<name>-p<partition>`).
    pub name: String,
    /// The JetStream stream to read, usually another service's.
    pub stream: String,
    /// The subjects of that stream up to the partition token, `<root>.<service>`:
    /// a consumer sees every event of each stream of its partitions, so that
    /// it can tell a missing version from one it does not need.
    pub subjects: String,
    /// Most messages applied in one transaction.
    pub batch_size: usize,
    /// Attempts of a failing message before it is dead-lettered.
    pub max_attempts: u32,
    /// How long JetStream waits for an ack before delivering again.
    pub ack_wait: Duration,
    /// The delay before the second attempt; doubled for every further one.
    pub first_retry_delay: Duration,
    /// The longest delay between attempts.
    pub max_retry_delay: Duration,
    /// How long a partition's lease lasts without renewal: the time a
    /// replica that hangs keeps its partitions from the others.
    pub lease_ttl: Duration,
    /// How often parked messages are checked for their turn.
    pub parked_interval: Duration,
    /// Whether handlers append events (reactions). Only then does a batch take
    /// the appenders' lock, which holds global readers back while it runs.
    pub appends: bool,
}

impl ConsumerSettings {
    /// A consumer of every event of `<root>.<service>` in `stream`.
    pub fn new(name: &str, stream: &str, subjects: &str) -> Self {
        Self {
            name: name.to_owned(),
            stream: stream.to_owned(),
            subjects: subjects.to_owned(),
            batch_size: 256,
            max_attempts: 5,
            ack_wait: Duration::from_secs(30),
            first_retry_delay: Duration::from_millis(500),
            max_retry_delay: Duration::from_secs(30),
            lease_ttl: Duration::from_secs(15),
            parked_interval: Duration::from_secs(2),
            appends: true,
        }
    }

    /// The delay after failed attempt `attempt` (1-based), doubling each time.
    pub fn retry_delay(&self, attempt: i64) -> Duration {
        let doublings = attempt.clamp(1, 20) as u32 - 1;
        self.first_retry_delay
            .saturating_mul(1 << doublings)
            .min(self.max_retry_delay)
    }

    /// The durable JetStream consumer of one partition.
    pub fn durable_name(&self, partition: u32) -> String {
        format!("{}-p{partition}", self.name)
    }

    /// The lease of one partition.
    pub fn partition_lease(&self, partition: u32) -> String {
        format!("consumer:{}:p{partition}", self.name)
    }

    /// The prefix of every partition lease of this consumer.
    pub fn partition_lease_prefix(&self) -> String {
        format!("consumer:{}:p", self.name)
    }

    /// The prefix of the leases by which the running replicas count each other.
    pub fn member_lease_prefix(&self) -> String {
        format!("consumer-member:{}:", self.name)
    }
}

/// Runs a consumer's partitions in this replica until shut down.
pub struct Consumer {
    store: EventStore,
    jetstream: jetstream::Context,
    settings: ConsumerSettings,
    handler: Arc<dyn MessageHandler>,
    /// This replica's identity in the leases.
    holder: Uuid,
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
            holder: Uuid::now_v7(),
        }
    }

    /// Consumes until `shutdown`: takes this replica's share of the
    /// partitions and gives them up again when shut down.
    pub async fn run(self, shutdown: CancellationToken) {
        owner::run(Arc::new(self), shutdown).await
    }

    /// Consumes one partition until `stop`, reconnecting after failures.
    async fn run_partition(self: Arc<Self>, partition: u32, stop: CancellationToken) {
        let lease = self.settings.partition_lease(partition);
        let partition = Partition {
            number: partition,
            lease: &lease,
        };
        let mut backoff = Duration::from_millis(100);
        // A missing stream (its service not deployed yet) repeats forever:
        // say each distinct problem once, then quietly keep retrying.
        let mut last_problem = String::new();
        while !stop.is_cancelled() {
            match self.consume(&partition, &stop).await {
                Ok(()) => return,
                Err(Abort::LeaseLost) => {
                    info!(consumer = %self.settings.name, partition = partition.number, "partition taken over by another replica");
                    stop.cancel();
                    return;
                }
                Err(error) => {
                    let problem = format!("{error:?}");
                    if problem != last_problem {
                        warn!(consumer = %self.settings.name, partition = partition.number, error = %problem, "consumer interrupted; retrying");
                        last_problem = problem;
                    } else {
                        debug!(consumer = %self.settings.name, error = %problem, retry_in = ?backoff, "still retrying");
                    }
                    tokio::select! {
                        _ = stop.cancelled() => return,
                        _ = tokio::time::sleep(backoff) => {}
                    }
                    backoff = (backoff * 2).min(Duration::from_secs(5));
                }
            }
        }
    }

    async fn consume(
        &self,
        partition: &Partition<'_>,
        stop: &CancellationToken,
    ) -> Result<(), Abort> {
        let nats = Abort::Nats;
        let stream = self
            .jetstream
            .get_stream(&self.settings.stream)
            .await
            .map_err(|e| nats(e.into()))?;
        let consumer: jetstream::consumer::Consumer<pull::Config> = stream
            .get_or_create_consumer(
                &self.settings.durable_name(partition.number),
                pull::Config {
                    durable_name: Some(self.settings.durable_name(partition.number)),
                    filter_subject: format!("{}.{}.>", self.settings.subjects, partition.number),
                    ack_policy: jetstream::consumer::AckPolicy::Explicit,
                    ack_wait: self.settings.ack_wait,
                    // The consumer dead-letters at max_attempts itself; the
                    // server's bound only keeps a message from cycling forever.
                    max_deliver: i64::from(self.settings.max_attempts) + 2,
                    max_ack_pending: (self.settings.batch_size * 4) as i64,
                    ..Default::default()
                },
            )
            .await
            .map_err(|e| nats(e.into()))?;
        let messages = consumer
            .stream()
            .max_messages_per_batch(self.settings.batch_size)
            .heartbeat(Duration::from_secs(5))
            .expires(Duration::from_secs(30))
            .messages()
            .await
            .map_err(|e| nats(e.into()))?;
        debug!(consumer = %self.settings.name, partition = partition.number, "consuming");
        let mut batches = messages.ready_chunks(self.settings.batch_size);
        let mut parked = tokio::time::interval(self.settings.parked_interval);
        parked.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let batch = tokio::select! {
                biased;
                _ = stop.cancelled() => {
                    release_buffered(&mut batches).await;
                    return Ok(());
                }
                _ = parked.tick() => {
                    match self.apply_parked(partition).await {
                        // Nothing was applied and the next tick tries again.
                        // Giving up the subscription instead would hold back
                        // what it has been delivered until the ack wait ends.
                        Err(Abort::Database(error)) => {
                            warn!(consumer = %self.settings.name, partition = partition.number, error = %error, "parked messages not checked; trying again at the next tick");
                        }
                        other => {
                            other?;
                        }
                    }
                    continue;
                }
                batch = batches.next() => batch,
            };
            let Some(batch) = batch else {
                return Err(nats("JetStream message stream ended".into()));
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
                self.apply_batch(partition, messages, stop).await?;
            }
        }
    }
}

/// Gives back what the pull has delivered but no batch took yet, so the
/// partition's next owner gets it at once instead of after the ack wait.
async fn release_buffered<S>(batches: &mut S)
where
    S: futures::Stream<Item = Vec<Result<jetstream::Message, pull::MessagesError>>> + Unpin,
{
    use futures::FutureExt;
    while let Some(Some(batch)) = batches.next().now_or_never() {
        for message in batch.into_iter().flatten() {
            message.ack_with(jetstream::AckKind::Nak(None)).await.ok();
        }
    }
}
