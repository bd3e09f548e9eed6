//! The shared NATS server with a unique prefix per test.

use std::time::Duration;

use futures::TryStreamExt;

use crate::drop_thread;
use crate::fallback::nats as server;

/// How long connecting to NATS may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// One test's share of the NATS server: a unique lowercase subject prefix
/// (`t` and 12 hex digits) so its subjects and JetStream streams never meet
/// another test's.
///
/// Callers must use subjects below [`subject_root`](Self::subject_root) (e.g.
/// `<prefix>.employees.EmployeeHired` where production uses
/// `tenure.employees.…`) and name every stream they create starting with
/// `prefix.to_uppercase()`, best via [`stream_name`](Self::stream_name):
/// dropping the value deletes every stream whose name starts so.
///
/// The server comes from `TENURE_TEST_NATS_URL`, else the server on
/// 127.0.0.1:4222, else a private JetStream server the testkit starts once
/// and keeps under `/tmp/tenure-testkit/nats`.
#[derive(Debug)]
pub struct TestNats {
    /// The server's URL.
    pub url: String,
    /// This test's subject prefix, e.g. `t0123456789ab`.
    pub prefix: String,
}

impl TestNats {
    /// Finds (or starts) the server, checks that it answers, and picks a new
    /// prefix.
    ///
    /// # Errors
    /// When no server can be found, started or reached.
    pub async fn connect() -> anyhow::Result<TestNats> {
        let url = tokio::task::spawn_blocking(server::server_url).await??;
        let client = connect(&url).await?;
        drop(client);
        let prefix = format!("t{}", &uuid::Uuid::new_v4().simple().to_string()[..12]);
        Ok(TestNats { url, prefix })
    }

    /// A new client of the server.
    ///
    /// # Panics
    /// When the server cannot be reached: a test cannot go on then.
    pub async fn client(&self) -> async_nats::Client {
        connect(&self.url)
            .await
            .unwrap_or_else(|error| panic!("{error:#}"))
    }

    /// The name for a service's stream in this test: the uppercased prefix,
    /// `_` and the uppercased service, e.g. `T0123456789AB_EMPLOYEES`.
    /// Characters not allowed in stream names become `_`.
    pub fn stream_name(&self, service: &str) -> String {
        let service: String = service
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        format!("{}_{}", self.prefix.to_uppercase(), service.to_uppercase())
    }

    /// The root of this test's subjects: the prefix itself, used in place of
    /// `tenure` in subjects like `tenure.<service>.<EventType>`.
    pub fn subject_root(&self) -> String {
        self.prefix.clone()
    }
}

impl Drop for TestNats {
    fn drop(&mut self) {
        let url = self.url.clone();
        let stream_prefix = self.prefix.to_uppercase();
        drop_thread::run_to_completion(
            format!("delete the streams {stream_prefix}*"),
            move || async move {
                let jetstream = async_nats::jetstream::new(connect(&url).await?);
                let names: Vec<String> = jetstream.stream_names().try_collect().await?;
                for name in names.iter().filter(|name| name.starts_with(&stream_prefix)) {
                    jetstream
                        .delete_stream(name)
                        .await
                        .map_err(|error| anyhow::anyhow!("delete stream {name}: {error}"))?;
                }
                Ok(())
            },
        );
    }
}

/// Connects to `url`, giving up after [`CONNECT_TIMEOUT`].
pub(crate) async fn connect(url: &str) -> anyhow::Result<async_nats::Client> {
    async_nats::ConnectOptions::new()
        .connection_timeout(CONNECT_TIMEOUT)
        .connect(url)
        .await
        .map_err(|error| anyhow::anyhow!("connect to NATS at {url}: {error}"))
}
