//! The employees service: employment and the person at work.
//!
//! - [`domain`]: the pure model — the `Employee` aggregate, its commands,
//!   events and rules, and the as-of fold over effective dates.
//! - [`app`]: load → decide → append, with the facts a command needs from
//!   the read models (manager, today) put into it first.
//! - [`projections`]: read models updated inside every append, and the
//!   queries over them.
//! - [`grpc`]: the `EmployeesService` API — translation only; `status.rs` is
//!   the one place gRPC codes are chosen.
//!
//! - [`reactions`]: other services' events (offboarding completed, alumnus
//!   rehired) turned into commands, exactly once.
//!
//! [`start`] runs the gRPC server, the relay to JetStream, the
//! cross-replica notifier and the reactions' consumers until shutdown;
//! `rebuild` rebuilds the read models.

pub mod app;
pub mod config;
pub mod domain;
pub mod grpc;
pub mod projections;
pub mod reactions;

use std::net::SocketAddr;
use std::sync::Arc;

use async_nats::jetstream::stream::StorageType;
use sqlx::migrate::Migrator;
use tenure_kernel::consumer::{Consumer, ConsumerSettings};
use tenure_kernel::relay::{Relay, RelaySettings, notifier};
use tenure_kernel::store::{OpenError, open};
use tenure_kernel::{EventStore, StoreError, StoreSettings};
use tenure_proto::tenure::employees::v1::employees_service_server::EmployeesServiceServer;
use tenure_runtime::CancellationToken;
use tenure_runtime::grpc::{ServeError, ServeOptions, Serving};
use tenure_runtime::operations;
use tonic::service::Routes;

use crate::app::EmployeesApp;
use crate::config::{Command, Config};
use crate::grpc::EmployeesApi;

/// The service's own tables, versions 100 and up (the kernel's come first).
static MIGRATIONS: Migrator = sqlx::migrate!("./migrations");

const SERVICE: &str = "employees";
const SERVICE_NAMES: &[&str] = &["tenure.employees.v1.EmployeesService"];

#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error(transparent)]
    Store(#[from] OpenError),
    #[error("cannot connect to NATS")]
    Nats(#[from] tenure_runtime::nats::ConnectError),
    #[error(transparent)]
    Serve(#[from] ServeError),
    #[error("rebuilding a read model failed")]
    Rebuild(#[source] StoreError),
    #[error(transparent)]
    Operations(#[from] tenure_runtime::operations::OperationsError),
}

/// The running service.
pub struct Running {
    /// Where gRPC listens (useful with port 0).
    pub grpc_addr: SocketAddr,
    api: EmployeesApi,
    serving: Serving,
}

impl Running {
    /// The API without the transport: what the gRPC server calls.
    pub fn api(&self) -> EmployeesApi {
        self.api.clone()
    }

    /// Waits until shutdown has stopped the server and the background tasks.
    pub async fn wait(self) -> Result<(), ServiceError> {
        Ok(self.serving.wait().await?)
    }
}

/// Runs what the configuration asks for until `shutdown`.
pub async fn run(config: Config, shutdown: CancellationToken) -> Result<(), ServiceError> {
    match &config.command {
        Some(Command::Rebuild) => rebuild(&config).await,
        Some(Command::DeadLetters { command }) => {
            let store = open_store(&config).await?;
            let out = &mut std::io::stdout();
            Ok(operations::dead_letters(store.pool(), command, out).await?)
        }
        Some(Command::Relay { command }) => {
            let store = open_store(&config).await?;
            Ok(operations::relay(store.pool(), command, &mut std::io::stdout()).await?)
        }
        Some(Command::Serve) | None => start(&config, shutdown).await?.wait().await,
    }
}

async fn open_store(config: &Config) -> Result<EventStore, OpenError> {
    let settings = StoreSettings {
        snapshot_every: config.common.snapshot_every,
        state_cache: config.common.state_cache,
        writers: usize::from(config.common.db_writers),
        ..StoreSettings::new(&config.db_schema)
    };
    open(
        &config.common.database_url,
        config.common.db_pool_size,
        settings,
        &MIGRATIONS,
    )
    .await
}

/// Migrates, then serves gRPC and relays events to JetStream in the background.
pub async fn start(config: &Config, shutdown: CancellationToken) -> Result<Running, ServiceError> {
    let store = open_store(config).await?;
    let nats = tenure_runtime::nats::connect(&config.common.nats_url, "tenure-employees").await?;

    let relay_settings = RelaySettings {
        poll_interval: config.common.relay_poll_interval(),
        replicas: usize::from(config.common.nats_replicas),
        lease_ttl: config.common.lease_ttl(),
        storage: if config.common.nats_memory_storage() {
            StorageType::Memory
        } else {
            StorageType::File
        },
        ..RelaySettings::new(SERVICE, &config.common.subject_root)
    };
    let relay = Relay::new(store.clone(), nats.clone(), relay_settings);
    let mut background = vec![
        tokio::spawn(relay.run(shutdown.clone())),
        tokio::spawn(notifier::run(store.clone(), shutdown.clone())),
    ];

    let app = EmployeesApp::new(store.clone());
    let repository = Arc::new(app.repository().clone());
    let root = &config.common.subject_root;
    let offboarding = Consumer::new(
        store.clone(),
        nats.clone(),
        ConsumerSettings {
            lease_ttl: config.common.lease_ttl(),
            ..reactions::consumer_settings(root, "offboarding")
        },
        Arc::new(reactions::OffboardingReaction::new(repository.clone())),
    );
    let alumni = Consumer::new(
        store.clone(),
        nats.clone(),
        ConsumerSettings {
            lease_ttl: config.common.lease_ttl(),
            ..reactions::consumer_settings(root, "alumni")
        },
        Arc::new(reactions::AlumniReaction::new(
            repository,
            store.pool().clone(),
        )),
    );
    background.push(tokio::spawn(offboarding.run(shutdown.clone())));
    background.push(tokio::spawn(alumni.run(shutdown.clone())));

    let api = EmployeesApi::new(app);
    let routes = Routes::new(EmployeesServiceServer::new(api.clone()));
    let options = ServeOptions {
        descriptor_set: tenure_proto::FILE_DESCRIPTOR_SET,
        services: SERVICE_NAMES,
    };
    let serving = Serving::start(config.grpc_addr, routes, options, background, shutdown).await?;
    Ok(Running {
        grpc_addr: serving.grpc_addr,
        api,
        serving,
    })
}

/// Rebuilds every read model from the event store.
async fn rebuild(config: &Config) -> Result<(), ServiceError> {
    let store = open_store(config).await?;
    let reports = projections::rebuild_all(&store)
        .await
        .map_err(ServiceError::Rebuild)?;
    for (name, report) in reports {
        tracing::info!(read_model = name, events = report.events, elapsed = ?report.elapsed, "rebuilt");
    }
    Ok(())
}
