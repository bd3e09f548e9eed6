//! What an operator does with outbox rows JetStream refused every time:
//! list them, and put one back once the cause is fixed (e.g. the stream's
//! message size limit raised). A row put back keeps its place before the
//! later rows of its stream, which the relay then publishes after it.

use chrono::{DateTime, Utc};
use sqlx::PgPool;
use uuid::Uuid;

/// A parked outbox row, without the event's content.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ParkedRow {
    pub id: i64,
    pub stream_id: Uuid,
    pub version: i64,
    pub error: String,
    pub parked_at: DateTime<Utc>,
    /// Outbox rows of the same stream waiting behind it.
    pub waiting_behind: i64,
}

/// Every parked row, oldest first.
pub async fn list_parked(pool: &PgPool) -> Result<Vec<ParkedRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT p.id, p.stream_id, p.version, p.error, p.parked_at, \
                (SELECT count(*) FROM outbox o WHERE o.stream_id = p.stream_id) AS waiting_behind \
         FROM outbox_parked p ORDER BY p.id",
    )
    .fetch_all(pool)
    .await
}

/// Moves parked row `id` back into the outbox, with its original position;
/// false when there is no such parked row.
pub async fn unpark(pool: &PgPool, id: i64) -> Result<bool, sqlx::Error> {
    let moved = sqlx::query(
        "WITH row AS (DELETE FROM outbox_parked WHERE id = $1 RETURNING id, tenant_id, stream_id, version) \
         INSERT INTO outbox (id, tenant_id, stream_id, version) OVERRIDING SYSTEM VALUE \
         SELECT id, tenant_id, stream_id, version FROM row",
    )
    .bind(id)
    .execute(pool)
    .await?;
    Ok(moved.rows_affected() == 1)
}
