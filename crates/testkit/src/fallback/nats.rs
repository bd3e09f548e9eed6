//! Finding the NATS server, starting a private one if needed.

use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::Duration;

use super::{create_shared_dir, lock_file, pick_port, read_port, tail, write_port};
use crate::binaries;
use crate::port::{accepts, localhost, wait_until_accepts};

/// The environment variable naming the NATS URL.
pub(crate) const ENV: &str = "TENURE_TEST_NATS_URL";
/// The standard local server's port.
const STANDARD_PORT: u16 = 4222;

/// The URL of the server on `port` of 127.0.0.1.
fn url_for(port: u16) -> String {
    format!("nats://127.0.0.1:{port}")
}

/// The NATS URL for tests, decided once per process (blocking: it may start
/// a server). See [`resolve`].
pub(crate) fn server_url() -> anyhow::Result<String> {
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
        &super::base_dir().join("nats"),
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
        anyhow::anyhow!("no NATS on 127.0.0.1:{standard_port} and no private one: {error:#}")
    })?;
    Ok(url_for(port))
}

/// Makes sure the private JetStream server in `dir` runs and returns its
/// port: reuses a running one, else starts it detached (its own process
/// group, so it outlives this test process). Holds `<dir>.lock`.
pub(crate) fn ensure_running(dir: &Path) -> anyhow::Result<u16> {
    let _lock = lock_file(&dir.with_extension("lock"))?;
    let port_file = dir.join("port");
    let previous = read_port(&port_file);
    if let Some(port) = previous
        && accepts(localhost(port))
    {
        return Ok(port);
    }
    let binary = binaries::nats_server()?;
    create_shared_dir(dir)?;
    let port = pick_port(previous);
    let log = dir.join("server.log");
    let mut child = Command::new(&binary)
        .args(["-js", "-a", "127.0.0.1", "-p", &port.to_string(), "-sd"])
        .arg(dir.join("store"))
        .arg("-l")
        .arg(&log)
        .arg("-P")
        .arg(dir.join("nats.pid"))
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()
        .map_err(|error| anyhow::anyhow!("start {}: {error}", binary.display()))?;
    wait_until_accepts(localhost(port), Duration::from_secs(30), || {
        match child.try_wait()? {
            Some(status) => anyhow::bail!(
                "nats-server exited ({status}); log {}:\n{}",
                log.display(),
                tail(&log, 20)
            ),
            None => Ok(()),
        }
    })?;
    write_port(&port_file, port)?;
    tracing::info!(port, dir = %dir.display(), "testkit: started a private NATS server");
    Ok(port)
}

/// Stops the private server in `dir` (for the testkit's own tests).
#[cfg(test)]
pub(crate) fn stop(dir: &Path) -> anyhow::Result<()> {
    let pid = std::fs::read_to_string(dir.join("nats.pid"))?;
    super::run(Command::new("kill").arg(pid.trim()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    /// Stops the server and removes its directory, also when a test fails.
    struct Cleanup(PathBuf);

    impl Drop for Cleanup {
        fn drop(&mut self) {
            let _ = stop(&self.0);
            std::thread::sleep(Duration::from_millis(200));
            let _ = std::fs::remove_dir_all(&self.0);
            let _ = std::fs::remove_file(self.0.with_extension("lock"));
        }
    }

    #[test]
    fn env_url_wins() {
        let url = resolve(Some("nats://h:1".into()), 1, Path::new("/nonexistent")).unwrap();
        assert_eq!(url, "nats://h:1");
    }

    /// Nothing on the "standard" port: concurrent callers start one private
    /// server with JetStream, and a later call reuses it.
    #[tokio::test]
    async fn starts_one_private_server_when_nothing_listens() {
        let dir = std::env::temp_dir().join(format!(
            "tenure-testkit-nats-{}",
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
        let client = async_nats::connect(&urls[0]).await.unwrap();
        let jetstream = async_nats::jetstream::new(client);
        jetstream
            .create_stream(async_nats::jetstream::stream::Config {
                name: "PROBE".into(),
                subjects: vec!["probe.>".into()],
                ..Default::default()
            })
            .await
            .expect("JetStream enabled");
        assert_eq!(resolve(None, dead, &dir).unwrap(), urls[0]);
    }
}
