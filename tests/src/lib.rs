//! Shared helpers for gavel's integration tests and benchmarks: the compiled test guests and
//! hosts set up for testing.

use std::sync::Arc;

use gavel_core::{Outcome, Sample};
use gavel_host::{Host, HostConfig, Plugin, PluginSource};
use gavel_sandbox::WasmLimits;

include!(concat!(env!("OUT_DIR"), "/guests.rs"));

/// The component file of a test guest (a directory name under `tests/guests`).
pub fn guest(name: &str) -> &'static str {
    GUESTS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, path)| *path)
        .unwrap_or_else(|| panic!("no test guest named {name}"))
}

/// A host with a private cache directory (removed when the returned guard drops).
pub fn host() -> (Host, tempfile::TempDir) {
    let cache = tempfile::tempdir().expect("temp dir");
    let config = HostConfig { cache_dir: Some(cache.path().to_owned()), ..HostConfig::default() };
    (Host::new(config).expect("host starts"), cache)
}

/// Loads a test guest with the given limits.
pub fn load(host: &Host, name: &str, limits: WasmLimits) -> Arc<Plugin> {
    host.load(PluginSource::file(guest(name)), limits)
        .unwrap_or_else(|e| panic!("guest {name} does not load: {e}"))
}

/// Samples with the given completions, ids `0`, `1`, …
pub fn samples(completions: &[&str]) -> Vec<Sample> {
    completions.iter().enumerate().map(|(i, c)| Sample::new(i.to_string(), *c)).collect()
}

/// Scores on the calling thread with no config.
pub fn score(host: &Host, plugin: &Plugin, completions: &[&str]) -> Vec<Outcome> {
    host.score_batch_blocking(plugin, &samples(completions), &serde_json::Value::Null)
        .expect("host accepts the call")
}
