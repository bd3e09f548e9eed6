//! Private NATS servers of a chosen binary, for the scenarios that stop and
//! restart the broker: the operating system's `nats-server` (the version of
//! the shared server) and a current one (`TENURE_NATS_SERVER`, else the
//! testkit's choice). JetStream syncs every write to disk where the version
//! knows `sync_interval: always` (2.10 and later), as in production.

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use tenure_testkit::free_port;

use crate::process::ChildProcess;

const START_TIMEOUT: Duration = Duration::from_secs(30);
/// Where Debian and a local install put the operating system's server.
const SYSTEM_PATHS: [&str; 2] = ["/usr/sbin/nats-server", "/usr/local/bin/nats-server"];

/// A `nats-server` binary and its version.
#[derive(Debug, Clone)]
pub struct NatsBinary {
    pub path: PathBuf,
    pub version: (u32, u32, u32),
}

impl NatsBinary {
    fn at(path: PathBuf) -> anyhow::Result<NatsBinary> {
        let output = std::process::Command::new(&path)
            .arg("--version")
            .output()
            .with_context(|| format!("run {} --version", path.display()))?;
        let text = String::from_utf8_lossy(&output.stdout);
        let version = parse_version(&text)
            .with_context(|| format!("{} printed no version: {text:?}", path.display()))?;
        Ok(NatsBinary { path, version })
    }

    pub fn syncs_always(&self) -> bool {
        self.version >= (2, 10, 0)
    }
}

impl fmt::Display for NatsBinary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (major, minor, patch) = self.version;
        write!(f, "nats-server {major}.{minor}.{patch}")?;
        if self.syncs_always() {
            write!(f, " sync always")?;
        }
        Ok(())
    }
}

/// `nats-server: v2.15.1` → `(2, 15, 1)`.
fn parse_version(text: &str) -> Option<(u32, u32, u32)> {
    let version = text
        .split_whitespace()
        .find_map(|word| word.strip_prefix('v'))?;
    let mut numbers = version.split('.').map(|n| n.parse::<u32>().ok());
    Some((numbers.next()??, numbers.next()??, numbers.next()??))
}

/// The binaries to measure on, the operating system's first, and what was
/// not found.
pub fn binaries() -> (Vec<NatsBinary>, Vec<String>) {
    let mut found = Vec::new();
    let mut missing = Vec::new();
    let in_path = std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path)
            .map(|dir| dir.join("nats-server"))
            .find(|candidate| candidate.is_file())
    });
    let system = in_path.or_else(|| {
        SYSTEM_PATHS
            .into_iter()
            .map(PathBuf::from)
            .find(|candidate| candidate.is_file())
    });
    match system.map(NatsBinary::at) {
        Some(Ok(binary)) => found.push(binary),
        Some(Err(error)) => missing.push(format!("the system nats-server: {error:#}")),
        None => missing.push("no nats-server on PATH or in /usr/sbin".to_owned()),
    }
    let current = tenure_testkit::binaries::nats_server().and_then(NatsBinary::at);
    match current {
        Ok(binary) if !binary.syncs_always() => missing.push(format!(
            "no current nats-server ({} is {binary}; set TENURE_NATS_SERVER)",
            binary.path.display()
        )),
        Ok(binary) => {
            if !found
                .iter()
                .any(|other| same_file(&other.path, &binary.path))
            {
                found.push(binary);
            }
        }
        Err(error) => missing.push(format!("no current nats-server: {error:#}")),
    }
    (found, missing)
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

/// A JetStream server on a free port of 127.0.0.1 with its store in a
/// temporary directory; port and store stay across restarts. Dropping it
/// kills the server and removes the directory.
pub struct PrivateServer {
    binary: NatsBinary,
    dir: PathBuf,
    port: u16,
    process: Option<ChildProcess>,
}

impl PrivateServer {
    pub async fn start(binary: &NatsBinary) -> anyhow::Result<PrivateServer> {
        let dir = std::env::temp_dir().join(format!(
            "tenure-bench-nats-{}",
            uuid::Uuid::now_v7().simple()
        ));
        std::fs::create_dir_all(&dir).with_context(|| format!("create {}", dir.display()))?;
        let mut server = PrivateServer {
            binary: binary.clone(),
            dir,
            port: free_port(),
            process: None,
        };
        let config = server.config();
        std::fs::write(server.config_path(), config).context("write the nats-server config")?;
        server.restart().await?;
        Ok(server)
    }

    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// Stops the server with SIGTERM and waits until it has exited.
    pub async fn stop(&mut self) -> anyhow::Result<()> {
        if let Some(process) = self.process.take() {
            process.terminate().await?;
        }
        Ok(())
    }

    /// Starts the server again on the same port and store (stopping it
    /// first if it runs) and waits until it accepts connections.
    pub async fn restart(&mut self) -> anyhow::Result<()> {
        self.stop().await?;
        let config = self.config_path().to_string_lossy().into_owned();
        let mut process = ChildProcess::spawn(&self.binary.path, &["-c", &config], &[])?;
        process
            .wait_listening(SocketAddr::from(([127, 0, 0, 1], self.port)), START_TIMEOUT)
            .await?;
        self.process = Some(process);
        Ok(())
    }

    fn config_path(&self) -> PathBuf {
        self.dir.join("server.conf")
    }

    fn config(&self) -> String {
        let sync = if self.binary.syncs_always() {
            "  sync_interval: always\n"
        } else {
            ""
        };
        format!(
            "listen: \"127.0.0.1:{}\"\njetstream {{\n  store_dir: \"{}\"\n{sync}}}\n",
            self.port,
            self.dir.join("store").display()
        )
    }
}

impl Drop for PrivateServer {
    fn drop(&mut self) {
        // The process is killed by its own drop, before the directory goes.
        drop(self.process.take());
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_read() {
        assert_eq!(parse_version("nats-server: v2.15.1\n"), Some((2, 15, 1)));
        assert_eq!(parse_version("nats-server: v2.9.10"), Some((2, 9, 10)));
        assert_eq!(parse_version("garbage"), None);
    }

    #[tokio::test]
    async fn a_server_survives_a_restart_on_its_port() {
        let (binaries, _) = binaries();
        let binary = binaries.first().expect("a nats-server is installed");
        let mut server = PrivateServer::start(binary).await.unwrap();
        async_nats::connect(server.url()).await.unwrap();
        server.stop().await.unwrap();
        server.restart().await.unwrap();
        async_nats::connect(server.url()).await.unwrap();
    }
}
