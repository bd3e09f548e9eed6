//! The service binaries the child-process scenarios run: next to the bench's
//! own executable, built there with the bench's profile when missing.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::Context;

/// The service binaries, in the packages of the same names.
pub const EMPLOYEES: &str = "tenure-employees";
pub const DEVELOPMENT: &str = "tenure-development";

/// The path of service binary `name`.
///
/// Started by cargo (`cargo run`, which sets `CARGO`), the bench always asks
/// cargo to build the services first: `cargo run -p tenure-bench` builds only
/// their libraries, so binaries next to it may be stale. Otherwise an existing
/// binary is used as it is, and a missing one is built.
pub fn locate(name: &str) -> anyhow::Result<PathBuf> {
    let exe = std::env::current_exe().context("find the bench's own executable")?;
    let dir = exe
        .parent()
        .context("the bench's executable has no directory")?;
    let path = dir.join(name);
    let under_cargo = std::env::var_os("CARGO").is_some();
    if under_cargo || !path.is_file() {
        build(dir)?;
    }
    anyhow::ensure!(
        path.is_file(),
        "{} is missing after building the services",
        path.display()
    );
    Ok(path)
}

/// Builds both service binaries once per process.
fn build(dir: &Path) -> anyhow::Result<()> {
    static BUILT: std::sync::OnceLock<Result<(), String>> = std::sync::OnceLock::new();
    BUILT
        .get_or_init(|| run_cargo(dir).map_err(|error| format!("{error:#}")))
        .clone()
        .map_err(anyhow::Error::msg)
}

fn run_cargo(dir: &Path) -> anyhow::Result<()> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut command = Command::new(&cargo);
    command
        .current_dir(&workspace)
        .args(["build", "--quiet", "-p", EMPLOYEES, "-p", DEVELOPMENT]);
    if !cfg!(debug_assertions) {
        command.arg("--release");
    }
    // The binaries must land next to the bench: in the target directory two
    // levels above it (`<target>/<profile>/tenure-bench`).
    if let Some(target_dir) = dir.parent() {
        command.arg("--target-dir").arg(target_dir);
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
