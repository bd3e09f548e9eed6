//! Appends against a real PostgreSQL: version races, idempotent requests,
//! snapshots and upcasting.

mod support;

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use support::{Ledger, LedgerCommand, LedgerEvent, LedgerRule};
use tenure_kernel::{
    Aggregate, AppendError, CommandContext, CommandError, EventData, EventMetadata, Repository,
    RequestFingerprint,
};
use uuid::Uuid;

fn metadata(tenant_id: Uuid) -> EventMetadata {
    CommandContext::new(tenant_id, "test").metadata
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_appenders_racing_for_each_version_leave_exactly_one_winner() {
    let fx = support::store().await;
    let tenant = Uuid::now_v7();
    let stream = Uuid::now_v7();
    let rounds = 5;

    for expected in 0..rounds {
        let mut tasks = Vec::new();
        for writer in 0..50 {
            let store = fx.store.clone();
            tasks.push(tokio::spawn(async move {
                let mut tx = store.begin().await.unwrap();
                let event = LedgerEvent::Deposited { amount: writer + 1 };
                let result = store
                    .append(
                        &mut tx,
                        "ledger",
                        stream,
                        expected,
                        &metadata(tenant),
                        &[event],
                    )
                    .await;
                match result {
                    Ok(_) => {
                        tx.commit().await.unwrap();
                        Ok(())
                    }
                    Err(error) => Err(error),
                }
            }));
        }
        let mut wins = 0;
        for task in tasks {
            match task.await.unwrap() {
                Ok(()) => wins += 1,
                Err(AppendError::Conflict {
                    stream_id,
                    expected: e,
                }) => {
                    assert_eq!((stream_id, e), (stream, expected));
                }
                Err(other) => panic!("unexpected error: {other:?}"),
            }
        }
        assert_eq!(wins, 1, "exactly one append wins version {}", expected + 1);
    }

    let versions: Vec<i64> =
        sqlx::query_scalar("SELECT version FROM events WHERE stream_id = $1 ORDER BY version")
            .bind(stream)
            .fetch_all(fx.store.pool())
            .await
            .unwrap();
    assert_eq!(
        versions,
        (1..=rounds).collect::<Vec<_>>(),
        "no gap and no duplicate"
    );
    let waiting = tenure_kernel::relay::operations::lag(fx.store.pool())
        .await
        .unwrap();
    assert_eq!(
        waiting, rounds,
        "every committed event and nothing else waits for the relay"
    );
}

#[tokio::test]
async fn a_command_decides_on_the_current_state_and_rejections_write_nothing() {
    let fx = support::store().await;
    let ledgers = Repository::<Ledger>::new(fx.store.clone());
    let ctx = CommandContext::new(Uuid::now_v7(), "test");
    let id = Uuid::now_v7();

    let rejected = ledgers
        .execute(&ctx, id, &LedgerCommand::Deposit { amounts: vec![5] })
        .await;
    assert!(matches!(
        rejected,
        Err(CommandError::Rejected(LedgerRule::NotOpen))
    ));

    ledgers
        .execute(
            &ctx,
            id,
            &LedgerCommand::Open {
                owner: "ada".into(),
            },
        )
        .await
        .unwrap();
    let done = ledgers
        .execute(
            &ctx,
            id,
            &LedgerCommand::Deposit {
                amounts: vec![5, 7],
            },
        )
        .await
        .unwrap();
    assert_eq!(done.version, 3);
    assert_eq!(done.events.len(), 2);

    let again = ledgers
        .execute(
            &ctx,
            id,
            &LedgerCommand::Open {
                owner: "bob".into(),
            },
        )
        .await;
    assert!(matches!(
        again,
        Err(CommandError::Rejected(LedgerRule::AlreadyOpen))
    ));

    let loaded = ledgers.load(ctx.tenant_id(), id).await.unwrap();
    assert_eq!((loaded.version, loaded.state.balance), (3, 12));

    let other_tenant = ledgers.load(Uuid::now_v7(), id).await.unwrap();
    assert_eq!(
        other_tenant.version, 0,
        "another tenant's stream reads as empty"
    );
}

#[tokio::test]
async fn a_stale_expected_version_is_a_conflict() {
    let fx = support::store().await;
    let ledgers = Repository::<Ledger>::new(fx.store.clone());
    let mut ctx = CommandContext::new(Uuid::now_v7(), "test");
    let id = Uuid::now_v7();
    ledgers
        .execute(
            &ctx,
            id,
            &LedgerCommand::Open {
                owner: "ada".into(),
            },
        )
        .await
        .unwrap();
    ledgers
        .execute(&ctx, id, &LedgerCommand::Deposit { amounts: vec![1] })
        .await
        .unwrap();

    ctx.expected_version = Some(1);
    let stale = ledgers
        .execute(&ctx, id, &LedgerCommand::Deposit { amounts: vec![1] })
        .await;
    assert!(
        matches!(
            stale,
            Err(CommandError::Conflict {
                expected: 1,
                actual: 2,
                ..
            })
        ),
        "{stale:?}"
    );

    ctx.expected_version = Some(2);
    let fresh = ledgers
        .execute(&ctx, id, &LedgerCommand::Deposit { amounts: vec![1] })
        .await
        .unwrap();
    assert_eq!(fresh.version, 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_commands_without_expected_version_are_all_applied() {
    let fx = support::store().await;
    let ledgers = Arc::new(Repository::<Ledger>::new(fx.store.clone()));
    let ctx = CommandContext::new(Uuid::now_v7(), "test");
    let id = Uuid::now_v7();
    ledgers
        .execute(
            &ctx,
            id,
            &LedgerCommand::Open {
                owner: "ada".into(),
            },
        )
        .await
        .unwrap();

    let mut tasks = Vec::new();
    for _ in 0..4 {
        let (ledgers, ctx) = (ledgers.clone(), ctx.clone());
        tasks.push(tokio::spawn(async move {
            ledgers
                .execute(&ctx, id, &LedgerCommand::Deposit { amounts: vec![1] })
                .await
                .map(|_| ())
        }));
    }
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    let loaded = ledgers.load(ctx.tenant_id(), id).await.unwrap();
    assert_eq!(
        (loaded.version, loaded.state.balance),
        (5, 4),
        "each lost race was decided again"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_retried_request_returns_the_first_outcome_and_appends_nothing() {
    let fx = support::store().await;
    let ledgers = Arc::new(Repository::<Ledger>::new(fx.store.clone()));
    let mut ctx = CommandContext::new(Uuid::now_v7(), "test");
    ctx.request_id = Some("open-1".into());
    // The stream id is drawn by the server, so it is not part of the request.
    ctx.fingerprint = Some(RequestFingerprint::new("Open", b"ada"));

    // Two racing executions of one request on different new streams: one appends.
    let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
    let open = LedgerCommand::Open {
        owner: "ada".into(),
    };
    let (first, second) = tokio::join!(
        ledgers.execute(&ctx, a, &open),
        ledgers.execute(&ctx, b, &open)
    );
    let outcomes = [first, second];
    let appended: Vec<_> = outcomes
        .iter()
        .filter(|o| matches!(o, Ok(e) if !e.replayed))
        .collect();
    assert_eq!(appended.len(), 1, "{outcomes:?}");
    let events: i64 = sqlx::query_scalar("SELECT count(*) FROM events")
        .fetch_one(fx.store.pool())
        .await
        .unwrap();
    assert_eq!(events, 1);

    let winner = appended[0].as_ref().unwrap().stream_id;
    let retry = ledgers.execute(&ctx, winner, &open).await.unwrap();
    assert!(retry.replayed);
    assert_eq!((retry.stream_id, retry.version), (winner, 1));
    let events: i64 = sqlx::query_scalar("SELECT count(*) FROM events")
        .fetch_one(fx.store.pool())
        .await
        .unwrap();
    assert_eq!(events, 1, "the retry appended nothing");
}

#[tokio::test]
async fn loading_ten_thousand_events_reads_only_those_after_the_snapshot() {
    let fx = support::store_with(1000).await;
    let ledgers = Repository::<Ledger>::new(fx.store.clone());
    let ctx = CommandContext::new(Uuid::now_v7(), "test");
    let id = Uuid::now_v7();
    ledgers
        .execute(
            &ctx,
            id,
            &LedgerCommand::Open {
                owner: "ada".into(),
            },
        )
        .await
        .unwrap();
    // 1 + 1111 × 9 = 10,000 events.
    for _ in 0..1111 {
        ledgers
            .execute(
                &ctx,
                id,
                &LedgerCommand::Deposit {
                    amounts: vec![1; 9],
                },
            )
            .await
            .unwrap();
    }

    let loaded = ledgers.load(ctx.tenant_id(), id).await.unwrap();
    assert_eq!(loaded.version, 10_000);
    assert_eq!(
        (loaded.state.balance, loaded.state.deposits),
        (9_999, 9_999)
    );
    let snapshot = loaded.snapshot_version.expect("a snapshot was taken");
    assert!(
        snapshot >= 9_000,
        "the latest snapshot is used, got {snapshot}"
    );
    assert_eq!(
        loaded.events_replayed as i64,
        10_000 - snapshot,
        "only events after the snapshot are read"
    );
    assert!(loaded.events_replayed < 1000);
}

#[tokio::test]
async fn events_written_by_an_older_schema_are_upcast_on_read() {
    let fx = support::store().await;
    let ledgers = Repository::<Ledger>::new(fx.store.clone());
    let ctx = CommandContext::new(Uuid::now_v7(), "test");
    let id = Uuid::now_v7();
    ledgers
        .execute(
            &ctx,
            id,
            &LedgerCommand::Open {
                owner: "ada".into(),
            },
        )
        .await
        .unwrap();

    // An event as version 1 of the schema wrote it.
    #[derive(Clone)]
    struct OldDeposit;
    impl tenure_kernel::DomainEvent for OldDeposit {
        fn event_type(&self) -> &'static str {
            "Deposited"
        }
        fn encode(&self) -> Vec<u8> {
            br#"{"cents": 4200}"#.to_vec()
        }
        fn decode(_: &EventData) -> Result<Self, tenure_kernel::CodecError> {
            Ok(OldDeposit)
        }
    }
    let mut tx = fx.store.begin().await.unwrap();
    fx.store
        .append(&mut tx, "ledger", id, 1, &ctx.metadata, &[OldDeposit])
        .await
        .unwrap();
    tx.commit().await.unwrap();

    let loaded = ledgers.load(ctx.tenant_id(), id).await.unwrap();
    assert_eq!(loaded.state.balance, 42);
    let stored: i32 = sqlx::query_scalar("SELECT schema_version FROM events WHERE version = 2")
        .fetch_one(fx.store.pool())
        .await
        .unwrap();
    assert_eq!(stored, 1, "the stored event is never rewritten");
}

#[tokio::test]
async fn a_state_cached_by_one_replica_is_never_trusted_over_the_store() {
    let fx = support::store().await;
    // Two replicas of a service, each with its own cache, on one store.
    let first = Repository::<Ledger>::new(fx.store.clone());
    let second = Repository::<Ledger>::new(fx.store.clone());
    let ctx = CommandContext::new(Uuid::now_v7(), "test");
    let id = Uuid::now_v7();

    first
        .execute(
            &ctx,
            id,
            &LedgerCommand::Open {
                owner: "ada".into(),
            },
        )
        .await
        .unwrap();
    second
        .execute(&ctx, id, &LedgerCommand::Deposit { amounts: vec![5] })
        .await
        .unwrap();
    // The first replica's cache still says version 1.
    let done = first
        .execute(&ctx, id, &LedgerCommand::Deposit { amounts: vec![1] })
        .await
        .unwrap();
    assert_eq!(done.version, 3, "decided again on the stored state");

    // A rule decided on a stale cache is checked against the store too.
    let mut expecting = ctx.clone();
    expecting.expected_version = Some(3);
    let stale = second
        .execute(&expecting, id, &LedgerCommand::Deposit { amounts: vec![1] })
        .await;
    assert_eq!(
        stale.unwrap().version,
        4,
        "the second replica's cache (version 2) was not trusted"
    );

    let loaded = first.load(ctx.tenant_id(), id).await.unwrap();
    assert_eq!((loaded.version, loaded.state.balance), (4, 7));
}

/// The ledger under another stream type, as a second aggregate of one service.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Account(Ledger);

impl Aggregate for Account {
    const STREAM_TYPE: &'static str = "account";
    type Event = LedgerEvent;
    type Command = LedgerCommand;
    type Rejection = LedgerRule;

    fn decide(&self, command: &LedgerCommand) -> Result<Vec<LedgerEvent>, LedgerRule> {
        self.0.decide(command)
    }

    fn evolve(&mut self, event: &LedgerEvent) {
        self.0.evolve(event);
    }
}

fn deposit(amount: i64) -> (LedgerCommand, RequestFingerprint) {
    let fingerprint = RequestFingerprint::new("Deposit", &amount.to_le_bytes());
    (
        LedgerCommand::Deposit {
            amounts: vec![amount],
        },
        fingerprint,
    )
}

async fn event_count(fx: &support::Fixture) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM events")
        .fetch_one(fx.store.pool())
        .await
        .unwrap()
}

#[tokio::test]
async fn a_request_id_reused_for_a_different_request_is_refused_and_appends_nothing() {
    let fx = support::store().await;
    let ledgers = Repository::<Ledger>::new(fx.store.clone());
    let accounts = Repository::<Account>::new(fx.store.clone());
    let id = Uuid::now_v7();
    let plain = CommandContext::new(Uuid::now_v7(), "test");
    let open = LedgerCommand::Open {
        owner: "ada".into(),
    };
    ledgers.execute(&plain, id, &open).await.unwrap();

    let (five, fingerprint) = deposit(5);
    let ctx = CommandContext {
        request_id: Some("deposit-1".into()),
        fingerprint: Some(fingerprint),
        ..plain.clone()
    };
    let first = ledgers.execute(&ctx, id, &five).await.unwrap();
    assert_eq!((first.version, first.replayed), (2, false));

    // The same request again: the first outcome, nothing appended.
    let retry = ledgers.execute(&ctx, id, &five).await.unwrap();
    assert!(retry.replayed);
    assert_eq!((retry.stream_id, retry.version), (id, 2));

    // The id with other content, of another kind, or for another stream type.
    let (seven, other_amount) = deposit(7);
    let other_kind = RequestFingerprint::new("Open", &5i64.to_le_bytes());
    let refused = [
        ledgers
            .execute(
                &CommandContext {
                    fingerprint: Some(other_amount),
                    ..ctx.clone()
                },
                id,
                &seven,
            )
            .await
            .map(|_| ()),
        ledgers
            .execute(
                &CommandContext {
                    fingerprint: Some(other_kind),
                    ..ctx.clone()
                },
                Uuid::now_v7(),
                &open,
            )
            .await
            .map(|_| ()),
        accounts.execute(&ctx, id, &five).await.map(|_| ()),
    ];
    for outcome in refused {
        assert!(
            matches!(&outcome, Err(CommandError::RequestMismatch { request_id }) if request_id == "deposit-1"),
            "{outcome:?}"
        );
    }
    assert_eq!(event_count(&fx).await, 2, "nothing appended");
    let loaded = ledgers.load(ctx.tenant_id(), id).await.unwrap();
    assert_eq!(loaded.state.balance, 5);

    let logged: (String, String, Vec<u8>) = sqlx::query_as(
        "SELECT stream_type, command_kind, fingerprint FROM command_log WHERE request_id = 'deposit-1'",
    )
    .fetch_one(fx.store.pool())
    .await
    .unwrap();
    let expected = deposit(5).1;
    assert_eq!(
        logged,
        (
            "ledger".to_owned(),
            "Deposit".to_owned(),
            expected.digest().to_vec()
        )
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn of_two_different_requests_racing_with_one_id_one_appends_and_the_other_is_refused() {
    let fx = support::store().await;
    let ledgers = Arc::new(Repository::<Ledger>::new(fx.store.clone()));
    let plain = CommandContext::new(Uuid::now_v7(), "test");
    let request = |round: usize, amount: i64| {
        let (command, fingerprint) = deposit(amount);
        let ctx = CommandContext {
            request_id: Some(format!("race-{round}")),
            fingerprint: Some(fingerprint),
            ..plain.clone()
        };
        (ctx, command)
    };
    for round in 0..5 {
        let id = Uuid::now_v7();
        let open = LedgerCommand::Open {
            owner: "ada".into(),
        };
        ledgers.execute(&plain, id, &open).await.unwrap();
        let ((a, five), (b, seven)) = (request(round, 5), request(round, 7));
        let (first, second) = tokio::join!(
            ledgers.execute(&a, id, &five),
            ledgers.execute(&b, id, &seven)
        );
        let outcomes = [first.map(|e| e.replayed), second.map(|e| e.replayed)];
        let appended = outcomes.iter().filter(|o| matches!(o, Ok(false))).count();
        let refused = outcomes
            .iter()
            .filter(|o| matches!(o, Err(CommandError::RequestMismatch { .. })))
            .count();
        assert_eq!((appended, refused), (1, 1), "round {round}: {outcomes:?}");
        let loaded = ledgers.load(plain.tenant_id(), id).await.unwrap();
        assert_eq!(loaded.version, 2, "round {round}: one deposit");
    }
}

#[tokio::test]
async fn a_request_logged_without_a_fingerprint_answers_any_reuse_as_before() {
    let fx = support::store().await;
    let ledgers = Repository::<Ledger>::new(fx.store.clone());
    let ctx = CommandContext::new(Uuid::now_v7(), "test");
    let id = Uuid::now_v7();
    let open = LedgerCommand::Open {
        owner: "ada".into(),
    };
    ledgers.execute(&ctx, id, &open).await.unwrap();
    // A row as the request log wrote it before fingerprints were kept.
    sqlx::query(
        "INSERT INTO command_log (tenant_id, request_id, stream_id, version) VALUES ($1, 'old', $2, 1)",
    )
    .bind(ctx.tenant_id())
    .bind(id)
    .execute(fx.store.pool())
    .await
    .unwrap();

    let (five, fingerprint) = deposit(5);
    let reuse = CommandContext {
        request_id: Some("old".into()),
        fingerprint: Some(fingerprint),
        ..ctx.clone()
    };
    let replayed = ledgers.execute(&reuse, id, &five).await.unwrap();
    assert!(replayed.replayed);
    assert_eq!(replayed.version, 1);
    assert_eq!(event_count(&fx).await, 1);
}

#[tokio::test]
async fn in_a_caller_transaction_a_request_id_is_replayed_or_refused_too() {
    let fx = support::store().await;
    let ledgers = Repository::<Ledger>::new(fx.store.clone());
    let plain = CommandContext::new(Uuid::now_v7(), "test");
    let id = Uuid::now_v7();
    let open = LedgerCommand::Open {
        owner: "ada".into(),
    };
    ledgers.execute(&plain, id, &open).await.unwrap();
    let (five, fingerprint) = deposit(5);
    let ctx = CommandContext {
        request_id: Some("in-tx".into()),
        fingerprint: Some(fingerprint),
        ..plain.clone()
    };

    let mut tx = fx.store.begin().await.unwrap();
    let first = ledgers.execute_in(&mut tx, &ctx, id, &five).await.unwrap();
    assert_eq!(first.version, 2);
    // The same transaction sees the request it logged.
    let again = ledgers.execute_in(&mut tx, &ctx, id, &five).await.unwrap();
    assert!(again.replayed);
    let (seven, other) = deposit(7);
    let mismatch = CommandContext {
        fingerprint: Some(other),
        ..ctx.clone()
    };
    let refused = ledgers.execute_in(&mut tx, &mismatch, id, &seven).await;
    assert!(
        matches!(refused, Err(CommandError::RequestMismatch { .. })),
        "{refused:?}"
    );
    tx.commit().await.unwrap();

    let mut tx = fx.store.begin().await.unwrap();
    let later = ledgers.execute_in(&mut tx, &ctx, id, &five).await.unwrap();
    assert!(later.replayed);
    assert_eq!(later.version, 2);
    tx.commit().await.unwrap();
    assert_eq!(event_count(&fx).await, 2, "one deposit");
}
