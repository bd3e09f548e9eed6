//! Tells relays in other replicas that this process appended, with one
//! `NOTIFY` per burst of appends, outside the append transactions, and none
//! while the active relay is this process's own.

use tokio_util::sync::CancellationToken;
use tracing::debug;

use crate::store::EventStore;

/// Sends `NOTIFY <schema>_appended` after appends in this process until shut down.
pub async fn run(store: EventStore, shutdown: CancellationToken) {
    let channel = super::channel(&store.settings().schema);
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = store.signal().wait_remote() => {}
        }
        if store.signal().local_relay_active() {
            continue;
        }
        if let Err(error) = sqlx::query("SELECT pg_notify($1, '')")
            .bind(&channel)
            .execute(store.pool())
            .await
        {
            debug!(error = %error, "cannot notify other relays; they will poll");
        }
    }
}
