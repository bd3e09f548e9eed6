//! The global reader against real PostgreSQL: no event skipped when appends
//! commit out of position order, and no stall from a foreign idle transaction.

mod support;

use std::collections::HashSet;
use std::time::{Duration, Instant};

use sqlx::{Connection, Executor, PgConnection};
use support::LedgerEvent;
use tenure_kernel::{CommandContext, EventStore, GlobalPosition};
use uuid::Uuid;

/// Follows the global order until `total` events were read or `deadline` passes.
async fn follow(
    store: &EventStore,
    total: usize,
    deadline: Duration,
) -> Vec<(Uuid, GlobalPosition)> {
    let started = Instant::now();
    let mut after = GlobalPosition::START;
    let mut seen = Vec::new();
    while seen.len() < total && started.elapsed() < deadline {
        let page = store.read_all(after, 100, None).await.unwrap();
        if page.is_empty() {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        for event in page {
            assert!(event.global > after, "commit order only moves forward");
            after = event.global;
            seen.push((event.event_id, event.global));
        }
    }
    seen
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_reader_following_concurrent_appenders_sees_every_event_once_in_order() {
    let fx = support::store().await;
    let appenders = 16;
    let appends_each = 25;
    let total = appenders * appends_each;

    let reader = {
        let store = fx.store.clone();
        tokio::spawn(async move { follow(&store, total, Duration::from_secs(60)).await })
    };
    let commits = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let mut tasks = Vec::new();
    for writer in 0..appenders {
        let store = fx.store.clone();
        let commits = commits.clone();
        tasks.push(tokio::spawn(async move {
            let ctx = CommandContext::new(Uuid::now_v7(), "test");
            let stream = Uuid::now_v7();
            let mut ids = Vec::new();
            for version in 0..appends_each {
                let mut tx = store.begin().await.unwrap();
                let recorded = store
                    .append(
                        &mut tx,
                        "ledger",
                        stream,
                        version as i64,
                        &ctx.metadata,
                        &[LedgerEvent::Deposited { amount: 1 }],
                    )
                    .await
                    .unwrap();
                // Hold some transactions open after taking a position, so that
                // later positions commit first.
                let pause = ((writer * 7 + version * 13) % 5) as u64;
                tokio::time::sleep(Duration::from_millis(pause)).await;
                tx.commit().await.unwrap();
                let commit_seq = commits.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                ids.push((
                    recorded[0].event_id,
                    recorded[0].global.position,
                    commit_seq,
                ));
            }
            ids
        }));
    }
    let mut appended = Vec::new();
    for task in tasks {
        appended.extend(task.await.unwrap());
    }
    let written: HashSet<Uuid> = appended.iter().map(|(id, _, _)| *id).collect();
    appended.sort_by_key(|(_, position, _)| *position);
    let inversions = appended.windows(2).filter(|w| w[0].2 > w[1].2).count();
    assert!(
        inversions > 0,
        "the test made positions commit out of order"
    );
    let seen = reader.await.unwrap();

    let seen_ids: Vec<Uuid> = seen.iter().map(|(id, _)| *id).collect();
    let unique: HashSet<Uuid> = seen_ids.iter().copied().collect();
    assert_eq!(unique.len(), seen_ids.len(), "no event read twice");
    assert_eq!(unique, written, "every committed event read");

    // The order the follower saw is the one a later reader sees too.
    let replay = follow(&fx.store, total, Duration::from_secs(10)).await;
    assert_eq!(replay, seen, "a later reader sees the same order");
}

#[tokio::test]
async fn an_event_committed_behind_a_running_appender_waits_for_it_and_none_is_skipped() {
    let fx = support::store().await;
    let ctx = CommandContext::new(Uuid::now_v7(), "test");
    let deposit = [LedgerEvent::Deposited { amount: 1 }];

    // A takes the lower position and stays open; B takes the next and commits.
    let mut slow = fx.store.begin().await.unwrap();
    let a = fx
        .store
        .append(
            &mut slow,
            "ledger",
            Uuid::now_v7(),
            0,
            &ctx.metadata,
            &deposit,
        )
        .await
        .unwrap();
    let mut fast = fx.store.begin().await.unwrap();
    let b = fx
        .store
        .append(
            &mut fast,
            "ledger",
            Uuid::now_v7(),
            0,
            &ctx.metadata,
            &deposit,
        )
        .await
        .unwrap();
    assert!(a[0].global.position < b[0].global.position);
    fast.commit().await.unwrap();

    let early = fx
        .store
        .read_all(GlobalPosition::START, 10, None)
        .await
        .unwrap();
    assert!(
        early.is_empty(),
        "B sits behind the running appender A, so the reader waits"
    );

    slow.commit().await.unwrap();
    let all = fx
        .store
        .read_all(GlobalPosition::START, 10, None)
        .await
        .unwrap();
    let ids: Vec<Uuid> = all.iter().map(|e| e.event_id).collect();
    assert_eq!(ids, vec![a[0].event_id, b[0].event_id]);
}

#[tokio::test]
async fn a_foreign_transaction_idle_for_a_minute_does_not_hold_the_reader_back() {
    let fx = support::store().await;
    let ctx = CommandContext::new(Uuid::now_v7(), "test");

    // A session elsewhere in the database takes a transaction id and then sits
    // idle in transaction, touching no event table.
    let mut idle = PgConnection::connect(&fx.db.url).await.unwrap();
    idle.execute("CREATE TABLE unrelated (x int)")
        .await
        .unwrap();
    idle.execute("BEGIN").await.unwrap();
    idle.execute("INSERT INTO unrelated VALUES (1)")
        .await
        .unwrap();
    let idle_xid: i64 = sqlx::query_scalar("SELECT pg_current_xact_id()::text::bigint")
        .fetch_one(&mut idle)
        .await
        .unwrap();

    let mut ids = Vec::new();
    for _ in 0..3 {
        let mut tx = fx.store.begin().await.unwrap();
        let recorded = fx
            .store
            .append(
                &mut tx,
                "ledger",
                Uuid::now_v7(),
                0,
                &ctx.metadata,
                &[LedgerEvent::Deposited { amount: 1 }],
            )
            .await
            .unwrap();
        tx.commit().await.unwrap();
        assert!(
            recorded[0].global.tx_id > idle_xid,
            "the appends started after the idle transaction"
        );
        ids.push(recorded[0].event_id);
    }

    let started = Instant::now();
    let read = fx
        .store
        .read_all(GlobalPosition::START, 10, None)
        .await
        .unwrap();
    let read_ids: Vec<Uuid> = read.iter().map(|e| e.event_id).collect();
    assert_eq!(
        read_ids, ids,
        "committed events are read while the idle transaction stays open"
    );
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "and without waiting for it"
    );
    idle.execute("ROLLBACK").await.unwrap();
}

/// A consumer batch is one transaction: its first reaction gives it a
/// transaction id, and a later reaction may append to a stream that a newer
/// transaction committed meanwhile. Without a guard, the global order then
/// puts that stream's new version before the version it follows.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_batch_appending_after_a_newer_commit_never_puts_a_version_before_its_predecessor() {
    use support::{Ledger, LedgerCommand};
    use tenure_kernel::{CommandError, Repository};

    let fx = support::store().await;
    let repository = Repository::<Ledger>::new(fx.store.clone());
    let ctx = CommandContext::new(Uuid::now_v7(), "test");
    let open = |owner: &str| LedgerCommand::Open {
        owner: owner.to_owned(),
    };
    let deposit = LedgerCommand::Deposit { amounts: vec![1] };
    let (x, y) = (Uuid::now_v7(), Uuid::now_v7());
    repository.execute(&ctx, x, &open("x")).await.unwrap();

    // The batch: its first reaction (on y) takes a transaction id.
    let mut attempts = 0;
    loop {
        attempts += 1;
        let mut batch = fx.store.begin().await.unwrap();
        repository
            .execute_in(&mut batch, &ctx, Uuid::now_v7(), &open("y"))
            .await
            .unwrap();
        if attempts == 1 {
            // Meanwhile a command commits x's next version with a newer id.
            repository.execute(&ctx, x, &deposit).await.unwrap();
        }
        // The batch's second reaction appends to x after that commit.
        match repository.execute_in(&mut batch, &ctx, x, &deposit).await {
            Ok(_) => {
                batch.commit().await.unwrap();
                break;
            }
            Err(CommandError::OutOfOrder { stream_id }) => {
                assert_eq!(stream_id, x);
                batch.rollback().await.unwrap();
                assert!(attempts < 3, "a fresh transaction appends in order");
            }
            Err(error) => panic!("unexpected: {error}"),
        }
    }
    let _ = y;

    let all = fx
        .store
        .read_all(GlobalPosition::START, 100, Some("ledger"))
        .await
        .unwrap();
    let x_versions: Vec<i64> = all
        .iter()
        .filter(|e| e.stream_id == x)
        .map(|e| e.version)
        .collect();
    assert_eq!(
        x_versions,
        vec![1, 2, 3],
        "global order keeps the stream's versions in order"
    );
}

/// pg_stat_activity is read once per transaction; a horizon built on it would
/// miss an appender that took its id after the first call in the same one.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_second_horizon_in_one_transaction_still_sees_a_newer_running_appender() {
    let fx = support::store().await;
    let ctx = CommandContext::new(Uuid::now_v7(), "test");
    let append = async |tx: &mut sqlx::PgConnection| {
        fx.store
            .append(
                tx,
                "ledger",
                Uuid::now_v7(),
                0,
                &ctx.metadata,
                &[LedgerEvent::Deposited { amount: 1 }],
            )
            .await
            .unwrap()[0]
            .global
    };

    // An appender running during the first call makes it read the activity.
    let mut early = fx.store.begin().await.unwrap();
    append(&mut early).await;
    let mut reader = fx.store.pool().begin().await.unwrap();
    let first = fx.store.horizon(&mut reader).await.unwrap();
    early.commit().await.unwrap();
    let mut running = fx.store.begin().await.unwrap();
    let held = append(&mut running).await;
    let mut committed = fx.store.begin().await.unwrap();
    append(&mut committed).await;
    committed.commit().await.unwrap();

    let second = fx.store.horizon(&mut reader).await.unwrap();
    assert!(
        first <= held.tx_id,
        "the first horizon is below the appender"
    );
    assert!(
        second <= held.tx_id,
        "horizon {second} must not pass the running appender {}",
        held.tx_id
    );
    running.commit().await.unwrap();
    reader.commit().await.unwrap();
}
