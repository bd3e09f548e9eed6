//! The machine and the servers a run measured on, recorded with every report.

use serde::Serialize;
use sqlx::PgPool;

/// Where the figures come from.
#[derive(Debug, Clone, Serialize)]
pub struct Environment {
    pub machine: Machine,
    pub postgres: Postgres,
    pub nats: Nats,
    /// The bench's own build: `release` or `debug`.
    pub profile: &'static str,
}

#[derive(Debug, Clone, Serialize)]
pub struct Machine {
    pub cores: usize,
    pub cpu_model: String,
    pub memory_mib: u64,
    pub kernel: String,
}

/// The PostgreSQL server and the settings that decide commit cost.
#[derive(Debug, Clone, Serialize)]
pub struct Postgres {
    pub version: String,
    pub fsync: String,
    pub synchronous_commit: String,
    pub shared_buffers: String,
    pub wal_sync_method: String,
    pub max_connections: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Nats {
    pub version: String,
    pub jetstream: bool,
    /// The server of the relay scenario, started by the bench (`nats-server` in PATH).
    pub private_server_version: Option<String>,
}

impl Machine {
    /// Reads `/proc`; unknown fields stay empty rather than failing the run.
    pub fn read() -> Machine {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let cpu_model = cpuinfo
            .lines()
            .find_map(|line| {
                line.strip_prefix("model name")
                    .and_then(|rest| rest.split(':').nth(1))
            })
            .map(|model| model.trim().to_owned())
            .unwrap_or_default();
        let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
        let memory_kib = meminfo
            .lines()
            .find_map(|line| line.strip_prefix("MemTotal:"))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|kib| kib.parse::<u64>().ok())
            .unwrap_or(0);
        Machine {
            cores: std::thread::available_parallelism().map_or(0, |n| n.get()),
            cpu_model,
            memory_mib: memory_kib / 1024,
            kernel: std::fs::read_to_string("/proc/sys/kernel/osrelease")
                .unwrap_or_default()
                .trim()
                .to_owned(),
        }
    }
}

impl Postgres {
    pub async fn read(pool: &PgPool) -> anyhow::Result<Postgres> {
        let setting = |name: &'static str| async move {
            sqlx::query_scalar::<_, String>("SELECT current_setting($1)")
                .bind(name)
                .fetch_one(pool)
                .await
        };
        Ok(Postgres {
            version: setting("server_version").await?,
            fsync: setting("fsync").await?,
            synchronous_commit: setting("synchronous_commit").await?,
            shared_buffers: setting("shared_buffers").await?,
            wal_sync_method: setting("wal_sync_method").await?,
            max_connections: setting("max_connections").await?,
        })
    }
}

impl Nats {
    pub fn read(client: &async_nats::Client) -> Nats {
        let info = client.server_info();
        Nats {
            version: info.version,
            jetstream: info.jetstream,
            private_server_version: None,
        }
    }
}

/// The 1-minute load average: how busy the shared machine was around a scenario.
pub fn load_average() -> f64 {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|text| text.split_whitespace().next()?.parse().ok())
        .unwrap_or(0.0)
}

/// The environment of this run: the machine, the test servers and the
/// version of the `nats-server` the relay scenario starts.
pub async fn environment() -> anyhow::Result<Environment> {
    let database = tenure_testkit::TestDatabase::create().await?;
    let pool = database.pool().await;
    let postgres = Postgres::read(&pool).await?;
    pool.close().await;
    let nats = tenure_testkit::TestNats::connect().await?;
    let mut nats_info = Nats::read(&nats.client().await);
    let mut private = tenure_testkit::PrivateNats::start().await?;
    let client = async_nats::connect(private.url()).await?;
    nats_info.private_server_version = Some(client.server_info().version);
    drop(client);
    private.stop().await;
    Ok(Environment {
        machine: Machine::read(),
        postgres,
        nats: nats_info,
        profile: if cfg!(debug_assertions) {
            "debug"
        } else {
            "release"
        },
    })
}
