//! One active relay per service: a session advisory lock held on a dedicated
//! connection. The lock lives exactly as long as that connection, so a broken
//! connection means lost leadership.

use std::time::Duration;

use sqlx::{Connection, PgConnection};
use tokio_util::sync::CancellationToken;
use tracing::debug;

use super::RelaySettings;
use crate::store::EventStore;

/// The relay's lock: the appenders' key plus one, so each service has its own.
pub(crate) struct Leadership {
    conn: PgConnection,
}

/// Waits until this process holds the relay lock, or returns None on shutdown.
pub(crate) async fn acquire(
    store: &EventStore,
    settings: &RelaySettings,
    shutdown: &CancellationToken,
) -> Option<Leadership> {
    let lock = store.appender_lock();
    loop {
        if shutdown.is_cancelled() {
            return None;
        }
        match try_acquire(store, lock.class, lock.key + 1).await {
            Ok(Some(leadership)) => return Some(leadership),
            Ok(None) => debug!("another relay is active; waiting"),
            Err(error) => debug!(error = %error, "cannot try the relay lock"),
        }
        tokio::select! {
            _ = shutdown.cancelled() => return None,
            _ = tokio::time::sleep(settings.poll_interval.max(Duration::from_millis(200))) => {}
        }
    }
}

async fn try_acquire(
    store: &EventStore,
    class: i32,
    key: i32,
) -> Result<Option<Leadership>, sqlx::Error> {
    let mut conn = store.pool().acquire().await?.detach();
    let locked: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1, $2)")
        .bind(class)
        .bind(key)
        .fetch_one(&mut conn)
        .await?;
    if locked {
        Ok(Some(Leadership { conn }))
    } else {
        conn.close().await.ok();
        Ok(None)
    }
}

impl Leadership {
    /// False once the lock's connection is gone (and with it the lock).
    pub(crate) async fn is_alive(&mut self) -> bool {
        self.conn.ping().await.is_ok()
    }

    /// Gives the lock up by closing its connection.
    pub(crate) async fn release(self) {
        self.conn.close().await.ok();
    }
}
