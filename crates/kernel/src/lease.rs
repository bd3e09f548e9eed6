//! Leases: at most one replica runs a singleton task (the relay, a consumer
//! partition) at a time, and a replica that hangs loses it.
//!
//! A lease is a row `(name, holder, expires_at)`. The holder renews it well
//! before it expires; another replica may take it only once it has expired.
//! Time is the database's (`now()`), so clocks of replicas do not matter.
//! Work done under a lease calls [`fence`] in its own transaction: the row
//! lock it takes makes a takeover wait until that transaction ends, and a
//! holder whose lease was taken finds out before it writes.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

/// Takes or renews `name` for `holder` for `ttl`; true when `holder` holds it now.
pub async fn acquire(
    pool: &PgPool,
    name: &str,
    holder: Uuid,
    ttl: Duration,
) -> Result<bool, sqlx::Error> {
    let held: Option<Uuid> = sqlx::query_scalar(
        "INSERT INTO leases (name, holder, expires_at) \
         VALUES ($1, $2, now() + make_interval(secs => $3)) \
         ON CONFLICT (name) DO UPDATE SET holder = EXCLUDED.holder, expires_at = EXCLUDED.expires_at \
         WHERE leases.holder = EXCLUDED.holder OR leases.expires_at < now() \
         RETURNING holder",
    )
    .bind(name)
    .bind(holder)
    .bind(ttl.as_secs_f64())
    .fetch_optional(pool)
    .await?;
    Ok(held == Some(holder))
}

/// Renews every lease of `names` that `holder` still holds; returns those.
pub async fn renew(
    pool: &PgPool,
    names: &[String],
    holder: Uuid,
    ttl: Duration,
) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar(
        "UPDATE leases SET expires_at = now() + make_interval(secs => $3) \
         WHERE name = ANY($1) AND holder = $2 AND expires_at > now() RETURNING name",
    )
    .bind(names)
    .bind(holder)
    .bind(ttl.as_secs_f64())
    .fetch_all(pool)
    .await
}

/// Gives `name` up, if `holder` holds it.
pub async fn release(pool: &PgPool, name: &str, holder: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM leases WHERE name = $1 AND holder = $2")
        .bind(name)
        .bind(holder)
        .execute(pool)
        .await?;
    Ok(())
}

/// How many live leases start with `prefix`, e.g. the members of a group.
pub async fn count_live(pool: &PgPool, prefix: &str) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT count(*) FROM leases WHERE starts_with(name, $1) AND expires_at > now()",
    )
    .bind(prefix)
    .fetch_one(pool)
    .await
}

/// The live holders of leases whose names start with `prefix`, other than `holder`.
pub async fn other_holders(
    pool: &PgPool,
    prefix: &str,
    holder: Uuid,
) -> Result<Vec<(String, Uuid)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT name, holder FROM leases \
         WHERE starts_with(name, $1) AND holder <> $2 AND expires_at > now() ORDER BY name",
    )
    .bind(prefix)
    .bind(holder)
    .fetch_all(pool)
    .await
}

/// Checks, inside the caller's transaction, that `holder` still holds
/// `name`, and keeps it from being taken until the transaction ends.
pub async fn fence(conn: &mut PgConnection, name: &str, holder: Uuid) -> Result<bool, sqlx::Error> {
    let held: Option<i32> = sqlx::query_scalar(
        "SELECT 1 FROM leases WHERE name = $1 AND holder = $2 AND expires_at > now() FOR SHARE",
    )
    .bind(name)
    .bind(holder)
    .fetch_optional(conn)
    .await?;
    Ok(held.is_some())
}

/// One lease of one holder, renewed by the task that runs under it.
///
/// Renewing is a commit, a WAL flush that competes with the service's own
/// commits, so [`Held::renew`] goes to the database only once a quarter of
/// the lease has passed since the last renewal; in between the lease still
/// has three quarters of its time left. The time is this process's monotonic
/// clock, which counts a hang too: a holder that stalled renews (and finds
/// out it lost the lease) before it goes on.
#[derive(Debug, Clone)]
pub struct Held {
    pool: PgPool,
    name: String,
    holder: Uuid,
    ttl: Duration,
    renewed_at: Arc<Mutex<Option<Instant>>>,
}

impl Held {
    pub fn new(pool: PgPool, name: String, holder: Uuid, ttl: Duration) -> Self {
        Self {
            pool,
            name,
            holder,
            ttl,
            renewed_at: Arc::default(),
        }
    }

    /// How long the lease lasts without renewal.
    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// Takes or renews the lease; false while another holder has it.
    pub async fn renew(&self) -> bool {
        let fresh = self
            .renewed_at()
            .is_some_and(|at| at.elapsed() < self.ttl / 4);
        if fresh {
            return true;
        }
        let started = Instant::now();
        let held = match acquire(&self.pool, &self.name, self.holder, self.ttl).await {
            Ok(held) => held,
            Err(error) => {
                tracing::warn!(lease = %self.name, error = %error, "cannot renew a lease");
                false
            }
        };
        // The lease runs from the database's `now()`, taken after `started`.
        *self.renewed_at.lock().expect("never poisoned") = held.then_some(started);
        held
    }

    /// Gives the lease up.
    pub async fn release(&self) {
        *self.renewed_at.lock().expect("never poisoned") = None;
        release(&self.pool, &self.name, self.holder).await.ok();
    }

    fn renewed_at(&self) -> Option<Instant> {
        *self.renewed_at.lock().expect("never poisoned")
    }
}
