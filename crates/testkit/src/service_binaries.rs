//! The service binaries, for tests and benchmarks that run them as child
//! processes: found next to the running executable, built by cargo first.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use anyhow::Context;

/// The employees service's binary (and package).
pub const EMPLOYEES: &str = "tenure-employees";
/// The development service's binary (and package).
pub const DEVELOPMENT: &str = "tenure-development";

/// The path of service binary `name`: in the target directory of the running
/// executable (a test's `<target>/<profile>/deps/e2e-…`, or the bench's
/// `<target>/<profile>/tenure-bench` → `<target>/<profile>/<name>`).
///
/// Started by cargo (`cargo test` sets `CARGO`), cargo is asked once per
/// process to build both binaries first: a test build compiles only the
/// services' libraries, so binaries next to it may be stale or missing.
/// Without cargo an existing binary is used as it is.
pub fn locate(name: &str) -> anyhow::Result<PathBuf> {
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
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
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
