//! The physical limit of "one command = one commit": a one-row INSERT into an
//! events-shaped table, each its own committed transaction, one round trip
//! with a prepared statement on a connection of its own per client.

use serde_json::json;
use sqlx::pool::PoolConnection;
use sqlx::{Executor, PgPool, Postgres};
use uuid::Uuid;

use crate::measure::Client;

/// The table: what an event store needs at least, with the same
/// optimistic-concurrency key (stream, version).
const CREATE: &str = "CREATE SCHEMA IF NOT EXISTS bench_raw; \
    CREATE TABLE bench_raw.events (\
        stream_id  uuid NOT NULL, \
        version    integer NOT NULL, \
        event_type text NOT NULL, \
        payload    bytea NOT NULL, \
        metadata   jsonb NOT NULL, \
        PRIMARY KEY (stream_id, version))";

const INSERT: &str = "INSERT INTO bench_raw.events (stream_id, version, event_type, payload, metadata) VALUES ($1, $2, $3, $4, $5)";

/// The actor in every raw row's metadata, as the kernel records one per event.
pub const ACTOR: &str = "hr:bench";

pub async fn create_table(pool: &PgPool) -> anyhow::Result<()> {
    sqlx::raw_sql(CREATE).execute(pool).await?;
    Ok(())
}

/// One client: appends the first event of a new stream per call.
pub struct RawInsert {
    conn: PoolConnection<Postgres>,
    tenant_id: Uuid,
    payload: Vec<u8>,
}

impl RawInsert {
    /// A client on its own connection from `pool`, writing `payload` (the
    /// encoded event, the size of a real one) in every row.
    pub async fn new(
        pool: &PgPool,
        tenant_id: Uuid,
        payload: Vec<u8>,
    ) -> anyhow::Result<RawInsert> {
        Ok(RawInsert {
            conn: pool.acquire().await?,
            tenant_id,
            payload,
        })
    }
}

impl Client for RawInsert {
    async fn call(&mut self) -> anyhow::Result<()> {
        insert_first_event(&mut *self.conn, self.tenant_id, &self.payload).await?;
        Ok(())
    }
}

/// Commits the first event of a new stream in one autocommitted, prepared
/// INSERT; the new stream's id.
pub async fn insert_first_event<'c>(
    executor: impl Executor<'c, Database = Postgres>,
    tenant_id: Uuid,
    payload: &[u8],
) -> sqlx::Result<Uuid> {
    let stream_id = Uuid::now_v7();
    let event_id = Uuid::now_v7();
    let metadata = json!({
        "event_id": event_id,
        "tenant_id": tenant_id,
        "actor": ACTOR,
        "correlation_id": event_id,
        "schema_version": 1,
    });
    sqlx::query(INSERT)
        .bind(stream_id)
        .bind(1_i32)
        .bind("EmployeeHired")
        .bind(payload)
        .bind(metadata)
        .execute(executor)
        .await?;
    Ok(stream_id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn every_call_commits_a_row() {
        let database = tenure_testkit::TestDatabase::create().await.unwrap();
        let pool = database.pool().await;
        create_table(&pool).await.unwrap();
        let mut client = RawInsert::new(&pool, Uuid::now_v7(), vec![1, 2, 3])
            .await
            .unwrap();
        client.call().await.unwrap();
        client.call().await.unwrap();
        let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM bench_raw.events")
            .fetch_one(&pool)
            .await
            .unwrap();
        assert_eq!(rows, 2);
    }
}
