//! The shadow of a read model: copies of its tables in the schema
//! `<schema>_rebuild`, filled on a dedicated connection that resolves the read
//! model's unqualified table names to the copies, then copied into the live
//! tables, which are never renamed (their constraint names stay what commands
//! expect).

use sqlx::{Connection, Executor, PgConnection};

use crate::store::{AppenderLock, EventStore, schema_key};

/// A read model's shadow tables and the dedicated connection that fills them.
pub(super) struct Shadow {
    pub(super) conn: PgConnection,
    pub(super) layout: Layout,
}

impl Shadow {
    /// Takes a connection of its own, waits until no other rebuild of this read
    /// model runs, and creates empty copies of its tables (dropping any left by
    /// a rebuild that crashed).
    pub(super) async fn open(
        store: &EventStore,
        name: &str,
        tables: &'static [&'static str],
    ) -> Result<Shadow, sqlx::Error> {
        let layout = Layout::new(store, tables);
        // Detached: the rebuild holds it for long, outside the pool's count.
        let mut conn = store.pool().acquire().await?.detach();
        // Plans the pool cached here were made without the settings below,
        // and changing a setting does not replan them.
        conn.clear_cached_statements().await?;
        conn.execute(layout.session_settings().as_str()).await?;
        lock_rebuild(&mut conn, layout.rebuild_key(name), name).await?;
        layout.create(&mut conn).await?;
        Ok(Shadow { conn, layout })
    }

    /// Drops the copies and ends the session, which frees the rebuild lock.
    pub(super) async fn close(mut self) -> Result<(), sqlx::Error> {
        self.layout.drop_copies(&mut self.conn).await?;
        self.conn.close().await
    }
}

/// Waits for the session lock that admits one rebuild of a read model at a
/// time, saying so when another holds it.
async fn lock_rebuild(conn: &mut PgConnection, key: i64, name: &str) -> Result<(), sqlx::Error> {
    let free: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1)")
        .bind(key)
        .fetch_one(&mut *conn)
        .await?;
    if !free {
        tracing::info!(
            read_model = name,
            "another rebuild of this read model is running; waiting for it to end"
        );
        sqlx::query("SELECT pg_advisory_lock($1)")
            .bind(key)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// Where a rebuild's tables live, and the statements over them.
pub(super) struct Layout {
    /// The service's schema, holding the events and the live tables.
    live: String,
    /// `<live>_rebuild`, shared by the rebuilds of the service's read models.
    shadow: String,
    tables: &'static [&'static str],
    appenders: AppenderLock,
}

impl Layout {
    fn new(store: &EventStore, tables: &'static [&'static str]) -> Layout {
        let live = store.settings().schema.clone();
        Layout {
            shadow: format!("{live}_rebuild"),
            live,
            tables,
            appenders: store.appender_lock(),
        }
    }

    /// The dedicated connection's settings, for the whole session.
    fn session_settings(&self) -> String {
        let Layout { live, shadow, .. } = self;
        [
            // The projection's tables resolve to the copies, `events` to the store.
            format!("SET search_path = {shadow}, {live}"),
            // Pages must come from an ordered index scan: with statistics stale
            // after a bulk load the planner may pick a bitmap scan and a sort
            // per page, which makes a rebuild quadratic.
            "SET enable_bitmapscan = off".to_owned(),
            // A shadow commit lost in a crash costs nothing, as a crashed
            // rebuild starts over; the switch-over commits durably.
            "SET synchronous_commit = off".to_owned(),
        ]
        .join("; ")
    }

    /// The key of the rebuild lock of read model `name`. The one-argument
    /// lock form lives apart (objsubid 1) from the appenders' and the relay's
    /// two-argument locks, so a hash collision cannot hold appenders back.
    fn rebuild_key(&self, name: &str) -> i64 {
        kernel_key(self.appenders.class, &format!("{}.{name}", self.live))
    }

    /// The key serialising the creation and removal of shadow tables, so that
    /// one rebuild never drops the schema another is creating tables in.
    fn schema_lock(&self) -> String {
        let key = kernel_key(self.appenders.class, &self.shadow);
        format!("SELECT pg_advisory_xact_lock({key})")
    }

    /// Empty copies of the live tables, with their indexes and constraints.
    /// Unlogged: they are thrown away after the rebuild or a crash anyway.
    async fn create(&self, conn: &mut PgConnection) -> Result<(), sqlx::Error> {
        let Layout { live, shadow, .. } = self;
        let mut statements = vec![
            self.schema_lock(),
            format!("CREATE SCHEMA IF NOT EXISTS {shadow}"),
        ];
        for table in self.tables {
            statements.push(format!("DROP TABLE IF EXISTS {shadow}.{table}"));
            statements.push(format!(
                "CREATE UNLOGGED TABLE {shadow}.{table} (LIKE {live}.{table} INCLUDING ALL)"
            ));
        }
        let mut tx = conn.begin().await?;
        tx.execute(statements.join("; ").as_str()).await?;
        tx.commit().await
    }

    /// Drops the copies, and the shadow schema once no rebuild has tables there.
    async fn drop_copies(&self, conn: &mut PgConnection) -> Result<(), sqlx::Error> {
        let shadow = &self.shadow;
        let mut statements = vec![self.schema_lock()];
        statements.extend(
            self.tables
                .iter()
                .map(|table| format!("DROP TABLE IF EXISTS {shadow}.{table}")),
        );
        let mut tx = conn.begin().await?;
        tx.execute(statements.join("; ").as_str()).await?;
        let in_use: bool = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE n.nspname = $1)",
        )
        .bind(shadow)
        .fetch_one(&mut *tx)
        .await?;
        if !in_use {
            tx.execute(format!("DROP SCHEMA IF EXISTS {shadow}").as_str())
                .await?;
        }
        tx.commit().await
    }

    /// Holds every write to the live tables and every appender until the
    /// transaction ends; false when the appenders' lock could not be had
    /// soon: then roll the transaction back (freeing the tables) and ask again.
    ///
    /// A command's statement locks the tables it writes when it starts and
    /// takes the appenders' lock (shared) inside; a transaction from
    /// `EventStore::begin` takes the appenders' lock first and the tables
    /// later. Waiting for both locks in either order could deadlock with one
    /// of them, so the switch-over waits only for the tables (every command
    /// statement running on them finishes, new ones wait) and then only tries
    /// the appenders' lock, exclusively: held, no appender runs, so every
    /// event is committed and no command folds rows it read before.
    pub(super) async fn pause_writers(&self, conn: &mut PgConnection) -> Result<bool, sqlx::Error> {
        let live = self.live_tables().join(", ");
        conn.execute(
            format!("LOCK TABLE {live} IN EXCLUSIVE MODE; SET LOCAL synchronous_commit = on")
                .as_str(),
        )
        .await?;
        for _ in 0..APPENDER_LOCK_TRIES {
            let held: bool = sqlx::query_scalar("SELECT pg_try_advisory_xact_lock($1, $2)")
                .bind(self.appenders.class)
                .bind(self.appenders.key)
                .fetch_one(&mut *conn)
                .await?;
            if held {
                return Ok(true);
            }
            // Appenders not writing these tables finish in a moment; one
            // waiting for the tables never does while they are locked.
            tokio::time::sleep(APPENDER_LOCK_PAUSE).await;
        }
        Ok(false)
    }

    /// Replaces the live tables' rows with the copies' and returns how many
    /// rows the read model now holds. `DELETE`, not `TRUNCATE`: readers of the
    /// live tables keep reading the old rows until the commit.
    pub(super) async fn replace_live(&self, conn: &mut PgConnection) -> Result<u64, sqlx::Error> {
        for live in self.live_tables() {
            conn.execute(format!("DELETE FROM {live}").as_str()).await?;
        }
        let mut rows = 0;
        for table in self.tables.iter().rev() {
            let live = format!("{}.{table}", self.live);
            let columns: String = sqlx::query_scalar(include_str!("columns.sql"))
                .bind(&live)
                .fetch_one(&mut *conn)
                .await?;
            let shadow = &self.shadow;
            let copy =
                format!("INSERT INTO {live} ({columns}) SELECT {columns} FROM {shadow}.{table}");
            rows += conn.execute(copy.as_str()).await?.rows_affected();
        }
        Ok(rows)
    }

    fn live_tables(&self) -> Vec<String> {
        self.tables
            .iter()
            .map(|table| format!("{}.{table}", self.live))
            .collect()
    }
}

/// How often the switch-over tries the appenders' lock while it holds the
/// tables, and how long it waits between tries.
const APPENDER_LOCK_TRIES: u32 = 20;
const APPENDER_LOCK_PAUSE: std::time::Duration = std::time::Duration::from_millis(2);

/// A key in the kernel's lock class for the one-argument advisory lock form.
fn kernel_key(class: i32, name: &str) -> i64 {
    (i64::from(class) << 32) | i64::from(schema_key(name))
}
