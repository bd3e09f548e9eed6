//! Log output for tests.

use std::sync::Once;

use tracing_subscriber::EnvFilter;

/// Installs a `tracing` subscriber that writes through the test harness (so
/// output is captured per test) with the filter from `RUST_LOG`, `warn` when
/// unset. Safe to call from every test: only the first call installs it, and
/// an already installed global subscriber is left in place.
pub fn init_tracing() {
    static INIT: Once = Once::new();
    INIT.call_once(|| {
        let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("warn"));
        let _ = tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_test_writer()
            .try_init();
    });
}
