//! The relay: moves committed events from the event store to NATS
//! JetStream, in commit order, pipelined, as a checkpointed reader of the
//! events table.
//!
//! - It reads events in commit order `(tx_id, position)` below the appenders'
//!   horizon ([`crate::store::global`]), so it never skips one, and keeps a
//!   window of publishes in flight ([`pipeline`]). Acks come back in order
//!   and move a watermark, saved in `checkpoints` at most every 100 ms and
//!   when it stops. Appends write nothing for it.
//! - One relay per service is active: it holds the relay's lease
//!   ([`crate::lease`]) and renews it while it runs; a relay that hangs
//!   stops renewing and another replica takes over once the lease expires.
//!   A relay that wakes up after losing it is fenced off by JetStream itself:
//!   its publishes expect a last sequence the stream has moved past.
//! - On any failure it starts again from the watermark, or after the last
//!   event the stream stored when that is further (every message carries its
//!   position). Every message carries `Nats-Msg-Id` = event id, so what is
//!   published again is dropped by JetStream's duplicate window; consumers
//!   recognize repeats beyond the window by stream version.
//! - It wakes when this process appends (in memory), on `LISTEN` for appends
//!   in other replicas ([`notifier`]), and on a poll timer as a safety net.
//! - An event JetStream refuses every time is parked in `relay_held` with
//!   the reason; the later events of its stream are held behind it, all
//!   other streams go on ([`held`], [`operations`]).
//! - Subjects carry the stream's partition: `<root>.<service>.<partition>.<EventType>`.

mod error;
pub mod headers;
mod held;
pub mod notifier;
pub mod operations;
mod pipeline;
mod read;
mod stream;

use std::time::Duration;

use async_nats::jetstream::{self, message::PublishMessage, stream::StorageType};
use bytes::Bytes;
use sqlx::postgres::PgListener;
use tokio_util::sync::CancellationToken;
use tracing::{debug, error, info, warn};
use uuid::Uuid;

use crate::aggregate::EventData;
use crate::event::{GlobalPosition, Recorded};
use crate::lease;
use crate::partition::partition_of;
use crate::store::EventStore;
use error::{EventKey, RelayError};
use headers::Template;
use pipeline::{Attempt, Ended};

/// Where and how a service's events are published.
#[derive(Debug, Clone)]
pub struct RelaySettings {
    /// The service name, the second subject token: `tenure.<service>.<EventType>`.
    pub service: String,
    /// The first subject token, `tenure` in production; tests use a unique one.
    pub subject_root: String,
    /// The JetStream stream holding the service's events.
    pub stream_name: String,
    /// Events read per page.
    pub batch_size: i64,
    /// Publishes in flight at once, awaiting their acks.
    pub window: usize,
    /// Poll even when no wake-up arrives.
    pub poll_interval: Duration,
    /// JetStream's window for dropping repeated `Nats-Msg-Id`s.
    pub duplicate_window: Duration,
    /// The longest pause between attempts while NATS is unreachable.
    pub max_backoff: Duration,
    /// How long JetStream may take to acknowledge a publish.
    pub ack_timeout: Duration,
    /// Copies of the stream JetStream keeps: 1 on a single server, 3 in a cluster.
    pub replicas: usize,
    /// File storage (durable) or memory.
    pub storage: StorageType,
    /// How long the relay's lease lasts without renewal: the longest time a
    /// hung relay holds relaying up.
    pub lease_ttl: Duration,
    /// How often one event may be refused before it is parked.
    pub refusals_before_parking: u32,
    /// The largest message the stream stores, in bytes; -1: the server's limit.
    pub max_message_size: i32,
}

impl RelaySettings {
    pub fn new(service: &str, subject_root: &str) -> Self {
        Self {
            service: service.to_owned(),
            subject_root: subject_root.to_owned(),
            stream_name: stream_name(subject_root, service),
            batch_size: 1000,
            window: 10_000,
            poll_interval: Duration::from_millis(500),
            duplicate_window: Duration::from_secs(600),
            max_backoff: Duration::from_secs(5),
            ack_timeout: Duration::from_secs(5),
            replicas: 1,
            storage: StorageType::File,
            lease_ttl: Duration::from_secs(15),
            refusals_before_parking: 5,
            max_message_size: -1,
        }
    }

    /// `<root>.<service>.<partition>.<event type>`.
    pub fn subject(&self, event_type: &str, stream_id: Uuid) -> String {
        format!(
            "{}.{}.{}.{}",
            self.subject_root,
            self.service,
            partition_of(stream_id),
            event_type
        )
    }

    /// The subjects of the service's events up to the partition token.
    pub fn service_subjects(&self) -> String {
        format!("{}.{}", self.subject_root, self.service)
    }

    /// The lease the active relay holds.
    pub fn lease_name(&self) -> String {
        format!("relay:{}", self.stream_name)
    }

    /// The wildcard covering all of the service's subjects.
    pub fn all_subjects(&self) -> String {
        format!("{}.{}.>", self.subject_root, self.service)
    }
}

/// The JetStream stream name of a service's events: `TENURE_EMPLOYEES`.
pub fn stream_name(subject_root: &str, service: &str) -> String {
    format!("{}_{}", subject_root, service)
        .to_uppercase()
        .replace(['.', '-'], "_")
}

/// The `LISTEN` channel on which appends in other replicas wake the relay.
pub fn channel(schema: &str) -> String {
    format!("{schema}_appended")
}

/// The subject and message of `event`, its payload moved into the message.
fn publish_message(
    settings: &RelaySettings,
    template: &Template,
    event: &mut Recorded<EventData>,
) -> (String, PublishMessage) {
    let subject = settings.subject(&event.event.event_type, event.stream_id);
    let headers = template.for_event(event, &subject);
    let payload = Bytes::from(std::mem::take(&mut event.event.payload));
    let message = PublishMessage::build().payload(payload).headers(headers);
    (subject, message)
}

/// Moves a service's committed events to JetStream until shut down.
pub struct Relay {
    store: EventStore,
    jetstream: jetstream::Context,
    settings: RelaySettings,
    template: Template,
    /// This replica's identity in the lease.
    holder: Uuid,
}

impl Relay {
    pub fn new(store: EventStore, client: async_nats::Client, settings: RelaySettings) -> Self {
        // An ack future dropped unawaited (after a failure earlier in its
        // window) keeps its in-flight permit until `ack_timeout`: as long as
        // any other, or the next attempt would wait for permits.
        let jetstream = jetstream::ContextBuilder::new()
            .timeout(settings.ack_timeout)
            .ack_timeout(settings.ack_timeout)
            .max_ack_inflight(settings.window.max(1) * 3)
            .backpressure_on_inflight(true)
            .build(client);
        Self {
            store,
            jetstream,
            template: Template::new(&settings.service),
            settings,
            holder: Uuid::now_v7(),
        }
    }

    /// Relays until `shutdown`; waits its turn while another replica relays.
    pub async fn run(self, shutdown: CancellationToken) {
        let lease = lease::Held::new(
            self.store.pool().clone(),
            self.settings.lease_name(),
            self.holder,
            self.settings.lease_ttl,
        );
        while !shutdown.is_cancelled() {
            if lease.renew().await {
                info!(stream = %self.settings.stream_name, "relay active");
                self.store.signal().set_local_relay(true);
                self.relay_while_leader(&lease, &shutdown).await;
                self.store.signal().set_local_relay(false);
                lease.release().await;
            } else {
                debug!("another relay is active; waiting");
            }
            sleep_or_cancel(self.settings.lease_ttl / 3, &shutdown).await;
        }
    }

    async fn relay_while_leader(&self, lease: &lease::Held, shutdown: &CancellationToken) {
        let mut listener = self.listen().await;
        let mut stream_ready = false;
        let mut backoff = Duration::ZERO;
        let mut refusals: Option<(GlobalPosition, u32)> = None;
        while !shutdown.is_cancelled() {
            if !lease.renew().await {
                warn!("relay lost its lease; electing again");
                return;
            }
            if !stream_ready {
                match stream::ensure(&self.jetstream, &self.settings).await {
                    Ok(()) => stream_ready = true,
                    Err(error) => {
                        backoff = next_backoff(backoff, self.settings.max_backoff);
                        warn!(error = %crate::error::chain(&error), retry_in = ?backoff, "JetStream stream not available");
                        sleep_or_cancel(backoff, shutdown).await;
                        continue;
                    }
                }
            }
            let attempt = Attempt {
                store: &self.store,
                js: &self.jetstream,
                settings: &self.settings,
                template: &self.template,
                lease,
                shutdown,
            };
            let (ended, relayed) = match self.start(&attempt).await {
                Ok(start) => {
                    let outcome = pipeline::run(&attempt, &mut listener, start).await;
                    (outcome.ended, outcome.relayed)
                }
                Err(error) => (Ended::Failed(error), 0),
            };
            if relayed > 0 {
                backoff = Duration::ZERO;
                debug!(relayed, "relayed");
            }
            let error = match ended {
                Ended::Shutdown => return,
                Ended::LeaseLost => {
                    warn!("relay lost its lease; electing again");
                    return;
                }
                Ended::Failed(error) => error,
            };
            if error.is_sequence_mismatch() {
                debug!("stream sequence moved; continuing after the stream's last message");
                continue;
            }
            if let Some(event) = error.refused() {
                let count = match refusals {
                    Some((same, count)) if same == event.position => count + 1,
                    _ => 1,
                };
                refusals = Some((event.position, count));
                if count >= self.settings.refusals_before_parking {
                    self.park(event, &error).await;
                    refusals = None;
                    continue;
                }
            }
            stream_ready = false; // the stream may have been deleted or changed
            backoff = next_backoff(backoff, self.settings.max_backoff);
            warn!(error = %crate::error::chain(&error), retry_in = ?backoff, "relay failed; retrying from the first unacknowledged event");
            sleep_or_cancel(backoff, shutdown).await;
        }
    }

    /// Where an attempt starts: after the checkpoint, or after the last event
    /// the stream stored when that is further; with the stream's last
    /// sequence, and after publishing the held events that were put back.
    async fn start(&self, attempt: &Attempt<'_>) -> Result<pipeline::Start, RelayError> {
        let end = stream::end(&self.jetstream, &self.settings).await?;
        let checkpoint = read::checkpoint(&self.store).await?;
        let start = end
            .last_position
            .map_or(checkpoint, |last| last.max(checkpoint));
        let mut last_sequence = end.last_sequence;
        let mut held_exist = held::any(&self.store).await?;
        if held_exist {
            held::release(
                attempt.store,
                attempt.js,
                attempt.settings,
                attempt.template,
                &mut last_sequence,
            )
            .await?;
            held_exist = held::any(&self.store).await?;
        }
        debug!(%start, %checkpoint, last_sequence, held_exist, "relay attempt starts");
        Ok(pipeline::Start {
            after: start,
            checkpoint,
            last_sequence,
            held_exist,
        })
    }

    async fn park(&self, event: EventKey, error: &RelayError) {
        let reason = crate::error::chain(error);
        match held::park(&self.store, event, &reason).await {
            Ok(()) => {
                error!(position = %event.position, stream_id = %event.stream_id, version = event.version, error = %reason, "JetStream refuses an event every time; parked it in relay_held, later events of its stream wait behind it")
            }
            Err(db) => {
                warn!(position = %event.position, error = %db, "cannot park a refused event")
            }
        }
    }

    /// A listener on the append channel, or none while the database refuses one
    /// (the poll timer covers that time).
    async fn listen(&self) -> Option<PgListener> {
        let mut listener = PgListener::connect_with(self.store.pool()).await.ok()?;
        listener
            .listen(&channel(&self.store.settings().schema))
            .await
            .ok()?;
        Some(listener)
    }
}

fn next_backoff(current: Duration, max: Duration) -> Duration {
    (current * 2).clamp(Duration::from_millis(100), max)
}

async fn sleep_or_cancel(duration: Duration, shutdown: &CancellationToken) {
    tokio::select! {
        _ = shutdown.cancelled() => {}
        _ = tokio::time::sleep(duration) => {}
    }
}
