//! Reading one stream: from its latest snapshot for commands, whole for history.

use sqlx::PgConnection;
use uuid::Uuid;

use super::EventStore;
use super::record::{EVENT_COLUMNS, EventRow};
use crate::aggregate::EventData;
use crate::error::StoreError;
use crate::event::Recorded;

/// A stream as stored: the snapshot to start from, if any, and the events after it.
#[derive(Debug, Default)]
pub struct LoadedRaw {
    /// `(version, serialized state)` of the snapshot.
    pub snapshot: Option<(i64, Vec<u8>)>,
    /// `(version, event)` after the snapshot, in version order.
    pub events: Vec<(i64, EventData)>,
}

type LoadRow = (i32, i64, Option<String>, Option<i32>, Vec<u8>);

impl EventStore {
    /// The latest snapshot with `snapshot_version` and the events after it;
    /// with `None`, no snapshot and every event of the stream (the fallback
    /// when a snapshot cannot be used). Another tenant's stream reads as empty.
    pub async fn load_raw(
        &self,
        conn: &mut PgConnection,
        tenant_id: Uuid,
        stream_id: Uuid,
        snapshot_version: Option<i32>,
    ) -> Result<LoadedRaw, StoreError> {
        let rows: Vec<LoadRow> = sqlx::query_as(include_str!("load.sql"))
            .bind(stream_id)
            .bind(tenant_id)
            .bind(snapshot_version)
            .fetch_all(conn)
            .await?;
        let mut loaded = LoadedRaw::default();
        for (kind, version, event_type, schema_version, data) in rows {
            match (kind, event_type, schema_version) {
                (1, Some(event_type), Some(schema_version)) => loaded.events.push((
                    version,
                    EventData {
                        event_type,
                        schema_version,
                        payload: data,
                    },
                )),
                _ => loaded.snapshot = Some((version, data)),
            }
        }
        Ok(loaded)
    }

    /// Events of one stream with version above `after_version`, at most `limit`,
    /// with all their metadata: the audit trail.
    pub async fn read_stream(
        &self,
        tenant_id: Uuid,
        stream_id: Uuid,
        after_version: i64,
        limit: i64,
    ) -> Result<Vec<Recorded<EventData>>, StoreError> {
        let sql = format!(
            "SELECT {EVENT_COLUMNS} FROM events e \
             WHERE e.stream_id = $1 AND e.tenant_id = $2 AND e.version > $3 \
             ORDER BY e.version LIMIT $4"
        );
        let rows: Vec<EventRow> = sqlx::query_as(&sql)
            .bind(stream_id)
            .bind(tenant_id)
            .bind(after_version)
            .bind(limit)
            .fetch_all(self.pool())
            .await?;
        Ok(rows.into_iter().map(Recorded::from).collect())
    }
}
