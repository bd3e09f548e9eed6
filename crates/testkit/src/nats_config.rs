//! The configuration files the testkit starts `nats-server` with.

use std::fmt::Write;
use std::path::{Path, PathBuf};

/// Whether a server of `version` knows JetStream's `sync_interval` (2.10 and
/// later; 2.9 refuses to start on the unknown field).
pub(crate) fn supports_sync_always(version: (u32, u32, u32)) -> bool {
    version >= (2, 10, 0)
}

/// The cluster a server joins over routes.
#[derive(Debug, Clone)]
pub(crate) struct Cluster {
    /// The cluster's name, the same on every member.
    pub(crate) name: String,
    /// This server's route port on 127.0.0.1.
    pub(crate) port: u16,
    /// The route ports of every member, this server's included (a server
    /// ignores the route to itself, so all members share one list).
    pub(crate) routes: Vec<u16>,
}

/// One JetStream server on 127.0.0.1 with everything in one directory.
#[derive(Debug, Clone)]
pub(crate) struct ServerConfig {
    /// The server's name; JetStream clustering needs a stable, unique one.
    pub(crate) name: String,
    /// The client port.
    pub(crate) port: u16,
    /// The HTTP monitoring port (`/healthz`, `/varz`).
    pub(crate) http_port: u16,
    /// Holds `server.conf`, `server.log` and `store/`.
    pub(crate) dir: PathBuf,
    /// The version of the binary that will read the file.
    pub(crate) version: (u32, u32, u32),
    /// The cluster to join, if any.
    pub(crate) cluster: Option<Cluster>,
}

impl ServerConfig {
    /// Every port the server listens on.
    pub(crate) fn ports(&self) -> Vec<u16> {
        let mut ports = vec![self.port, self.http_port];
        ports.extend(self.cluster.as_ref().map(|cluster| cluster.port));
        ports
    }

    /// The path of the configuration file in [`dir`](Self::dir).
    pub(crate) fn path(&self) -> PathBuf {
        self.dir.join("server.conf")
    }

    /// The configuration file's text. JetStream syncs every write to disk
    /// when the server supports it (`sync_interval: always`): the default
    /// two-minute interval loses acknowledged messages when machines crash
    /// together, and tests should see the durability production has.
    pub(crate) fn render(&self) -> String {
        let mut text = String::new();
        let _ = writeln!(text, "server_name: {}", quoted(&self.name));
        let _ = writeln!(text, "listen: \"127.0.0.1:{}\"", self.port);
        let _ = writeln!(text, "http: \"127.0.0.1:{}\"", self.http_port);
        let _ = writeln!(text, "jetstream {{");
        let _ = writeln!(
            text,
            "  store_dir: {}",
            quoted_path(&self.dir.join("store"))
        );
        if supports_sync_always(self.version) {
            let _ = writeln!(text, "  sync_interval: always");
        }
        let _ = writeln!(text, "}}");
        if let Some(cluster) = &self.cluster {
            let routes: Vec<String> = cluster
                .routes
                .iter()
                .map(|port| format!("\"nats-route://127.0.0.1:{port}\""))
                .collect();
            let _ = writeln!(text, "cluster {{");
            let _ = writeln!(text, "  name: {}", quoted(&cluster.name));
            let _ = writeln!(text, "  listen: \"127.0.0.1:{}\"", cluster.port);
            let _ = writeln!(text, "  routes: [{}]", routes.join(", "));
            let _ = writeln!(text, "}}");
        }
        text
    }
}

/// `value` as a double-quoted string of the configuration format.
fn quoted(value: &str) -> String {
    format!("{value:?}")
}

/// `path` as a double-quoted string of the configuration format.
fn quoted_path(path: &Path) -> String {
    quoted(&path.display().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(version: (u32, u32, u32), cluster: Option<Cluster>) -> ServerConfig {
        ServerConfig {
            name: "n0".into(),
            port: 1001,
            http_port: 1002,
            dir: PathBuf::from("/tmp/x"),
            version,
            cluster,
        }
    }

    #[test]
    fn sync_always_only_for_servers_that_know_it() {
        assert!(
            config((2, 15, 1), None)
                .render()
                .contains("sync_interval: always")
        );
        assert!(
            config((2, 10, 0), None)
                .render()
                .contains("sync_interval: always")
        );
        assert!(!config((2, 9, 10), None).render().contains("sync_interval"));
    }

    #[test]
    fn renders_a_cluster_member() {
        let cluster = Cluster {
            name: "c".into(),
            port: 2001,
            routes: vec![2001, 2002],
        };
        let config = config((2, 15, 1), Some(cluster));
        let text = config.render();
        assert!(text.contains("server_name: \"n0\""), "{text}");
        assert!(text.contains("listen: \"127.0.0.1:1001\""), "{text}");
        assert!(text.contains("store_dir: \"/tmp/x/store\""), "{text}");
        assert!(text.contains("listen: \"127.0.0.1:2001\""), "{text}");
        assert!(
            text.contains(
                "routes: [\"nats-route://127.0.0.1:2001\", \"nats-route://127.0.0.1:2002\"]"
            ),
            "{text}"
        );
        assert_eq!(config.ports(), vec![1001, 1002, 2001]);
    }
}
