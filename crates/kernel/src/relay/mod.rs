//! The outbox relay: moves committed events from the outbox table to NATS
//! JetStream, pipelined, and deletes rows only after JetStream acknowledged
//! them.
//!
//! - One relay per service is active: it holds the relay's lease
//!   ([`crate::lease`]) and renews it before every batch; a relay that hangs
//!   stops renewing and another replica takes over once the lease expires.
//!   A relay that wakes up after losing it is fenced off by JetStream itself:
//!   its publishes expect a last sequence the stream has moved past.
//! - It wakes when this process appends (in memory), on `LISTEN` for appends
//!   in other replicas ([`notifier`]), and on a poll timer as a safety net.
//! - Every message carries `Nats-Msg-Id` = event id, so a batch published
//!   again after a crash is dropped by JetStream's duplicate window.
//!   Consumers recognize repeats beyond the window by stream version.
//! - Order: JetStream stores messages in outbox order, which is commit order
//!   per stream (see [`batch`]): a failed publish never lets a later one in first.
//! - A row JetStream refuses every time is parked in `outbox_parked` with the
//!   reason; the later rows of its stream wait behind it, all other streams go on.
//! - Subjects carry the stream's partition: `<root>.<service>.<partition>.<EventType>`.

mod batch;
pub mod headers;
pub mod notifier;
pub mod operations;

use std::time::Duration;

use async_nats::jetstream::{self, stream::StorageType};
use sqlx::postgres::PgListener;
use tokio_util::sync::CancellationToken;
use tracing::{debug, error, info, warn};
use uuid::Uuid;

use crate::lease;
use crate::partition::partition_of;
use crate::store::EventStore;

/// Where and how a service's events are published.
#[derive(Debug, Clone)]
pub struct RelaySettings {
    /// The service name, the second subject token: `tenure.<service>.<EventType>`.
    pub service: String,
    /// The first subject token, `tenure` in production; tests use a unique one.
    pub subject_root: String,
    /// The JetStream stream holding the service's events.
    pub stream_name: String,
    /// Outbox rows read and published per batch (all in flight at once).
    pub batch_size: i64,
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
    /// How often one row may be refused before it is parked.
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
    format!("{schema}_outbox")
}

/// Moves a service's outbox to JetStream until shut down.
pub struct Relay {
    store: EventStore,
    jetstream: jetstream::Context,
    settings: RelaySettings,
    /// This replica's identity in the lease.
    holder: Uuid,
}

impl Relay {
    pub fn new(store: EventStore, client: async_nats::Client, settings: RelaySettings) -> Self {
        // An ack future dropped unawaited (after a failure earlier in its
        // batch) keeps its in-flight permit until `ack_timeout`: as long as
        // any other, or the next batch would wait for permits.
        let jetstream = jetstream::ContextBuilder::new()
            .timeout(settings.ack_timeout)
            .ack_timeout(settings.ack_timeout)
            .max_ack_inflight(settings.batch_size.max(1) as usize * 3)
            .backpressure_on_inflight(true)
            .build(client);
        Self {
            store,
            jetstream,
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
        let mut refusals: Option<(i64, u32)> = None;
        while !shutdown.is_cancelled() {
            if !lease.renew().await {
                warn!("relay lost its lease; electing again");
                return;
            }
            if !stream_ready {
                match batch::ensure_stream(&self.jetstream, &self.settings).await {
                    Ok(()) => stream_ready = true,
                    Err(error) => {
                        backoff = next_backoff(backoff, self.settings.max_backoff);
                        warn!(error = %crate::error::chain(&error), retry_in = ?backoff, "JetStream stream not available");
                        sleep_or_cancel(backoff, shutdown).await;
                        continue;
                    }
                }
            }
            let drained = batch::drain(&self.store, &self.jetstream, &self.settings, lease).await;
            match drained {
                Ok(batch::Drained {
                    relayed,
                    failure: None,
                }) => {
                    backoff = Duration::ZERO;
                    refusals = None;
                    if relayed > 0 {
                        debug!(relayed, "relayed");
                    }
                    self.wait_for_work(&mut listener, shutdown).await;
                }
                Ok(batch::Drained {
                    failure: Some(error),
                    relayed,
                }) if error.is_sequence_mismatch() => {
                    debug!(
                        relayed,
                        "stream sequence moved; continuing from the stream's last message"
                    );
                }
                Ok(batch::Drained {
                    failure: Some(error),
                    ..
                })
                | Err(error) => {
                    if let Some(row) = error.refused_row() {
                        let count = match refusals {
                            Some((same, count)) if same == row => count + 1,
                            _ => 1,
                        };
                        refusals = Some((row, count));
                        if count >= self.settings.refusals_before_parking {
                            self.park(row, &error).await;
                            refusals = None;
                            continue;
                        }
                    }
                    stream_ready = false; // the stream may have been deleted or changed
                    backoff = next_backoff(backoff, self.settings.max_backoff);
                    warn!(error = %crate::error::chain(&error), retry_in = ?backoff, "relay batch failed; retrying from the first unacknowledged event");
                    sleep_or_cancel(backoff, shutdown).await;
                }
            }
        }
    }

    async fn park(&self, outbox_id: i64, error: &batch::RelayError) {
        let reason = crate::error::chain(error);
        match batch::park(&self.store, outbox_id, &reason).await {
            Ok(()) => {
                error!(outbox_id, error = %reason, "JetStream refuses an outbox row every time; parked it in outbox_parked, later events of its stream wait behind it")
            }
            Err(db) => warn!(outbox_id, error = %db, "cannot park a refused outbox row"),
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

    async fn wait_for_work(&self, listener: &mut Option<PgListener>, shutdown: &CancellationToken) {
        let notified = async {
            match listener.as_mut() {
                Some(listener) => {
                    if listener.recv().await.is_err() {
                        std::future::pending::<()>().await;
                    }
                }
                None => std::future::pending::<()>().await,
            }
        };
        // Never sleep past a third of the lease: it must be renewed in time.
        let poll = self.settings.poll_interval.min(self.settings.lease_ttl / 3);
        tokio::select! {
            _ = shutdown.cancelled() => {}
            _ = self.store.signal().wait_local() => {}
            _ = notified => {}
            _ = tokio::time::sleep(poll) => {}
        }
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
