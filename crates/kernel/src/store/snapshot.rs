//! Snapshots: a stream's state at a version, so loads skip the events before it.

use sqlx::PgConnection;
use uuid::Uuid;

use super::EventStore;
use crate::error::StoreError;

/// A stream's serialized state at `version`.
#[derive(Debug, Clone)]
pub struct Snapshot<'a> {
    pub tenant_id: Uuid,
    pub stream_type: &'a str,
    pub stream_id: Uuid,
    /// The aggregate's `SNAPSHOT_VERSION`: the meaning of the serialized state.
    pub snapshot_version: i32,
    pub version: i64,
    pub state: &'a [u8],
}

impl EventStore {
    /// Writes a snapshot in the caller's transaction; an older snapshot never
    /// replaces a newer one of the same shape.
    pub async fn save_snapshot(
        &self,
        conn: &mut PgConnection,
        snapshot: Snapshot<'_>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO snapshots (stream_id, tenant_id, stream_type, snapshot_version, version, state) \
             VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT (stream_id) DO UPDATE \
             SET snapshot_version = EXCLUDED.snapshot_version, version = EXCLUDED.version, \
                 state = EXCLUDED.state, taken_at = now() \
             WHERE snapshots.version < EXCLUDED.version OR snapshots.snapshot_version <> EXCLUDED.snapshot_version",
        )
        .bind(snapshot.stream_id)
        .bind(snapshot.tenant_id)
        .bind(snapshot.stream_type)
        .bind(snapshot.snapshot_version)
        .bind(snapshot.version)
        .bind(snapshot.state)
        .execute(conn)
        .await?;
        Ok(())
    }
}
