//! Connecting to NATS so that a missing server delays publishing, not startup.

use std::time::Duration;

/// A client that keeps retrying while the server is away, at start and later.
/// Commands keep succeeding meanwhile: the outbox holds their events.
pub use async_nats::{Client, ConnectError};

pub async fn connect(url: &str, name: &str) -> Result<Client, ConnectError> {
    async_nats::ConnectOptions::new()
        .name(name)
        .retry_on_initial_connect()
        .connection_timeout(Duration::from_secs(5))
        .connect(url)
        .await
}
