//! A bounded cache of recently written aggregate states, so a command on a
//! hot stream skips its load.
//!
//! The cache is never trusted blindly: a command decided on a cached state
//! appends at the cached version, and the store's `(stream_id, version)` key
//! refuses the append if anything (another replica, another process) wrote
//! the stream since. Then the entry is dropped, the stream loaded, and the
//! command decided again. Queries never read the cache.

use std::num::NonZeroUsize;
use std::sync::Mutex;

use lru::LruCache;
use uuid::Uuid;

/// `(tenant, stream)` → `(state, version)`, least recently used out first.
type Entries<A> = Mutex<LruCache<(Uuid, Uuid), (A, i64)>>;

pub(crate) struct StateCache<A> {
    /// None when the cache is turned off.
    entries: Option<Entries<A>>,
}

impl<A: Clone> StateCache<A> {
    /// A cache of at most `capacity` streams; 0 turns it off.
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            entries: NonZeroUsize::new(capacity).map(|c| Mutex::new(LruCache::new(c))),
        }
    }

    pub(crate) fn get(&self, tenant_id: Uuid, stream_id: Uuid) -> Option<(A, i64)> {
        let entries = self.entries.as_ref()?;
        entries.lock().ok()?.get(&(tenant_id, stream_id)).cloned()
    }

    pub(crate) fn put(&self, tenant_id: Uuid, stream_id: Uuid, state: A, version: i64) {
        if let Some(mut entries) = self.entries.as_ref().and_then(|e| e.lock().ok()) {
            entries.put((tenant_id, stream_id), (state, version));
        }
    }

    pub(crate) fn forget(&self, tenant_id: Uuid, stream_id: Uuid) {
        if let Some(mut entries) = self.entries.as_ref().and_then(|e| e.lock().ok()) {
            entries.pop(&(tenant_id, stream_id));
        }
    }
}
