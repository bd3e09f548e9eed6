//! Wakes the outbox relay as soon as events are committed.
//!
//! A `NOTIFY` inside the append transaction would serialize all committing
//! appenders on PostgreSQL's notification queue lock. Instead the committing
//! process wakes its own relay in memory, and one background task per
//! process sends a coalesced `NOTIFY` for a relay running in another replica.

use tokio::sync::Notify;

/// Set after every committed append; read by the local relay and the notifier.
#[derive(Debug, Default)]
pub struct AppendSignal {
    local: Notify,
    remote: Notify,
}

impl AppendSignal {
    /// Records that events were committed.
    pub fn appended(&self) {
        self.local.notify_one();
        self.remote.notify_one();
    }

    /// Resolves after the next (or an unseen earlier) append in this process.
    pub async fn wait_local(&self) {
        self.local.notified().await;
    }

    /// Like [`Self::wait_local`], for the cross-replica notifier.
    pub async fn wait_remote(&self) {
        self.remote.notified().await;
    }
}
