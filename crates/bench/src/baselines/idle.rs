//! The footprint baseline, run as `tenure-bench idle-stack` in a child
//! process: what every service holds before any Tenure code runs — the
//! runtime's telemetry and gRPC server (health, reflection), a PostgreSQL
//! pool and a NATS client — idling until SIGTERM.

use std::net::SocketAddr;

use anyhow::Context;
use sqlx::postgres::PgPoolOptions;
use tenure_runtime::grpc::ServeOptions;
use tokio::net::TcpListener;
use tonic::service::Routes;

/// Serves until SIGTERM, configured by `DATABASE_URL`, `NATS_URL` and `TENURE_GRPC_ADDR`.
pub async fn run() -> anyhow::Result<()> {
    let _telemetry = tenure_runtime::telemetry::init("tenure-bench-idle", None)?;
    let env = |name: &str| std::env::var(name).with_context(|| format!("{name} is not set"));
    let addr: SocketAddr = env("TENURE_GRPC_ADDR")?
        .parse()
        .context("TENURE_GRPC_ADDR")?;
    let pool = PgPoolOptions::new()
        .max_connections(16)
        .connect(&env("DATABASE_URL")?)
        .await?;
    let nats = tenure_runtime::nats::connect(&env("NATS_URL")?, "tenure-bench-idle").await?;
    let shutdown = tenure_runtime::shutdown::on_signal();
    let listener = TcpListener::bind(addr).await?;
    let options = ServeOptions {
        descriptor_set: tenure_proto::FILE_DESCRIPTOR_SET,
        services: &[],
    };
    tenure_runtime::grpc::serve(listener, Routes::default(), options, shutdown).await?;
    drop((pool, nats));
    Ok(())
}
