//! Reading all events of the service in commit order, never skipping one.
//!
//! A `bigint` identity position is taken at insert but becomes visible at
//! commit, so positions commit out of order and a reader that remembers "after
//! 11" can miss 10. Instead each event stores the id of the transaction that
//! appended it (`tx_id`), and readers go in `(tx_id, position)` order, only up
//! to a *horizon*: the oldest transaction id of an appender still running
//! (see `horizon.sql`). Appenders hold a shared advisory lock from before their
//! first write until commit, so they are told apart from unrelated
//! transactions: a session idle in transaction elsewhere holds no such lock and
//! never holds readers back. An event below the horizon is committed (or was
//! rolled back); one at or above it is read on a later call, after every event
//! already read, so the order is stable and nothing is skipped.

use sqlx::PgConnection;

use super::EventStore;
use super::record::{EVENT_COLUMNS, EventRow};
use crate::aggregate::EventData;
use crate::error::StoreError;
use crate::event::{GlobalPosition, Recorded};

impl EventStore {
    /// The transaction id below which every appender has finished.
    ///
    /// Call it in its own statement, before the statement that reads events:
    /// the read must take its snapshot after the horizon was computed.
    pub async fn horizon(&self, conn: &mut PgConnection) -> Result<i64, StoreError> {
        let lock = self.appender_lock();
        let horizon: i64 = sqlx::query_scalar(include_str!("horizon.sql"))
            .bind(i64::from(lock.class))
            .bind(i64::from(lock.key))
            .fetch_one(conn)
            .await?;
        Ok(horizon)
    }

    /// Up to `limit` events after `after` in commit order, optionally of one
    /// stream type. An empty result means the reader is caught up for now.
    pub async fn read_all(
        &self,
        after: GlobalPosition,
        limit: i64,
        stream_type: Option<&str>,
    ) -> Result<Vec<Recorded<EventData>>, StoreError> {
        let mut conn = self.pool().acquire().await?;
        let horizon = self.horizon(&mut conn).await?;
        self.read_below(&mut conn, after, horizon, limit, stream_type)
            .await
    }

    /// Up to `limit` events after `after` and below `horizon` in commit order.
    pub async fn read_below(
        &self,
        conn: &mut PgConnection,
        after: GlobalPosition,
        horizon: i64,
        limit: i64,
        stream_type: Option<&str>,
    ) -> Result<Vec<Recorded<EventData>>, StoreError> {
        let sql = format!(
            "SELECT {EVENT_COLUMNS} FROM events e \
             WHERE (e.tx_id, e.position) > ($1::bigint::text::xid8, $2) \
               AND e.tx_id < $3::bigint::text::xid8 \
               AND ($4::text IS NULL OR e.stream_type = $4) \
             ORDER BY e.tx_id, e.position LIMIT $5"
        );
        let rows: Vec<EventRow> = sqlx::query_as(&sql)
            .bind(after.tx_id)
            .bind(after.position)
            .bind(horizon)
            .bind(stream_type)
            .bind(limit)
            .fetch_all(conn)
            .await?;
        Ok(rows.into_iter().map(Recorded::from).collect())
    }
}
