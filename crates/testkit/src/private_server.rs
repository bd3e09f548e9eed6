//! A NATS server of the test's own, to stop and restart.

use std::path::Path;
use std::time::Duration;

use crate::binaries;
use crate::nats_config::ServerConfig;
use crate::node::Node;
use crate::port::free_ports;

/// How long a start may take until the port accepts connections.
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// A JetStream-enabled `nats-server` child process on a free port of
/// 127.0.0.1 with its store in a temporary directory, for tests that stop,
/// restart or otherwise mistreat the broker without touching the shared one.
///
/// The binary is [`binaries::nats_server`]; on 2.10 and later JetStream
/// syncs every write to disk (`sync_interval: always`), as in production.
/// Dropping it kills the server and removes the directory.
#[derive(Debug)]
pub struct PrivateNats {
    /// The server; its ports and store stay the same across restarts.
    node: Node,
    /// The binary's version.
    version: (u32, u32, u32),
}

impl PrivateNats {
    /// Starts the server and waits until it accepts connections.
    ///
    /// # Errors
    /// When `nats-server` is not installed or does not come up.
    pub async fn start() -> anyhow::Result<PrivateNats> {
        let binary = binaries::nats_server()?;
        let version = binaries::version_of(&binary)?;
        let dir = std::env::temp_dir().join(format!(
            "tenure-private-nats-{}",
            uuid::Uuid::new_v4().simple()
        ));
        let ports = free_ports(2);
        let config = ServerConfig {
            name: "private".into(),
            port: ports[0],
            http_port: ports[1],
            dir: dir.clone(),
            version,
            cluster: None,
        };
        let node = Node::create(&binary, config).inspect_err(|_| remove(&dir))?;
        let mut server = PrivateNats { node, version };
        server.restart().await?;
        Ok(server)
    }

    /// The URL clients connect to, `nats://127.0.0.1:<port>`; it stays the
    /// same across [`stop`](Self::stop) and [`restart`](Self::restart).
    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.node.config().port)
    }

    /// The version of the running binary, e.g. `(2, 15, 1)`.
    pub fn version(&self) -> (u32, u32, u32) {
        self.version
    }

    /// Stops the server gracefully (SIGTERM, then SIGKILL after 10 s) and
    /// waits until it has exited, so the port is released. Does nothing when
    /// it is not running.
    pub async fn stop(&mut self) {
        self.node.stop().await;
    }

    /// Kills the server abruptly (SIGKILL), like a crash, and waits until it
    /// has exited. Does nothing when it is not running.
    pub async fn kill(&mut self) {
        self.node.kill();
    }

    /// Starts the server again on the same port with the same store, so
    /// JetStream streams and their messages survive; a running server is
    /// stopped first. Waits until it accepts connections.
    ///
    /// # Errors
    /// When it does not come up (e.g. the port was taken meanwhile).
    pub async fn restart(&mut self) -> anyhow::Result<()> {
        self.node.stop().await;
        self.node.start(START_TIMEOUT).await
    }

    /// The HTTP monitoring port, for the crate's own tests.
    #[cfg(test)]
    pub(crate) fn http_port(&self) -> u16 {
        self.node.config().http_port
    }
}

impl Drop for PrivateNats {
    fn drop(&mut self) {
        self.node.kill();
        remove(&self.node.config().dir);
    }
}

/// Removes a server's directory, ignoring errors (it is temporary).
fn remove(dir: &Path) {
    let _ = std::fs::remove_dir_all(dir);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::monitor;
    use crate::nats_config::supports_sync_always;

    /// The server really runs with the durability asked for, not only the
    /// file says so.
    #[tokio::test]
    async fn syncs_every_write_when_the_server_supports_it() {
        let server = PrivateNats::start().await.unwrap();
        let (status, varz) = monitor::get(server.http_port(), "/varz").await.unwrap();
        assert_eq!(status, 200, "{varz}");
        let sync_always = varz.contains("\"sync_always\": true");
        assert_eq!(
            sync_always,
            supports_sync_always(server.version()),
            "version {:?}, /varz: {varz}",
            server.version()
        );
    }
}
