//! A NATS server of the test's own, to stop and restart.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::binaries;
use crate::fallback::tail;
use crate::port::{accepts, free_port, localhost, wait_until_accepts};

/// How long a start may take until the port accepts connections.
const START_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a graceful stop may take before the server is killed.
const STOP_TIMEOUT: Duration = Duration::from_secs(10);

/// A JetStream-enabled `nats-server` child process on a free port of
/// 127.0.0.1 with its store in a temporary directory, for tests that stop,
/// restart or otherwise mistreat the broker without touching the shared one.
///
/// Dropping it kills the server and removes the directory.
#[derive(Debug)]
pub struct PrivateNats {
    /// The running server, if any.
    child: Option<Child>,
    /// Its client port, the same across restarts.
    port: u16,
    /// Holds `store/` (JetStream data, kept across restarts) and `server.log`.
    dir: PathBuf,
}

impl PrivateNats {
    /// Starts the server and waits until it accepts connections.
    ///
    /// # Errors
    /// When `nats-server` is not installed or does not come up.
    pub async fn start() -> anyhow::Result<PrivateNats> {
        let dir = std::env::temp_dir().join(format!(
            "tenure-private-nats-{}",
            uuid::Uuid::new_v4().simple()
        ));
        std::fs::create_dir_all(&dir)
            .map_err(|error| anyhow::anyhow!("create {}: {error}", dir.display()))?;
        let mut server = PrivateNats {
            child: None,
            port: free_port(),
            dir,
        };
        server.restart().await?;
        Ok(server)
    }

    /// The URL clients connect to, `nats://127.0.0.1:<port>`; it stays the
    /// same across [`stop`](Self::stop) and [`restart`](Self::restart).
    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// Stops the server gracefully (SIGTERM, then SIGKILL after 10 s) and
    /// waits until it has exited, so the port is released. Does nothing when
    /// it is not running.
    pub async fn stop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        let _ = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let deadline = tokio::time::Instant::now() + STOP_TIMEOUT;
        while matches!(child.try_wait(), Ok(None)) && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        kill(&mut child);
    }

    /// Kills the server abruptly (SIGKILL), like a crash, and waits until it
    /// has exited. Does nothing when it is not running.
    pub async fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            kill(&mut child);
        }
    }

    /// Starts the server again on the same port with the same store, so
    /// JetStream streams and their messages survive; a running server is
    /// stopped first. Waits until it accepts connections.
    ///
    /// # Errors
    /// When `nats-server` is not installed or does not come up (e.g. the port
    /// was taken meanwhile).
    pub async fn restart(&mut self) -> anyhow::Result<()> {
        self.stop().await;
        let binary = binaries::nats_server()?;
        let log = self.dir.join("server.log");
        let port = self.port;
        if accepts(localhost(port)) {
            anyhow::bail!("port {port} of the private NATS server is taken by another process");
        }
        let mut child = Command::new(&binary)
            .args(["-js", "-a", "127.0.0.1", "-p", &port.to_string(), "-sd"])
            .arg(self.dir.join("store"))
            .arg("-l")
            .arg(&log)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|error| anyhow::anyhow!("start {}: {error}", binary.display()))?;
        let waited = tokio::task::spawn_blocking(move || {
            let result = wait_until_accepts(localhost(port), START_TIMEOUT, || {
                match child.try_wait()? {
                    Some(status) => anyhow::bail!("nats-server exited ({status})"),
                    None => Ok(()),
                }
            });
            (child, result)
        })
        .await?;
        let (mut child, result) = waited;
        if let Err(error) = result {
            kill(&mut child);
            anyhow::bail!("{error:#}; log {}:\n{}", log.display(), tail(&log, 20));
        }
        self.child = Some(child);
        Ok(())
    }
}

impl Drop for PrivateNats {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            kill(&mut child);
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Sends SIGKILL (if still running) and reaps the process.
fn kill(child: &mut Child) {
    let _ = child.kill();
    let _ = child.wait();
}
