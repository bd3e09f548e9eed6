//! One relay attempt: read pages of events in commit order, publish them
//! continuously with a window of publishes in flight, await the acks in
//! order and move a contiguous watermark, saved as the checkpoint at most
//! every [`CHECKPOINT_EVERY`] and when the attempt ends.
//!
//! JetStream stores the messages exactly in commit order: every publish
//! carries `Nats-Expected-Last-Sequence`, the sequence its predecessor gets.
//! When one publish fails (a timeout, a lost connection, a leader election,
//! a refusal), every later one in flight fails too instead of being stored
//! before it, and the attempt ends; the next one starts from the watermark.
//!
//! An attempt starts one event at a time, each ack awaited, until JetStream
//! stores one as new. An event published before (stored, but its ack lost)
//! comes back as a duplicate of its `Nats-Msg-Id`, which takes no sequence:
//! in a pipelined window the first one would make every later publish's
//! expected sequence wrong. The attempt starts after the last event the
//! stream holds (its position header), so that is rare; the one-at-a-time
//! start covers what is left (a stream whose last message is not the
//! relay's).
//!
//! The expected sequence is absolute, so this order holds while the relay is
//! the stream's one publisher. A second one (a relay that lost its lease and
//! has not noticed yet: at most a window) can make a later publish match;
//! consumers still apply each stream in version order, parking what comes early.

use std::collections::VecDeque;
use std::pin::Pin;
use std::time::{Duration, Instant};

use async_nats::jetstream::context::PublishError;
use async_nats::jetstream::{self, publish::PublishAck};
use futures::FutureExt;
use futures::future::BoxFuture;
use sqlx::postgres::PgListener;
use tokio_util::sync::CancellationToken;
use tracing::warn;

use super::error::{EventKey, RelayError};
use super::headers::Template;
use super::read::{self, Page, ReadEvent};
use super::{RelaySettings, held, publish_message};
use crate::event::GlobalPosition;
use crate::lease::Held;
use crate::store::EventStore;

/// How often the watermark is saved while it moves, and the lease renewed.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(100);
/// How many lease periods a page read may take before the relay counts itself hung.
const HUNG_AFTER_LEASES: u32 = 4;

/// What an attempt needs, borrowed from the relay.
pub(crate) struct Attempt<'a> {
    pub store: &'a EventStore,
    pub js: &'a jetstream::Context,
    pub settings: &'a RelaySettings,
    pub template: &'a Template,
    pub lease: &'a Held,
    pub shutdown: &'a CancellationToken,
}

/// Why an attempt ended.
pub(crate) enum Ended {
    Shutdown,
    LeaseLost,
    Failed(RelayError),
}

/// How an attempt went.
pub(crate) struct Outcome {
    pub ended: Ended,
    /// Events published (or held) and acknowledged in it.
    pub relayed: u64,
}

type AckFuture = Pin<Box<dyn Future<Output = Result<PublishAck, PublishError>> + Send>>;

/// An event read, in the watermark's order: published and awaiting its ack,
/// or held back (done once everything before it is).
struct InFlight {
    position: GlobalPosition,
    sent: Option<Sent>,
}

struct Sent {
    key: EventKey,
    ack: AckFuture,
}

/// Where an attempt starts.
pub(crate) struct Start {
    /// Every event up to here is on JetStream or held.
    pub after: GlobalPosition,
    /// The checkpoint as saved, at or before `after`.
    pub checkpoint: GlobalPosition,
    /// The stream's last sequence, which the first publish expects.
    pub last_sequence: u64,
    /// Whether any event is held.
    pub held_exist: bool,
}

/// Relays from `start` until shutdown, a lost lease or a failure.
pub(crate) async fn run(
    attempt: &Attempt<'_>,
    listener: &mut Option<PgListener>,
    start: Start,
) -> Outcome {
    let Start {
        after: start,
        checkpoint: mut saved,
        mut last_sequence,
        mut held_exist,
    } = start;
    let Attempt {
        store,
        js,
        settings,
        template,
        lease,
        shutdown,
    } = attempt;
    let page_size = settings.batch_size.max(1);
    let window = settings.window.max(1);
    let read_limit = lease.ttl() * HUNG_AFTER_LEASES;
    let poll = settings.poll_interval.min(lease.ttl() / 3);

    let mut watermark = start;
    let mut relayed = 0;
    let mut read_after = start;
    let mut horizon: Option<i64> = None;
    let mut reading: Option<BoxFuture<'static, Result<Result<Page, sqlx::Error>, _>>> = None;
    let mut reading_fresh = false;
    let mut caught_up = false;
    // When an idle relay reads again without a wake-up. A deadline, not a
    // sleep made anew each turn: the checkpoint tick turns the loop more
    // often than `poll`, and would otherwise put the poll off for ever.
    let mut poll_at = tokio::time::Instant::now();
    let mut buffer: VecDeque<ReadEvent> = VecDeque::new();
    let mut in_flight: VecDeque<InFlight> = VecDeque::new();
    let mut probing = true;
    let mut tick = tokio::time::interval(CHECKPOINT_EVERY);
    let mut last_release = Instant::now();

    let ended = 'relay: loop {
        if reading.is_none() && !caught_up && buffer.len() < page_size as usize {
            reading_fresh = horizon.is_none();
            reading = Some(Box::pin(tokio::time::timeout(
                read_limit,
                read::page((*store).clone(), read_after, horizon, page_size),
            )));
        }

        let room = if probing { 1 } else { window };
        while in_flight.len() < room {
            let Some(mut next) = buffer.pop_front() else {
                break;
            };
            let position = next.event.global;
            if next.held {
                if in_flight.is_empty() {
                    watermark = position;
                    relayed += 1;
                } else {
                    in_flight.push_back(InFlight {
                        position,
                        sent: None,
                    });
                }
                continue;
            }
            let key = EventKey::of(&next.event);
            let (subject, message) = publish_message(settings, template, &mut next.event);
            let ack = match js
                .send_publish(subject, message.expected_last_sequence(last_sequence))
                .await
            {
                Ok(ack) => std::future::IntoFuture::into_future(ack),
                Err(source) => {
                    break 'relay Ended::Failed(RelayError::Publish { event: key, source });
                }
            };
            let sent = Sent { key, ack };
            last_sequence += 1;
            in_flight.push_back(InFlight {
                position,
                sent: Some(sent),
            });
        }

        let awaiting_ack = in_flight.front().is_some_and(|f| f.sent.is_some());
        let idle = caught_up && reading.is_none() && buffer.is_empty();
        tokio::select! {
            biased;
            _ = shutdown.cancelled() => break Ended::Shutdown,
            _ = tick.tick() => {
                if !lease.renew().await {
                    break Ended::LeaseLost;
                }
                if watermark != saved {
                    if let Err(error) = read::save_checkpoint(store, watermark).await {
                        break Ended::Failed(error.into());
                    }
                    saved = watermark;
                }
                if held_exist && in_flight.is_empty() && buffer.is_empty() && last_release.elapsed() >= poll {
                    last_release = Instant::now();
                    match release_held(attempt, &mut last_sequence).await {
                        Ok(still_held) => held_exist = still_held,
                        Err(error) => break Ended::Failed(error),
                    }
                }
            }
            page = async { reading.as_mut().expect("a read is running").await }, if reading.is_some() => {
                reading = None;
                let page = match page {
                    Ok(Ok(page)) => page,
                    Ok(Err(error)) => break Ended::Failed(error.into()),
                    Err(_) => break Ended::Failed(RelayError::Hung { limit: read_limit }),
                };
                let full = page.events.len() as i64 == page_size;
                if let Some(last) = page.events.last() {
                    read_after = last.event.global;
                }
                held_exist |= page.events.iter().any(|event| event.held);
                buffer.extend(page.events);
                // A full page: more may wait below the same horizon. A short
                // one read below a horizon taken just now: caught up until a
                // wake-up says otherwise.
                horizon = full.then_some(page.horizon);
                caught_up = !full && reading_fresh;
                if caught_up {
                    poll_at = tokio::time::Instant::now() + poll;
                }
            }
            acked = async {
                let front = in_flight.front_mut().expect("an event in flight");
                front.sent.as_mut().expect("a published event").ack.as_mut().await
            }, if awaiting_ack => {
                let mut acked = Some(acked);
                // The acks that are in already are taken in the same turn.
                while let Some(front) = in_flight.front_mut() {
                    let result = match (&mut front.sent, acked.take()) {
                        (None, _) => None,
                        (Some(_), Some(result)) => Some(result),
                        (Some(sent), None) => match sent.ack.as_mut().now_or_never() {
                            Some(result) => Some(result),
                            None => break,
                        },
                    };
                    let front = in_flight.pop_front().expect("an event in flight");
                    if let Some(result) = result {
                        match result {
                            Ok(ack) if ack.duplicate => {
                                if probing {
                                    // Counted as taking the next sequence; it took none.
                                    last_sequence -= 1;
                                }
                            }
                            Ok(_) => probing = false,
                            Err(source) => {
                                let key = front.sent.expect("a published event").key;
                                break 'relay Ended::Failed(RelayError::Publish { event: key, source });
                            }
                        }
                    }
                    watermark = front.position;
                    relayed += 1;
                }
            }
            _ = wait_for_work(store, listener, poll_at), if idle => {
                caught_up = false;
                horizon = None;
            }
        }
    };
    if watermark != saved
        && let Err(error) = read::save_checkpoint(store, watermark).await
    {
        warn!(error = %error, "cannot save the relay's checkpoint; the next attempt publishes again from the last one");
    }
    Outcome { ended, relayed }
}

/// Publishes the held events whose stream was put back; true while any
/// event is still held.
async fn release_held(attempt: &Attempt<'_>, last_sequence: &mut u64) -> Result<bool, RelayError> {
    held::release(
        attempt.store,
        attempt.js,
        attempt.settings,
        attempt.template,
        last_sequence,
    )
    .await?;
    Ok(held::any(attempt.store).await?)
}

/// Resolves on an append in this process, a `NOTIFY` from another replica,
/// or at `poll_at`.
async fn wait_for_work(
    store: &EventStore,
    listener: &mut Option<PgListener>,
    poll_at: tokio::time::Instant,
) {
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
        _ = store.signal().wait_local() => {}
        _ = notified => {}
        _ = tokio::time::sleep_until(poll_at) => {}
    }
}
