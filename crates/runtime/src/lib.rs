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
//! - [`operations`]: operator commands: dead letters, and events the relay parked.
//! - [`request`] and [`request_id`]: who calls, and the idempotency key a
//!   command carries, read and checked at the edge.

pub mod config;
pub mod grpc;
pub mod nats;
pub mod operations;
pub mod request;
pub mod request_id;
pub mod shutdown;
pub mod telemetry;

pub use config::CommonConfig;
pub use request::Caller;
pub use request_id::{RequestId, RequestIdError};
pub use tokio_util::sync::CancellationToken;
