//! Connecting to NATS so that a missing server delays publishing, not startup.

use std::time::Duration;

/// A client that keeps retrying while the server is away, at start and later.
/// Commands keep succeeding meanwhile: the relay publishes their events once
/// the server is back.
pub use async_nats::{Client, ConnectError};

/// Connects to the server or cluster `urls`: one URL, or several separated
/// by commas (the seeds of a cluster; the client learns the other nodes
/// from them and moves to another when one goes away).
pub async fn connect(urls: &str, name: &str) -> Result<Client, ConnectError> {
    let seeds = seeds(urls);
    async_nats::ConnectOptions::new()
        .name(name)
        .retry_on_initial_connect()
        .connection_timeout(Duration::from_secs(5))
        .connect(seeds.as_slice())
        .await
}

/// The URLs of a comma-separated list, trimmed, without empty entries.
fn seeds(urls: &str) -> Vec<String> {
    urls.split(',')
        .map(str::trim)
        .filter(|url| !url.is_empty())
        .map(str::to_owned)
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_comma_separated_list_is_several_seeds() {
        assert_eq!(
            super::seeds("nats://a:1, nats://b:2,,nats://c:3"),
            ["nats://a:1", "nats://b:2", "nats://c:3"]
        );
        assert_eq!(super::seeds("nats://a:1"), ["nats://a:1"]);
    }
}
