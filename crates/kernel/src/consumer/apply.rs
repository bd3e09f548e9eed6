//! Applying one batch of a partition: one transaction that checks the
//! partition's lease, applies each stream's messages in version order, parks
//! what comes early, dead-letters what can never apply, and stores the
//! applied versions; then the acks.

use std::collections::HashMap;
use std::time::Duration;

use async_nats::jetstream::{AckKind, Message};
use sqlx::{Connection, PgConnection, Postgres, Transaction};
use tokio_util::sync::CancellationToken;
use tracing::{error, warn};
use uuid::Uuid;

use super::incoming::headers_to_json;
use super::ledger::{self, StreamState, Unreadable};
use super::{Consumer, Failure, Incoming};
use crate::lease;

/// Why a batch attempt did not commit.
#[derive(Debug)]
pub(super) enum Abort {
    /// A handler failed in an attempt without savepoints: go again with them.
    Handler,
    /// Another replica holds the partition now: stop consuming it.
    LeaseLost,
    Database(sqlx::Error),
    Nats(async_nats::Error),
}

impl From<sqlx::Error> for Abort {
    fn from(error: sqlx::Error) -> Self {
        Abort::Database(error)
    }
}

/// What happens to a delivered message once the transaction committed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verdict {
    /// Applied, a duplicate, parked or dead-lettered: done with on JetStream.
    Ack,
    /// Failed for now: deliver again after the delay.
    Retry(Duration),
}

/// What one message came to in the transaction.
enum Ran {
    /// Applied or skipped by the handler: the stream moved on.
    Done,
    DeadLettered,
    Retry(Duration),
}

/// The partition a batch belongs to and the lease it runs under.
pub(super) struct Partition<'a> {
    pub number: u32,
    pub lease: &'a str,
}

impl Consumer {
    /// Applies a batch and acks it. While the database fails, the same batch
    /// is tried again (its messages kept from redelivery meanwhile), so
    /// nothing later of the partition overtakes it.
    pub(super) async fn apply_batch(
        &self,
        partition: &Partition<'_>,
        messages: Vec<Message>,
        shutdown: &CancellationToken,
    ) -> Result<(), Abort> {
        let parsed: Vec<Result<Incoming, String>> = messages.iter().map(Incoming::parse).collect();
        let mut backoff = Duration::from_millis(100);
        loop {
            // Most batches apply cleanly: the whole batch without savepoints
            // first, message by message only if a handler failed.
            let outcome = match self
                .apply_delivered(partition, &messages, &parsed, false)
                .await
            {
                Err(Abort::Handler) => {
                    self.apply_delivered(partition, &messages, &parsed, true)
                        .await
                }
                other => other,
            };
            match outcome {
                Ok(verdicts) => {
                    acknowledge(&self.settings.name, &messages, &verdicts).await;
                    return Ok(());
                }
                Err(Abort::LeaseLost) => return Err(Abort::LeaseLost),
                // With savepoints a handler's failure is a verdict, never an abort.
                Err(failure) => {
                    let error = match failure {
                        Abort::Database(error) => crate::error::chain(&error),
                        Abort::Nats(error) => error.to_string(),
                        _ => "a handler failed outside a savepoint".to_owned(),
                    };
                    error!(consumer = %self.settings.name, error, retry_in = ?backoff, "batch not applied; trying it again");
                    for message in &messages {
                        message.ack_with(AckKind::Progress).await.ok();
                    }
                    tokio::select! {
                        _ = shutdown.cancelled() => return Ok(()),
                        _ = tokio::time::sleep(backoff) => {}
                    }
                    backoff = (backoff * 2).min(Duration::from_secs(5));
                }
            }
        }
    }

    async fn begin(&self) -> Result<Transaction<'static, Postgres>, sqlx::Error> {
        // Only a consumer whose handlers append needs the appenders' lock;
        // holding it otherwise would hold global readers back for nothing.
        if self.settings.appends {
            self.store.begin().await
        } else {
            self.store.pool().begin().await
        }
    }

    async fn apply_delivered(
        &self,
        partition: &Partition<'_>,
        messages: &[Message],
        parsed: &[Result<Incoming, String>],
        isolate: bool,
    ) -> Result<Vec<Verdict>, Abort> {
        let name = &self.settings.name;
        let mut tx = self.begin().await?;
        if !lease::fence(&mut tx, partition.lease, self.holder).await? {
            return Err(Abort::LeaseLost);
        }
        let mut streams: Vec<Uuid> = parsed.iter().flatten().map(|m| m.stream_id).collect();
        streams.sort_unstable();
        streams.dedup();
        let mut states = ledger::stream_states(&mut tx, name, &streams).await?;
        if !isolate && let Some(next) = all_next_in_line(parsed, &states) {
            self.handler
                .handle_batch(&mut tx, &next)
                .await
                .map_err(|_| Abort::Handler)?;
            for incoming in &next {
                let state = states.entry(incoming.stream_id).or_default();
                state.applied = incoming.stream_version;
                state.tenant_id = incoming.tenant_id;
                state.changed = true;
            }
            ledger::save_applied(&mut tx, name, &states).await?;
            tx.commit().await?;
            if self.settings.appends {
                self.store.signal().appended();
            }
            return Ok(vec![Verdict::Ack; messages.len()]);
        }
        let mut verdicts = Vec::with_capacity(messages.len());
        for (message, parsed) in messages.iter().zip(parsed) {
            let incoming = match parsed {
                Ok(incoming) => incoming,
                Err(reason) => {
                    error!(consumer = %name, reason, "unreadable message dead-lettered");
                    let letter = Unreadable {
                        subject: message.subject.as_str(),
                        stream_sequence: message
                            .info()
                            .map(|i| i.stream_sequence as i64)
                            .unwrap_or(0),
                        reason,
                        headers: headers_to_json(&message.headers.clone().unwrap_or_default()),
                        payload: &message.payload,
                    };
                    ledger::dead_letter_unreadable(&mut tx, name, letter).await?;
                    verdicts.push(Verdict::Ack);
                    continue;
                }
            };
            let state = states.entry(incoming.stream_id).or_default();
            let version = incoming.stream_version;
            if version <= state.applied {
                verdicts.push(Verdict::Ack); // applied before: a redelivery
                continue;
            }
            if state.blocked_by.is_some() || version > state.applied + 1 {
                ledger::park(&mut tx, name, partition.number, incoming).await?;
                state.has_parked = true;
                verdicts.push(Verdict::Ack);
                continue;
            }
            let ran = self
                .run_handler(&mut tx, incoming, incoming.delivered, state, isolate)
                .await?;
            verdicts.push(match ran {
                Ran::Retry(delay) => Verdict::Retry(delay),
                Ran::Done | Ran::DeadLettered => Verdict::Ack,
            });
            if matches!(ran, Ran::Done) && state.has_parked {
                self.apply_parked_chain(&mut tx, incoming.stream_id, state, isolate)
                    .await?;
            }
        }
        ledger::save_applied(&mut tx, name, &states).await?;
        tx.commit().await?;
        if self.settings.appends {
            self.store.signal().appended();
        }
        Ok(verdicts)
    }

    /// Applies the parked messages of `partition` whose turn has come (their
    /// gap filled, their dead letter redriven or discarded). Returns how many
    /// were applied or dead-lettered.
    pub(super) async fn apply_parked(&self, partition: &Partition<'_>) -> Result<usize, Abort> {
        let name = &self.settings.name;
        let batch = self.settings.batch_size as i64;
        // Look first without a transaction: nearly always there is nothing.
        let heads = {
            let mut conn = self.store.pool().acquire().await?;
            ledger::parked_heads(&mut conn, name, partition.number, batch).await?
        };
        if heads.is_empty() {
            return Ok(0);
        }
        let mut tx = self.begin().await?;
        if !lease::fence(&mut tx, partition.lease, self.holder).await? {
            return Err(Abort::LeaseLost);
        }
        let heads = ledger::parked_heads(&mut tx, name, partition.number, batch).await?;
        let streams: Vec<Uuid> = heads.iter().map(|(m, _)| m.stream_id).collect();
        let mut states = ledger::stream_states(&mut tx, name, &streams).await?;
        let mut resolved = 0;
        for (incoming, _) in &heads {
            let Some(state) = states.get_mut(&incoming.stream_id) else {
                continue;
            };
            if state.blocked_by.is_none() && incoming.stream_version == state.applied + 1 {
                let before = state.applied;
                self.apply_parked_chain(&mut tx, incoming.stream_id, state, true)
                    .await?;
                resolved += (state.applied - before) as usize;
            }
        }
        ledger::save_applied(&mut tx, name, &states).await?;
        tx.commit().await?;
        if self.settings.appends {
            self.store.signal().appended();
        }
        Ok(resolved)
    }

    /// Applies the stream's parked messages that follow its applied version,
    /// in order, until one is missing or fails.
    async fn apply_parked_chain(
        &self,
        tx: &mut PgConnection,
        stream_id: Uuid,
        state: &mut StreamState,
        isolate: bool,
    ) -> Result<(), Abort> {
        let name = &self.settings.name;
        while state.blocked_by.is_none() {
            let next = state.applied + 1;
            let Some((incoming, failed_before)) = ledger::parked(tx, name, stream_id, next).await?
            else {
                return Ok(());
            };
            match self
                .run_handler(tx, &incoming, failed_before + 1, state, isolate)
                .await?
            {
                Ran::Done | Ran::DeadLettered => ledger::unpark(tx, name, stream_id, next).await?,
                Ran::Retry(_) => {
                    ledger::parked_failed(tx, name, stream_id, next).await?;
                    return Ok(());
                }
            }
        }
        Ok(())
    }

    /// Runs the handler on the message that is next in its stream; `attempt`
    /// counts this try. A failure without savepoints aborts the attempt.
    async fn run_handler(
        &self,
        tx: &mut PgConnection,
        incoming: &Incoming,
        attempt: i64,
        state: &mut StreamState,
        isolate: bool,
    ) -> Result<Ran, Abort> {
        let name = &self.settings.name;
        let result = if isolate {
            let mut savepoint = tx.begin().await?;
            let result = self.handler.handle(&mut savepoint, incoming).await;
            if result.is_ok() {
                savepoint.commit().await?;
            } else {
                savepoint.rollback().await?;
            }
            result
        } else {
            self.handler.handle(tx, incoming).await
        };
        let reason = match result {
            Ok(_) => {
                state.applied = incoming.stream_version;
                state.tenant_id = incoming.tenant_id;
                state.changed = true;
                return Ok(Ran::Done);
            }
            Err(_) if !isolate => return Err(Abort::Handler),
            Err(Failure::Rejected(reason)) => reason,
            Err(Failure::Retry(reason)) if attempt < i64::from(self.settings.max_attempts) => {
                let delay = self.settings.retry_delay(attempt);
                warn!(consumer = %name, message_id = %incoming.message_id, attempt, retry_in = ?delay, error = %reason, "message failed; will retry");
                return Ok(Ran::Retry(delay));
            }
            Err(Failure::Retry(reason)) => format!("gave up after {attempt} attempts: {reason}"),
        };
        let id = ledger::dead_letter(tx, name, incoming, attempt, &reason).await?;
        error!(consumer = %name, message_id = %incoming.message_id, dead_letter = id, attempt, error = %reason,
               "message dead-lettered; later messages of its stream are parked behind it");
        state.blocked_by = Some(id);
        Ok(Ran::DeadLettered)
    }
}

/// The messages of a batch to hand to the handler at once, if the batch is
/// the common case: every message readable, and each one either applied
/// before (a redelivery, left out) or the next of its stream, which has
/// nothing parked and no open dead letter. Anything else (a gap, a stream
/// waiting behind a dead letter) goes through the message-by-message path,
/// which parks and resumes.
fn all_next_in_line<'a>(
    parsed: &'a [Result<Incoming, String>],
    states: &HashMap<Uuid, StreamState>,
) -> Option<Vec<&'a Incoming>> {
    let mut applied: HashMap<Uuid, i64> = HashMap::new();
    let mut next = Vec::with_capacity(parsed.len());
    for incoming in parsed {
        let incoming = incoming.as_ref().ok()?;
        let state = states.get(&incoming.stream_id).copied().unwrap_or_default();
        if state.blocked_by.is_some() || state.has_parked {
            return None;
        }
        let applied = applied.entry(incoming.stream_id).or_insert(state.applied);
        if incoming.stream_version <= *applied {
            continue;
        }
        if incoming.stream_version != *applied + 1 {
            return None;
        }
        *applied = incoming.stream_version;
        next.push(incoming);
    }
    Some(next)
}

/// Acks what is done with and asks for the rest again after its delay.
async fn acknowledge(consumer: &str, messages: &[Message], verdicts: &[Verdict]) {
    for (message, verdict) in messages.iter().zip(verdicts) {
        let acked = match verdict {
            Verdict::Ack => message.ack().await,
            Verdict::Retry(delay) => message.ack_with(AckKind::Nak(Some(*delay))).await,
        };
        if let Err(error) = acked {
            // The effect is committed; a redelivery finds its version applied.
            warn!(consumer, error = %error, "ack not sent");
        }
    }
}
