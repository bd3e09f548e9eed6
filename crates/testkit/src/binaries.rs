//! Finding the installed server binaries.

use std::path::{Path, PathBuf};

/// What to tell when a server binary is missing.
pub(crate) const INSTALL_HINT: &str =
    "run `deploy/stack.sh infra` (installs and starts PostgreSQL and NATS from the OS packages)";

/// Finds `name` in a directory of `PATH`.
fn in_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
}

/// The `nats-server` binary: from `PATH`, else `/usr/sbin` (where Debian puts
/// it, often outside a non-root `PATH`), else `/usr/local/bin`.
pub(crate) fn nats_server() -> anyhow::Result<PathBuf> {
    in_path("nats-server")
        .or_else(|| {
            ["/usr/sbin/nats-server", "/usr/local/bin/nats-server"]
                .into_iter()
                .map(PathBuf::from)
                .find(|candidate| candidate.is_file())
        })
        .ok_or_else(|| {
            anyhow::anyhow!("no nats-server binary in PATH or /usr/sbin; {INSTALL_HINT}")
        })
}

/// The directory holding PostgreSQL's `initdb` and `pg_ctl`: the newest
/// `/usr/lib/postgresql/<version>/bin` (Debian's layout), else the directory
/// of an `initdb` in `PATH`.
pub(crate) fn postgres_bin_dir() -> anyhow::Result<PathBuf> {
    let has_tools = |dir: &Path| dir.join("initdb").is_file() && dir.join("pg_ctl").is_file();
    let mut versioned: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let version = entry.file_name().to_str()?.parse::<u32>().ok()?;
            Some((version, entry.path().join("bin")))
        })
        .filter(|(_, dir)| has_tools(dir))
        .collect();
    versioned.sort();
    if let Some((_, dir)) = versioned.pop() {
        return Ok(dir);
    }
    in_path("initdb")
        .and_then(|initdb| initdb.parent().map(Path::to_path_buf))
        .filter(|dir| has_tools(dir))
        .ok_or_else(|| {
            anyhow::anyhow!(
                "no PostgreSQL server binaries (/usr/lib/postgresql/*/bin/initdb); {INSTALL_HINT}"
            )
        })
}
