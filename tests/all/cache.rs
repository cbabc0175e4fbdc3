//! The precompiled-component cache: reused across hosts, and never trusted when corrupt.

use gavel_host::{Host, HostConfig, PluginSource};
use gavel_sandbox::WasmLimits;
use gavel_tests::{guest, score};

fn entries(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect()
}

#[test]
fn entries_are_written_once_reused_and_rebuilt_when_corrupt() {
    let dir = tempfile::tempdir().unwrap();
    let config = HostConfig { cache_dir: Some(dir.path().to_owned()), ..HostConfig::default() };
    let host = Host::new(config.clone()).unwrap();
    let plugin = host.load(PluginSource::file(guest("trivial")), WasmLimits::default()).unwrap();
    assert_eq!(score(&host, &plugin, &["abcd"])[0].reward(), Some(4.0));
    let written = entries(dir.path());
    assert_eq!(written.len(), 1, "{written:?}");
    assert!(written[0].extension().is_some_and(|e| e == "cwasm"));
    let modified = std::fs::metadata(&written[0]).unwrap().modified().unwrap();

    // A second host loads from the cache without rewriting it.
    let again = Host::new(config.clone()).unwrap();
    let plugin = again.load(PluginSource::file(guest("trivial")), WasmLimits::default()).unwrap();
    assert_eq!(score(&again, &plugin, &["ab"])[0].reward(), Some(2.0));
    assert_eq!(std::fs::metadata(&written[0]).unwrap().modified().unwrap(), modified);

    // A corrupted entry is detected by its checksum and replaced.
    let mut bytes = std::fs::read(&written[0]).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    std::fs::write(&written[0], &bytes).unwrap();
    let third = Host::new(config).unwrap();
    let plugin = third.load(PluginSource::file(guest("trivial")), WasmLimits::default()).unwrap();
    assert_eq!(score(&third, &plugin, &["abc"])[0].reward(), Some(3.0));
    assert_ne!(std::fs::read(&written[0]).unwrap(), bytes);
    assert_eq!(entries(dir.path()).len(), 1, "no temporary files are left behind");
}

/// In process (a library with no binary to spawn), a compilation past the compile timeout is
/// abandoned and the load refused, naming the bound.
#[test]
fn an_in_process_compilation_past_its_deadline_is_refused() {
    let cache = tempfile::tempdir().unwrap();
    let compile = gavel_host::CompileConfig {
        timeout: std::time::Duration::from_millis(1),
        ..gavel_host::CompileConfig::default()
    };
    let config = gavel_host::HostConfig {
        cache_dir: Some(cache.path().to_owned()),
        compile,
        ..gavel_host::HostConfig::default()
    };
    let host = gavel_host::Host::new(config).unwrap();
    let source = gavel_host::PluginSource::file(gavel_tests::guest("trivial"));
    let err = host.load(source, gavel_sandbox::WasmLimits::default()).unwrap_err();
    assert!(matches!(err, gavel_host::LoadError::CompileLimit { .. }), "{err}");
    assert!(err.to_string().contains("took longer than 1 ms"), "{err}");
}
