//! Appending events to a stream at an expected version.

use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use uuid::Uuid;

use super::EventStore;
use crate::aggregate::DomainEvent;
use crate::error::AppendError;
use crate::event::{GlobalPosition, Recorded};
use crate::metadata::EventMetadata;

/// The primary key whose violation means another append took the version first.
const VERSION_GUARD: &str = "events_pkey";

impl EventStore {
    /// Appends `events` after `expected_version` (0 for a new stream), inside a
    /// transaction from [`EventStore::begin`].
    ///
    /// A race with another append of the same version ends in
    /// [`AppendError::Conflict`] and leaves the transaction aborted: roll it back.
    /// A transaction older than the stream's last append gets
    /// [`AppendError::OutOfOrder`]: nothing was written, and only a new
    /// transaction can append to that stream.
    pub async fn append<E: DomainEvent>(
        &self,
        conn: &mut PgConnection,
        stream_type: &str,
        stream_id: Uuid,
        expected_version: i64,
        metadata: &EventMetadata,
        events: &[E],
    ) -> Result<Vec<Recorded<E>>, AppendError> {
        let ids: Vec<Uuid> = events.iter().map(|_| Uuid::now_v7()).collect();
        let types: Vec<&str> = events.iter().map(DomainEvent::event_type).collect();
        let schema_versions: Vec<i32> = events.iter().map(DomainEvent::schema_version).collect();
        let payloads: Vec<Vec<u8>> = events.iter().map(DomainEvent::encode).collect();

        let rows: Vec<(i64, i64, i64, DateTime<Utc>)> = sqlx::query_as(include_str!("append.sql"))
            .bind(metadata.tenant_id)
            .bind(stream_type)
            .bind(stream_id)
            .bind(expected_version)
            .bind(&metadata.actor)
            .bind(metadata.correlation_id)
            .bind(metadata.causation_id)
            .bind(&metadata.traceparent)
            .bind(&ids)
            .bind(&types)
            .bind(&schema_versions)
            .bind(&payloads)
            .fetch_all(&mut *conn)
            .await
            .map_err(|error| {
                let guard =
                    error.as_database_error().and_then(|db| db.constraint()) == Some(VERSION_GUARD);
                if guard {
                    AppendError::Conflict {
                        stream_id,
                        expected: expected_version,
                    }
                } else {
                    AppendError::from(error)
                }
            })?;
        if rows.len() != events.len() {
            return Err(AppendError::OutOfOrder { stream_id });
        }

        Ok(rows
            .into_iter()
            .zip(ids)
            .zip(events.iter().cloned())
            .map(
                |(((version, position, tx_id, recorded_at), event_id), event)| Recorded {
                    event_id,
                    global: GlobalPosition { tx_id, position },
                    stream_type: stream_type.to_owned(),
                    stream_id,
                    version,
                    recorded_at,
                    metadata: metadata.clone(),
                    event,
                },
            )
            .collect())
    }
}
