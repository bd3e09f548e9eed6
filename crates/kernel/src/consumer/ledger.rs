//! What a consumer remembers in PostgreSQL, in its batch transactions: the
//! last version applied per stream, the messages parked behind a gap or a
//! dead letter, and the dead letters.

use std::collections::HashMap;

use bytes::Bytes;
use sqlx::PgConnection;
use uuid::Uuid;

use super::incoming::{Incoming, headers_from_json, headers_to_json};

/// Where a stream stands for one consumer.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct StreamState {
    pub applied: i64,
    /// The open dead letter the stream waits behind, if any.
    pub blocked_by: Option<i64>,
    /// Whether messages of the stream are parked.
    pub has_parked: bool,
    pub tenant_id: Option<Uuid>,
    /// Whether `applied` moved in this transaction.
    pub changed: bool,
}

/// The state of each of `streams` for `consumer`.
pub(crate) async fn stream_states(
    conn: &mut PgConnection,
    consumer: &str,
    streams: &[Uuid],
) -> Result<HashMap<Uuid, StreamState>, sqlx::Error> {
    let rows: Vec<(Uuid, i64, Option<i64>, bool)> =
        sqlx::query_as(include_str!("stream_states.sql"))
            .bind(consumer)
            .bind(streams)
            .fetch_all(conn)
            .await?;
    Ok(rows
        .into_iter()
        .map(|(stream_id, applied, blocked_by, has_parked)| {
            let state = StreamState {
                applied,
                blocked_by,
                has_parked,
                ..StreamState::default()
            };
            (stream_id, state)
        })
        .collect())
}

/// Stores the applied versions that moved.
pub(crate) async fn save_applied(
    conn: &mut PgConnection,
    consumer: &str,
    states: &HashMap<Uuid, StreamState>,
) -> Result<(), sqlx::Error> {
    let changed: Vec<(&Uuid, &StreamState)> = states.iter().filter(|(_, s)| s.changed).collect();
    if changed.is_empty() {
        return Ok(());
    }
    let ids: Vec<Uuid> = changed.iter().map(|(id, _)| **id).collect();
    let tenants: Vec<Option<Uuid>> = changed.iter().map(|(_, s)| s.tenant_id).collect();
    let versions: Vec<i64> = changed.iter().map(|(_, s)| s.applied).collect();
    sqlx::query(
        "INSERT INTO consumer_streams (consumer, stream_id, tenant_id, applied_version) \
         SELECT $1, * FROM unnest($2::uuid[], $3::uuid[], $4::bigint[]) \
         ON CONFLICT (consumer, stream_id) DO UPDATE \
         SET applied_version = EXCLUDED.applied_version, updated_at = now()",
    )
    .bind(consumer)
    .bind(&ids)
    .bind(&tenants)
    .bind(&versions)
    .execute(conn)
    .await?;
    Ok(())
}

/// Parks a message until the versions before it are applied; a copy parked
/// before (a redelivery) is kept as it is.
pub(crate) async fn park(
    conn: &mut PgConnection,
    consumer: &str,
    partition: u32,
    message: &Incoming,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO parked_messages (consumer, stream_id, version, tenant_id, subject, stream_sequence, \
         headers, payload, partition) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
         ON CONFLICT (consumer, stream_id, version) DO NOTHING",
    )
    .bind(consumer)
    .bind(message.stream_id)
    .bind(message.stream_version)
    .bind(message.tenant_id)
    .bind(&message.subject)
    .bind(message.stream_sequence as i64)
    .bind(headers_to_json(&message.headers))
    .bind(&message.payload[..])
    .bind(partition as i32)
    .execute(conn)
    .await?;
    Ok(())
}

type ParkedRow = (String, i64, serde_json::Value, Vec<u8>, i32);

fn from_parked(
    (subject, sequence, headers, payload, attempts): ParkedRow,
) -> Option<(Incoming, i64)> {
    let incoming = Incoming::from_parts(
        subject,
        headers_from_json(&headers),
        Bytes::from(payload),
        sequence as u64,
        1,
    )
    .ok()?;
    Some((incoming, i64::from(attempts)))
}

/// The parked message of `stream` at `version`, with its failed attempts.
pub(crate) async fn parked(
    conn: &mut PgConnection,
    consumer: &str,
    stream_id: Uuid,
    version: i64,
) -> Result<Option<(Incoming, i64)>, sqlx::Error> {
    let row: Option<ParkedRow> = sqlx::query_as(
        "SELECT subject, stream_sequence, headers, payload, attempts FROM parked_messages \
         WHERE consumer = $1 AND stream_id = $2 AND version = $3",
    )
    .bind(consumer)
    .bind(stream_id)
    .bind(version)
    .fetch_optional(conn)
    .await?;
    Ok(row.and_then(from_parked))
}

/// Parked messages of `partition` that are next in line in their stream and
/// wait behind no dead letter: their gap was filled or their dead letter resolved.
pub(crate) async fn parked_heads(
    conn: &mut PgConnection,
    consumer: &str,
    partition: u32,
    limit: i64,
) -> Result<Vec<(Incoming, i64)>, sqlx::Error> {
    let rows: Vec<ParkedRow> = sqlx::query_as(include_str!("parked_heads.sql"))
        .bind(consumer)
        .bind(partition as i32)
        .bind(limit)
        .fetch_all(conn)
        .await?;
    Ok(rows.into_iter().filter_map(from_parked).collect())
}

/// Forgets a parked message once it was applied or dead-lettered.
pub(crate) async fn unpark(
    conn: &mut PgConnection,
    consumer: &str,
    stream_id: Uuid,
    version: i64,
) -> Result<(), sqlx::Error> {
    let sql = "DELETE FROM parked_messages WHERE consumer = $1 AND stream_id = $2 AND version = $3";
    on_parked(conn, sql, consumer, stream_id, version).await
}

/// Counts a failed attempt of a parked message.
pub(crate) async fn parked_failed(
    conn: &mut PgConnection,
    consumer: &str,
    stream_id: Uuid,
    version: i64,
) -> Result<(), sqlx::Error> {
    let sql = "UPDATE parked_messages SET attempts = attempts + 1 \
               WHERE consumer = $1 AND stream_id = $2 AND version = $3";
    on_parked(conn, sql, consumer, stream_id, version).await
}

/// Runs `sql` on the parked message `($1 consumer, $2 stream, $3 version)`.
async fn on_parked(
    conn: &mut PgConnection,
    sql: &'static str,
    consumer: &str,
    stream_id: Uuid,
    version: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(sql)
        .bind(consumer)
        .bind(stream_id)
        .bind(version)
        .execute(conn)
        .await?;
    Ok(())
}

/// Dead-letters a message of a stream; returns the dead letter's id.
pub(crate) async fn dead_letter(
    conn: &mut PgConnection,
    consumer: &str,
    message: &Incoming,
    attempts: i64,
    error: &str,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "INSERT INTO dead_letters (consumer, message_id, tenant_id, subject, stream_sequence, attempts, \
         error, headers, payload, stream_id, version) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id",
    )
    .bind(consumer)
    .bind(message.message_id)
    .bind(message.tenant_id)
    .bind(&message.subject)
    .bind(message.stream_sequence as i64)
    .bind(attempts as i32)
    .bind(error)
    .bind(headers_to_json(&message.headers))
    .bind(&message.payload[..])
    .bind(message.stream_id)
    .bind(message.stream_version)
    .fetch_one(conn)
    .await
}

/// A message that names no stream, or no version, cannot be applied in
/// order: it is dead-lettered once, however often it is delivered.
pub(crate) struct Unreadable<'a> {
    pub subject: &'a str,
    pub stream_sequence: i64,
    pub reason: &'a str,
    pub headers: serde_json::Value,
    pub payload: &'a [u8],
}

pub(crate) async fn dead_letter_unreadable(
    conn: &mut PgConnection,
    consumer: &str,
    letter: Unreadable<'_>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO dead_letters (consumer, subject, stream_sequence, attempts, error, headers, payload) \
         VALUES ($1, $2, $3, 1, $4, $5, $6) \
         ON CONFLICT (consumer, stream_sequence) WHERE stream_id IS NULL DO NOTHING",
    )
    .bind(consumer)
    .bind(letter.subject)
    .bind(letter.stream_sequence)
    .bind(letter.reason)
    .bind(letter.headers)
    .bind(letter.payload)
    .execute(conn)
    .await?;
    Ok(())
}
