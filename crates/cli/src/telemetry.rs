//! Logging: structured, to stderr, filtered by `RUST_LOG` or the `log` setting.

use tracing_subscriber::EnvFilter;

/// Installs the global subscriber once.
pub fn init(filter: &str) {
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(filter))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .try_init();
}
