//! Events the relay holds back: one JetStream refused every time, parked
//! with the reason, and the later events of its stream behind it. Every
//! other stream goes on. Once an operator clears the reason
//! ([`super::operations::unpark`]), the relay publishes the stream's held
//! events in version order, one at a time, before their stream goes on.

use async_nats::jetstream;

use super::error::{EventKey, RelayError};
use super::headers::Template;
use super::{RelaySettings, publish_message};
use crate::aggregate::EventData;
use crate::event::Recorded;
use crate::store::EventStore;
use crate::store::record::{EVENT_COLUMNS, EventRow};

/// Held events of streams with no parked event, read per pass.
const PASS: i64 = 100;

/// Parks `refused` with the reason: the later events of its stream are held
/// behind it when the relay reads them.
pub(crate) async fn park(
    store: &EventStore,
    refused: EventKey,
    reason: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO relay_held (stream_id, version, tenant_id, position, error) \
         VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (stream_id, version) DO UPDATE SET error = EXCLUDED.error, held_at = now()",
    )
    .bind(refused.stream_id)
    .bind(refused.version)
    .bind(refused.tenant_id)
    .bind(refused.position.position)
    .bind(reason)
    .execute(store.pool())
    .await?;
    Ok(())
}

/// Whether any event is held.
pub(crate) async fn any(store: &EventStore) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM relay_held)")
        .fetch_one(store.pool())
        .await
}

/// Publishes the held events of streams whose parked event was put back,
/// each ack awaited before the next, and deletes each once acknowledged.
/// `last_sequence` is the stream's last sequence, kept up to date.
pub(crate) async fn release(
    store: &EventStore,
    js: &jetstream::Context,
    settings: &RelaySettings,
    template: &Template,
    last_sequence: &mut u64,
) -> Result<usize, RelayError> {
    let sql = format!(
        "SELECT {EVENT_COLUMNS} FROM relay_held h \
         JOIN events e ON e.stream_id = h.stream_id AND e.version = h.version \
         WHERE NOT EXISTS (SELECT 1 FROM relay_held p WHERE p.stream_id = h.stream_id AND p.error IS NOT NULL) \
         ORDER BY h.stream_id, h.version LIMIT $1"
    );
    let mut released = 0;
    loop {
        let rows: Vec<EventRow> = sqlx::query_as(&sql)
            .bind(PASS)
            .fetch_all(store.pool())
            .await?;
        if rows.is_empty() {
            return Ok(released);
        }
        for row in rows {
            let mut event: Recorded<EventData> = row.into();
            let (subject, message) = publish_message(settings, template, &mut event);
            let key = EventKey::of(&event);
            let failed = |source| RelayError::Publish { event: key, source };
            let ack = js
                .send_publish(subject, message.expected_last_sequence(*last_sequence))
                .await
                .map_err(failed)?
                .await
                .map_err(failed)?;
            if !ack.duplicate {
                *last_sequence = ack.sequence;
            }
            sqlx::query("DELETE FROM relay_held WHERE stream_id = $1 AND version = $2")
                .bind(key.stream_id)
                .bind(key.version)
                .execute(store.pool())
                .await?;
            released += 1;
        }
    }
}
