//! Real servers for tests, no mocks.
//!
//! - [`TestDatabase`]: a fresh PostgreSQL database per test, dropped afterwards.
//! - [`TestNats`]: the shared NATS server with a unique subject and stream
//!   prefix per test; the test's streams are deleted afterwards.
//! - [`PrivateNats`]: a NATS server of the test's own, for tests that stop and
//!   restart it.
//! - [`NatsCluster`]: three JetStream servers in one cluster of the test's
//!   own, for replicated streams while members crash and come back.
//! - [`binaries`]: which `nats-server` the testkit runs and its version.
//! - [`free_port`], [`dead_url`]: ports for servers to start or to find nothing on.
//! - [`init_tracing`]: log output in tests, filtered by `RUST_LOG`.
//!
//! Servers are found from the environment (`TENURE_TEST_DATABASE_URL`,
//! `TENURE_TEST_NATS_URL`) or on their standard local ports. When neither is
//! there, the testkit starts private ones from the installed binaries under
//! `/tmp/tenure-testkit` (or `$TENURE_TESTKIT_DIR`) and keeps them running for
//! later test runs. Without binaries it asks to run `deploy/stack.sh infra`.
//!
//! The testkit's own NATS servers run `$TENURE_NATS_SERVER`, else the current
//! release `deploy/stack.sh infra` installs under `.stack/nats-venv`, else an
//! installed one (see [`binaries::nats_server`]).

pub mod binaries;
mod cluster;
mod drop_thread;
mod fallback;
mod logging;
mod monitor;
mod nats;
mod nats_config;
mod node;
mod port;
mod postgres;
mod private_server;
pub mod service_binaries;

pub use cluster::NatsCluster;
pub use logging::init_tracing;
pub use nats::TestNats;
pub use port::{dead_url, free_port};
pub use postgres::TestDatabase;
pub use private_server::PrivateNats;
