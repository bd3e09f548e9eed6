//! One `nats-server` child process, run from a configuration file.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::Duration;

use crate::fallback::tail;
use crate::nats_config::ServerConfig;
use crate::port::{accepts, localhost, wait_until_accepts};

/// How long a graceful stop may take before the server is killed.
const STOP_TIMEOUT: Duration = Duration::from_secs(10);

/// A `nats-server` started from `<dir>/server.conf`, writing its output to
/// `<dir>/server.log`. Dropping it kills the process (the directory stays).
#[derive(Debug)]
pub(crate) struct Node {
    /// The running process, if any.
    child: Option<Child>,
    /// The binary it runs.
    binary: PathBuf,
    /// What it was configured with.
    config: ServerConfig,
}

impl Node {
    /// Creates `config.dir` and writes the configuration file; starts nothing.
    pub(crate) fn create(binary: &Path, config: ServerConfig) -> anyhow::Result<Node> {
        std::fs::create_dir_all(&config.dir)
            .map_err(|error| anyhow::anyhow!("create {}: {error}", config.dir.display()))?;
        let path = config.path();
        std::fs::write(&path, config.render())
            .map_err(|error| anyhow::anyhow!("write {}: {error}", path.display()))?;
        Ok(Node {
            child: None,
            binary: binary.to_path_buf(),
            config,
        })
    }

    /// The configuration.
    pub(crate) fn config(&self) -> &ServerConfig {
        &self.config
    }

    /// The server's log file.
    pub(crate) fn log(&self) -> PathBuf {
        self.config.dir.join("server.log")
    }

    /// The last lines of the log, for error messages.
    pub(crate) fn log_tail(&self, lines: usize) -> String {
        format!(
            "log {}:\n{}",
            self.log().display(),
            tail(&self.log(), lines)
        )
    }

    /// The exit status when the process has exited by itself (a crash, a bad
    /// configuration); `None` while it runs or when it was not started.
    pub(crate) fn exited(&mut self) -> Option<ExitStatus> {
        self.child.as_mut()?.try_wait().ok().flatten()
    }

    /// Starts the server (unless it runs) and waits until its client port
    /// accepts connections.
    ///
    /// # Errors
    /// When a port is taken by another process, or the server exits or does
    /// not listen within `timeout`.
    pub(crate) async fn start(&mut self, timeout: Duration) -> anyhow::Result<()> {
        if self.child.is_some() {
            return Ok(());
        }
        // A server that cannot bind a port exits, but one that finds the
        // client port answered by someone else would look started.
        if let Some(port) = self
            .config
            .ports()
            .into_iter()
            .find(|port| accepts(localhost(*port)))
        {
            anyhow::bail!(
                "port {port} of nats-server {} is taken by another process",
                self.config.name
            );
        }
        let log = File::options()
            .create(true)
            .append(true)
            .open(self.log())
            .map_err(|error| anyhow::anyhow!("open {}: {error}", self.log().display()))?;
        // stderr too: errors in the configuration are printed before logging starts.
        let mut child = Command::new(&self.binary)
            .arg("-c")
            .arg(self.config.path())
            .current_dir(&self.config.dir)
            .stdin(Stdio::null())
            .stdout(Stdio::from(log.try_clone()?))
            .stderr(Stdio::from(log))
            .spawn()
            .map_err(|error| anyhow::anyhow!("start {}: {error}", self.binary.display()))?;
        let port = self.config.port;
        let (mut child, waited) = tokio::task::spawn_blocking(move || {
            let waited =
                wait_until_accepts(localhost(port), timeout, || match child.try_wait()? {
                    Some(status) => anyhow::bail!("nats-server exited ({status})"),
                    None => Ok(()),
                });
            (child, waited)
        })
        .await?;
        if let Err(error) = waited {
            kill(&mut child);
            anyhow::bail!("{error:#}; {}", self.log_tail(20));
        }
        self.child = Some(child);
        Ok(())
    }

    /// Stops the server gracefully (SIGTERM, then SIGKILL after 10 s) and
    /// waits until it has exited, so its ports are released. Does nothing
    /// when it is not running.
    pub(crate) async fn stop(&mut self) {
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

    /// Kills the server abruptly (SIGKILL), like a crash, and reaps it. Does
    /// nothing when it is not running.
    pub(crate) fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            kill(&mut child);
        }
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Sends SIGKILL (if still running) and reaps the process.
fn kill(child: &mut Child) {
    let _ = child.kill();
    let _ = child.wait();
}
