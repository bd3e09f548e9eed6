//! Rebuilding a read model from the events into shadow tables while commands
//! keep running.

use std::time::{Duration, Instant};

use sqlx::{Connection, Executor, PgConnection};

use super::InlineProjection;
use super::shadow::Shadow;
use crate::aggregate::{Aggregate, DomainEvent, EventData};
use crate::error::StoreError;
use crate::event::{GlobalPosition, Recorded};
use crate::store::EventStore;

/// A horizon above every transaction id. Under the switch-over's locks no
/// appender runs, so every committed event is every event there is.
const EVERYTHING: i64 = i64::MAX;

/// The store's reads keep the pool's generic plans, made once per statement:
/// their ordered index scan suits any size of the events table, where a plan
/// for the actual bounds may scan and sort it whole for every page.
const STORE_PLANS: &str = "SET plan_cache_mode = force_generic_plan";

/// The projection's statements are planned at each execution: a generic plan
/// made while the copies are empty (a hash join over a sequential scan) would
/// be kept while they grow to millions of rows.
const SHADOW_PLANS: &str = "SET plan_cache_mode = force_custom_plan";

/// What a rebuild did.
#[derive(Debug, Clone, Copy, Default)]
pub struct RebuildReport {
    /// Every event applied, over all phases.
    pub events: u64,
    /// Events applied below the first horizon, with commands running.
    pub built: u64,
    /// Events applied by the catch-up passes, with commands running.
    pub caught_up: u64,
    /// Catch-up passes run after the first.
    pub passes: u32,
    /// Events applied at the switch-over, with commands paused.
    pub switched: u64,
    /// Rows the read model holds after the rebuild.
    pub rows: u64,
    /// How long writers were paused: from asking for the switch-over's locks
    /// to its commit.
    pub pause: Duration,
    /// The whole rebuild, shadow tables created and dropped included.
    pub elapsed: Duration,
}

/// Rebuilds one read model of aggregate `A` from every stored event, read in
/// commit order in pages of `page_size`, into shadow tables whose rows then
/// replace the live tables' rows:
///
/// 1. Build: every event below a horizon is folded into the copies, one
///    transaction per page, with no lock on the live tables.
/// 2. Catch up: the same from the last event applied, below a fresh horizon,
///    until a pass applies less than a page.
/// 3. Switch over, in one transaction: writers of the live tables are paused
///    (commands at the start of their statement, see `Shadow::pause_writers`), the events committed since are folded in,
///    and the live tables' rows are replaced with the copies'. Commands wait
///    only for this step, and readers see the old rows until it commits.
///
/// Each event is applied exactly once: by the rebuild if it committed before
/// the switch-over, else by its own append afterwards. Rebuilds of one read
/// model run one at a time: a second waits for the first to end.
pub async fn rebuild<A: Aggregate>(
    store: &EventStore,
    projection: &dyn InlineProjection<A>,
    page_size: i64,
) -> Result<RebuildReport, StoreError> {
    let started = Instant::now();
    let mut shadow = Shadow::open(store, projection.name(), projection.tables()).await?;
    let mut fold = Fold::<A> {
        store,
        projection,
        page_size: page_size.max(1),
        after: GlobalPosition::START,
    };
    let outcome = fold.run(&mut shadow).await;
    // Also after a failure: the copies are dropped now if the connection
    // still works, else by the next rebuild.
    if let Err(error) = shadow.close().await {
        tracing::warn!(read_model = projection.name(), %error, "shadow tables not dropped");
    }
    let report = RebuildReport {
        elapsed: started.elapsed(),
        ..outcome?
    };
    tracing::info!(
        read_model = projection.name(),
        ?report,
        "read model rebuilt"
    );
    Ok(report)
}

/// The events of `A`'s streams, folded page by page into the shadow.
struct Fold<'a, A: Aggregate> {
    store: &'a EventStore,
    projection: &'a dyn InlineProjection<A>,
    page_size: i64,
    /// The last event applied.
    after: GlobalPosition,
}

impl<A: Aggregate> Fold<'_, A> {
    async fn run(&mut self, shadow: &mut Shadow) -> Result<RebuildReport, StoreError> {
        let mut report = RebuildReport {
            built: self.pass(&mut shadow.conn).await?,
            ..RebuildReport::default()
        };
        let mut last = report.built;
        while last >= self.page_size as u64 {
            last = self.pass(&mut shadow.conn).await?;
            report.caught_up += last;
            report.passes += 1;
        }
        let paused = Instant::now();
        let (switched, rows) = self.switch_over(shadow).await?;
        report.pause = paused.elapsed();
        report.switched = switched;
        report.rows = rows;
        report.events = report.built + report.caught_up + report.switched;
        Ok(report)
    }

    /// Applies every event below a fresh horizon, committing page by page,
    /// while the next page is read and decoded on a connection of its own.
    async fn pass(&mut self, conn: &mut PgConnection) -> Result<u64, StoreError> {
        // Its own statement and transaction, before any read below it.
        let horizon = self.store.horizon(conn).await?;
        conn.execute(SHADOW_PLANS).await?;
        let mut reader =
            ReadAhead::<A>::open(self.store, self.after, horizon, self.page_size).await?;
        let mut applied = 0;
        let mut page = reader.next().await?;
        while !page.is_empty() {
            let full = page.len() as i64 == self.page_size;
            let apply = async {
                let mut tx = conn.begin().await?;
                self.projection.apply(&mut tx, &page).await?;
                tx.commit().await?;
                Ok::<_, StoreError>(())
            };
            let read = async {
                if full {
                    reader.next().await
                } else {
                    Ok(Vec::new())
                }
            };
            let ((), next) = tokio::try_join!(apply, read)?;
            applied += page.len() as u64;
            if let Some(last) = page.last() {
                self.after = last.global;
            }
            page = next;
        }
        reader.close().await?;
        Ok(applied)
    }

    /// Pauses writers, applies the rest and replaces the live rows, in one
    /// transaction; returns the events applied and the rows copied.
    async fn switch_over(&mut self, shadow: &mut Shadow) -> Result<(u64, u64), StoreError> {
        let mut backoff = Duration::from_millis(5);
        let mut tx = loop {
            let mut tx = shadow.conn.begin().await?;
            if shadow.layout.pause_writers(&mut tx).await? {
                break tx;
            }
            // An appender holds its lock and waits for the tables: let it through.
            tx.rollback().await?;
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(Duration::from_millis(200));
        };
        let mut applied = 0;
        loop {
            let count = self.page(&mut tx, EVERYTHING).await?;
            applied += count;
            if count < self.page_size as u64 {
                break;
            }
        }
        let rows = shadow.layout.replace_live(&mut tx).await?;
        tx.commit().await?;
        Ok((applied, rows))
    }

    /// Applies the next page of every event there is and returns its size;
    /// only under the switch-over's locks, on its transaction.
    async fn page(&mut self, conn: &mut PgConnection, horizon: i64) -> Result<u64, StoreError> {
        conn.execute(STORE_PLANS).await?;
        let page = self
            .store
            .read_below(
                conn,
                self.after,
                horizon,
                self.page_size,
                Some(A::STREAM_TYPE),
            )
            .await?;
        let Some(last) = page.last() else {
            return Ok(0);
        };
        self.after = last.global;
        let events = decode::<A>(page)?;
        conn.execute(SHADOW_PLANS).await?;
        self.projection.apply(conn, &events).await?;
        Ok(events.len() as u64)
    }
}

/// The pages of one pass, read and decoded in one transaction on a pool
/// connection: every event below the horizon had committed (or rolled back)
/// when the horizon was taken, before this transaction began, so one
/// snapshot sees them all.
struct ReadAhead<'a, A: Aggregate> {
    store: &'a EventStore,
    tx: sqlx::Transaction<'static, sqlx::Postgres>,
    after: GlobalPosition,
    horizon: i64,
    page_size: i64,
    _events: std::marker::PhantomData<A>,
}

impl<'a, A: Aggregate> ReadAhead<'a, A> {
    async fn open(
        store: &'a EventStore,
        after: GlobalPosition,
        horizon: i64,
        page_size: i64,
    ) -> Result<Self, StoreError> {
        let mut tx = store.pool().begin().await?;
        // `LOCAL`: the connection goes back to the pool with its own setting.
        tx.execute("SET LOCAL plan_cache_mode = force_generic_plan")
            .await?;
        Ok(Self {
            store,
            tx,
            after,
            horizon,
            page_size,
            _events: std::marker::PhantomData,
        })
    }

    /// The next page, empty at the horizon.
    async fn next(&mut self) -> Result<Vec<Recorded<A::Event>>, StoreError> {
        let page = self
            .store
            .read_below(
                &mut self.tx,
                self.after,
                self.horizon,
                self.page_size,
                Some(A::STREAM_TYPE),
            )
            .await?;
        if let Some(last) = page.last() {
            self.after = last.global;
        }
        decode::<A>(page)
    }

    async fn close(self) -> Result<(), StoreError> {
        self.tx.commit().await?;
        Ok(())
    }
}

fn decode<A: Aggregate>(
    page: Vec<Recorded<EventData>>,
) -> Result<Vec<Recorded<A::Event>>, StoreError> {
    page.into_iter()
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
        .collect()
}
