//! A fresh PostgreSQL database per test.

use std::time::Duration;

use sqlx::postgres::PgPoolOptions;
use sqlx::{Connection, PgConnection, PgPool};

use crate::drop_thread;
use crate::fallback::postgres as server;

/// How long connecting to the admin database may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);

/// A database of its own for one test, created empty and dropped (with any
/// connections still open to it) when this value is dropped.
///
/// The server comes from `TENURE_TEST_DATABASE_URL` (an admin database URL,
/// e.g. `postgres://postgres@127.0.0.1:5432/postgres`), else the server on
/// 127.0.0.1:5432, else a private server the testkit starts once and keeps
/// under `/tmp/tenure-testkit/postgres`.
#[derive(Debug)]
pub struct TestDatabase {
    /// The URL of the new database, for a pool or a service's `DATABASE_URL`.
    pub url: String,
    /// The database's name, `tenure_test_<32 hex digits>`.
    pub name: String,
    /// The URL of the admin database it was created from.
    admin_url: String,
}

impl TestDatabase {
    /// Creates a new, empty database with a unique name.
    ///
    /// # Errors
    /// When no server can be found or started, or the database cannot be
    /// created.
    pub async fn create() -> anyhow::Result<TestDatabase> {
        let admin_url = tokio::task::spawn_blocking(server::admin_url).await??;
        let name = format!("tenure_test_{}", uuid::Uuid::new_v4().simple());
        let mut admin = connect(&admin_url).await?;
        sqlx::raw_sql(&format!("CREATE DATABASE \"{name}\""))
            .execute(&mut admin)
            .await
            .map_err(|error| anyhow::anyhow!("create database {name}: {error}"))?;
        let _ = admin.close().await;
        let url = with_database(&admin_url, &name);
        Ok(TestDatabase {
            url,
            name,
            admin_url,
        })
    }

    /// A connection pool to this database (at most 8 connections).
    ///
    /// # Panics
    /// When the database cannot be reached: a test cannot go on then.
    pub async fn pool(&self) -> PgPool {
        PgPoolOptions::new()
            .max_connections(8)
            .acquire_timeout(CONNECT_TIMEOUT)
            .connect(&self.url)
            .await
            .unwrap_or_else(|error| panic!("connect to test database {}: {error}", self.name))
    }

    /// The URL of the admin database this one was created from (to look at
    /// the server from outside this database).
    pub fn admin_url(&self) -> &str {
        &self.admin_url
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let admin_url = self.admin_url.clone();
        let name = self.name.clone();
        drop_thread::run_to_completion(format!("drop database {name}"), move || async move {
            let mut admin = connect(&admin_url).await?;
            sqlx::raw_sql(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                .execute(&mut admin)
                .await?;
            let _ = admin.close().await;
            Ok(())
        });
    }
}

/// Connects to `url`, giving up after [`CONNECT_TIMEOUT`].
async fn connect(url: &str) -> anyhow::Result<PgConnection> {
    match tokio::time::timeout(CONNECT_TIMEOUT, PgConnection::connect(url)).await {
        Ok(Ok(connection)) => Ok(connection),
        Ok(Err(error)) => anyhow::bail!("connect to {url}: {error}"),
        Err(_) => anyhow::bail!("connect to {url}: no answer within {CONNECT_TIMEOUT:?}"),
    }
}

/// `url` with its database (the path) replaced by `database`, query kept.
fn with_database(url: &str, database: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let authority_start = base.find("://").map_or(0, |at| at + 3);
    let path_start = base[authority_start..]
        .find('/')
        .map_or(base.len(), |at| authority_start + at);
    let mut result = format!("{}/{database}", &base[..path_start]);
    if let Some(query) = query {
        result.push('?');
        result.push_str(query);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::with_database;

    #[test]
    fn replaces_the_database_of_a_url() {
        assert_eq!(
            with_database("postgres://postgres@127.0.0.1:5432/postgres", "x"),
            "postgres://postgres@127.0.0.1:5432/x"
        );
        assert_eq!(
            with_database("postgres://u:p@h:1", "x"),
            "postgres://u:p@h:1/x"
        );
        assert_eq!(
            with_database("postgres://h/postgres?sslmode=disable", "x"),
            "postgres://h/x?sslmode=disable"
        );
    }
}
