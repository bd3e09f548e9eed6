//! The outbox relay: moves committed events from the outbox table to NATS
//! JetStream, pipelined, and deletes rows only after JetStream acknowledged
//! them.
//!
//! - One relay per service is active: it holds a session advisory lock on a
//!   dedicated connection ([`leader`]); replicas wait for it.
//! - It wakes when this process appends (in memory), on `LISTEN` for appends
//!   in other replicas ([`notifier`]), and on a poll timer as a safety net.
//! - Every message carries `Nats-Msg-Id` = event id, so a batch published
//!   again after a crash or a failed ack is dropped by JetStream's duplicate
//!   window. Consumers deduplicate too (inbox), for repeats beyond the window.
//! - Per-stream order: rows go out in outbox order, a stream's appends are
//!   sequential, and after a failure the relay starts again from the first
//!   unacknowledged row.

mod batch;
pub mod headers;
mod leader;
pub mod notifier;

use std::time::Duration;

use async_nats::jetstream;
use sqlx::postgres::PgListener;
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

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
        }
    }

    /// `<root>.<service>.<event type>`.
    pub fn subject(&self, event_type: &str) -> String {
        format!("{}.{}.{}", self.subject_root, self.service, event_type)
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
}

impl Relay {
    pub fn new(store: EventStore, client: async_nats::Client, settings: RelaySettings) -> Self {
        let jetstream = jetstream::ContextBuilder::new()
            .timeout(Duration::from_secs(5))
            .max_ack_inflight(settings.batch_size.max(1) as usize * 3)
            .backpressure_on_inflight(true)
            .build(client);
        Self {
            store,
            jetstream,
            settings,
        }
    }

    /// Relays until `shutdown`; waits its turn while another replica relays.
    pub async fn run(self, shutdown: CancellationToken) {
        while !shutdown.is_cancelled() {
            let Some(mut leader) = leader::acquire(&self.store, &self.settings, &shutdown).await
            else {
                return;
            };
            info!(stream = %self.settings.stream_name, "relay active");
            self.relay_while_leader(&mut leader, &shutdown).await;
            leader.release().await;
        }
    }

    async fn relay_while_leader(
        &self,
        leader: &mut leader::Leadership,
        shutdown: &CancellationToken,
    ) {
        let mut listener = self.listen().await;
        let mut stream_ready = false;
        let mut backoff = Duration::ZERO;
        while !shutdown.is_cancelled() {
            if !leader.is_alive().await {
                warn!("relay lost its leadership connection; electing again");
                return;
            }
            if !stream_ready {
                match batch::ensure_stream(&self.jetstream, &self.settings).await {
                    Ok(()) => stream_ready = true,
                    Err(error) => {
                        backoff = next_backoff(backoff, self.settings.max_backoff);
                        warn!(error = %error, retry_in = ?backoff, "JetStream stream not available");
                        sleep_or_cancel(backoff, shutdown).await;
                        continue;
                    }
                }
            }
            match batch::drain(&self.store, &self.jetstream, &self.settings).await {
                Ok(sent) => {
                    backoff = Duration::ZERO;
                    if sent > 0 {
                        debug!(sent, "relayed");
                    }
                    self.wait_for_work(&mut listener, shutdown).await;
                }
                Err(error) => {
                    backoff = next_backoff(backoff, self.settings.max_backoff);
                    warn!(error = %error, retry_in = ?backoff, "relay batch failed; retrying from the first unacknowledged event");
                    sleep_or_cancel(backoff, shutdown).await;
                }
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
        tokio::select! {
            _ = shutdown.cancelled() => {}
            _ = self.store.signal().wait_local() => {}
            _ = notified => {}
            _ = tokio::time::sleep(self.settings.poll_interval) => {}
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
