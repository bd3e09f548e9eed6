//! The PostgreSQL event store of one service.
//!
//! Every append runs in a transaction opened by [`EventStore::begin`], which
//! first takes the appenders' shared advisory lock: that is what lets the
//! global reader ([`global`]) tell finished appenders from running ones.

mod append;
pub mod connect;
pub mod global;
mod load;
pub(crate) mod record;
mod requests;
mod signal;
mod write;

use std::sync::Arc;

use sqlx::{PgPool, Postgres, Transaction};

pub use connect::{ConnectError, OpenError, connect, migrate, open};
pub use load::LoadedRaw;
pub use requests::PreviousOutcome;
pub use signal::AppendSignal;
pub use write::{
    AppendedEvent, PendingAppend, PendingEvent, PendingRequest, PendingSnapshot, WriteStatement,
};

/// How a service's store is laid out and tuned.
#[derive(Debug, Clone)]
pub struct StoreSettings {
    /// The PostgreSQL schema holding this service's tables (its search_path).
    pub schema: String,
    /// A snapshot is written whenever a stream crosses a multiple of this many
    /// events, and by the next append after a load that replayed this many.
    pub snapshot_every: i64,
    /// How many recently written aggregate states each repository keeps in
    /// memory, so commands on them skip the load; 0 turns the cache off.
    pub state_cache: usize,
    /// How many connections write commands, each combining the commands
    /// queued for it into one statement (group commit); at least 1.
    pub writers: usize,
}

impl StoreSettings {
    pub fn new(schema: impl Into<String>) -> Self {
        Self {
            schema: schema.into(),
            snapshot_every: 100,
            state_cache: 10_000,
            writers: 2,
        }
    }
}

/// The advisory lock key every appender holds shared until it commits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AppenderLock {
    pub class: i32,
    pub key: i32,
}

/// `TENU` in ASCII: the class of every advisory lock the kernel takes.
const LOCK_CLASS: i32 = 0x5445_4E55;

impl AppenderLock {
    /// The lock of the appenders of one schema; the relay's lock is the next key.
    pub fn for_schema(schema: &str) -> Self {
        Self {
            class: LOCK_CLASS,
            key: schema_key(schema),
        }
    }
}

/// A stable 31-bit hash (FNV-1a) of the schema name, so each service has its own keys.
pub(crate) fn schema_key(schema: &str) -> i32 {
    let hash = schema.bytes().fold(0x811c_9dc5_u32, |h, b| {
        (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
    });
    (hash & 0x3fff_fffe) as i32
}

/// A service's event store: cheap to clone, shared by commands, relay and readers.
#[derive(Debug, Clone)]
pub struct EventStore {
    pool: PgPool,
    settings: Arc<StoreSettings>,
    lock: AppenderLock,
    begin_statement: Arc<str>,
    signal: Arc<AppendSignal>,
}

impl EventStore {
    pub fn new(pool: PgPool, settings: StoreSettings) -> Self {
        let lock = AppenderLock::for_schema(&settings.schema);
        // BEGIN and the lock travel in one round trip; the lock comes before any
        // write, so before the transaction has an id (see global.rs).
        let begin_statement = format!(
            "BEGIN; SELECT pg_advisory_xact_lock_shared({}, {})",
            lock.class, lock.key
        );
        Self {
            pool,
            settings: Arc::new(settings),
            lock,
            begin_statement: begin_statement.into(),
            signal: Arc::new(AppendSignal::default()),
        }
    }

    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    pub fn settings(&self) -> &StoreSettings {
        &self.settings
    }

    pub fn appender_lock(&self) -> AppenderLock {
        self.lock
    }

    /// Wakes the relay after commits; see [`AppendSignal`].
    pub fn signal(&self) -> &Arc<AppendSignal> {
        &self.signal
    }

    /// Opens a transaction that may append. Every transaction that appends
    /// must come from here, before its first write.
    pub async fn begin(&self) -> Result<Transaction<'static, Postgres>, sqlx::Error> {
        self.pool.begin_with(self.begin_statement.to_string()).await
    }
}
