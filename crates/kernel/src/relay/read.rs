//! Reading the events to relay, in commit order below the appenders'
//! horizon (see [`crate::store::global`]), and the checkpoint that says how
//! far the relay got.
//!
//! A page holds back, in the same statement, the events of streams that have
//! an event held in `relay_held`: they go there too, behind it, so the
//! checkpoint can pass them without losing them.

use sqlx::FromRow;

use crate::aggregate::EventData;
use crate::event::{GlobalPosition, Recorded};
use crate::store::EventStore;
use crate::store::record::{EVENT_COLUMNS, EventRow};

/// The checkpoint row of a service's relay (one relay per schema).
const CHECKPOINT: &str = "relay";

#[derive(FromRow)]
struct Row {
    #[sqlx(flatten)]
    event: EventRow,
    held: bool,
}

/// An event read for the relay.
pub(crate) struct ReadEvent {
    pub event: Recorded<EventData>,
    /// Held back behind a refused event of its stream: not published now.
    pub held: bool,
}

/// A page of events and the horizon it was read below.
pub(crate) struct Page {
    pub events: Vec<ReadEvent>,
    pub horizon: i64,
}

/// Up to `limit` events after `after`, below `horizon` or, without one, below
/// a horizon computed now. Events of held streams are held in the same
/// statement and come back marked.
pub(crate) async fn page(
    store: EventStore,
    after: GlobalPosition,
    horizon: Option<i64>,
    limit: i64,
) -> Result<Page, sqlx::Error> {
    let mut conn = store.pool().acquire().await?;
    let horizon = match horizon {
        Some(horizon) => horizon,
        None => store
            .horizon(&mut conn)
            .await
            .map_err(|error| match error {
                crate::error::StoreError::Database(db) => db,
                other => sqlx::Error::Protocol(other.to_string()),
            })?,
    };
    let sql = format!(
        "WITH page AS MATERIALIZED ( \
           SELECT {EVENT_COLUMNS}, \
                  EXISTS (SELECT 1 FROM relay_held h WHERE h.stream_id = e.stream_id) AS held \
           FROM events e \
           WHERE (e.tx_id, e.position) > ($1::bigint::text::xid8, $2) \
             AND e.tx_id < $3::bigint::text::xid8 \
           ORDER BY e.tx_id, e.position LIMIT $4 \
         ), holding AS ( \
           INSERT INTO relay_held (stream_id, version, tenant_id, position) \
           SELECT stream_id, version, tenant_id, position FROM page WHERE held \
           ON CONFLICT DO NOTHING \
         ) \
         SELECT * FROM page ORDER BY tx_id, position"
    );
    let rows: Vec<Row> = sqlx::query_as(&sql)
        .bind(after.tx_id)
        .bind(after.position)
        .bind(horizon)
        .bind(limit)
        .fetch_all(&mut *conn)
        .await?;
    Ok(Page {
        events: rows
            .into_iter()
            .map(|row| ReadEvent {
                event: row.event.into(),
                held: row.held,
            })
            .collect(),
        horizon,
    })
}

/// Where the relay got to: every event up to it is on JetStream or held.
pub(crate) async fn checkpoint(store: &EventStore) -> Result<GlobalPosition, sqlx::Error> {
    let (tx_id, position): (i64, i64) = sqlx::query_as(
        "INSERT INTO checkpoints (name, tx_id, position) VALUES ($1, 0, 0) \
         ON CONFLICT (name) DO UPDATE SET name = EXCLUDED.name \
         RETURNING tx_id, position",
    )
    .bind(CHECKPOINT)
    .fetch_one(store.pool())
    .await?;
    Ok(GlobalPosition { tx_id, position })
}

/// Moves the checkpoint forward to `to`; never back (a relay that lost its
/// lease and has not noticed yet may write an older one).
pub(crate) async fn save_checkpoint(
    store: &EventStore,
    to: GlobalPosition,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE checkpoints SET tx_id = $2, position = $3, updated_at = now() \
         WHERE name = $1 AND (tx_id, position) < ($2, $3)",
    )
    .bind(CHECKPOINT)
    .bind(to.tx_id)
    .bind(to.position)
    .execute(store.pool())
    .await?;
    Ok(())
}

/// Events after the checkpoint: how far the relay is behind.
pub(crate) async fn lag(pool: &sqlx::PgPool) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT count(*) FROM events e \
         WHERE (e.tx_id, e.position) > \
               (SELECT c.tx_id::text::xid8, c.position FROM checkpoints c WHERE c.name = $1)",
    )
    .bind(CHECKPOINT)
    .fetch_one(pool)
    .await
}
