//! The raw baselines: each does one scenario's work in its plainest fast
//! form, on the same servers, with none of Tenure's code in the path.
//!
//! - [`insert`]: one-row INSERT transactions into an events-shaped table.
//! - [`insert_service`]: the same INSERT behind a minimal tonic `HireEmployee`.
//! - [`pgbench`]: PostgreSQL's own client running the same INSERT, when installed.
//! - [`publish`]: pipelined JetStream publishes with `Nats-Msg-Id`.
//! - [`pipe`]: a message through JetStream into a PostgreSQL table.
//! - [`scan`]: one streaming read of every stored event, decoded.
//! - [`idle`]: the runtime's gRPC server, a pool and a NATS client, idle.

pub mod idle;
pub mod insert;
pub mod insert_service;
pub mod pgbench;
pub mod pipe;
pub mod publish;
pub mod scan;
