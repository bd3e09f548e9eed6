//! The servers and services a scenario measures: a fresh database, isolated
//! JetStream subjects, and the employees and development services in-process
//! on port 0.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context;
use sqlx::PgPool;
use sqlx::postgres::PgPoolOptions;
use tenure_employees::grpc::EmployeesApi;
use tenure_proto::tenure::employees::v1::employees_service_client::EmployeesServiceClient;
use tenure_runtime::CancellationToken;
use tenure_testkit::{TestDatabase, TestNats};
use tokio_util::sync::DropGuard;
use tonic::transport::Channel;

/// How long a service may take to stop after shutdown.
const STOP_TIMEOUT: Duration = Duration::from_secs(30);

/// A fresh database and a subject root of its own on the shared NATS server;
/// both are cleaned up on drop.
pub struct Infra {
    pub database: TestDatabase,
    pub nats: TestNats,
}

impl Infra {
    pub async fn create() -> anyhow::Result<Infra> {
        let database = TestDatabase::create()
            .await
            .context("create a test database")?;
        let nats = TestNats::connect()
            .await
            .context("connect to the test NATS server")?;
        Ok(Infra { database, nats })
    }

    /// A pool of `size` connections to the fresh database (default search path).
    pub async fn pool(&self, size: u32) -> anyhow::Result<PgPool> {
        pool(&self.database.url, size).await
    }
}

/// A pool of exactly `size` connections, all opened now.
pub async fn pool(url: &str, size: u32) -> anyhow::Result<PgPool> {
    PgPoolOptions::new()
        .max_connections(size)
        .min_connections(size)
        .acquire_timeout(Duration::from_secs(60))
        .connect(url)
        .await
        .context("connect to the bench database")
}

/// Where the services find their servers.
#[derive(Debug, Clone)]
pub struct Servers {
    pub database_url: String,
    pub nats_url: String,
    pub subject_root: String,
}

impl Servers {
    pub fn of(infra: &Infra) -> Servers {
        Servers {
            database_url: infra.database.url.clone(),
            nats_url: infra.nats.url.clone(),
            subject_root: infra.nats.subject_root(),
        }
    }
}

/// The employees service running in this process; dropping it shuts it down.
pub struct Employees {
    pub grpc_addr: SocketAddr,
    pub api: EmployeesApi,
    running: tenure_employees::Running,
    shutdown: DropGuard,
}

impl Employees {
    /// Starts the service with a pool of `pool_size` connections.
    pub async fn start(servers: &Servers, pool_size: u32) -> anyhow::Result<Employees> {
        let mut config = tenure_employees::config::Config::new(
            &servers.database_url,
            &servers.nats_url,
            &servers.subject_root,
        );
        config.common.db_pool_size = pool_size;
        let shutdown = CancellationToken::new();
        let running = tenure_employees::start(&config, shutdown.clone())
            .await
            .context("start the employees service")?;
        Ok(Employees {
            grpc_addr: running.grpc_addr,
            api: running.api(),
            running,
            shutdown: shutdown.drop_guard(),
        })
    }

    /// A new gRPC connection to the service.
    pub async fn client(&self) -> anyhow::Result<EmployeesServiceClient<Channel>> {
        grpc_client(self.grpc_addr).await
    }

    pub async fn stop(self) -> anyhow::Result<()> {
        drop(self.shutdown);
        tokio::time::timeout(STOP_TIMEOUT, self.running.wait())
            .await
            .context("the employees service did not stop in time")?
            .context("the employees service failed")
    }
}

/// A gRPC client on a connection of its own.
pub async fn grpc_client(addr: SocketAddr) -> anyhow::Result<EmployeesServiceClient<Channel>> {
    let channel = Channel::from_shared(format!("http://{addr}"))?
        .tcp_nodelay(true)
        .connect()
        .await
        .with_context(|| format!("connect to gRPC at {addr}"))?;
    Ok(EmployeesServiceClient::new(channel))
}

/// The development service running in this process; dropping it shuts it down.
pub struct Development {
    running: tenure_development::Running,
    shutdown: DropGuard,
}

impl Development {
    pub async fn start(servers: &Servers, pool_size: u32) -> anyhow::Result<Development> {
        let mut config = tenure_development::config::Config::new(
            &servers.database_url,
            &servers.nats_url,
            &servers.subject_root,
        );
        config.common.db_pool_size = pool_size;
        let shutdown = CancellationToken::new();
        let running = tenure_development::start(&config, shutdown.clone())
            .await
            .context("start the development service")?;
        Ok(Development {
            running,
            shutdown: shutdown.drop_guard(),
        })
    }

    pub async fn stop(self) -> anyhow::Result<()> {
        drop(self.shutdown);
        tokio::time::timeout(STOP_TIMEOUT, self.running.wait())
            .await
            .context("the development service did not stop in time")?
            .context("the development service failed")
    }
}
