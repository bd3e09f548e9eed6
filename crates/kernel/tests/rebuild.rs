//! Inline projections and their rebuild from the event store, with commands
//! running alongside it.

mod support;

use std::collections::{BTreeMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use sqlx::{Executor, PgConnection, PgPool};
use support::{Fixture, Ledger, LedgerCommand, LedgerEvent};
use tenure_kernel::projection::{
    Appending, InlineProjection, ProjectedRow, RebuildReport, RowUpsert, rebuild,
};
use tenure_kernel::{
    Aggregate, CommandContext, DomainEvent, EventStore, GlobalPosition, Recorded, Repository,
};
use tokio::sync::oneshot;
use tokio::time::timeout;
use uuid::Uuid;

/// How long a step that must happen may take before the test gives up on it.
const PATIENCE: Duration = Duration::from_secs(60);

/// Balance per ledger.
struct Balances;

#[async_trait]
impl InlineProjection<Ledger> for Balances {
    fn name(&self) -> &'static str {
        "balances"
    }

    fn tables(&self) -> &'static [&'static str] {
        &["balances"]
    }

    fn upserts(&self) -> &'static [RowUpsert] {
        &[RowUpsert {
            table: "balances",
            key: &["ledger_id"],
            columns: &["ledger_id", "balance", "version"],
        }]
    }

    /// The balance after the command, from the ledger's state before it.
    fn rows(
        &self,
        before: &Ledger,
        events: &[Appending<'_, LedgerEvent>],
    ) -> Result<Vec<ProjectedRow>, serde_json::Error> {
        let Some(last) = events.last() else {
            return Ok(Vec::new());
        };
        let balance = events.iter().fold(before.balance, |sum, e| match e.event {
            LedgerEvent::Opened { .. } => sum,
            LedgerEvent::Deposited { amount } => sum + amount,
        });
        Ok(vec![ProjectedRow {
            table: 0,
            values: serde_json::json!({
                "ledger_id": last.stream_id,
                "balance": balance,
                "version": last.version,
            }),
        }])
    }

    /// One upsert for the whole slice: the sum and last version per ledger.
    async fn apply(
        &self,
        conn: &mut PgConnection,
        events: &[Recorded<LedgerEvent>],
    ) -> Result<(), sqlx::Error> {
        let mut per_ledger: BTreeMap<Uuid, (i64, i64)> = BTreeMap::new();
        for event in events {
            let amount = match &event.event {
                LedgerEvent::Opened { .. } => 0,
                LedgerEvent::Deposited { amount } => *amount,
            };
            let entry = per_ledger.entry(event.stream_id).or_default();
            *entry = (entry.0 + amount, event.version);
        }
        let ids: Vec<Uuid> = per_ledger.keys().copied().collect();
        let (sums, versions): (Vec<i64>, Vec<i64>) = per_ledger.into_values().unzip();
        sqlx::query(
            "INSERT INTO balances (ledger_id, balance, version) \
             SELECT * FROM unnest($1::uuid[], $2::bigint[], $3::bigint[]) \
             ON CONFLICT (ledger_id) DO UPDATE \
             SET balance = balances.balance + EXCLUDED.balance, version = EXCLUDED.version",
        )
        .bind(ids)
        .bind(sums)
        .bind(versions)
        .execute(conn)
        .await?;
        Ok(())
    }
}

/// A store with the `balances` table and a repository projecting into it.
async fn ledgers_with(
    projection: Arc<dyn InlineProjection<Ledger>>,
) -> (Fixture, Arc<Repository<Ledger>>) {
    let fx = support::store().await;
    create_balances(&fx.store).await;
    let ledgers = Arc::new(Repository::<Ledger>::new(fx.store.clone()).with_projection(projection));
    (fx, ledgers)
}

async fn create_balances(store: &EventStore) {
    store
        .pool()
        .execute(
            "CREATE TABLE balances (ledger_id uuid PRIMARY KEY, balance bigint NOT NULL, \
             version bigint NOT NULL)",
        )
        .await
        .unwrap();
}

async fn open(ledgers: &Repository<Ledger>, ctx: &CommandContext, count: usize) -> Vec<Uuid> {
    let mut ids = Vec::new();
    for _ in 0..count {
        let id = Uuid::now_v7();
        ledgers
            .execute(ctx, id, &LedgerCommand::Open { owner: "x".into() })
            .await
            .unwrap();
        ids.push(id);
    }
    ids
}

async fn deposit(ledgers: &Repository<Ledger>, ctx: &CommandContext, id: Uuid, amount: i64) {
    ledgers
        .execute(
            ctx,
            id,
            &LedgerCommand::Deposit {
                amounts: vec![amount],
            },
        )
        .await
        .unwrap();
}

async fn balances(pool: &PgPool) -> Vec<(Uuid, i64, i64)> {
    sqlx::query_as("SELECT ledger_id, balance, version FROM balances ORDER BY ledger_id")
        .fetch_all(pool)
        .await
        .unwrap()
}

/// What the read model must hold: every stored ledger event folded in commit
/// order, independently of the projection and of the rebuild.
async fn folded(store: &EventStore) -> Vec<(Uuid, i64, i64)> {
    let mut ledgers: BTreeMap<Uuid, (i64, i64)> = BTreeMap::new();
    let mut after = GlobalPosition::START;
    loop {
        let page = store
            .read_all(after, 1000, Some(Ledger::STREAM_TYPE))
            .await
            .unwrap();
        let Some(last) = page.last() else { break };
        after = last.global;
        for record in page {
            let amount = match LedgerEvent::from_stored(record.event).unwrap() {
                LedgerEvent::Opened { .. } => 0,
                LedgerEvent::Deposited { amount } => amount,
            };
            let entry = ledgers.entry(record.stream_id).or_default();
            *entry = (entry.0 + amount, record.version);
        }
    }
    ledgers
        .into_iter()
        .map(|(id, (balance, version))| (id, balance, version))
        .collect()
}

async fn backend_pid(conn: &mut PgConnection) -> i32 {
    sqlx::query_scalar("SELECT pg_backend_pid()")
        .fetch_one(conn)
        .await
        .unwrap()
}

/// Whether a backend of this database other than `except` waits for a lock.
async fn someone_waits_for_a_lock(pool: &PgPool, except: &[i32]) -> bool {
    sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM pg_locks \
         WHERE NOT granted AND pid <> ALL($1) \
           AND database = (SELECT oid FROM pg_database WHERE datname = current_database()))",
    )
    .bind(except)
    .fetch_one(pool)
    .await
    .unwrap()
}

/// Whether a backend holds `table` in EXCLUSIVE mode: a rebuild's switch-over.
async fn someone_locked_exclusively(pool: &PgPool, table: &str) -> bool {
    sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM pg_locks \
         WHERE granted AND mode = 'ExclusiveLock' AND relation = $1::regclass)",
    )
    .bind(table)
    .fetch_one(pool)
    .await
    .unwrap()
}

/// Waits until a backend of this database other than `except` waits for a
/// lock: the rebuild has reached the lock it takes for its final step.
async fn until_someone_waits_for_a_lock(pool: &PgPool, except: &[i32]) {
    let waiting = async {
        while !someone_waits_for_a_lock(pool, except).await {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    };
    timeout(PATIENCE, waiting)
        .await
        .expect("the rebuild never waited for a lock");
}

async fn run_rebuild(
    store: &EventStore,
    projection: Arc<dyn InlineProjection<Ledger>>,
    page_size: i64,
) -> tokio::task::JoinHandle<RebuildReport> {
    let store = store.clone();
    tokio::spawn(async move {
        rebuild::<Ledger>(&store, projection.as_ref(), page_size)
            .await
            .expect("rebuild")
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_read_model_rebuilt_while_commands_keep_coming_matches_the_events() {
    let projection = Arc::new(Balances);
    let (fx, ledgers) = ledgers_with(projection.clone()).await;
    let ctx = CommandContext::new(Uuid::now_v7(), "test");
    let ids = open(&ledgers, &ctx, 20).await;
    for id in &ids {
        ledgers
            .execute(
                &ctx,
                *id,
                &LedgerCommand::Deposit {
                    amounts: vec![1, 2, 3],
                },
            )
            .await
            .unwrap();
    }
    let before = balances(fx.store.pool()).await;
    assert_eq!(before.len(), 20);
    assert!(
        before
            .iter()
            .all(|(_, balance, version)| (*balance, *version) == (6, 4))
    );

    // The read model drifts (a bug, a manual edit) and is rebuilt while
    // commands keep arriving.
    fx.store
        .pool()
        .execute("UPDATE balances SET balance = -1")
        .await
        .unwrap();
    let writer = {
        let (ledgers, ctx, ids) = (ledgers.clone(), ctx.clone(), ids.clone());
        tokio::spawn(async move {
            for round in 0..5 {
                for id in &ids {
                    deposit(&ledgers, &ctx, *id, 10).await;
                }
                if round == 1 {
                    tokio::task::yield_now().await;
                }
            }
        })
    };
    let report = rebuild::<Ledger>(&fx.store, projection.as_ref(), 7)
        .await
        .unwrap();
    writer.await.unwrap();
    assert!(
        report.events >= 80,
        "rebuild streamed the events in pages: {report:?}"
    );

    let after = balances(fx.store.pool()).await;
    assert_eq!(after.len(), 20);
    for (_, balance, version) in &after {
        assert_eq!(
            (*balance, *version),
            (56, 9),
            "every event applied exactly once"
        );
    }
    assert_eq!(after, folded(&fx.store).await);

    // A second rebuild on a quiet store gives the same read model.
    rebuild::<Ledger>(&fx.store, projection.as_ref(), 1000)
        .await
        .unwrap();
    assert_eq!(balances(fx.store.pool()).await, after);
}

/// Two appenders around a rebuild: P1 took its transaction id first and has
/// appended but not yet projected; P2 appended and projected, and commits
/// only once the rebuild waits for its lock. Both effects must survive.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_rebuild_keeps_the_effects_of_appenders_that_overlap_its_lock() {
    let projection = Arc::new(Balances);
    let (fx, ledgers) = ledgers_with(projection.clone()).await;
    let ctx = CommandContext::new(Uuid::now_v7(), "test");
    let ids = open(&ledgers, &ctx, 2).await;
    let (a, b) = (ids[0], ids[1]);
    let store = &fx.store;
    let metadata = ctx.metadata.clone();

    let mut p1 = store.begin().await.unwrap();
    let p1_pid = backend_pid(&mut p1).await;
    let a_events = store
        .append(
            &mut p1,
            Ledger::STREAM_TYPE,
            a,
            1,
            &metadata,
            &[LedgerEvent::Deposited { amount: 5 }],
        )
        .await
        .unwrap();

    let mut p2 = store.begin().await.unwrap();
    let p2_pid = backend_pid(&mut p2).await;
    let b_events = store
        .append(
            &mut p2,
            Ledger::STREAM_TYPE,
            b,
            1,
            &metadata,
            &[LedgerEvent::Deposited { amount: 7 }],
        )
        .await
        .unwrap();
    projection.apply(&mut p2, &b_events).await.unwrap();
    assert!(
        a_events[0].global.tx_id < b_events[0].global.tx_id,
        "P1 holds the older transaction id"
    );

    let rebuilding = run_rebuild(store, projection.clone(), 100).await;
    until_someone_waits_for_a_lock(store.pool(), &[p1_pid, p2_pid]).await;
    p2.commit().await.unwrap();

    // P1 projects and commits; before the fix it waits for the rebuild here.
    let p1_done = {
        let projection = projection.clone();
        tokio::spawn(async move {
            projection.apply(&mut p1, &a_events).await.unwrap();
            p1.commit().await.unwrap();
        })
    };
    let report = timeout(PATIENCE, rebuilding)
        .await
        .expect("the rebuild finishes")
        .unwrap();
    timeout(PATIENCE, p1_done)
        .await
        .expect("P1 finishes")
        .unwrap();

    let after = balances(store.pool()).await;
    assert_eq!(after, folded(store).await, "{report:?}");
    let balance_of = |id: Uuid| after.iter().find(|row| row.0 == id).map(|row| row.1);
    assert_eq!(balance_of(a), Some(5), "P1's deposit");
    assert_eq!(
        balance_of(b),
        Some(7),
        "P2's deposit, committed during the rebuild"
    );
}

/// A command whose projection reads its rows and writes them back folded, as
/// the services' projections do, read the drifted old rows before the
/// rebuild: it must not write its fold of them over the rebuilt rows.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_command_cannot_write_back_rows_it_read_before_the_switch_over() {
    let projection = Arc::new(Balances);
    let (fx, ledgers) = ledgers_with(projection.clone()).await;
    let ctx = CommandContext::new(Uuid::now_v7(), "test");
    let a = open(&ledgers, &ctx, 1).await[0];
    deposit(&ledgers, &ctx, a, 10).await;
    let store = &fx.store;
    store
        .pool()
        .execute("UPDATE balances SET balance = -1")
        .await
        .unwrap();

    let mut p1 = store.begin().await.unwrap();
    let appended = store
        .append(
            &mut p1,
            Ledger::STREAM_TYPE,
            a,
            2,
            &ctx.metadata,
            &[LedgerEvent::Deposited { amount: 5 }],
        )
        .await
        .unwrap();
    let read: i64 = sqlx::query_scalar("SELECT balance FROM balances WHERE ledger_id = $1")
        .bind(a)
        .fetch_one(&mut *p1)
        .await
        .unwrap();
    assert_eq!(read, -1, "P1 read the drifted row");

    let rebuilding = run_rebuild(store, projection.clone(), 100).await;
    // The switch-over locks the table, finds P1 holding the appenders' lock
    // and lets go again, until P1 commits.
    let waiting = async {
        while !rebuilding.is_finished()
            && !someone_locked_exclusively(store.pool(), "balances").await
        {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    };
    timeout(PATIENCE, waiting)
        .await
        .expect("the rebuild reaches its switch-over or ends");
    sqlx::query("UPDATE balances SET balance = $2, version = $3 WHERE ledger_id = $1")
        .bind(a)
        .bind(read + 5)
        .bind(appended[0].version)
        .execute(&mut *p1)
        .await
        .unwrap();
    p1.commit().await.unwrap();
    let report = timeout(PATIENCE, rebuilding)
        .await
        .expect("the rebuild finishes")
        .unwrap();

    assert_eq!(balances(store.pool()).await, vec![(a, 15, 3)], "{report:?}");
}

/// Holds a rebuild inside its page fold at two points, so the test can run
/// commands while the rebuild is known to be in progress.
struct Paused {
    inner: Balances,
    /// Ledgers whose events only a rebuild page carries (seeded, never projected).
    seeded: HashSet<Uuid>,
    /// The first page with a seeded ledger: building below the first horizon.
    building: Pause,
    /// The first page of several ledgers and none seeded: catching up.
    catching_up: Pause,
}

/// One stop: announces it was reached, then waits to be released.
struct Pause {
    reached: Mutex<Option<oneshot::Sender<()>>>,
    release: Mutex<Option<oneshot::Receiver<()>>>,
}

/// The test's side of a [`Pause`].
struct PauseHandle {
    reached: oneshot::Receiver<()>,
    release: oneshot::Sender<()>,
}

impl Pause {
    fn new() -> (Pause, PauseHandle) {
        let (reached_tx, reached_rx) = oneshot::channel();
        let (release_tx, release_rx) = oneshot::channel();
        let pause = Pause {
            reached: Mutex::new(Some(reached_tx)),
            release: Mutex::new(Some(release_rx)),
        };
        let handle = PauseHandle {
            reached: reached_rx,
            release: release_tx,
        };
        (pause, handle)
    }

    /// Stops here the first time only.
    async fn stop(&self) {
        let reached = self.reached.lock().unwrap().take();
        let release = self.release.lock().unwrap().take();
        if let (Some(reached), Some(release)) = (reached, release) {
            let _ = reached.send(());
            let _ = release.await;
        }
    }
}

#[async_trait]
impl InlineProjection<Ledger> for Paused {
    fn name(&self) -> &'static str {
        self.inner.name()
    }

    fn tables(&self) -> &'static [&'static str] {
        self.inner.tables()
    }

    fn upserts(&self) -> &'static [RowUpsert] {
        self.inner.upserts()
    }

    fn rows(
        &self,
        before: &Ledger,
        events: &[Appending<'_, LedgerEvent>],
    ) -> Result<Vec<ProjectedRow>, serde_json::Error> {
        self.inner.rows(before, events)
    }

    async fn apply(
        &self,
        conn: &mut PgConnection,
        events: &[Recorded<LedgerEvent>],
    ) -> Result<(), sqlx::Error> {
        let streams: HashSet<Uuid> = events.iter().map(|e| e.stream_id).collect();
        if !streams.is_disjoint(&self.seeded) {
            self.building.stop().await;
        } else if streams.len() > 1 {
            // Commands write their rows without `apply`: only rebuild pages
            // come here, and the catch-up's first one holds several ledgers.
            self.catching_up.stop().await;
        }
        self.inner.apply(conn, events).await
    }
}

/// Appends `per_ledger` events to each of `count` new ledgers without
/// projecting them: a large history only a rebuild reads.
async fn seed(
    store: &EventStore,
    ctx: &CommandContext,
    count: usize,
    per_ledger: usize,
) -> Vec<Uuid> {
    let mut events = vec![LedgerEvent::Opened { owner: "s".into() }];
    events.extend((1..per_ledger).map(|_| LedgerEvent::Deposited { amount: 1 }));
    let mut ids = Vec::new();
    for _ in 0..count {
        let id = Uuid::now_v7();
        let mut tx = store.begin().await.unwrap();
        store
            .append(&mut tx, Ledger::STREAM_TYPE, id, 0, &ctx.metadata, &events)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        ids.push(id);
    }
    ids
}

/// Commands on `ids` in turn, each of which must complete in time.
async fn commands_while_paused(
    ledgers: &Repository<Ledger>,
    ctx: &CommandContext,
    ids: &[Uuid],
    count: usize,
) {
    for n in 0..count {
        let id = ids[n % ids.len()];
        timeout(PATIENCE, deposit(ledgers, ctx, id, 3))
            .await
            .expect("a command completes while the rebuild runs");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn commands_keep_completing_while_a_large_rebuild_runs() {
    const SEEDED_LEDGERS: usize = 200;
    const EVENTS_PER_LEDGER: usize = 100;
    const WHILE_BUILDING: usize = 20;
    const WHILE_CATCHING_UP: usize = 20;

    let (building, building_handle) = Pause::new();
    let (catching_up, catching_up_handle) = Pause::new();
    let fx = support::store().await;
    let ctx = CommandContext::new(Uuid::now_v7(), "test");
    // The commands' ledgers come first in commit order, so no rebuild page
    // holds only their events before the seeded history has been read.
    let plain = Repository::<Ledger>::new(fx.store.clone());
    let commanded = open(&plain, &ctx, 4).await;
    let background = open(&plain, &ctx, 2).await;
    let seeded = seed(&fx.store, &ctx, SEEDED_LEDGERS, EVENTS_PER_LEDGER).await;
    let projection = Arc::new(Paused {
        inner: Balances,
        seeded: seeded.iter().copied().collect(),
        building,
        catching_up,
    });
    create_balances(&fx.store).await;
    let ledgers =
        Arc::new(Repository::<Ledger>::new(fx.store.clone()).with_projection(projection.clone()));

    // A writer that runs through the whole rebuild, switch-over included.
    let done = Arc::new(AtomicBool::new(false));
    let during = Arc::new(AtomicU64::new(0));
    let writer = {
        let (ledgers, ctx, done, during) =
            (ledgers.clone(), ctx.clone(), done.clone(), during.clone());
        tokio::spawn(async move {
            let mut n = 0;
            while !done.load(Ordering::SeqCst) {
                deposit(&ledgers, &ctx, background[n % background.len()], 1).await;
                if !done.load(Ordering::SeqCst) {
                    during.fetch_add(1, Ordering::SeqCst);
                }
                n += 1;
            }
        })
    };

    let rebuilding = run_rebuild(&fx.store, projection.clone(), 500).await;
    timeout(PATIENCE, building_handle.reached)
        .await
        .expect("the rebuild reads the seeded history")
        .unwrap();
    commands_while_paused(&ledgers, &ctx, &commanded, WHILE_BUILDING).await;
    building_handle.release.send(()).unwrap();

    timeout(PATIENCE, catching_up_handle.reached)
        .await
        .expect("the rebuild catches up on the commands")
        .unwrap();
    commands_while_paused(&ledgers, &ctx, &commanded, WHILE_CATCHING_UP).await;
    catching_up_handle.release.send(()).unwrap();

    let report = timeout(PATIENCE, rebuilding)
        .await
        .expect("the rebuild finishes")
        .unwrap();
    done.store(true, Ordering::SeqCst);
    writer.await.unwrap();
    let during = during.load(Ordering::SeqCst);
    println!(
        "{} commands completed during the rebuild: {report:?}",
        WHILE_BUILDING + WHILE_CATCHING_UP + during as usize
    );

    // The history is read with commands running; the commands of the first
    // pause lie above the first horizon and are caught up on, those of the
    // second are caught up on or applied at the switch-over.
    let seeded_events = (SEEDED_LEDGERS * EVENTS_PER_LEDGER) as u64;
    assert!(report.built >= seeded_events + 6, "{report:?}");
    assert!(report.caught_up >= WHILE_BUILDING as u64, "{report:?}");
    assert!(
        report.caught_up + report.switched >= (WHILE_BUILDING + WHILE_CATCHING_UP) as u64,
        "{report:?}"
    );
    assert_eq!(
        report.events,
        report.built + report.caught_up + report.switched
    );
    assert_eq!(report.rows, (SEEDED_LEDGERS + 6) as u64);
    let after = balances(fx.store.pool()).await;
    assert_eq!(after.len(), SEEDED_LEDGERS + 6);
    assert_eq!(after, folded(&fx.store).await, "{report:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn rebuilds_of_one_read_model_run_one_at_a_time_and_leave_no_shadow() {
    let fx = support::store().await;
    let ctx = CommandContext::new(Uuid::now_v7(), "test");
    let seeded = seed(&fx.store, &ctx, 3, 10).await;
    create_balances(&fx.store).await;
    // What a crashed rebuild leaves: a stale copy, even of another shape.
    fx.store
        .pool()
        .execute(
            "CREATE SCHEMA kernel_test_rebuild; \
             CREATE TABLE kernel_test_rebuild.balances (junk text); \
             INSERT INTO kernel_test_rebuild.balances VALUES ('x')",
        )
        .await
        .unwrap();

    let (building, building_handle) = Pause::new();
    let (catching_up, _never) = Pause::new();
    let paused = Arc::new(Paused {
        inner: Balances,
        seeded: seeded.iter().copied().collect(),
        building,
        catching_up,
    });
    let first = run_rebuild(&fx.store, paused, 4).await;
    timeout(PATIENCE, building_handle.reached)
        .await
        .expect("the first rebuild reads the history")
        .unwrap();
    let second = run_rebuild(&fx.store, Arc::new(Balances), 4).await;
    until_someone_waits_for_a_lock(fx.store.pool(), &[]).await;
    building_handle.release.send(()).unwrap();

    let first = timeout(PATIENCE, first).await.expect("first").unwrap();
    let second = timeout(PATIENCE, second).await.expect("second").unwrap();
    assert_eq!((first.events, second.events), (30, 30));
    assert_eq!(balances(fx.store.pool()).await, folded(&fx.store).await);
    let shadows: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM pg_namespace WHERE nspname = 'kernel_test_rebuild'",
    )
    .fetch_one(fx.store.pool())
    .await
    .unwrap();
    assert_eq!(shadows, 0, "the shadow schema is dropped");
}
