//! Wakes the relay as soon as events are committed.
//!
//! A `NOTIFY` inside the append transaction would serialize all committing
//! appenders on PostgreSQL's notification queue lock. Instead the committing
//! process wakes its own relay in memory, and one background task per
//! process sends a coalesced `NOTIFY` for a relay running in another replica
//! — only while this process's own relay is not the active one, since each
//! `NOTIFY` costs a transaction id and a commit flush.

use std::sync::atomic::{AtomicBool, Ordering};

use tokio::sync::Notify;

/// Set after every committed append; read by the local relay and the notifier.
#[derive(Debug, Default)]
pub struct AppendSignal {
    local: Notify,
    remote: Notify,
    local_relay_active: AtomicBool,
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

    /// Records whether this process's relay is the active one.
    pub fn set_local_relay(&self, active: bool) {
        self.local_relay_active.store(active, Ordering::Relaxed);
    }

    /// Whether this process's relay is the active one: then no other
    /// replica needs to hear of this process's appends.
    pub fn local_relay_active(&self) -> bool {
        self.local_relay_active.load(Ordering::Relaxed)
    }

    /// Like [`Self::wait_local`], for the cross-replica notifier.
    pub async fn wait_remote(&self) {
        self.remote.notified().await;
    }
}
