//! PostgreSQL's own load generator on the raw baseline's INSERT, when
//! `pgbench` is on `PATH`: one row per transaction, prepared (`-M prepared`),
//! into the same table. A C client on the same cores, so a reader sees how
//! close the bench's own raw baseline comes to what PostgreSQL allows.
//!
//! Each row is as large as the bench's: the same payload and metadata of the
//! same shape, built by the server (`gen_random_uuid()`: PostgreSQL 15 has no
//! time-ordered UUIDs, so its keys land at random places in the index).

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use uuid::Uuid;

use super::insert::ACTOR;

/// What one pgbench run measured.
#[derive(Debug, Clone, Copy)]
pub struct Pgbench {
    pub per_second: f64,
    /// Mean latency of a transaction (pgbench reports no percentiles without a log).
    pub latency_ms: f64,
}

/// The `pgbench` binary on `PATH`, if any.
pub fn locate() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join("pgbench"))
        .find(|candidate| candidate.is_file())
}

/// The transaction script: the raw baseline's INSERT, its payload inline,
/// the tenant and actor bound as pgbench variables (`--define`). No `::`
/// casts and no colons in literals: pgbench reads `:name` as a variable.
fn script(payload: &[u8]) -> String {
    let hex: String = payload.iter().map(|byte| format!("{byte:02x}")).collect();
    format!(
        "INSERT INTO bench_raw.events (stream_id, version, event_type, payload, metadata) \
         SELECT gen_random_uuid(), 1, 'EmployeeHired', decode('{hex}', 'hex'), \
         jsonb_build_object('event_id', id, 'tenant_id', CAST(:tenant AS uuid), \
         'actor', CAST(:actor AS text), 'correlation_id', id, 'schema_version', 1) \
         FROM (SELECT gen_random_uuid() AS id) AS event;\n"
    )
}

/// Runs pgbench with `clients` connections for `duration` (whole seconds, at
/// least one) against `database_url`, whose `bench_raw.events` must exist.
pub async fn run(
    binary: &Path,
    database_url: &str,
    clients: usize,
    duration: Duration,
    tenant_id: Uuid,
    payload: &[u8],
) -> anyhow::Result<Pgbench> {
    let file = std::env::temp_dir().join(format!("tenure-bench-{}.pgb", Uuid::now_v7().simple()));
    std::fs::write(&file, script(payload)).with_context(|| format!("write {}", file.display()))?;
    let threads = clients.min(std::thread::available_parallelism().map_or(1, usize::from));
    let output = tokio::process::Command::new(binary)
        .args(["--no-vacuum", "--protocol=prepared"])
        .arg(format!("--client={clients}"))
        .arg(format!("--jobs={threads}"))
        .arg(format!("--time={}", duration.as_secs().max(1)))
        .arg(format!("--define=tenant={tenant_id}"))
        .arg(format!("--define=actor={ACTOR}"))
        .arg("--file")
        .arg(&file)
        .arg(database_url)
        .kill_on_drop(true)
        .output()
        .await;
    let _ = std::fs::remove_file(&file);
    let output = output.with_context(|| format!("run {}", binary.display()))?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    anyhow::ensure!(
        output.status.success(),
        "pgbench failed ({}): {}{}",
        output.status,
        stdout,
        String::from_utf8_lossy(&output.stderr)
    );
    parse(&stdout).with_context(|| format!("pgbench printed no rate and latency:\n{stdout}"))
}

/// Reads `tps = …` and `latency average = … ms` from pgbench's summary.
fn parse(stdout: &str) -> Option<Pgbench> {
    let number_after = |prefix: &str| {
        stdout
            .lines()
            .find_map(|line| line.trim().strip_prefix(prefix))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|number| number.parse::<f64>().ok())
    };
    Some(Pgbench {
        per_second: number_after("tps = ")?,
        latency_ms: number_after("latency average = ")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_summary_is_read() {
        let stdout = "transaction type: /tmp/x.pgb\nnumber of clients: 32\n\
                      latency average = 1.961 ms\ninitial connection time = 40.1 ms\n\
                      tps = 16318.412301 (without initial connection time)\n";
        let run = parse(stdout).unwrap();
        assert_eq!(run.per_second, 16318.412301);
        assert_eq!(run.latency_ms, 1.961);
        assert!(parse("no summary").is_none());
    }

    #[tokio::test]
    async fn pgbench_inserts_rows_where_installed() {
        let Some(binary) = locate() else { return };
        let database = tenure_testkit::TestDatabase::create().await.unwrap();
        let pool = database.pool().await;
        super::super::insert::create_table(&pool).await.unwrap();
        let run = run(
            &binary,
            &database.url,
            2,
            Duration::from_secs(1),
            Uuid::now_v7(),
            &[1, 2, 3],
        )
        .await
        .unwrap();
        let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM bench_raw.events")
            .fetch_one(&pool)
            .await
            .unwrap();
        assert!(rows > 0 && run.per_second > 0.0, "{run:?}, {rows} rows");
    }
}
