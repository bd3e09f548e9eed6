//! Settings every service shares, read from the environment (or flags).

use std::time::Duration;

use clap::Args;

/// Shared settings; each service flattens these into its own `clap` parser.
#[derive(Debug, Clone, Args)]
pub struct CommonConfig {
    /// PostgreSQL URL of the service's database, e.g. postgres://user@host:5432/tenure.
    #[arg(long, env = "DATABASE_URL", value_parser = parse_postgres_url)]
    pub database_url: String,

    /// NATS server URL(s), comma separated, e.g. nats://127.0.0.1:4222.
    #[arg(long, env = "NATS_URL", default_value = "nats://127.0.0.1:4222", value_parser = parse_nats_url)]
    pub nats_url: String,

    /// First token of every subject this deployment publishes: `<root>.<service>.<EventType>`.
    #[arg(long, env = "TENURE_SUBJECT_ROOT", default_value = "tenure", value_parser = parse_subject_token)]
    pub subject_root: String,

    /// Most PostgreSQL connections the service opens.
    #[arg(long, env = "TENURE_DB_POOL_SIZE", default_value_t = 16, value_parser = clap::value_parser!(u32).range(2..=1000))]
    pub db_pool_size: u32,

    /// A stream is snapshotted whenever it crosses a multiple of this many events.
    #[arg(long, env = "TENURE_SNAPSHOT_EVERY", default_value_t = 100, value_parser = clap::value_parser!(i64).range(1..))]
    pub snapshot_every: i64,

    /// Aggregate states kept in memory per repository so hot streams skip
    /// their load (always checked against the store on append); 0 turns it off.
    #[arg(long, env = "TENURE_STATE_CACHE", default_value_t = 10_000)]
    pub state_cache: usize,

    /// Connections that write commands, each combining the commands queued
    /// for it into one statement and one commit (group commit). Taken from
    /// the pool for good, so keep it well below TENURE_DB_POOL_SIZE.
    #[arg(long, env = "TENURE_DB_WRITERS", default_value_t = 2, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub db_writers: u16,

    /// How often the relay polls when nothing woke it, in milliseconds.
    #[arg(long, env = "TENURE_RELAY_POLL_MS", default_value_t = 500, value_parser = clap::value_parser!(u64).range(10..=60_000))]
    pub relay_poll_ms: u64,

    /// How long a replica's leases (the relay, consumer partitions) last
    /// without renewal, in milliseconds: how long the work of a replica that
    /// crashed or hangs waits before another replica takes it over.
    #[arg(long, env = "TENURE_LEASE_TTL_MS", default_value_t = 15_000, value_parser = clap::value_parser!(u64).range(300..=600_000))]
    pub lease_ttl_ms: u64,

    /// Copies JetStream keeps of the service's event stream: 1 on a single
    /// server, 3 in a three-node cluster. An existing stream is updated to it.
    #[arg(long, env = "TENURE_NATS_REPLICAS", default_value_t = 1, value_parser = clap::value_parser!(u8).range(1..=5))]
    pub nats_replicas: u8,

    /// Where JetStream keeps the service's event stream: `file` (durable) or `memory`.
    #[arg(long, env = "TENURE_NATS_STORAGE", default_value = "file", value_parser = ["file", "memory"])]
    pub nats_storage: String,

    /// OTLP gRPC endpoint for traces, e.g. http://127.0.0.1:4317; unset: no export.
    #[arg(long, env = "OTEL_EXPORTER_OTLP_ENDPOINT")]
    pub otlp_endpoint: Option<String>,
}

impl CommonConfig {
    /// The defaults, with the given servers: for tests and tools that build
    /// a service's settings in code.
    pub fn new(database_url: &str, nats_url: &str, subject_root: &str) -> Self {
        Self {
            database_url: database_url.to_owned(),
            nats_url: nats_url.to_owned(),
            subject_root: subject_root.to_owned(),
            db_pool_size: 16,
            snapshot_every: 100,
            state_cache: 10_000,
            db_writers: 2,
            relay_poll_ms: 500,
            lease_ttl_ms: 15_000,
            nats_replicas: 1,
            nats_storage: "file".to_owned(),
            otlp_endpoint: None,
        }
    }

    pub fn relay_poll_interval(&self) -> Duration {
        Duration::from_millis(self.relay_poll_ms)
    }

    pub fn lease_ttl(&self) -> Duration {
        Duration::from_millis(self.lease_ttl_ms)
    }

    /// Whether the event stream lives in memory rather than on disk.
    pub fn nats_memory_storage(&self) -> bool {
        self.nats_storage == "memory"
    }
}

fn parse_postgres_url(value: &str) -> Result<String, String> {
    if value.starts_with("postgres://") || value.starts_with("postgresql://") {
        Ok(value.to_owned())
    } else {
        Err("expected a URL starting with postgres:// or postgresql://".to_owned())
    }
}

fn parse_nats_url(value: &str) -> Result<String, String> {
    let valid = value.split(',').map(str::trim).all(|url| {
        ["nats://", "tls://", "ws://", "wss://"]
            .iter()
            .any(|scheme| url.starts_with(scheme))
            && url.len() > 7
    });
    if valid {
        Ok(value.to_owned())
    } else {
        Err("expected nats://host:port (several separated by commas)".to_owned())
    }
}

fn parse_subject_token(value: &str) -> Result<String, String> {
    let valid = !value.is_empty()
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if valid {
        Ok(value.to_owned())
    } else {
        Err("expected one subject token: letters, digits, '_' or '-'".to_owned())
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::CommonConfig;

    #[derive(Debug, Parser)]
    struct Test {
        #[command(flatten)]
        common: CommonConfig,
    }

    fn parse(args: &[&str]) -> Result<CommonConfig, String> {
        let mut all = vec!["test"];
        all.extend_from_slice(args);
        Test::try_parse_from(all)
            .map(|t| t.common)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn defaults_apply_and_urls_are_checked() {
        let config = parse(&["--database-url", "postgres://u@h/db"]).unwrap();
        assert_eq!(config.nats_url, "nats://127.0.0.1:4222");
        assert_eq!(config.subject_root, "tenure");
        assert_eq!(config.db_pool_size, 16);

        let error = parse(&["--database-url", "mysql://x"]).unwrap_err();
        assert!(error.contains("postgres://"), "{error}");
        let error = parse(&[
            "--database-url",
            "postgres://h/db",
            "--nats-url",
            "http://x",
        ])
        .unwrap_err();
        assert!(error.contains("nats://"), "{error}");
        let error =
            parse(&["--database-url", "postgres://h/db", "--db-pool-size", "0"]).unwrap_err();
        assert!(error.contains("db-pool-size"), "{error}");
        let error =
            parse(&["--database-url", "postgres://h/db", "--subject-root", "a.b"]).unwrap_err();
        assert!(error.contains("subject token"), "{error}");
    }
}
