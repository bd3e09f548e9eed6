//! The development service: growth, challenge, connection and engagement.
//!
//! So far it owns one read model, `people`: what it knows of every employee,
//! built from the employees service's events on JetStream ([`people`]), and
//! served over gRPC as `GetPerson` ([`grpc`]). Conversations, challenges,
//! check-ins and workshops come with their own issue.

pub mod config;
pub mod grpc;
pub mod people;

use std::sync::Arc;

use sqlx::migrate::Migrator;
use tenure_kernel::consumer::{Consumer, ConsumerSettings};
use tenure_kernel::store::{OpenError, open};
use tenure_kernel::{EventStore, StoreSettings};
use tenure_proto::tenure::development::v1::development_service_server::DevelopmentServiceServer;
use tenure_runtime::CancellationToken;
use tenure_runtime::grpc::{ServeError, ServeOptions, Serving};
use tonic::service::Routes;

use crate::config::{Command, Config};

/// The service's own tables, versions 100 and up (the kernel's come first).
static MIGRATIONS: Migrator = sqlx::migrate!("./migrations");

const SERVICE_NAMES: &[&str] = &["tenure.development.v1.DevelopmentService"];

#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error(transparent)]
    Store(#[from] OpenError),
    #[error("cannot connect to NATS")]
    Nats(#[from] tenure_runtime::nats::ConnectError),
    #[error(transparent)]
    Serve(#[from] ServeError),
    #[error("rebuilding the people read model failed")]
    Rebuild(#[source] tenure_kernel::consumer::operations::ResetError),
    #[error(transparent)]
    Operations(#[from] tenure_runtime::operations::OperationsError),
}

/// The running service: its gRPC address and tasks.
pub type Running = Serving;

/// Runs what the configuration asks for until `shutdown`.
pub async fn run(config: Config, shutdown: CancellationToken) -> Result<(), ServiceError> {
    match &config.command {
        Some(Command::Rebuild) => rebuild(&config).await,
        Some(Command::DeadLetters { command }) => {
            let store = open_store(&config).await?;
            let out = &mut std::io::stdout();
            Ok(tenure_runtime::operations::dead_letters(store.pool(), command, out).await?)
        }
        Some(Command::Serve) | None => Ok(start(&config, shutdown).await?.wait().await?),
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

/// Migrates, then serves gRPC and consumes the employees events in the background.
pub async fn start(config: &Config, shutdown: CancellationToken) -> Result<Running, ServiceError> {
    let store = open_store(config).await?;
    let nats = tenure_runtime::nats::connect(&config.common.nats_url, "tenure-development").await?;

    let settings = ConsumerSettings {
        lease_ttl: config.common.lease_ttl(),
        ..people::consumer_settings(&config.common.subject_root)
    };
    let consumer = Consumer::new(
        store.clone(),
        nats,
        settings,
        Arc::new(people::PeopleProjection),
    );
    let consumer = tokio::spawn(consumer.run(shutdown.clone()));

    let routes = Routes::new(DevelopmentServiceServer::new(grpc::DevelopmentApi::new(
        store.pool().clone(),
    )));
    let options = ServeOptions {
        descriptor_set: tenure_proto::FILE_DESCRIPTOR_SET,
        services: SERVICE_NAMES,
    };
    Ok(Serving::start(config.grpc_addr, routes, options, vec![consumer], shutdown).await?)
}

/// Empties the people read model so that it is built again from the start of
/// the employees stream.
async fn rebuild(config: &Config) -> Result<(), ServiceError> {
    let store = open_store(config).await?;
    let nats = tenure_runtime::nats::connect(&config.common.nats_url, "tenure-development-rebuild")
        .await?;
    let settings = people::consumer_settings(&config.common.subject_root);
    people::rebuild(&store, nats, &settings)
        .await
        .map_err(ServiceError::Rebuild)?;
    tracing::info!(
        "people read model emptied; the service rebuilds it from the employees stream when it runs"
    );
    Ok(())
}
