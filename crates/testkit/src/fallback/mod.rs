//! Private PostgreSQL and NATS servers for machines that run none.
//!
//! When a test finds no server (no environment variable, nothing on the
//! standard port), it starts one from the installed binaries in a fixed
//! directory under [`base_dir`]. A file lock makes concurrent test processes
//! start it only once; the port is written to a file so every later test (and
//! later test run) reuses the running server. The servers are left running on
//! purpose.

pub(crate) mod nats;
pub(crate) mod postgres;

use std::fs::{File, OpenOptions};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The directory holding the private servers: `$TENURE_TESTKIT_DIR`, else
/// `/tmp/tenure-testkit`.
pub(crate) fn base_dir() -> PathBuf {
    std::env::var_os("TENURE_TESTKIT_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/tmp/tenure-testkit"))
}

/// Opens (creating it) the lock file `path` and waits for its exclusive
/// `flock`; the lock is released when the returned file is dropped, also when
/// the process dies.
pub(crate) fn lock_file(path: &Path) -> anyhow::Result<File> {
    if let Some(parent) = path.parent() {
        create_shared_dir(parent)?;
    }
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o666)
        .open(path)
        .map_err(|error| anyhow::anyhow!("open lock file {}: {error}", path.display()))?;
    file.lock()
        .map_err(|error| anyhow::anyhow!("lock {}: {error}", path.display()))?;
    Ok(file)
}

/// Creates `dir` (and its parents) readable and searchable by everyone, so
/// the `postgres` user can reach directories below it.
pub(crate) fn create_shared_dir(dir: &Path) -> anyhow::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o755)
        .create(dir)
        .map_err(|error| anyhow::anyhow!("create directory {}: {error}", dir.display()))
}

/// Whether this process runs as root (the owner of `/proc/self` is the
/// process's effective user).
pub(crate) fn is_root() -> bool {
    std::fs::metadata("/proc/self").is_ok_and(|meta| meta.uid() == 0)
}

/// Reads a port number written by [`write_port`].
pub(crate) fn read_port(path: &Path) -> Option<u16> {
    std::fs::read_to_string(path).ok()?.trim().parse().ok()
}

/// Writes `port` to `path`.
pub(crate) fn write_port(path: &Path, port: u16) -> anyhow::Result<()> {
    std::fs::write(path, format!("{port}\n"))
        .map_err(|error| anyhow::anyhow!("write port file {}: {error}", path.display()))
}

/// `previous` when that port can still be bound on 127.0.0.1, else a new free port.
pub(crate) fn pick_port(previous: Option<u16>) -> u16 {
    previous
        .filter(|port| std::net::TcpListener::bind(("127.0.0.1", *port)).is_ok())
        .unwrap_or_else(crate::free_port)
}

/// Runs `command` to completion; an error carries its output.
pub(crate) fn run(command: &mut Command) -> anyhow::Result<()> {
    let output = command
        .output()
        .map_err(|error| anyhow::anyhow!("run {command:?}: {error}"))?;
    if output.status.success() {
        return Ok(());
    }
    anyhow::bail!(
        "{command:?} failed ({}):\n{}{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// The last `lines` lines of the text file `path` (empty if unreadable), for
/// error messages.
pub(crate) fn tail(path: &Path, lines: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}
