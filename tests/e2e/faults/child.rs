//! The service binaries as child processes, to be killed with SIGKILL like
//! a crashed server and started again with the same settings.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::Context;
use tenure_testkit::service_binaries::locate;
pub use tenure_testkit::service_binaries::{DEVELOPMENT, EMPLOYEES};
use tokio::time::Instant;

/// How long a started service may take until its gRPC port accepts connections.
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// One service binary run with a fixed environment and gRPC address, so
/// that a restart after a kill is the same service again. Its output goes
/// to a log file, kept (and named on stderr) when the test fails.
pub struct ServiceProcess {
    name: &'static str,
    binary: PathBuf,
    env: Vec<(String, String)>,
    /// Where its gRPC server listens, the same across restarts.
    pub grpc_addr: SocketAddr,
    log: PathBuf,
    child: Option<Child>,
    /// Processes started so far, to tell runs apart in the log.
    runs: u32,
}

impl ServiceProcess {
    /// Prepares `name` (one of [`EMPLOYEES`], [`DEVELOPMENT`]) with `env`
    /// added to the test's environment, on a free port; starts nothing.
    pub fn new(name: &'static str, env: Vec<(String, String)>) -> anyhow::Result<Self> {
        let binary = locate(name)?;
        let grpc_addr = SocketAddr::from(([127, 0, 0, 1], tenure_testkit::free_port()));
        let log = std::env::temp_dir().join(format!(
            "tenure-faults-{name}-{}.log",
            uuid::Uuid::now_v7().simple()
        ));
        Ok(Self {
            name,
            binary,
            env,
            grpc_addr,
            log,
            child: None,
            runs: 0,
        })
    }

    /// Starts the process and waits until its gRPC port accepts connections.
    pub async fn start(&mut self) -> anyhow::Result<()> {
        anyhow::ensure!(self.child.is_none(), "{} runs already", self.name);
        self.runs += 1;
        let mut log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .with_context(|| format!("open {}", self.log.display()))?;
        use std::io::Write as _;
        writeln!(log, "---- run {} of {} ----", self.runs, self.name)?;
        let mut command = Command::new(&self.binary);
        command
            .stdin(Stdio::null())
            .stdout(Stdio::from(log.try_clone()?))
            .stderr(Stdio::from(log))
            .env("TENURE_GRPC_ADDR", self.grpc_addr.to_string())
            .env(
                "RUST_LOG",
                std::env::var("RUST_LOG").unwrap_or("info".into()),
            );
        for (key, value) in &self.env {
            command.env(key, value);
        }
        let child = command
            .spawn()
            .with_context(|| format!("start {}", self.binary.display()))?;
        self.child = Some(child);
        self.wait_listening().await
    }

    /// Kills the process with SIGKILL, like a crash, and reaps it.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// The last `lines` lines of the log, for failure messages.
    pub fn log_tail(&self, lines: usize) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let all: Vec<&str> = text.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }

    async fn wait_listening(&mut self) -> anyhow::Result<()> {
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            let connect = tokio::net::TcpStream::connect(self.grpc_addr);
            if let Ok(Ok(_)) = tokio::time::timeout(Duration::from_millis(200), connect).await {
                return Ok(());
            }
            let child = self.child.as_mut().context("not started")?;
            if let Some(status) = child.try_wait()? {
                self.child = None;
                anyhow::bail!(
                    "{} exited ({status}) before listening:\n{}",
                    self.name,
                    self.log_tail(30)
                );
            }
            if Instant::now() >= deadline {
                self.kill();
                anyhow::bail!(
                    "{} did not listen on {} within {START_TIMEOUT:?}:\n{}",
                    self.name,
                    self.grpc_addr,
                    self.log_tail(30)
                );
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for ServiceProcess {
    fn drop(&mut self) {
        self.kill();
        if std::thread::panicking() {
            eprintln!("{} log kept: {}", self.name, self.log.display());
        } else {
            let _ = std::fs::remove_file(&self.log);
        }
    }
}
