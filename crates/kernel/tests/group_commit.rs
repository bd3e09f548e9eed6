//! Concurrent commands share a statement and a commit, and each stays atomic
//! on its own: a refusal in one neither fails nor alters the others.

mod support;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::{Executor, PgConnection, PgPool};
use support::{Fixture, Ledger, LedgerCommand, LedgerEvent};
use tenure_kernel::projection::{Appending, InlineProjection, ProjectedRow, RowUpsert};
use tenure_kernel::{CommandContext, CommandError, Recorded, Repository};
use tokio::time::timeout;
use uuid::Uuid;

const PATIENCE: Duration = Duration::from_secs(60);

/// Ledger owners, unique per tenant database: a read model that can refuse.
struct Owners;

#[async_trait]
impl InlineProjection<Ledger> for Owners {
    fn name(&self) -> &'static str {
        "owners"
    }

    fn tables(&self) -> &'static [&'static str] {
        &["owners"]
    }

    fn upserts(&self) -> &'static [RowUpsert] {
        &[RowUpsert {
            table: "owners",
            key: &["ledger_id"],
            columns: &["ledger_id", "owner"],
        }]
    }

    fn rows(
        &self,
        _before: &Ledger,
        events: &[Appending<'_, LedgerEvent>],
    ) -> Result<Vec<ProjectedRow>, serde_json::Error> {
        Ok(events
            .iter()
            .filter_map(|e| match e.event {
                LedgerEvent::Opened { owner } => Some(ProjectedRow {
                    table: 0,
                    values: serde_json::json!({ "ledger_id": e.stream_id, "owner": owner }),
                }),
                LedgerEvent::Deposited { .. } => None,
            })
            .collect())
    }

    async fn apply(
        &self,
        _conn: &mut PgConnection,
        _events: &[Recorded<LedgerEvent>],
    ) -> Result<(), sqlx::Error> {
        unreachable!("these tests do not rebuild")
    }
}

async fn ledgers() -> (Fixture, Arc<Repository<Ledger>>) {
    let fx = support::store().await;
    fx.store
        .pool()
        .execute("CREATE TABLE owners (ledger_id uuid PRIMARY KEY, owner text NOT NULL UNIQUE)")
        .await
        .unwrap();
    let repository = Repository::<Ledger>::new(fx.store.clone()).with_projection(Arc::new(Owners));
    (fx, Arc::new(repository))
}

fn opening(owner: &str) -> LedgerCommand {
    LedgerCommand::Open {
        owner: owner.to_owned(),
    }
}

fn new_stream(tenant: Uuid) -> CommandContext {
    CommandContext {
        expected_version: Some(0),
        ..CommandContext::new(tenant, "test")
    }
}

/// Holds every appender of the store until the returned transaction ends.
async fn hold_appenders(fx: &Fixture) -> sqlx::Transaction<'static, sqlx::Postgres> {
    let lock = fx.store.appender_lock();
    let mut holder = fx.store.pool().begin().await.unwrap();
    sqlx::query("SELECT pg_advisory_xact_lock($1, $2)")
        .bind(lock.class)
        .bind(lock.key)
        .execute(&mut *holder)
        .await
        .unwrap();
    holder
}

async fn until_waiting_for_the_appenders_lock(pool: &PgPool, count: i64) {
    let waiting = async {
        loop {
            let waiting: i64 = sqlx::query_scalar(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted",
            )
            .fetch_one(pool)
            .await
            .unwrap();
            if waiting >= count {
                return;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    };
    timeout(PATIENCE, waiting)
        .await
        .expect("the writers never waited for the appenders' lock");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn commands_queued_behind_a_statement_commit_together_and_a_refused_one_fails_alone() {
    let (fx, ledgers) = ledgers().await;
    let tenant = Uuid::now_v7();
    // Keep the writers' first statements waiting, so the rest pile up.
    let holder = hold_appenders(&fx).await;
    let first: Vec<_> = (0..8)
        .map(|n| {
            let ledgers = ledgers.clone();
            tokio::spawn(async move {
                let id = Uuid::now_v7();
                let outcome = ledgers
                    .execute(&new_stream(tenant), id, &opening(&format!("first-{n}")))
                    .await;
                (id, outcome)
            })
        })
        .collect();
    until_waiting_for_the_appenders_lock(fx.store.pool(), 1).await;
    // These queue behind the waiting statements; one owner is taken twice.
    let owners: Vec<String> = (0..20)
        .map(|n| format!("owner-{n}"))
        .chain(["owner-7".to_owned()])
        .collect();
    let queued: Vec<_> = owners
        .into_iter()
        .map(|owner| {
            let ledgers = ledgers.clone();
            tokio::spawn(async move {
                let id = Uuid::now_v7();
                let outcome = ledgers
                    .execute(&new_stream(tenant), id, &opening(&owner))
                    .await;
                (id, owner, outcome)
            })
        })
        .collect();
    // Give the queued commands the moment they need to reach the writers'
    // queues (they do no I/O before): a late one only makes a batch smaller.
    tokio::time::sleep(Duration::from_millis(200)).await;
    holder.rollback().await.unwrap();

    for task in first {
        let (_, outcome) = timeout(PATIENCE, task).await.unwrap().unwrap();
        outcome.expect("no conflict among the first commands");
    }
    let mut refused = Vec::new();
    let mut opened = Vec::new();
    for task in queued {
        let (id, owner, outcome) = timeout(PATIENCE, task).await.unwrap().unwrap();
        match outcome {
            Ok(executed) => {
                assert_eq!(executed.version, 1);
                assert_eq!(executed.events.len(), 1);
                opened.push((id, owner));
            }
            Err(CommandError::Constraint { constraint }) => {
                assert_eq!(constraint, "owners_owner_key");
                refused.push(owner);
            }
            Err(other) => panic!("unexpected outcome for {owner}: {other}"),
        }
    }
    assert_eq!(
        refused,
        vec!["owner-7".to_owned()],
        "only the second owner-7 is refused"
    );
    assert_eq!(opened.len(), 20);

    let pool = fx.store.pool();
    let (events, transactions): (i64, i64) =
        sqlx::query_as("SELECT count(*), count(DISTINCT tx_id) FROM events")
            .fetch_one(pool)
            .await
            .unwrap();
    assert_eq!(
        events, 28,
        "every accepted command's event, none of the refused one"
    );
    assert!(
        transactions < 28,
        "commands that waited together were committed together ({transactions} transactions)"
    );
    for (id, owner) in &opened {
        let stored: String = sqlx::query_scalar("SELECT owner FROM owners WHERE ledger_id = $1")
            .bind(id)
            .fetch_one(pool)
            .await
            .unwrap();
        assert_eq!(&stored, owner);
    }
    let queued_refusal: i64 =
        sqlx::query_scalar("SELECT count(*) FROM owners WHERE owner = 'owner-7'")
            .fetch_one(pool)
            .await
            .unwrap();
    assert_eq!(queued_refusal, 1);
}

#[tokio::test]
async fn a_retried_request_is_answered_before_a_read_model_refuses_it() {
    let (_fx, ledgers) = ledgers().await;
    let tenant = Uuid::now_v7();
    let ctx = CommandContext {
        request_id: Some("open-ada".into()),
        ..new_stream(tenant)
    };
    let first_id = Uuid::now_v7();
    let first = ledgers
        .execute(&ctx, first_id, &opening("ada"))
        .await
        .unwrap();
    // The retry draws a new stream id: its events, request log entry and
    // owner row all collide; the request log decides.
    let retry = ledgers
        .execute(&ctx, Uuid::now_v7(), &opening("ada"))
        .await
        .unwrap();
    assert!(retry.replayed);
    assert_eq!((retry.stream_id, retry.version), (first_id, first.version));
    // Without the request id the same owner is the read model's refusal.
    let other = ledgers
        .execute(&new_stream(tenant), Uuid::now_v7(), &opening("ada"))
        .await;
    assert!(
        matches!(other, Err(CommandError::Constraint { ref constraint }) if constraint == "owners_owner_key"),
        "{other:?}"
    );
}

#[tokio::test]
async fn a_lost_race_is_reported_before_the_request_log_and_the_read_models() {
    let (fx, ledgers) = ledgers().await;
    let tenant = Uuid::now_v7();
    let id = Uuid::now_v7();
    ledgers
        .execute(&new_stream(tenant), id, &opening("ada"))
        .await
        .unwrap();
    // A second repository (another replica) that believes the stream new
    // opens it with a request id of its own and the same owner: its events,
    // its log entry and its owner row would all be written, and the version
    // guard answers first.
    let replica = Repository::<Ledger>::new(fx.store.clone()).with_projection(Arc::new(Owners));
    let ctx = CommandContext {
        request_id: Some("replica-open".into()),
        ..new_stream(tenant)
    };
    let outcome = replica.execute(&ctx, id, &opening("ada")).await;
    assert!(
        matches!(
            outcome,
            Err(CommandError::Conflict {
                expected: 0,
                actual: 1,
                ..
            })
        ),
        "the lost race, not the owner: {outcome:?}"
    );
    let logged: i64 = sqlx::query_scalar("SELECT count(*) FROM command_log")
        .fetch_one(fx.store.pool())
        .await
        .unwrap();
    assert_eq!(logged, 0, "nothing of the refused command was written");
}
