//! Inline projections and their rebuild from the event store.

mod support;

use std::sync::Arc;

use async_trait::async_trait;
use sqlx::{Executor, PgConnection};
use support::{Ledger, LedgerCommand, LedgerEvent};
use tenure_kernel::projection::{InlineProjection, rebuild};
use tenure_kernel::{CommandContext, Recorded, Repository};
use uuid::Uuid;

/// Balance per ledger.
struct Balances;

#[async_trait]
impl InlineProjection<LedgerEvent> for Balances {
    fn name(&self) -> &'static str {
        "balances"
    }

    fn tables(&self) -> &'static [&'static str] {
        &["balances"]
    }

    async fn apply(
        &self,
        conn: &mut PgConnection,
        events: &[Recorded<LedgerEvent>],
    ) -> Result<(), sqlx::Error> {
        for event in events {
            let amount = match &event.event {
                LedgerEvent::Opened { .. } => 0,
                LedgerEvent::Deposited { amount } => *amount,
            };
            sqlx::query(
                "INSERT INTO balances (ledger_id, balance, version) VALUES ($1, $2, $3) \
                 ON CONFLICT (ledger_id) DO UPDATE SET balance = balances.balance + $2, version = $3",
            )
            .bind(event.stream_id)
            .bind(amount)
            .bind(event.version)
            .execute(&mut *conn)
            .await?;
        }
        Ok(())
    }
}

async fn balances(pool: &sqlx::PgPool) -> Vec<(Uuid, i64, i64)> {
    sqlx::query_as("SELECT ledger_id, balance, version FROM balances ORDER BY ledger_id")
        .fetch_all(pool)
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_read_model_rebuilt_while_commands_keep_coming_matches_the_events() {
    let fx = support::store().await;
    fx.store
        .pool()
        .execute("CREATE TABLE balances (ledger_id uuid PRIMARY KEY, balance bigint NOT NULL, version bigint NOT NULL)")
        .await
        .unwrap();
    let projection = Arc::new(Balances);
    let ledgers =
        Arc::new(Repository::<Ledger>::new(fx.store.clone()).with_projection(projection.clone()));
    let ctx = CommandContext::new(Uuid::now_v7(), "test");
    let ids: Vec<Uuid> = (0..20).map(|_| Uuid::now_v7()).collect();
    for id in &ids {
        ledgers
            .execute(&ctx, *id, &LedgerCommand::Open { owner: "x".into() })
            .await
            .unwrap();
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
                    ledgers
                        .execute(&ctx, *id, &LedgerCommand::Deposit { amounts: vec![10] })
                        .await
                        .unwrap();
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
    for (_, balance, version) in after {
        assert_eq!(
            (balance, version),
            (56, 9),
            "every event applied exactly once"
        );
    }

    // A second rebuild on a quiet store gives the same read model.
    let again = balances(fx.store.pool()).await;
    rebuild::<Ledger>(&fx.store, projection.as_ref(), 1000)
        .await
        .unwrap();
    assert_eq!(balances(fx.store.pool()).await, again);
}
