//! When things arrive, by id: rows becoming visible in a table, or messages
//! passing through NATS.
//!
//! For rows, a trigger on the watched table sends `NOTIFY` with the row's id,
//! which PostgreSQL delivers at commit, and a listener records the instant it
//! hears each id. The trigger lives in the bench's throwaway database only; it
//! adds one notification per row to the watched service's transaction. For
//! messages, a plain NATS subscription on the published subject records when
//! the server passed each one on, by an id header.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::StreamExt;
use sqlx::PgPool;
use sqlx::postgres::PgListener;
use tokio::task::JoinHandle;
use uuid::Uuid;

/// Ids heard so far, with the instant each was first heard.
#[derive(Clone, Default)]
struct Seen(Arc<Mutex<HashMap<Uuid, Instant>>>);

/// Records the instant each id first arrived.
pub struct Arrivals {
    seen: Seen,
    listener: JoinHandle<()>,
}

/// Creates a trigger on `table` that notifies `channel` with `id_column` of every inserted row.
pub async fn install(
    pool: &PgPool,
    table: &str,
    id_column: &str,
    channel: &str,
) -> anyhow::Result<()> {
    let sql = format!(
        "CREATE SCHEMA IF NOT EXISTS bench_raw; \
         CREATE OR REPLACE FUNCTION bench_raw.{channel}() RETURNS trigger LANGUAGE plpgsql AS $$ \
         BEGIN PERFORM pg_notify('{channel}', NEW.{id_column}::text); RETURN NULL; END $$; \
         CREATE TRIGGER {channel} AFTER INSERT ON {table} FOR EACH ROW EXECUTE FUNCTION bench_raw.{channel}();"
    );
    sqlx::raw_sql(&sql).execute(pool).await?;
    Ok(())
}

impl Arrivals {
    /// Starts listening on `channel` of the database at `url`.
    pub async fn listen(url: &str, channel: &str) -> anyhow::Result<Arrivals> {
        let mut listener = PgListener::connect(url).await?;
        listener.listen(channel).await?;
        let seen = Seen::default();
        let record = seen.clone();
        let listener = tokio::spawn(async move {
            while let Ok(notification) = listener.recv().await {
                let at = Instant::now();
                if let Ok(id) = Uuid::parse_str(notification.payload()) {
                    record
                        .0
                        .lock()
                        .expect("arrivals lock")
                        .entry(id)
                        .or_insert(at);
                }
            }
        });
        Ok(Arrivals { seen, listener })
    }

    /// Starts recording messages on `subject` by the UUID in their `header`.
    pub async fn subscribe(
        client: &async_nats::Client,
        subject: String,
        header: &'static str,
    ) -> anyhow::Result<Arrivals> {
        let mut subscriber = client.subscribe(subject).await?;
        let seen = Seen::default();
        let record = seen.clone();
        let listener = tokio::spawn(async move {
            while let Some(message) = subscriber.next().await {
                let at = Instant::now();
                let id = message
                    .headers
                    .as_ref()
                    .and_then(|h| h.get(header))
                    .and_then(|v| Uuid::parse_str(v.as_str()).ok());
                if let Some(id) = id {
                    record
                        .0
                        .lock()
                        .expect("arrivals lock")
                        .entry(id)
                        .or_insert(at);
                }
            }
        });
        Ok(Arrivals { seen, listener })
    }

    /// When each of `ids` arrived, if it did yet.
    pub fn arrived(&self, ids: &[Uuid]) -> Vec<Option<Instant>> {
        let seen = self.seen.0.lock().expect("arrivals lock");
        ids.iter().map(|id| seen.get(id).copied()).collect()
    }

    /// When each of `ids` arrived, waiting up to `timeout` for all of them.
    /// Fails with the number still missing.
    pub async fn wait_all(&self, ids: &[Uuid], timeout: Duration) -> anyhow::Result<Vec<Instant>> {
        let deadline = Instant::now() + timeout;
        loop {
            let found = self.arrived(ids);
            let missing = found.iter().filter(|at| at.is_none()).count();
            if missing == 0 {
                return Ok(found.into_iter().flatten().collect());
            }
            if Instant::now() >= deadline {
                anyhow::bail!(
                    "{missing} of {} rows never arrived within {timeout:?}",
                    ids.len()
                );
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
}

impl Drop for Arrivals {
    fn drop(&mut self) {
        self.listener.abort();
    }
}
