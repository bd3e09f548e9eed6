//! The row shape of a stored event and its conversion to [`Recorded`].

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::aggregate::EventData;
use crate::event::{GlobalPosition, Recorded};
use crate::metadata::EventMetadata;

/// The columns every event read selects, in [`EventRow`]'s shape.
pub(crate) const EVENT_COLUMNS: &str = "e.event_id, e.tx_id::text::bigint AS tx_id, e.position, e.tenant_id, \
     e.stream_type, e.stream_id, e.version, e.event_type, e.schema_version, e.payload, e.actor, \
     e.correlation_id, e.causation_id, e.traceparent, e.recorded_at";

#[derive(Debug, sqlx::FromRow)]
pub(crate) struct EventRow {
    pub event_id: Uuid,
    pub tx_id: i64,
    pub position: i64,
    pub tenant_id: Uuid,
    pub stream_type: String,
    pub stream_id: Uuid,
    pub version: i64,
    pub event_type: String,
    pub schema_version: i32,
    pub payload: Vec<u8>,
    pub actor: String,
    pub correlation_id: Uuid,
    pub causation_id: Option<Uuid>,
    pub traceparent: Option<String>,
    pub recorded_at: DateTime<Utc>,
}

impl From<EventRow> for Recorded<EventData> {
    fn from(row: EventRow) -> Self {
        Recorded {
            event_id: row.event_id,
            global: GlobalPosition {
                tx_id: row.tx_id,
                position: row.position,
            },
            stream_type: row.stream_type,
            stream_id: row.stream_id,
            version: row.version,
            recorded_at: row.recorded_at,
            metadata: EventMetadata {
                tenant_id: row.tenant_id,
                actor: row.actor,
                correlation_id: row.correlation_id,
                causation_id: row.causation_id,
                traceparent: row.traceparent,
            },
            event: EventData {
                event_type: row.event_type,
                schema_version: row.schema_version,
                payload: row.payload,
            },
        }
    }
}
