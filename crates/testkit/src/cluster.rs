//! A three-node JetStream cluster of the test's own, to crash and restart members.

use std::path::PathBuf;
use std::time::Duration;

use async_nats::jetstream;
use tokio::time::Instant;

use crate::binaries;
use crate::monitor;
use crate::nats_config::{Cluster, ServerConfig};
use crate::node::Node;
use crate::port::free_ports;

/// How long one process may take until its client port accepts connections.
const START_TIMEOUT: Duration = Duration::from_secs(30);
/// How long the cluster (or a restarted member) may take to be usable:
/// routes, a meta leader elected, streams caught up.
const READY_TIMEOUT: Duration = Duration::from_secs(60);
/// How long one connection attempt of [`NatsCluster::client`] may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// The pause between readiness checks.
const POLL: Duration = Duration::from_millis(100);

/// Three JetStream-enabled `nats-server` child processes in one cluster, each
/// on free client, route and monitoring ports of 127.0.0.1, with its own
/// store and log under a temporary directory; for tests of replicated
/// streams (`num_replicas: 3`) while members crash and come back.
///
/// Members are numbered `0..3` and named `n0`, `n1`, `n2` (their
/// `server_name`, as reported in a stream's cluster info). Every member has
/// the same cluster name, unique per cluster, so clusters of tests running
/// side by side never merge.
///
/// The binary is [`binaries::nats_server`]. On 2.10 and later JetStream
/// syncs every write to disk (`sync_interval: always`); 2.9 works but keeps
/// its two-minute sync interval and older raft code, so crash tests should
/// prefer 2.10 or later (see [`version`](Self::version)).
///
/// Dropping it kills every member and removes the directory.
#[derive(Debug)]
pub struct NatsCluster {
    /// The members, in order.
    nodes: Vec<Node>,
    /// Holds one directory per member.
    dir: PathBuf,
    /// The binary's version.
    version: (u32, u32, u32),
}

impl NatsCluster {
    /// The number of members.
    pub const SIZE: usize = 3;

    /// Starts the three members and waits (at most 60 s) until each accepts
    /// connections and reports itself healthy, and an R3 stream can be
    /// created, i.e. a meta leader exists that can place replicas on all.
    ///
    /// # Errors
    /// When `nats-server` is not installed or the cluster does not form in time.
    pub async fn start() -> anyhow::Result<NatsCluster> {
        let binary = binaries::nats_server()?;
        let version = binaries::version_of(&binary)?;
        let id = uuid::Uuid::new_v4().simple().to_string()[..12].to_owned();
        let dir = std::env::temp_dir().join(format!("tenure-nats-cluster-{id}"));
        let ports = free_ports(3 * Self::SIZE);
        let (client_ports, rest) = ports.split_at(Self::SIZE);
        let (route_ports, http_ports) = rest.split_at(Self::SIZE);
        let mut cluster = NatsCluster {
            nodes: Vec::with_capacity(Self::SIZE),
            dir,
            version,
        };
        for i in 0..Self::SIZE {
            let config = ServerConfig {
                name: format!("n{i}"),
                port: client_ports[i],
                http_port: http_ports[i],
                dir: cluster.dir.join(format!("n{i}")),
                version,
                cluster: Some(Cluster {
                    name: format!("tenure-{id}"),
                    port: route_ports[i],
                    routes: route_ports.to_vec(),
                }),
            };
            cluster.nodes.push(Node::create(&binary, config)?);
        }
        // Together: no member can elect a meta leader before it has routes
        // to the others.
        futures::future::try_join_all(
            cluster
                .nodes
                .iter_mut()
                .map(|node| node.start(START_TIMEOUT)),
        )
        .await?;
        let deadline = Instant::now() + READY_TIMEOUT;
        for i in 0..Self::SIZE {
            cluster.wait_until_healthy(i, deadline).await?;
        }
        cluster.wait_until_r3_works(deadline).await?;
        Ok(cluster)
    }

    /// The URL of member `i`, `nats://127.0.0.1:<port>`; the same across
    /// restarts.
    ///
    /// # Panics
    /// When `i` is not below [`SIZE`](Self::SIZE).
    pub fn url(&self, i: usize) -> String {
        format!("nats://127.0.0.1:{}", self.member(i).config().port)
    }

    /// Every member's URL, comma-separated (`nats://127.0.0.1:p0,nats://…`),
    /// the form `NATS_URL` takes. `async_nats::connect` parses one URL only:
    /// split it at the commas into a `Vec`, or use [`client`](Self::client).
    pub fn urls(&self) -> String {
        self.url_list().join(",")
    }

    /// The `server_name` of member `i` (`n0`, `n1`, `n2`), as a stream's
    /// cluster info names its leader and replicas.
    ///
    /// # Panics
    /// When `i` is not below [`SIZE`](Self::SIZE).
    pub fn server_name(&self, i: usize) -> String {
        self.member(i).config().name.clone()
    }

    /// The member named `server_name`, if any.
    pub fn index_of(&self, server_name: &str) -> Option<usize> {
        self.nodes
            .iter()
            .position(|node| node.config().name == server_name)
    }

    /// The version of the binary the members run, e.g. `(2, 15, 1)`.
    pub fn version(&self) -> (u32, u32, u32) {
        self.version
    }

    /// A client with every member as a seed that connects in the background
    /// (`retry_on_initial_connect`) and reconnects without limit, quickly,
    /// to whichever member is up, so it rides out crashes of single members.
    ///
    /// # Panics
    /// When the options are refused (a bug here): a test cannot go on then.
    pub async fn client(&self) -> async_nats::Client {
        async_nats::ConnectOptions::new()
            .retry_on_initial_connect()
            .max_reconnects(None)
            .connection_timeout(CONNECT_TIMEOUT)
            // The default backoff grows to 4 s; a test wants the survivors at once.
            .reconnect_delay_callback(|attempts| {
                Duration::from_millis(50 * attempts.min(10) as u64)
            })
            .connect(self.url_list())
            .await
            .unwrap_or_else(|error| panic!("connect to the cluster {}: {error}", self.urls()))
    }

    /// Kills member `i` abruptly (SIGKILL), like a crash, and reaps it.
    /// Does nothing when it is not running.
    ///
    /// # Panics
    /// When `i` is not below [`SIZE`](Self::SIZE).
    pub async fn kill(&mut self, i: usize) {
        self.member_mut(i).kill();
    }

    /// Stops member `i` gracefully (SIGTERM, then SIGKILL after 10 s) and
    /// waits until it has exited. Does nothing when it is not running.
    ///
    /// # Panics
    /// When `i` is not below [`SIZE`](Self::SIZE).
    pub async fn stop(&mut self, i: usize) {
        self.member_mut(i).stop().await;
    }

    /// Starts member `i` again with the same ports and store (stopping it
    /// first if it runs) and waits (at most 60 s) until it accepts
    /// connections and reports itself healthy: back in the cluster, current
    /// with the meta leader, its streams caught up.
    ///
    /// # Errors
    /// When it does not come up (e.g. a port was taken meanwhile) or does
    /// not rejoin in time.
    ///
    /// # Panics
    /// When `i` is not below [`SIZE`](Self::SIZE).
    pub async fn restart(&mut self, i: usize) -> anyhow::Result<()> {
        let node = self.member_mut(i);
        node.stop().await;
        node.start(START_TIMEOUT).await?;
        self.wait_until_healthy(i, Instant::now() + READY_TIMEOUT)
            .await
    }

    /// Every member's URL.
    fn url_list(&self) -> Vec<String> {
        (0..Self::SIZE).map(|i| self.url(i)).collect()
    }

    /// Member `i`.
    fn member(&self, i: usize) -> &Node {
        assert!(
            i < Self::SIZE,
            "no cluster member {i}, only 0..{}",
            Self::SIZE
        );
        &self.nodes[i]
    }

    /// Member `i`, to start or stop.
    fn member_mut(&mut self, i: usize) -> &mut Node {
        assert!(
            i < Self::SIZE,
            "no cluster member {i}, only 0..{}",
            Self::SIZE
        );
        &mut self.nodes[i]
    }

    /// Polls member `i`'s `/healthz` until it answers 200; fails early when
    /// the process exits.
    async fn wait_until_healthy(&mut self, i: usize, deadline: Instant) -> anyhow::Result<()> {
        let node = &mut self.nodes[i];
        let name = node.config().name.clone();
        loop {
            let reason = match monitor::healthz(node.config().http_port).await {
                Ok(()) => return Ok(()),
                Err(reason) => reason,
            };
            if let Some(status) = node.exited() {
                anyhow::bail!(
                    "nats-server {name} exited ({status}); {}",
                    node.log_tail(20)
                );
            }
            if Instant::now() >= deadline {
                anyhow::bail!(
                    "nats-server {name} not healthy within {READY_TIMEOUT:?}: {reason}; {}",
                    node.log_tail(20)
                );
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Creates and deletes a throwaway R3 stream until that works: healthy
    /// members follow a meta leader, but it may not yet know them all as
    /// places for replicas, and a test's first R3 stream would fail then.
    async fn wait_until_r3_works(&self, deadline: Instant) -> anyhow::Result<()> {
        let jetstream = jetstream::new(self.client().await);
        let name = format!("TESTKIT_READY_{}", uuid::Uuid::new_v4().simple());
        loop {
            // Creating an existing stream with the same config succeeds, so
            // a retry after a lost answer is fine.
            let attempt = async {
                jetstream
                    .create_stream(jetstream::stream::Config {
                        name: name.clone(),
                        num_replicas: Self::SIZE,
                        ..Default::default()
                    })
                    .await
                    .map_err(|error| anyhow::anyhow!("create an R3 stream: {error}"))?;
                jetstream
                    .delete_stream(&name)
                    .await
                    .map_err(|error| anyhow::anyhow!("delete the R3 stream: {error}"))?;
                anyhow::Ok(())
            };
            match attempt.await {
                Ok(()) => return Ok(()),
                Err(error) if Instant::now() >= deadline => {
                    let logs: Vec<String> =
                        self.nodes.iter().map(|node| node.log_tail(10)).collect();
                    anyhow::bail!(
                        "the cluster is not usable within {READY_TIMEOUT:?}: {error:#}\n{}",
                        logs.join("\n")
                    );
                }
                Err(_) => tokio::time::sleep(POLL).await,
            }
        }
    }
}

impl Drop for NatsCluster {
    fn drop(&mut self) {
        for node in &mut self.nodes {
            node.kill();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
