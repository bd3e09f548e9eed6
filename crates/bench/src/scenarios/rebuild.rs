//! Rebuild: `tenure-employees rebuild` as a child process over a store of
//! many events (1,000,000 in a full run), at two sizes, so that its peak RSS
//! (`VmHWM`, sampled every 5 ms) shows whether it streams. The baseline is one
//! plain streaming query over the same events with every payload decoded
//! ([`crate::baselines::scan`]): reading alone, nothing written.
//!
//! The events go straight into the store (see [`crate::seed`]): employees of
//! ten events each, a hire followed by role and interest changes, then
//! `ANALYZE` (without it the planner still believes the tables empty and the
//! rebuild's page query scans every remaining event per page). The first
//! rebuild runs on the empty store, which also migrates it.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::Context;
use uuid::Uuid;

use super::Outcome;
use crate::baselines::scan;
use crate::binaries::{self, EMPLOYEES};
use crate::cli::Plan;
use crate::process::{ChildProcess, Memory};
use crate::report::{Figure, Target, Unit, format_value};
use crate::seed::Seeder;
use crate::stack::{Infra, pool};

const SCENARIO: &str = "rebuild";
const EVENTS_PER_STREAM: u64 = 10;

/// One rebuild as the child process ran it.
struct Rebuilt {
    wall: Duration,
    memory: Memory,
    /// `(events, elapsed)` the service logged, summed over its read models.
    logged: Option<(u64, Duration)>,
}

pub async fn run(plan: &Plan) -> anyhow::Result<Outcome> {
    let infra = Infra::create().await?;
    let binary = binaries::locate(EMPLOYEES)?;
    let env = vec![
        ("DATABASE_URL", infra.database.url.clone()),
        ("NATS_URL", infra.nats.url.clone()),
        ("TENURE_SUBJECT_ROOT", infra.nats.subject_root()),
        ("RUST_LOG", "info".to_owned()),
        ("NO_COLOR", "1".to_owned()),
    ];
    let timeout = if plan.smoke {
        Duration::from_secs(120)
    } else {
        Duration::from_secs(1_200)
    };
    rebuild(&binary, &env, timeout)
        .await
        .context("rebuild of the empty store (migrates it)")?;

    let tenant = Uuid::now_v7();
    let seeder = Seeder::connect(&infra.database.url, tenant).await?;
    let reader = pool(&infra.database.url, 1).await?;
    let mut outcome = Outcome::default();
    let (mut stored, mut employees) = (0, 0);
    let mut results = Vec::new();
    for size in plan.rebuild_events {
        let seeding = Instant::now();
        employees += seeder
            .seed(size - stored, EVENTS_PER_STREAM, |_| {})
            .await?;
        seeder.analyze().await?;
        stored = size;
        eprintln!(
            "  {size} events seeded in {:.1} s; rebuilding",
            seeding.elapsed().as_secs_f64()
        );
        let rebuilt = rebuild(&binary, &env, timeout).await?;
        let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM employees.employee_directory")
            .fetch_one(&reader)
            .await?;
        if rows != employees as i64 {
            outcome.failures.push(format!("after rebuilding {size} events the directory holds {rows} employees, expected {employees}"));
        }
        let (scanned, scan_time) = scan::scan(&reader).await?;
        anyhow::ensure!(
            scanned == size,
            "the raw scan read {scanned} events, expected {size}"
        );
        if let Some((events, elapsed)) = rebuilt.logged {
            outcome.notes.push(format!(
                "rebuild of {size} events: the service logged {events} events applied in {:.2} s \
                 ({:.0}/s without process start and migrations); wall time {:.2} s",
                elapsed.as_secs_f64(),
                events as f64 / elapsed.as_secs_f64().max(1e-9),
                rebuilt.wall.as_secs_f64()
            ));
        }
        results.push((size, rebuilt, size as f64 / scan_time.as_secs_f64()));
    }

    let largest = plan.rebuild_events[1];
    for (size, rebuilt, scan_rate) in &results {
        let mut rate = Figure::new(
            SCENARIO,
            format!("events/s, {}", format_value(*size as f64, Unit::Count)),
            Unit::PerSecond,
            *size as f64 / rebuilt.wall.as_secs_f64(),
        )
        .against("raw scan", *scan_rate);
        if *size == largest {
            rate = rate.target(Target::AtLeast(100_000.0));
        }
        outcome.figures.push(rate);
    }
    let [(small, small_run, _), (large, large_run, _)] = &results[..] else {
        anyhow::bail!("the rebuild ran {} times, expected 2", results.len());
    };
    outcome.figures.push(Figure::new(
        SCENARIO,
        format!("peak RSS, {}", format_value(*small as f64, Unit::Count)),
        Unit::MiB,
        small_run.memory.peak_mib(),
    ));
    outcome.figures.push(
        Figure::new(
            SCENARIO,
            format!("peak RSS, {}", format_value(*large as f64, Unit::Count)),
            Unit::MiB,
            large_run.memory.peak_mib(),
        )
        .against(
            format!("{} events", format_value(*small as f64, Unit::Count)),
            small_run.memory.peak_mib(),
        )
        .target(Target::RatioAtMost(1.2)),
    );
    Ok(outcome)
}

/// Runs `tenure-employees rebuild` to its end.
async fn rebuild(
    binary: &Path,
    env: &[(&str, String)],
    timeout: Duration,
) -> anyhow::Result<Rebuilt> {
    let started = Instant::now();
    let mut child = ChildProcess::spawn(binary, &["rebuild"], env)?;
    let (status, memory) = child.wait_sampling(timeout).await?;
    let wall = started.elapsed();
    anyhow::ensure!(
        status.success(),
        "tenure-employees rebuild failed ({status}):\n{}",
        child.log_tail(20)
    );
    Ok(Rebuilt {
        wall,
        memory,
        logged: logged(&child.log()),
    })
}

/// Sums `events=` and `elapsed=` of the service's "rebuilt" log lines.
fn logged(log: &str) -> Option<(u64, Duration)> {
    let mut total: Option<(u64, Duration)> = None;
    for line in log.lines().filter(|line| line.contains("rebuilt")) {
        let field = |name: &str| {
            line.split_whitespace()
                .find_map(|word| word.strip_prefix(name))
                .map(|value| value.trim_matches('"').to_owned())
        };
        let events = field("events=")?.parse::<u64>().ok()?;
        let elapsed = parse_duration(&field("elapsed=")?)?;
        let (sum_events, sum_elapsed) = total.unwrap_or_default();
        total = Some((sum_events + events, sum_elapsed + elapsed));
    }
    total
}

/// A `Duration` as `{:?}` prints it: `1.5s`, `850.2ms`, `12µs`, `7ns`.
fn parse_duration(text: &str) -> Option<Duration> {
    let split = text.find(|c: char| !(c.is_ascii_digit() || c == '.'))?;
    let (number, unit) = text.split_at(split);
    let value: f64 = number.parse().ok()?;
    let seconds = match unit {
        "s" => value,
        "ms" => value / 1e3,
        "µs" | "us" => value / 1e6,
        "ns" => value / 1e9,
        _ => return None,
    };
    Some(Duration::from_secs_f64(seconds))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rebuilt_lines_are_read() {
        let log = "2026-11-01T10:00:00Z  INFO rebuilt read_model=\"directory\" events=1000 elapsed=1.5s\n\
                   2026-11-01T10:00:01Z  INFO rebuilt read_model=\"teams\" events=1000 elapsed=500ms\n";
        assert_eq!(logged(log), Some((2000, Duration::from_secs(2))));
        assert_eq!(parse_duration("12µs"), Some(Duration::from_micros(12)));
        assert_eq!(logged("nothing here"), None);
    }
}
