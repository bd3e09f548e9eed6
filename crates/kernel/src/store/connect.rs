//! Connecting a service to its own schema and bringing that schema up to date.

use std::borrow::Cow;
use std::str::FromStr;

use sqlx::migrate::{MigrateError, Migrator};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{Connection, Executor, PgConnection, PgPool};

use super::{EventStore, StoreSettings};

/// The kernel's own tables (events, snapshots, checkpoints, inbox, …), versions below 100.
static KERNEL_MIGRATIONS: Migrator = sqlx::migrate!("./migrations");

#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error(
        "schema name {0:?} must be lowercase letters, digits and underscores, starting with a letter"
    )]
    BadSchema(String),
    #[error("DATABASE_URL is not a valid PostgreSQL URL")]
    BadUrl(#[source] sqlx::Error),
    #[error("cannot connect to PostgreSQL")]
    Connect(#[source] sqlx::Error),
}

/// A pool whose connections work in `schema`, created if missing.
pub async fn connect(
    database_url: &str,
    schema: &str,
    max_connections: u32,
) -> Result<PgPool, ConnectError> {
    if !is_valid_schema(schema) {
        return Err(ConnectError::BadSchema(schema.to_owned()));
    }
    let options = PgConnectOptions::from_str(database_url).map_err(ConnectError::BadUrl)?;
    let mut admin = PgConnection::connect_with(&options)
        .await
        .map_err(ConnectError::Connect)?;
    admin
        .execute(format!("CREATE SCHEMA IF NOT EXISTS {schema}").as_str())
        .await
        .map_err(ConnectError::Connect)?;
    admin.close().await.ok();

    PgPoolOptions::new()
        .max_connections(max_connections)
        // No ping before every acquire: a broken connection fails the
        // statement, which fails the command (UNAVAILABLE) and is replaced.
        .test_before_acquire(false)
        // Generic plans: the kernel's statements are short OLTP statements
        // whose custom planning on every execution cost more than running them.
        .connect_with(options.options([
            ("search_path", schema),
            ("plan_cache_mode", "force_generic_plan"),
        ]))
        .await
        .map_err(ConnectError::Connect)
}

/// Runs the kernel's migrations and then the service's (versions 100 and up).
pub async fn migrate(pool: &PgPool, service: &Migrator) -> Result<(), MigrateError> {
    let mut migrations: Vec<_> = KERNEL_MIGRATIONS.migrations.iter().cloned().collect();
    migrations.extend(service.migrations.iter().cloned());
    let combined = Migrator {
        migrations: Cow::Owned(migrations),
        ..Migrator::DEFAULT
    };
    combined.run(pool).await
}

/// Runs only the kernel's migrations: for tests and tools without a service.
pub async fn migrate_kernel(pool: &PgPool) -> Result<(), MigrateError> {
    KERNEL_MIGRATIONS.run(pool).await
}

fn is_valid_schema(schema: &str) -> bool {
    let mut chars = schema.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && schema.len() <= 63
}

#[cfg(test)]
mod tests {
    use super::is_valid_schema;

    #[test]
    fn schema_names_are_plain_identifiers() {
        assert!(is_valid_schema("employees"));
        assert!(is_valid_schema("t_1"));
        assert!(!is_valid_schema("Employees"));
        assert!(!is_valid_schema("1x"));
        assert!(!is_valid_schema("a;drop"));
        assert!(!is_valid_schema(""));
    }
}

#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error(transparent)]
    Connect(#[from] ConnectError),
    #[error("database migrations failed")]
    Migrate(#[from] MigrateError),
}

/// A service's event store, ready: connected to its schema and migrated
/// (the kernel's tables, then the service's `migrations`).
pub async fn open(
    database_url: &str,
    max_connections: u32,
    settings: StoreSettings,
    migrations: &Migrator,
) -> Result<EventStore, OpenError> {
    let pool = connect(database_url, &settings.schema, max_connections).await?;
    migrate(&pool, migrations).await?;
    Ok(EventStore::new(pool, settings))
}
