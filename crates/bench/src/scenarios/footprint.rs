//! Footprint: idle RSS of each service binary after start, and binary sizes.
//!
//! Each service runs as a child process on a free port of 127.0.0.1 against
//! a fresh database and its own subject root; once its port accepts
//! connections it idles for two seconds and `VmRSS` is read. The baseline is
//! the bench itself in its `idle-stack` mode: the runtime's gRPC server,
//! telemetry, a PostgreSQL pool and a NATS client, with no Tenure kernel or
//! domain code (see [`crate::baselines::idle`]).

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use anyhow::Context;
use tenure_testkit::free_port;

use super::Outcome;
use crate::binaries::{self, DEVELOPMENT, EMPLOYEES};
use crate::cli::Plan;
use crate::process::{ChildProcess, Memory};
use crate::report::{Figure, Target, Unit};
use crate::stack::Infra;

const SCENARIO: &str = "footprint";
const START_TIMEOUT: Duration = Duration::from_secs(60);
const MIB: f64 = 1024.0 * 1024.0;

pub async fn run(plan: &Plan) -> anyhow::Result<Outcome> {
    let infra = Infra::create().await?;
    let env = vec![
        ("DATABASE_URL", infra.database.url.clone()),
        ("NATS_URL", infra.nats.url.clone()),
        ("TENURE_SUBJECT_ROOT", infra.nats.subject_root()),
        ("RUST_LOG", "warn".to_owned()),
    ];
    let mut outcome = Outcome::default();
    let exe = std::env::current_exe()?;
    let (baseline, baseline_process) = idle(&exe, &["idle-stack"], &env, plan.idle_settle)
        .await
        .context("the idle stack")?;
    outcome.check(baseline_process.terminate().await.map(drop));

    // Employees first and still running while development starts: development
    // consumes the employees stream, which the employees relay creates.
    let mut running = Vec::new();
    for name in [EMPLOYEES, DEVELOPMENT] {
        let binary = binaries::locate(name)?;
        let (memory, process) = idle(&binary, &[], &env, plan.idle_settle).await?;
        running.push(process);
        outcome.figures.push(
            Figure::new(
                SCENARIO,
                format!("idle RSS, {name}"),
                Unit::MiB,
                memory.rss_mib(),
            )
            .against("idle stack", baseline.rss_mib())
            .target(Target::Below(40.0)),
        );
        let size = std::fs::metadata(&binary)?.len() as f64 / MIB;
        outcome.figures.push(Figure::new(
            SCENARIO,
            format!("binary size, {name}"),
            Unit::MiB,
            size,
        ));
    }
    for process in running {
        match process.terminate().await {
            Ok(status) if status.success() => {}
            Ok(status) => outcome.notes.push(format!(
                "footprint: a service exited with {status} after SIGTERM"
            )),
            Err(error) => outcome.failures.push(format!("{error:#}")),
        }
    }
    outcome.notes.push(format!(
        "footprint: binaries of the {} profile; idle RSS read {:?} after the gRPC port accepted connections",
        if cfg!(debug_assertions) { "dev" } else { "release" },
        plan.idle_settle
    ));
    Ok(outcome)
}

/// Starts `binary` on a free port, waits until it listens and `settle` more, and reads its memory.
async fn idle(
    binary: &Path,
    args: &[&str],
    env: &[(&str, String)],
    settle: Duration,
) -> anyhow::Result<(Memory, ChildProcess)> {
    let addr = SocketAddr::from(([127, 0, 0, 1], free_port()));
    let mut env = env.to_vec();
    env.push(("TENURE_GRPC_ADDR", addr.to_string()));
    let mut process = ChildProcess::spawn(binary, args, &env)?;
    process.wait_listening(addr, START_TIMEOUT).await?;
    tokio::time::sleep(settle).await;
    let memory = Memory::of(process.pid()).with_context(|| {
        format!(
            "{} exited while idle:\n{}",
            binary.display(),
            process.log_tail(20)
        )
    })?;
    Ok((memory, process))
}
