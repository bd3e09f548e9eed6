//! The employees service's settings.

use std::net::SocketAddr;

use clap::{Parser, Subcommand};
use tenure_runtime::CommonConfig;
use tenure_runtime::operations::{DeadLetterCommand, RelayCommand};

/// Employment and the person at work.
#[derive(Debug, Clone, Parser)]
#[command(name = "tenure-employees", version)]
pub struct Config {
    #[command(flatten)]
    pub common: CommonConfig,

    /// Address the gRPC server listens on; port 0 picks a free one.
    #[arg(long, env = "TENURE_GRPC_ADDR", default_value = "127.0.0.1:50051")]
    pub grpc_addr: SocketAddr,

    /// PostgreSQL schema holding this service's tables.
    #[arg(long, env = "TENURE_DB_SCHEMA", default_value = "employees")]
    pub db_schema: String,

    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Clone, Subcommand)]
pub enum Command {
    /// Serve gRPC and consume events (the default).
    Serve,
    /// Rebuild every read model from the event store, then exit.
    Rebuild,
    /// The consumers' dead letters: list, redrive or discard them.
    DeadLetters {
        #[command(subcommand)]
        command: DeadLetterCommand,
    },
    /// The relay: events JetStream refused every time (list them, or put
    /// one back) and how far it is behind.
    Relay {
        #[command(subcommand)]
        command: RelayCommand,
    },
}

impl Config {
    /// Settings for a service in tests: given servers, a free port.
    pub fn new(database_url: &str, nats_url: &str, subject_root: &str) -> Self {
        Self {
            common: CommonConfig::new(database_url, nats_url, subject_root),
            grpc_addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            db_schema: "employees".to_owned(),
            command: None,
        }
    }
}
