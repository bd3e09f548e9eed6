//! Finding the PostgreSQL admin database, starting a private server if needed.

use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Mutex;

use super::{create_shared_dir, is_root, lock_file, pick_port, read_port, run, tail, write_port};
use crate::binaries;
use crate::port::{accepts, localhost};

/// The environment variable naming the admin database URL.
pub(crate) const ENV: &str = "TENURE_TEST_DATABASE_URL";
/// The standard local server's port.
const STANDARD_PORT: u16 = 5432;

/// The admin database URL for `port` on 127.0.0.1.
fn url_for(port: u16) -> String {
    format!("postgres://postgres@127.0.0.1:{port}/postgres")
}

/// The admin database URL, decided once per process (blocking: it may start
/// a server). See [`resolve`].
pub(crate) fn admin_url() -> anyhow::Result<String> {
    static RESOLVED: Mutex<Option<String>> = Mutex::new(None);
    let mut resolved = RESOLVED
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some(url) = resolved.as_ref() {
        return Ok(url.clone());
    }
    let url = resolve(
        std::env::var(ENV).ok(),
        STANDARD_PORT,
        &super::base_dir().join("postgres"),
    )?;
    *resolved = Some(url.clone());
    Ok(url)
}

/// `env_url` when given; else the server on `standard_port` when something
/// listens there; else a private server kept in `dir`.
pub(crate) fn resolve(
    env_url: Option<String>,
    standard_port: u16,
    dir: &Path,
) -> anyhow::Result<String> {
    if let Some(url) = env_url {
        return Ok(url);
    }
    if accepts(localhost(standard_port)) {
        return Ok(url_for(standard_port));
    }
    let port = ensure_running(dir).map_err(|error| {
        anyhow::anyhow!("no PostgreSQL on 127.0.0.1:{standard_port} and no private one: {error:#}")
    })?;
    Ok(url_for(port))
}

/// Makes sure the private server in `dir` runs and returns its port: reuses
/// a running one, else initialises (once) and starts it. Holds `<dir>.lock`.
pub(crate) fn ensure_running(dir: &Path) -> anyhow::Result<u16> {
    let _lock = lock_file(&dir.with_extension("lock"))?;
    let port_file = dir.join("port");
    let previous = read_port(&port_file);
    if let Some(port) = previous
        && accepts(localhost(port))
    {
        return Ok(port);
    }
    let bin = binaries::postgres_bin_dir()?;
    prepare_dir(dir)?;
    let data = dir.join("data");
    if data.join("PG_VERSION").is_file() {
        // A server that runs but not on the recorded port: stop it first.
        if pg_ctl(&bin, dir)
            .arg("status")
            .arg("-D")
            .arg(&data)
            .stdout(Stdio::null())
            .status()?
            .success()
        {
            run(pg_ctl(&bin, dir)
                .args(["stop", "-m", "fast", "-D"])
                .arg(&data))?;
        }
    } else {
        if data.exists() {
            std::fs::remove_dir_all(&data)?;
        }
        run(as_postgres(&bin.join("initdb"), dir)
            .args([
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
                "--locale=C",
                "-D",
            ])
            .arg(&data))?;
    }
    let port = pick_port(previous);
    let log = dir.join("server.log");
    // A disposable test server: durability off for speed, many connections
    // for tests in parallel, the socket in its own directory.
    let options = format!(
        "-p {port} -k '{}' -c listen_addresses=127.0.0.1 -c max_connections=300 \
         -c fsync=off -c synchronous_commit=off -c full_page_writes=off",
        dir.display()
    );
    run(pg_ctl(&bin, dir)
        .args(["start", "-w", "-t", "60", "-D"])
        .arg(&data)
        .arg("-l")
        .arg(&log)
        .arg("-o")
        .arg(options))
    .map_err(|error| {
        anyhow::anyhow!(
            "{error:#}\nlog {}:\n{}\n(remove {} to start afresh)",
            log.display(),
            tail(&log, 20),
            dir.display()
        )
    })?;
    write_port(&port_file, port)?;
    tracing::info!(port, dir = %dir.display(), "testkit: started a private PostgreSQL");
    Ok(port)
}

/// Creates `dir`, owned by the `postgres` user when running as root.
fn prepare_dir(dir: &Path) -> anyhow::Result<()> {
    create_shared_dir(dir)?;
    if is_root() {
        run(Command::new("chown").arg("postgres:").arg(dir))?;
    }
    Ok(())
}

/// `pg_ctl` from `bin`, run as the `postgres` user when root.
fn pg_ctl(bin: &Path, dir: &Path) -> Command {
    as_postgres(&bin.join("pg_ctl"), dir)
}

/// A command for `program` in `dir`; as root it goes through `runuser -u
/// postgres --`, because `initdb` and `postgres` refuse to run as root.
fn as_postgres(program: &Path, dir: &Path) -> Command {
    let mut command = if is_root() {
        let mut command = Command::new("runuser");
        command.args(["-u", "postgres", "--"]).arg(program);
        command
    } else {
        Command::new(program)
    };
    command.current_dir(dir);
    command
}

/// Stops the private server in `dir` (for the testkit's own tests).
#[cfg(test)]
pub(crate) fn stop(dir: &Path) -> anyhow::Result<()> {
    let bin = binaries::postgres_bin_dir()?;
    run(pg_ctl(&bin, dir)
        .args(["stop", "-m", "immediate", "-D"])
        .arg(dir.join("data")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use sqlx::Connection;
    use std::path::PathBuf;

    /// Stops the server and removes its directory, also when a test fails.
    struct Cleanup(PathBuf);

    impl Drop for Cleanup {
        fn drop(&mut self) {
            let _ = stop(&self.0);
            let _ = std::fs::remove_dir_all(&self.0);
            let _ = std::fs::remove_file(self.0.with_extension("lock"));
        }
    }

    #[test]
    fn env_url_wins() {
        let url = resolve(
            Some("postgres://x@h:1/db".into()),
            1,
            Path::new("/nonexistent"),
        )
        .unwrap();
        assert_eq!(url, "postgres://x@h:1/db");
    }

    /// Nothing on the "standard" port: concurrent callers start one private
    /// server, and a later call reuses it.
    #[tokio::test]
    async fn starts_one_private_server_when_nothing_listens() {
        let dir = std::env::temp_dir().join(format!(
            "tenure-testkit-pg-{}",
            uuid::Uuid::new_v4().simple()
        ));
        let _cleanup = Cleanup(dir.clone());
        let dead = crate::free_port();
        let urls: Vec<String> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..3)
                .map(|_| scope.spawn(|| resolve(None, dead, &dir).unwrap()))
                .collect();
            handles
                .into_iter()
                .map(|handle| handle.join().unwrap())
                .collect()
        });
        assert!(urls.iter().all(|url| url == &urls[0]), "{urls:?}");
        assert_ne!(urls[0], url_for(dead));
        let mut connection = sqlx::PgConnection::connect(&urls[0]).await.unwrap();
        let one: i32 = sqlx::query_scalar("SELECT 1")
            .fetch_one(&mut connection)
            .await
            .unwrap();
        assert_eq!(one, 1);
        assert_eq!(resolve(None, dead, &dir).unwrap(), urls[0]);
    }
}
