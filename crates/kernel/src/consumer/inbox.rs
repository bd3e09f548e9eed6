//! The inbox and dead-letter tables of consumers.

use std::collections::HashSet;

use sqlx::PgConnection;
use uuid::Uuid;

/// Which of `ids` this consumer has already applied.
pub(crate) async fn already_applied(
    conn: &mut PgConnection,
    consumer: &str,
    ids: &[Uuid],
) -> Result<HashSet<Uuid>, sqlx::Error> {
    let rows: Vec<Uuid> = sqlx::query_scalar(
        "SELECT message_id FROM inbox WHERE consumer = $1 AND message_id = ANY($2)",
    )
    .bind(consumer)
    .bind(ids)
    .fetch_all(conn)
    .await?;
    Ok(rows.into_iter().collect())
}

/// A message to remember as applied (or dead-lettered).
pub(crate) struct InboxEntry {
    pub message_id: Uuid,
    pub tenant_id: Option<Uuid>,
    pub stream_sequence: i64,
}

pub(crate) async fn record(
    conn: &mut PgConnection,
    consumer: &str,
    entries: &[InboxEntry],
) -> Result<(), sqlx::Error> {
    if entries.is_empty() {
        return Ok(());
    }
    let ids: Vec<Uuid> = entries.iter().map(|e| e.message_id).collect();
    let tenants: Vec<Option<Uuid>> = entries.iter().map(|e| e.tenant_id).collect();
    let sequences: Vec<i64> = entries.iter().map(|e| e.stream_sequence).collect();
    sqlx::query(
        "INSERT INTO inbox (consumer, message_id, tenant_id, stream_sequence) \
         SELECT $1, * FROM unnest($2::uuid[], $3::uuid[], $4::bigint[])",
    )
    .bind(consumer)
    .bind(&ids)
    .bind(&tenants)
    .bind(&sequences)
    .execute(conn)
    .await?;
    Ok(())
}

/// A message given up on.
pub(crate) struct DeadLetter<'a> {
    pub consumer: &'a str,
    pub message_id: Option<Uuid>,
    pub tenant_id: Option<Uuid>,
    pub subject: &'a str,
    pub stream_sequence: i64,
    pub attempts: i32,
    pub error: &'a str,
    pub headers: serde_json::Value,
    pub payload: &'a [u8],
}

pub(crate) async fn dead_letter(
    conn: &mut PgConnection,
    letter: DeadLetter<'_>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO dead_letters (consumer, message_id, tenant_id, subject, stream_sequence, attempts, error, headers, payload) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(letter.consumer)
    .bind(letter.message_id)
    .bind(letter.tenant_id)
    .bind(letter.subject)
    .bind(letter.stream_sequence)
    .bind(letter.attempts)
    .bind(letter.error)
    .bind(letter.headers)
    .bind(letter.payload)
    .execute(conn)
    .await?;
    Ok(())
}
