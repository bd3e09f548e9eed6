//! The HTTP monitoring endpoint of a `nats-server`, to tell when it is ready.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// How long one request may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);

/// GETs `path` from the monitoring port `port` of 127.0.0.1 and returns the
/// status code and the body. A plain HTTP/1.0 request on a socket: the
/// endpoint is tiny and local, and the testkit needs no HTTP client for it.
///
/// # Errors
/// When nothing listens, the answer takes too long or is not HTTP.
pub(crate) async fn get(port: u16, path: &str) -> anyhow::Result<(u16, String)> {
    let exchange = async {
        let mut stream = TcpStream::connect(("127.0.0.1", port)).await?;
        stream
            .write_all(format!("GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").as_bytes())
            .await?;
        let mut response = Vec::new();
        stream.read_to_end(&mut response).await?;
        anyhow::Ok(String::from_utf8_lossy(&response).into_owned())
    };
    let response = tokio::time::timeout(REQUEST_TIMEOUT, exchange)
        .await
        .map_err(|_| {
            anyhow::anyhow!("GET {path} on port {port}: no answer in {REQUEST_TIMEOUT:?}")
        })?
        .map_err(|error| anyhow::anyhow!("GET {path} on port {port}: {error}"))?;
    let status = response
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse::<u16>().ok())
        .ok_or_else(|| anyhow::anyhow!("GET {path} on port {port}: not HTTP: {response:?}"))?;
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, body)| body.to_owned())
        .unwrap_or_default();
    Ok((status, body))
}

/// Whether the server's `/healthz` answers 200: it runs, and with JetStream
/// in a cluster it is current with the meta leader and its streams and
/// consumers have caught up. Otherwise the reason (the body or the error).
pub(crate) async fn healthz(port: u16) -> Result<(), String> {
    match get(port, "/healthz").await {
        Ok((200, _)) => Ok(()),
        Ok((status, body)) => Err(format!("/healthz answered {status}: {}", body.trim())),
        Err(error) => Err(format!("{error:#}")),
    }
}
