//! What every Tenure service binary needs, and nothing of any domain.
//!
//! - [`config`]: settings shared by all services, from environment variables
//!   (`DATABASE_URL`, `NATS_URL`, `TENURE_*`) with clear errors for bad values.
//! - [`telemetry`]: `tracing` output, and OpenTelemetry OTLP export when an
//!   endpoint is configured.
//! - [`grpc`]: serving a service's gRPC routes with health checking and
//!   server reflection, until shutdown.
//! - [`shutdown`]: one token that SIGTERM or Ctrl-C cancels, passed to every
//!   server and loop.
//! - [`nats`]: a NATS connection that survives the server being away.
//! - [`operations`]: operator commands: dead letters and parked outbox rows.

pub mod config;
pub mod grpc;
pub mod nats;
pub mod operations;
pub mod request;
pub mod shutdown;
pub mod telemetry;

pub use config::CommonConfig;
pub use request::Caller;
pub use tokio_util::sync::CancellationToken;
