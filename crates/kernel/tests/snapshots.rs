//! Snapshots against a real PostgreSQL: one that cannot be used never fails
//! a command, one of an older shape is replayed over, and a fresh one is
//! written after any load that replayed a whole interval.

mod support;

use support::{Ledger, LedgerCommand};
use tenure_kernel::{CommandContext, EventStore, Repository, StoreSettings};
use uuid::Uuid;

const EVERY: i64 = 10;

/// A ledger stream of `EVERY` events (open, then deposits of 1) and its
/// snapshot at version `EVERY`.
async fn ledger_with_snapshot(fx: &support::Fixture) -> (CommandContext, Uuid) {
    let ledgers = Repository::<Ledger>::new(fx.store.clone());
    let ctx = CommandContext::new(Uuid::now_v7(), "test");
    let id = Uuid::now_v7();
    let open = LedgerCommand::Open {
        owner: "ada".into(),
    };
    ledgers.execute(&ctx, id, &open).await.unwrap();
    let deposits = LedgerCommand::Deposit {
        amounts: vec![1; EVERY as usize - 1],
    };
    ledgers.execute(&ctx, id, &deposits).await.unwrap();
    assert_eq!(snapshot(fx, id).await.0, EVERY, "the snapshot to spoil");
    (ctx, id)
}

/// The stored snapshot's version and state.
async fn snapshot(fx: &support::Fixture, id: Uuid) -> (i64, serde_json::Value) {
    let (version, state): (i64, Vec<u8>) =
        sqlx::query_as("SELECT version, state FROM snapshots WHERE stream_id = $1")
            .bind(id)
            .fetch_one(fx.store.pool())
            .await
            .unwrap();
    let state = serde_json::from_slice(&state).unwrap_or(serde_json::Value::Null);
    (version, state)
}

async fn overwrite_snapshot(fx: &support::Fixture, id: Uuid, state: &[u8]) {
    sqlx::query("UPDATE snapshots SET state = $2 WHERE stream_id = $1")
        .bind(id)
        .bind(state)
        .execute(fx.store.pool())
        .await
        .unwrap();
}

/// After the snapshot at `EVERY` was replaced by `state`: a new replica (no
/// cached state) loads the right state from the events, its next command
/// succeeds on it and writes a fresh snapshot of the current shape.
async fn replays_over(state: &[u8]) {
    let fx = support::store_with(EVERY).await;
    let (ctx, id) = ledger_with_snapshot(&fx).await;
    overwrite_snapshot(&fx, id, state).await;

    let replica = Repository::<Ledger>::new(fx.store.clone());
    let loaded = replica.load(ctx.tenant_id(), id).await.unwrap();
    assert_eq!(loaded.snapshot_version, None, "the snapshot was not used");
    assert_eq!(
        loaded.events_replayed as i64, EVERY,
        "replayed from version 0"
    );
    assert_eq!((loaded.version, loaded.state.balance), (EVERY, EVERY - 1));

    let done = replica
        .execute(&ctx, id, &LedgerCommand::Deposit { amounts: vec![5] })
        .await
        .expect("the command does not fail for the snapshot");
    assert_eq!(done.version, EVERY + 1);

    let expected = Ledger {
        opened: true,
        balance: EVERY - 1 + 5,
        deposits: EVERY as u64,
    };
    let (version, stored) = snapshot(&fx, id).await;
    assert_eq!(version, EVERY + 1, "a fresh snapshot after the replay");
    assert_eq!(stored, serde_json::to_value(&expected).unwrap());

    let fresh = Repository::<Ledger>::new(fx.store.clone());
    let loaded = fresh.load(ctx.tenant_id(), id).await.unwrap();
    assert_eq!(
        loaded.snapshot_version,
        Some(EVERY + 1),
        "the fresh one is used"
    );
    assert_eq!(loaded.events_replayed, 0);
    assert_eq!(loaded.state, expected);
}

#[tokio::test]
async fn a_snapshot_that_is_not_json_is_replayed_over() {
    replays_over(b"\x00\xff not json").await;
}

#[tokio::test]
async fn a_snapshot_whose_values_do_not_fit_the_state_is_replayed_over() {
    replays_over(br#"{"opened": true, "balance": "lots", "deposits": 9}"#).await;
}

#[tokio::test]
async fn a_snapshot_missing_a_field_is_replayed_over() {
    // As a state without `deposits` wrote it; the balance is wrong on
    // purpose, so a state taken from it would show.
    replays_over(br#"{"opened": true, "balance": 999}"#).await;
}

#[tokio::test]
async fn a_snapshot_with_a_field_the_state_no_longer_has_is_replayed_over() {
    replays_over(br#"{"opened": true, "balance": 999, "deposits": 9, "currency": "EUR"}"#).await;
}

#[tokio::test]
async fn a_snapshot_of_the_current_shape_is_used_whatever_its_key_order() {
    let fx = support::store_with(EVERY).await;
    let (ctx, id) = ledger_with_snapshot(&fx).await;
    // Same fields, other order, other values: it is used as it stands.
    overwrite_snapshot(
        &fx,
        id,
        br#"{"deposits": 100, "balance": 500, "opened": true}"#,
    )
    .await;
    let replica = Repository::<Ledger>::new(fx.store.clone());
    let loaded = replica.load(ctx.tenant_id(), id).await.unwrap();
    assert_eq!(loaded.snapshot_version, Some(EVERY));
    assert_eq!((loaded.state.balance, loaded.state.deposits), (500, 100));
}

#[tokio::test]
async fn a_load_that_replays_a_whole_interval_is_followed_by_a_snapshot() {
    // Written while snapshots came every 1000 events: none yet.
    let fx = support::store_with(1000).await;
    let ledgers = Repository::<Ledger>::new(fx.store.clone());
    let ctx = CommandContext::new(Uuid::now_v7(), "test");
    let id = Uuid::now_v7();
    let open = LedgerCommand::Open {
        owner: "ada".into(),
    };
    ledgers.execute(&ctx, id, &open).await.unwrap();
    let deposits = LedgerCommand::Deposit {
        amounts: vec![1; 24],
    };
    ledgers.execute(&ctx, id, &deposits).await.unwrap();

    // The service now snapshots every 10 events; the stream crosses no
    // multiple of 10 with its next event, yet its load replayed 25.
    let settings = StoreSettings {
        snapshot_every: EVERY,
        ..StoreSettings::new("kernel_test")
    };
    let lowered = Repository::<Ledger>::new(EventStore::new(fx.store.pool().clone(), settings));
    let done = lowered
        .execute(&ctx, id, &LedgerCommand::Deposit { amounts: vec![1] })
        .await
        .unwrap();
    assert_eq!(done.version, 26);
    assert_eq!(snapshot(&fx, id).await.0, 26);
}
