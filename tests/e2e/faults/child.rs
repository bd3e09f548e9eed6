//! The service binaries as child processes, to be killed with SIGKILL like
//! a crashed server and started again with the same settings.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

use anyhow::Context;
use tokio::time::Instant;

/// The employees service's binary (and package).
pub const EMPLOYEES: &str = "tenure-employees";
/// The development service's binary (and package).
pub const DEVELOPMENT: &str = "tenure-development";

/// How long a started service may take until its gRPC port accepts connections.
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// The path of service binary `name`: in the target directory of this test
/// executable (`<target>/<profile>/deps/e2e-…` → `<target>/<profile>/<name>`).
///
/// Started by cargo (`cargo test` sets `CARGO`), cargo is asked once per
/// process to build both binaries first: a test build compiles only the
/// services' libraries, so binaries next to it may be stale or missing.
/// Without cargo an existing binary is used as it is.
pub fn binary(name: &str) -> anyhow::Result<PathBuf> {
    let exe = std::env::current_exe().context("find the test's own executable")?;
    let mut dir = exe
        .parent()
        .context("the test executable has no directory")?;
    if dir.ends_with("deps") {
        dir = dir.parent().context("deps/ has no parent directory")?;
    }
    let path = dir.join(name);
    if std::env::var_os("CARGO").is_some() || !path.is_file() {
        build(dir)?;
    }
    anyhow::ensure!(
        path.is_file(),
        "{} is missing after building the services",
        path.display()
    );
    Ok(path)
}

/// Builds both service binaries into `profile_dir`'s target directory, once per process.
fn build(profile_dir: &Path) -> anyhow::Result<()> {
    static BUILT: OnceLock<Result<(), String>> = OnceLock::new();
    BUILT
        .get_or_init(|| run_cargo(profile_dir).map_err(|error| format!("{error:#}")))
        .clone()
        .map_err(anyhow::Error::msg)
}

fn run_cargo(profile_dir: &Path) -> anyhow::Result<()> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut command = Command::new(&cargo);
    command
        .current_dir(&workspace)
        .args(["build", "--quiet", "-p", EMPLOYEES, "-p", DEVELOPMENT]);
    if !cfg!(debug_assertions) {
        command.arg("--release");
    }
    if let Some(target_dir) = profile_dir.parent() {
        command.arg("--target-dir").arg(target_dir);
    }
    // What cargo set for this test's own run would make the build look
    // changed (build scripts such as ring's watch CARGO_MANIFEST_DIR), and
    // every build from the shell afterwards would rebuild it all again.
    for (key, _) in std::env::vars_os() {
        let key = key.to_string_lossy();
        if key.starts_with("CARGO_PKG_")
            || matches!(
                &*key,
                "CARGO_MANIFEST_DIR"
                    | "CARGO_MANIFEST_PATH"
                    | "CARGO_CRATE_NAME"
                    | "CARGO_PRIMARY_PACKAGE"
                    | "CARGO_TARGET_TMPDIR"
            )
        {
            command.env_remove(&*key);
        }
    }
    eprintln!("building the service binaries: {command:?}");
    let status = command
        .status()
        .with_context(|| format!("run {}", Path::new(&cargo).display()))?;
    anyhow::ensure!(
        status.success(),
        "building the service binaries failed ({status})"
    );
    Ok(())
}

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
        let binary = binary(name)?;
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
