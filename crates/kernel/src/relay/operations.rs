//! What an operator does with events JetStream refused every time: list
//! them, and put one back once the cause is fixed (e.g. the stream's message
//! size limit raised): the relay then publishes it and the events of its
//! stream held behind it, in version order. And how far the relay is behind.

use chrono::{DateTime, Utc};
use sqlx::PgPool;
use uuid::Uuid;

/// A parked event, without its content.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ParkedRow {
    /// The event's position in the store, which [`unpark`] takes.
    pub id: i64,
    pub stream_id: Uuid,
    pub version: i64,
    pub error: String,
    pub parked_at: DateTime<Utc>,
    /// Events of the same stream held behind it.
    pub waiting_behind: i64,
}

/// Every parked event, oldest first.
pub async fn list_parked(pool: &PgPool) -> Result<Vec<ParkedRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT p.position AS id, p.stream_id, p.version, p.error, p.held_at AS parked_at, \
                (SELECT count(*) FROM relay_held w \
                 WHERE w.stream_id = p.stream_id AND w.version > p.version) AS waiting_behind \
         FROM relay_held p WHERE p.error IS NOT NULL ORDER BY p.position",
    )
    .fetch_all(pool)
    .await
}

/// Puts parked event `id` (its position) back in line for the relay, before
/// the events of its stream held behind it; false when no such event is parked.
pub async fn unpark(pool: &PgPool, id: i64) -> Result<bool, sqlx::Error> {
    let cleared =
        sqlx::query("UPDATE relay_held SET error = NULL WHERE position = $1 AND error IS NOT NULL")
            .bind(id)
            .execute(pool)
            .await?;
    Ok(cleared.rows_affected() == 1)
}

/// Events after the relay's checkpoint: committed (or still being
/// committed) and not yet on JetStream or held.
pub async fn lag(pool: &PgPool) -> Result<i64, sqlx::Error> {
    super::read::lag(pool).await
}

/// Events held back behind parked ones, parked ones included.
pub async fn held(pool: &PgPool) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT count(*) FROM relay_held")
        .fetch_one(pool)
        .await
}
