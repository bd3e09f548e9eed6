//! Free ports and waiting for a port to accept connections.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::time::{Duration, Instant};

/// Returns a TCP port on 127.0.0.1 that was free a moment ago.
///
/// The kernel picks it from the ephemeral range, so two calls (or two test
/// processes) practically never get the same one.
///
/// # Panics
/// If no socket can be bound on 127.0.0.1.
pub fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind an ephemeral port on 127.0.0.1");
    listener
        .local_addr()
        .expect("local address of a bound listener")
        .port()
}

/// Returns `count` distinct TCP ports on 127.0.0.1 that were free a moment
/// ago. They are held open together while picked, so, unlike repeated
/// [`free_port`] calls, none can come up twice.
///
/// # Panics
/// If no socket can be bound on 127.0.0.1.
pub(crate) fn free_ports(count: usize) -> Vec<u16> {
    let listeners: Vec<TcpListener> = (0..count)
        .map(|_| TcpListener::bind("127.0.0.1:0").expect("bind an ephemeral port on 127.0.0.1"))
        .collect();
    listeners
        .iter()
        .map(|listener| {
            listener
                .local_addr()
                .expect("local address of a bound listener")
                .port()
        })
        .collect()
}

/// Returns a NATS URL of a free port on 127.0.0.1 where nothing listens, for
/// tests of behaviour while the broker is unreachable.
pub fn dead_url() -> String {
    format!("nats://127.0.0.1:{}", free_port())
}

/// Whether something accepts TCP connections on `addr` (within one second).
pub(crate) fn accepts(addr: SocketAddr) -> bool {
    TcpStream::connect_timeout(&addr, Duration::from_secs(1)).is_ok()
}

/// The socket address `127.0.0.1:port`.
pub(crate) fn localhost(port: u16) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], port))
}

/// Polls `addr` until it accepts connections or `timeout` passes; between
/// polls `still_starting` may report that the server died (an error).
pub(crate) fn wait_until_accepts(
    addr: SocketAddr,
    timeout: Duration,
    mut still_starting: impl FnMut() -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let deadline = Instant::now() + timeout;
    loop {
        if accepts(addr) {
            return Ok(());
        }
        still_starting()?;
        if Instant::now() >= deadline {
            anyhow::bail!("nothing accepted connections on {addr} within {timeout:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}
