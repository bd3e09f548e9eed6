//! Applying one batch: a transaction, a savepoint per message, the inbox, then acks.

use std::collections::HashSet;

use async_nats::HeaderMap;
use async_nats::jetstream::{AckKind, Message};
use sqlx::{Connection, Postgres, Transaction};
use tracing::{error, warn};
use uuid::Uuid;

use super::inbox::{self, DeadLetter, InboxEntry};
use super::{Consumer, Incoming};

/// Why a batch attempt did not commit.
#[derive(Debug)]
enum Failure {
    /// A handler failed in a batch applied without savepoints.
    Handler,
    Database(sqlx::Error),
}

impl From<sqlx::Error> for Failure {
    fn from(error: sqlx::Error) -> Self {
        Failure::Database(error)
    }
}

impl Failure {
    fn into_database(self) -> sqlx::Error {
        match self {
            Failure::Database(error) => error,
            // Only the attempt without savepoints reports this, and that one
            // is always followed by the attempt with them.
            Failure::Handler => {
                sqlx::Error::Protocol("a handler failed outside a savepoint".into())
            }
        }
    }
}

/// What happens to a message once the batch transaction committed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verdict {
    /// Applied, already applied before, or dead-lettered.
    Ack,
    /// Failed this time; deliver again after the retry delay.
    Retry,
}

impl Consumer {
    /// Applies a batch and acks it. If the database fails, nothing is acked and
    /// every message is delivered again after the retry delay.
    pub(super) async fn apply_batch(
        &mut self,
        messages: Vec<Message>,
    ) -> Result<(), async_nats::Error> {
        let parsed: Vec<Result<Incoming, String>> = messages.iter().map(Incoming::parse).collect();
        // Most batches apply cleanly: try the whole batch without savepoints,
        // and only if a handler fails, roll back and go message by message.
        let outcome = match self.apply_in_transaction(&messages, &parsed, false).await {
            Err(Failure::Handler) => self.apply_in_transaction(&messages, &parsed, true).await,
            other => other,
        };
        let verdicts = match outcome.map_err(Failure::into_database) {
            Ok(verdicts) => verdicts,
            Err(db_error) => {
                error!(consumer = %self.settings.name, error = %db_error, "batch not applied; redelivering");
                for message in &messages {
                    message
                        .ack_with(AckKind::Nak(Some(self.settings.retry_delay)))
                        .await
                        .ok();
                }
                tokio::time::sleep(self.settings.retry_delay).await;
                return Ok(());
            }
        };
        for (message, verdict) in messages.iter().zip(verdicts) {
            let acked = match verdict {
                Verdict::Ack => message.ack().await,
                Verdict::Retry => {
                    message
                        .ack_with(AckKind::Nak(Some(self.settings.retry_delay)))
                        .await
                }
            };
            if let Err(error) = acked {
                // The effect is committed; a redelivery is absorbed by the inbox.
                warn!(consumer = %self.settings.name, error = %error, "ack not sent");
            }
        }
        Ok(())
    }

    /// Applies the batch in one transaction. With `isolate`, each message runs
    /// in a savepoint so a failing one is rolled back alone; without, the
    /// first failing handler aborts the attempt with [`Failure::Handler`].
    async fn apply_in_transaction(
        &mut self,
        messages: &[Message],
        parsed: &[Result<Incoming, String>],
        isolate: bool,
    ) -> Result<Vec<Verdict>, Failure> {
        let name = self.settings.name.clone();
        let ids: Vec<Uuid> = parsed.iter().flatten().map(|m| m.message_id).collect();
        let mut tx = self.store.begin().await?;
        let applied_before = inbox::already_applied(&mut tx, &name, &ids).await?;
        let mut seen = HashSet::new();
        let mut entries = Vec::new();
        let mut verdicts = Vec::with_capacity(messages.len());

        for (message, parsed) in messages.iter().zip(parsed) {
            let incoming = match parsed {
                Ok(incoming) => incoming,
                Err(reason) => {
                    self.dead_letter_unreadable(&mut tx, message, reason)
                        .await?;
                    verdicts.push(Verdict::Ack);
                    continue;
                }
            };
            let id = incoming.message_id;
            if applied_before.contains(&id) || !seen.insert(id) {
                verdicts.push(Verdict::Ack);
                continue;
            }
            if !isolate {
                if self.handler.handle(&mut tx, incoming).await.is_err() {
                    return Err(Failure::Handler);
                }
                self.failures.remove(&id);
                entries.push(entry(incoming));
                verdicts.push(Verdict::Ack);
                continue;
            }
            let mut savepoint = tx.begin().await?;
            match self.handler.handle(&mut savepoint, incoming).await {
                Ok(()) => {
                    savepoint.commit().await?;
                    self.failures.remove(&id);
                    entries.push(entry(incoming));
                    verdicts.push(Verdict::Ack);
                }
                Err(failure) => {
                    savepoint.rollback().await?;
                    let attempts = self.failures.entry(id).or_default();
                    *attempts += 1;
                    let attempts = *attempts;
                    if attempts < self.settings.max_attempts {
                        warn!(consumer = %name, message_id = %id, attempts, error = %failure, "message failed; will retry");
                        verdicts.push(Verdict::Retry);
                        continue;
                    }
                    error!(consumer = %name, message_id = %id, attempts, error = %failure, "message dead-lettered");
                    let error_text = crate::error::chain(failure.as_ref());
                    inbox::dead_letter(
                        &mut tx,
                        DeadLetter {
                            consumer: &name,
                            message_id: Some(id),
                            tenant_id: incoming.tenant_id,
                            subject: &incoming.subject,
                            stream_sequence: incoming.stream_sequence as i64,
                            attempts: attempts as i32,
                            error: &error_text,
                            headers: headers_json(&incoming.headers),
                            payload: &incoming.payload,
                        },
                    )
                    .await?;
                    self.failures.remove(&id);
                    entries.push(entry(incoming));
                    verdicts.push(Verdict::Ack);
                }
            }
        }
        inbox::record(&mut tx, &name, &entries).await?;
        tx.commit().await?;
        self.store.signal().appended();
        Ok(verdicts)
    }

    /// A message that cannot even be read (no id, not from JetStream) goes
    /// straight to the dead-letter table: retrying cannot fix it.
    async fn dead_letter_unreadable(
        &self,
        tx: &mut Transaction<'static, Postgres>,
        message: &Message,
        reason: &str,
    ) -> Result<(), sqlx::Error> {
        let headers = message.headers.clone().unwrap_or_default();
        let sequence = message
            .info()
            .map(|i| i.stream_sequence as i64)
            .unwrap_or(0);
        error!(consumer = %self.settings.name, reason, "unreadable message dead-lettered");
        inbox::dead_letter(
            tx,
            DeadLetter {
                consumer: &self.settings.name,
                message_id: None,
                tenant_id: None,
                subject: message.subject.as_str(),
                stream_sequence: sequence,
                attempts: 1,
                error: reason,
                headers: headers_json(&headers),
                payload: &message.payload,
            },
        )
        .await
    }
}

fn entry(incoming: &Incoming) -> InboxEntry {
    InboxEntry {
        message_id: incoming.message_id,
        tenant_id: incoming.tenant_id,
        stream_sequence: incoming.stream_sequence as i64,
    }
}

fn headers_json(headers: &HeaderMap) -> serde_json::Value {
    let map = headers
        .iter()
        .map(|(name, values)| {
            let values: Vec<&str> = values.iter().map(|v| v.as_str()).collect();
            (name.to_string(), serde_json::json!(values))
        })
        .collect::<serde_json::Map<_, _>>();
    serde_json::Value::Object(map)
}
