//! Read models kept in step with the events, and their rebuild from the store.

use std::time::{Duration, Instant};

use async_trait::async_trait;
use sqlx::{Executor, PgConnection};

use crate::aggregate::{Aggregate, DomainEvent};
use crate::error::StoreError;
use crate::event::{GlobalPosition, Recorded};
use crate::store::EventStore;

/// A read model updated in the same transaction as the append of its events:
/// it is never behind the events, and a failing update fails the command.
#[async_trait]
pub trait InlineProjection<E>: Send + Sync + 'static {
    /// A stable name for logs and the `rebuild` command.
    fn name(&self) -> &'static str;

    /// The tables this read model owns, emptied (in this order) by [`Self::reset`].
    fn tables(&self) -> &'static [&'static str];

    /// Applies events in the caller's transaction: those of one append, or a
    /// rebuild's page of many streams in commit order (each stream's events
    /// in version order). Batching the writes over the slice is what makes
    /// rebuilds fast.
    async fn apply(
        &self,
        conn: &mut PgConnection,
        events: &[Recorded<E>],
    ) -> Result<(), sqlx::Error>;

    /// Empties the read model before a rebuild.
    async fn reset(&self, conn: &mut PgConnection) -> Result<(), sqlx::Error> {
        for table in self.tables() {
            conn.execute(format!("DELETE FROM {table}").as_str())
                .await?;
        }
        Ok(())
    }
}

/// What a rebuild did.
#[derive(Debug, Clone, Copy)]
pub struct RebuildReport {
    pub events: u64,
    pub elapsed: Duration,
}

/// Rebuilds one read model of aggregate `A` from every stored event, streaming
/// them in commit order in pages of `page_size`, in one transaction: readers
/// see the old read model until the new one commits.
///
/// The read model's tables are locked against writes first. Appenders that
/// have not yet updated them wait for the rebuild, and their events lie above
/// the horizon read after the lock, so each event is applied exactly once:
/// either by the rebuild or, afterwards, by its own append.
pub async fn rebuild<A: Aggregate>(
    store: &EventStore,
    projection: &dyn InlineProjection<A::Event>,
    page_size: i64,
) -> Result<RebuildReport, StoreError> {
    let started = Instant::now();
    let mut tx = store.pool().begin().await?;
    let tables = projection.tables().join(", ");
    tx.execute(format!("LOCK TABLE {tables} IN EXCLUSIVE MODE").as_str())
        .await?;
    // Pages must come from an ordered index scan: with statistics stale after
    // a bulk load the planner may pick a bitmap scan and a sort per page,
    // which makes a rebuild quadratic.
    tx.execute("SET LOCAL enable_bitmapscan = off").await?;
    projection.reset(&mut tx).await?;
    let horizon = store.horizon(&mut tx).await?;

    let mut after = GlobalPosition::START;
    let mut events = 0u64;
    loop {
        let page = store
            .read_below(&mut tx, after, horizon, page_size, Some(A::STREAM_TYPE))
            .await?;
        let Some(last) = page.last() else { break };
        after = last.global;
        let full = page.len() as i64 == page_size;
        let decoded = page
            .into_iter()
            .map(|record| {
                let (stream_id, version) = (record.stream_id, record.version);
                record
                    .try_map(A::Event::from_stored)
                    .map_err(|source| StoreError::Codec {
                        stream_id,
                        version,
                        source,
                    })
            })
            .collect::<Result<Vec<_>, _>>()?;
        events += decoded.len() as u64;
        projection.apply(&mut tx, &decoded).await?;
        if !full {
            break;
        }
    }
    tx.commit().await?;
    Ok(RebuildReport {
        events,
        elapsed: started.elapsed(),
    })
}
