//! What an operator does with dead letters: list them, redrive one after
//! the cause was fixed, or discard one that must never apply.
//!
//! Both redrive and discard only write PostgreSQL; the running consumer
//! picks the result up within its parked interval. A redriven message is
//! parked as the next of its stream and applied again by the consumer's own
//! handler (and dead-lettered again if it still fails); a discarded one
//! counts as applied, so the messages parked behind it apply in order.

use chrono::{DateTime, Utc};
use sqlx::PgPool;
use uuid::Uuid;

use crate::partition::partition_of;

/// A dead letter as an operator sees it: where it comes from and why it
/// failed, not its payload.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DeadLetter {
    pub id: i64,
    pub consumer: String,
    pub stream_id: Option<Uuid>,
    pub version: Option<i64>,
    pub subject: String,
    pub stream_sequence: i64,
    pub attempts: i32,
    pub error: String,
    pub failed_at: DateTime<Utc>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub resolution: Option<String>,
    /// Messages of the same stream parked behind it.
    pub parked_behind: i64,
}

#[derive(Debug, thiserror::Error)]
pub enum OperationError {
    #[error("no dead letter {0}")]
    NotFound(i64),
    #[error("dead letter {0} was already {1}")]
    AlreadyResolved(i64, String),
    #[error("dead letter {0} names no stream and version, so it cannot be applied; discard it")]
    Unreadable(i64),
    #[error("database operation failed")]
    Database(#[from] sqlx::Error),
}

/// Dead letters, newest first: only open ones unless `all`, of one consumer if named.
pub async fn list(
    pool: &PgPool,
    consumer: Option<&str>,
    all: bool,
    limit: i64,
) -> Result<Vec<DeadLetter>, sqlx::Error> {
    sqlx::query_as(
        "SELECT d.id, d.consumer, d.stream_id, d.version, d.subject, d.stream_sequence, d.attempts, d.error, \
                d.failed_at, d.resolved_at, d.resolution, \
                (SELECT count(*) FROM parked_messages p \
                  WHERE p.consumer = d.consumer AND p.stream_id = d.stream_id) AS parked_behind \
         FROM dead_letters d \
         WHERE ($1::text IS NULL OR d.consumer = $1) AND ($2 OR d.resolved_at IS NULL) \
         ORDER BY d.id DESC LIMIT $3",
    )
    .bind(consumer)
    .bind(all)
    .bind(limit)
    .fetch_all(pool)
    .await
}

/// An open dead letter with what it needs to be applied again.
#[derive(sqlx::FromRow)]
struct Open {
    resolution: Option<String>,
    consumer: String,
    stream_id: Option<Uuid>,
    version: Option<i64>,
    tenant_id: Option<Uuid>,
    subject: String,
    stream_sequence: i64,
    headers: serde_json::Value,
    payload: Vec<u8>,
}

/// The open dead letter `id`, locked until the transaction ends.
async fn lock_open(tx: &mut sqlx::PgConnection, id: i64) -> Result<Open, OperationError> {
    let open: Option<Open> = sqlx::query_as(
        "SELECT resolution, consumer, stream_id, version, tenant_id, subject, stream_sequence, headers, payload \
         FROM dead_letters WHERE id = $1 FOR UPDATE",
    )
    .bind(id)
    .fetch_optional(&mut *tx)
    .await?;
    let open = open.ok_or(OperationError::NotFound(id))?;
    if let Some(resolution) = open.resolution.clone() {
        return Err(OperationError::AlreadyResolved(id, resolution));
    }
    Ok(open)
}

async fn resolve(
    tx: &mut sqlx::PgConnection,
    id: i64,
    resolution: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE dead_letters SET resolved_at = now(), resolution = $2 WHERE id = $1")
        .bind(id)
        .bind(resolution)
        .execute(tx)
        .await?;
    Ok(())
}

/// Puts dead letter `id` back in line: the consumer applies it again.
pub async fn redrive(pool: &PgPool, id: i64) -> Result<(), OperationError> {
    let mut tx = pool.begin().await?;
    let open = lock_open(&mut tx, id).await?;
    let (Some(stream_id), Some(version)) = (open.stream_id, open.version) else {
        return Err(OperationError::Unreadable(id));
    };
    sqlx::query(
        "INSERT INTO parked_messages (consumer, stream_id, version, tenant_id, subject, stream_sequence, \
         headers, payload, partition) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
         ON CONFLICT (consumer, stream_id, version) DO UPDATE SET attempts = 0",
    )
    .bind(&open.consumer)
    .bind(stream_id)
    .bind(version)
    .bind(open.tenant_id)
    .bind(&open.subject)
    .bind(open.stream_sequence)
    .bind(&open.headers)
    .bind(&open.payload)
    .bind(partition_of(stream_id) as i32)
    .execute(&mut *tx)
    .await?;
    resolve(&mut tx, id, "redriven").await?;
    tx.commit().await?;
    Ok(())
}

/// Gives up on dead letter `id` for good: its stream goes on after it.
pub async fn discard(pool: &PgPool, id: i64) -> Result<(), OperationError> {
    let mut tx = pool.begin().await?;
    let open = lock_open(&mut tx, id).await?;
    if let (Some(stream_id), Some(version)) = (open.stream_id, open.version) {
        sqlx::query(
            "INSERT INTO consumer_streams (consumer, stream_id, tenant_id, applied_version) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (consumer, stream_id) DO UPDATE \
             SET applied_version = GREATEST(consumer_streams.applied_version, EXCLUDED.applied_version), \
                 updated_at = now()",
        )
        .bind(&open.consumer)
        .bind(stream_id)
        .bind(open.tenant_id)
        .bind(version)
        .execute(&mut *tx)
        .await?;
    }
    resolve(&mut tx, id, "discarded").await?;
    tx.commit().await?;
    Ok(())
}

#[derive(Debug, thiserror::Error)]
pub enum ResetError {
    #[error(
        "consumer {consumer} is running in {running} replica(s); stop them before resetting it"
    )]
    Running { consumer: String, running: usize },
    #[error("cannot delete the durable JetStream consumer {durable}")]
    Durable {
        durable: String,
        #[source]
        source: async_nats::Error,
    },
    #[error("database operation failed")]
    Database(#[from] sqlx::Error),
}

/// Makes a consumer start over from the beginning of its stream: deletes
/// its durable JetStream consumers and forgets what it applied, parked and
/// dead-lettered, while `reset_read_model` empties what it built, in the
/// same transaction. Refused while any replica runs the consumer; while the
/// reset runs it holds every partition, so a replica starting meanwhile
/// waits for it.
pub async fn reset(
    pool: &PgPool,
    jetstream: &async_nats::jetstream::Context,
    settings: &super::ConsumerSettings,
    reset_read_model: impl AsyncFnOnce(&mut sqlx::PgConnection) -> Result<(), sqlx::Error>,
) -> Result<(), ResetError> {
    use crate::lease;
    use crate::partition::PARTITIONS;

    let holder = Uuid::now_v7();
    let running = |count: usize| ResetError::Running {
        consumer: settings.name.clone(),
        running: count,
    };
    let members = lease::other_holders(pool, &settings.member_lease_prefix(), holder).await?;
    if !members.is_empty() {
        return Err(running(members.len()));
    }
    let ttl = std::time::Duration::from_secs(120);
    let leases: Vec<String> = (0..PARTITIONS)
        .map(|p| settings.partition_lease(p))
        .collect();
    let mut held: Vec<String> = Vec::new();
    for name in &leases {
        if !lease::acquire(pool, name, holder, ttl).await? {
            for name in &held {
                lease::release(pool, name, holder).await.ok();
            }
            return Err(running(1));
        }
        held.push(name.clone());
    }
    let outcome = async {
        if let Ok(stream) = jetstream.get_stream(&settings.stream).await {
            for partition in 0..PARTITIONS {
                let durable = settings.durable_name(partition);
                if stream.consumer_info(&durable).await.is_ok() {
                    stream
                        .delete_consumer(&durable)
                        .await
                        .map_err(|e| ResetError::Durable {
                            durable: durable.clone(),
                            source: e.into(),
                        })?;
                }
            }
        }
        let mut tx = pool.begin().await?;
        for table in ["consumer_streams", "parked_messages", "dead_letters"] {
            sqlx::query(&format!("DELETE FROM {table} WHERE consumer = $1"))
                .bind(&settings.name)
                .execute(&mut *tx)
                .await?;
        }
        reset_read_model(&mut tx).await?;
        tx.commit().await?;
        Ok(())
    }
    .await;
    for name in &held {
        lease::release(pool, name, holder).await.ok();
    }
    outcome
}
