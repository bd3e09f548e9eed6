//! Async clean-up from `Drop`, independent of the caller's runtime.

use std::future::Future;
use std::time::Duration;

/// How long a clean-up may take before it is given up (and logged).
const CLEANUP_TIMEOUT: Duration = Duration::from_secs(30);

/// Runs the future made by `make` to completion on a new thread with its own
/// current-thread runtime and waits for it. Works inside and outside a tokio
/// runtime (a `Drop` cannot `.await`, and blocking the caller's runtime on its
/// own tasks could deadlock). Failures and timeouts are logged, never raised.
pub(crate) fn run_to_completion<F, Fut>(what: String, make: F)
where
    F: FnOnce() -> Fut + Send + 'static,
    Fut: Future<Output = anyhow::Result<()>>,
{
    let thread_what = what.clone();
    let joined = std::thread::Builder::new()
        .name("testkit-cleanup".into())
        .spawn(move || {
            let runtime = match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(runtime) => runtime,
                Err(error) => {
                    tracing::warn!(%error, "testkit: no runtime to {thread_what}");
                    return;
                }
            };
            match runtime.block_on(async { tokio::time::timeout(CLEANUP_TIMEOUT, make()).await }) {
                Ok(Ok(())) => {}
                Ok(Err(error)) => tracing::warn!(
                    error = format!("{error:#}"),
                    "testkit: could not {thread_what}"
                ),
                Err(_) => {
                    tracing::warn!("testkit: gave up to {thread_what} after {CLEANUP_TIMEOUT:?}")
                }
            }
        })
        .map(|handle| handle.join());
    match joined {
        Ok(Ok(())) => {}
        Ok(Err(_)) => tracing::warn!("testkit: the thread to {what} panicked"),
        Err(error) => tracing::warn!(%error, "testkit: no thread to {what}"),
    }
}
