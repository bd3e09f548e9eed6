//! The command path's one statement: the appenders' lock, the events, the
//! request log, snapshots and inline read-model rows of
//! one or more commands, written in a single round trip and (outside a
//! transaction) a single commit.
//!
//! The lock is a `MATERIALIZED` CTE joined into the events' source, so it is
//! taken before the first insert gives the statement its transaction id: the
//! global reader's horizon sees every appender (see `global.rs`).
//!
//! What fails, fails the whole statement, in this order of precedence, which
//! the callers rely on: the version guard (`events_pkey`: another append won
//! the race), then the request log (`command_log_pkey`: a retry of a request
//! that already ran), then the read models' constraints. The main query reads
//! the events' CTE first; the other inserts run after it, and each read model
//! and the snapshot wait for the request log.

use std::fmt::Write as _;

use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use sqlx::types::Json;
use uuid::Uuid;

use super::AppenderLock;
use crate::error::AppendError;
use crate::fingerprint::RequestFingerprint;
use crate::metadata::EventMetadata;
use crate::projection::RowUpsert;

/// The primary key whose violation means another append took the version first.
const VERSION_GUARD: &str = "events_pkey";
/// The primary key whose violation means the request id ran before.
const REQUEST_GUARD: &str = "command_log_pkey";
/// Raised by `refuse_append_behind` (migration 0004).
const APPEND_BEHIND: &str = "TN001";

/// One command's writes, ready to be combined with others into a statement.
#[derive(Debug, Clone)]
pub struct PendingAppend {
    pub stream_id: Uuid,
    /// The stream's version the events follow (0 for a new stream).
    pub expected_version: i64,
    pub metadata: EventMetadata,
    pub events: Vec<PendingEvent>,
    pub request: Option<PendingRequest>,
    pub snapshot: Option<PendingSnapshot>,
    /// The read-model rows, as JSON objects, per upsert slot of the statement.
    pub rows: Vec<Vec<serde_json::Value>>,
}

/// An encoded event with its id drawn.
#[derive(Debug, Clone)]
pub struct PendingEvent {
    pub event_id: Uuid,
    pub event_type: &'static str,
    pub schema_version: i32,
    pub payload: Vec<u8>,
}

/// The request id to log with the command's outcome.
#[derive(Debug, Clone)]
pub struct PendingRequest {
    pub request_id: String,
    pub fingerprint: Option<RequestFingerprint>,
}

/// The stream's state after the command, when a snapshot is due.
#[derive(Debug, Clone)]
pub struct PendingSnapshot {
    pub snapshot_version: i32,
    pub state: Vec<u8>,
}

impl PendingAppend {
    /// The stream's version after the command.
    pub fn version_after(&self) -> i64 {
        self.expected_version + self.events.len() as i64
    }

    /// What the caller keeps of it to report the append: the version after,
    /// the metadata and the event ids.
    pub fn identity(&self) -> (i64, EventMetadata, Vec<Uuid>) {
        let ids = self.events.iter().map(|event| event.event_id).collect();
        (self.version_after(), self.metadata.clone(), ids)
    }
}

/// Where one appended event landed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AppendedEvent {
    pub version: i64,
    pub position: i64,
    pub tx_id: i64,
    pub recorded_at: DateTime<Utc>,
}

/// The statement of one aggregate type, with its read models' upserts.
#[derive(Debug, Clone)]
pub struct WriteStatement {
    stream_type: &'static str,
    sql: String,
    slots: usize,
}

/// Parameters before the read models' rows.
const FIXED_PARAMETERS: usize = 23;

impl WriteStatement {
    pub fn new(stream_type: &'static str, lock: AppenderLock, upserts: &[RowUpsert]) -> Self {
        let mut sql = format!(
            "WITH lock AS MATERIALIZED (SELECT pg_advisory_xact_lock_shared({class}, {key}) AS held), \
             appended AS ( \
               INSERT INTO events (event_id, tenant_id, stream_type, stream_id, version, event_type, \
                                   schema_version, payload, actor, correlation_id, causation_id, traceparent) \
               SELECT e.event_id, e.tenant_id, $1, e.stream_id, e.version, e.event_type, \
                      e.schema_version, e.payload, e.actor, e.correlation_id, e.causation_id, e.traceparent \
               FROM lock CROSS JOIN unnest($2::uuid[], $3::uuid[], $4::uuid[], $5::bigint[], $6::text[], \
                      $7::int[], $8::bytea[], $9::text[], $10::uuid[], $11::uuid[], $12::text[]) \
                    WITH ORDINALITY AS e(event_id, tenant_id, stream_id, version, event_type, schema_version, \
                      payload, actor, correlation_id, causation_id, traceparent, ordinal) \
               ORDER BY e.ordinal \
               RETURNING stream_id, version, position, tx_id, recorded_at \
             ), logged AS ( \
               INSERT INTO command_log (tenant_id, request_id, stream_id, version, stream_type, \
                                        command_kind, fingerprint) \
               SELECT r.tenant_id, r.request_id, r.stream_id, r.version, $1, r.command_kind, r.fingerprint \
               FROM unnest($13::uuid[], $14::text[], $15::uuid[], $16::bigint[], $17::text[], $18::bytea[]) \
                    AS r(tenant_id, request_id, stream_id, version, command_kind, fingerprint) \
               RETURNING 1 \
             ), snapped AS ( \
               INSERT INTO snapshots (stream_id, tenant_id, stream_type, snapshot_version, version, state) \
               SELECT s.stream_id, s.tenant_id, $1, s.snapshot_version, s.version, s.state \
               FROM unnest($19::uuid[], $20::uuid[], $21::int[], $22::bigint[], $23::bytea[]) \
                    AS s(stream_id, tenant_id, snapshot_version, version, state) \
               WHERE (SELECT count(*) FROM logged) >= 0 \
               ON CONFLICT (stream_id) DO UPDATE \
               SET snapshot_version = EXCLUDED.snapshot_version, version = EXCLUDED.version, \
                   state = EXCLUDED.state, taken_at = now() \
               WHERE snapshots.version < EXCLUDED.version \
                  OR snapshots.snapshot_version <> EXCLUDED.snapshot_version \
             )",
            class = lock.class,
            key = lock.key,
        );
        for (slot, upsert) in upserts.iter().enumerate() {
            let columns = upsert.columns.join(", ");
            let key = upsert.key.join(", ");
            let updates: Vec<String> = upsert
                .columns
                .iter()
                .filter(|column| !upsert.key.contains(column))
                .map(|column| format!("{column} = EXCLUDED.{column}"))
                .collect();
            let conflict = if updates.is_empty() {
                "DO NOTHING".to_owned()
            } else {
                format!("DO UPDATE SET {}", updates.join(", "))
            };
            write!(
                sql,
                ", projected_{slot} AS ( \
                   INSERT INTO {table} ({columns}) \
                   SELECT {columns} FROM jsonb_populate_recordset(NULL::{table}, ${parameter}::jsonb) \
                   WHERE (SELECT count(*) FROM logged) >= 0 \
                   ON CONFLICT ({key}) {conflict} \
                 )",
                table = upsert.table,
                parameter = FIXED_PARAMETERS + 1 + slot,
            )
            .expect("writing to a String cannot fail");
        }
        // The out-of-order check reads the stream's previous version, which
        // this statement's snapshot shows as it was before the statement.
        // A subquery per appended event (a key lookup), not a join the
        // planner may turn into a scan of `events` while its statistics are
        // missing; `behind` is materialized so the refusal runs on its rows
        // only and cannot be pushed down to every appended row.
        sql.push_str(
            ", behind AS MATERIALIZED ( \
               SELECT b.stream_id FROM appended b \
               WHERE (SELECT e.tx_id FROM events e \
                      WHERE e.stream_id = b.stream_id AND e.version = b.version - 1) > b.tx_id \
             ) \
             SELECT a.stream_id, a.version, a.position, a.tx_id::text::bigint AS tx_id, a.recorded_at \
             FROM appended a \
             WHERE NOT EXISTS (SELECT 1 FROM behind WHERE refuse_append_behind(behind.stream_id)) \
             ORDER BY a.stream_id, a.version",
        );
        Self {
            stream_type,
            sql,
            slots: upserts.len(),
        }
    }

    /// How many read-model row slots each [`PendingAppend::rows`] must have.
    pub fn slots(&self) -> usize {
        self.slots
    }

    /// Runs the statement for `appends`, which must name distinct streams,
    /// on a connection (autocommit: one commit for all) or in a transaction
    /// from [`super::EventStore::begin`]. Each append's events come back in
    /// version order. Any failure fails all of them; with a single append
    /// it says why (see [`AppendError`]).
    pub async fn run(
        &self,
        conn: &mut PgConnection,
        appends: &[&PendingAppend],
    ) -> Result<Vec<Vec<AppendedEvent>>, AppendError> {
        let columns = Columns::of(appends, self.slots);
        let mut query = sqlx::query_as::<_, (Uuid, i64, i64, i64, DateTime<Utc>)>(&self.sql)
            .bind(self.stream_type)
            .bind(columns.event_ids)
            .bind(columns.tenant_ids)
            .bind(columns.stream_ids)
            .bind(columns.versions)
            .bind(columns.event_types)
            .bind(columns.schema_versions)
            .bind(columns.payloads)
            .bind(columns.actors)
            .bind(columns.correlation_ids)
            .bind(columns.causation_ids)
            .bind(columns.traceparents)
            .bind(columns.request_tenants)
            .bind(columns.request_ids)
            .bind(columns.request_streams)
            .bind(columns.request_versions)
            .bind(columns.request_kinds)
            .bind(columns.request_digests)
            .bind(columns.snapshot_streams)
            .bind(columns.snapshot_tenants)
            .bind(columns.snapshot_versions)
            .bind(columns.snapshot_stream_versions)
            .bind(columns.snapshot_states);
        for rows in columns.rows {
            query = query.bind(Json(rows));
        }
        let rows = query
            .fetch_all(conn)
            .await
            .map_err(|error| classify(error, appends))?;

        let mut appended: Vec<Vec<AppendedEvent>> = appends
            .iter()
            .map(|append| Vec::with_capacity(append.events.len()))
            .collect();
        for (stream_id, version, position, tx_id, recorded_at) in rows {
            if let Some(index) = appends.iter().position(|a| a.stream_id == stream_id) {
                appended[index].push(AppendedEvent {
                    version,
                    position,
                    tx_id,
                    recorded_at,
                });
            }
        }
        Ok(appended)
    }
}

/// Names the failure of a statement; specific only for a single append,
/// since a combined statement is run again one append at a time.
fn classify(error: sqlx::Error, appends: &[&PendingAppend]) -> AppendError {
    let Some(db) = error.as_database_error() else {
        return AppendError::from(error);
    };
    let first = appends.first();
    match (db.constraint(), db.code().as_deref(), first) {
        (Some(VERSION_GUARD), _, Some(append)) => AppendError::Conflict {
            stream_id: append.stream_id,
            expected: append.expected_version,
        },
        (Some(REQUEST_GUARD), _, Some(append)) => AppendError::DuplicateRequest {
            request_id: append
                .request
                .as_ref()
                .map(|r| r.request_id.clone())
                .unwrap_or_default(),
        },
        (_, Some(APPEND_BEHIND), Some(append)) => AppendError::OutOfOrder {
            stream_id: append.stream_id,
        },
        _ => AppendError::from(error),
    }
}

/// The statement's parameters: the appends' fields, concatenated column by column.
#[derive(Default)]
struct Columns<'a> {
    event_ids: Vec<Uuid>,
    tenant_ids: Vec<Uuid>,
    stream_ids: Vec<Uuid>,
    versions: Vec<i64>,
    event_types: Vec<&'a str>,
    schema_versions: Vec<i32>,
    payloads: Vec<&'a [u8]>,
    actors: Vec<&'a str>,
    correlation_ids: Vec<Uuid>,
    causation_ids: Vec<Option<Uuid>>,
    traceparents: Vec<Option<&'a str>>,
    request_tenants: Vec<Uuid>,
    request_ids: Vec<&'a str>,
    request_streams: Vec<Uuid>,
    request_versions: Vec<i64>,
    request_kinds: Vec<Option<&'a str>>,
    request_digests: Vec<Option<&'a [u8]>>,
    snapshot_streams: Vec<Uuid>,
    snapshot_tenants: Vec<Uuid>,
    snapshot_versions: Vec<i32>,
    snapshot_stream_versions: Vec<i64>,
    snapshot_states: Vec<&'a [u8]>,
    rows: Vec<Vec<&'a serde_json::Value>>,
}

impl<'a> Columns<'a> {
    fn of(appends: &[&'a PendingAppend], slots: usize) -> Self {
        let mut columns = Columns {
            rows: vec![Vec::new(); slots],
            ..Columns::default()
        };
        for append in appends {
            let metadata = &append.metadata;
            for (offset, event) in append.events.iter().enumerate() {
                columns.event_ids.push(event.event_id);
                columns.tenant_ids.push(metadata.tenant_id);
                columns.stream_ids.push(append.stream_id);
                columns
                    .versions
                    .push(append.expected_version + 1 + offset as i64);
                columns.event_types.push(event.event_type);
                columns.schema_versions.push(event.schema_version);
                columns.payloads.push(&event.payload);
                columns.actors.push(&metadata.actor);
                columns.correlation_ids.push(metadata.correlation_id);
                columns.causation_ids.push(metadata.causation_id);
                columns.traceparents.push(metadata.traceparent.as_deref());
            }
            if let Some(request) = &append.request {
                let fingerprint = request.fingerprint.as_ref();
                columns.request_tenants.push(metadata.tenant_id);
                columns.request_ids.push(&request.request_id);
                columns.request_streams.push(append.stream_id);
                columns.request_versions.push(append.version_after());
                columns
                    .request_kinds
                    .push(fingerprint.map(RequestFingerprint::kind));
                columns
                    .request_digests
                    .push(fingerprint.map(RequestFingerprint::digest));
            }
            if let Some(snapshot) = &append.snapshot {
                columns.snapshot_streams.push(append.stream_id);
                columns.snapshot_tenants.push(metadata.tenant_id);
                columns.snapshot_versions.push(snapshot.snapshot_version);
                columns
                    .snapshot_stream_versions
                    .push(append.version_after());
                columns.snapshot_states.push(&snapshot.state);
            }
            for (slot, rows) in append.rows.iter().enumerate().take(slots) {
                columns.rows[slot].extend(rows);
            }
        }
        columns
    }
}
