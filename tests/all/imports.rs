//! With no grants, the sandbox links nothing beyond what Rust's std needs: plugins importing
//! the filesystem, sockets, clocks or randomness are refused at load, naming the import (what
//! granting them gives: `capabilities.rs`); the environment a plugin may read is empty.

use gavel_host::{LoadError, PluginSource};
use gavel_sandbox::WasmLimits;
use gavel_tests::{guest, host, load, score};

/// Loads a guest that must be refused, checks that a refused interface starts with
/// `interface` and that the same host still loads and scores a normal plugin.
fn assert_refuses(name: &str, interface: &str) {
    let (host, _cache) = host();
    let imports = match host.load(PluginSource::file(guest(name)), WasmLimits::default()) {
        Err(LoadError::ForbiddenImport { imports, .. }) => imports,
        other => panic!("{name}: expected a forbidden import, got {other:?}"),
    };
    assert!(imports.iter().any(|i| i.starts_with(interface)), "{name}: {imports:?}");
    assert!(imports.iter().all(|i| !gavel_sandbox::is_std_import(i)), "{imports:?}");
    let trivial = load(&host, "trivial", WasmLimits::default());
    assert_eq!(score(&host, &trivial, &["ab"])[0].reward(), Some(2.0));
}

#[test]
fn filesystem_is_refused() {
    assert_refuses("filesystem", "wasi:filesystem/");
}

#[test]
fn sockets_are_refused() {
    assert_refuses("socket", "wasi:sockets/");
}

#[test]
fn clocks_are_refused() {
    assert_refuses("clock", "wasi:clocks/");
}

#[test]
fn randomness_is_refused() {
    assert_refuses("random", "wasi:random/");
}

#[test]
fn the_refusal_names_the_import() {
    let (host, _cache) = host();
    let err = host.load(PluginSource::file(guest("clock")), WasmLimits::default()).unwrap_err();
    let message = err.to_string();
    assert!(message.contains("`wasi:clocks/wall-clock@0.2"), "{message}");
    assert!(message.contains("which it was not granted"), "{message}");
}

#[test]
fn the_environment_is_empty() {
    // Set something the plugin must not see.
    // SAFETY: no other thread of this test binary reads or writes this variable.
    unsafe { std::env::set_var("GAVEL_TEST_SECRET", "hunter2") };
    let (host, _cache) = host();
    let plugin = load(&host, "environment", WasmLimits::default());
    let outcome = score(&host, &plugin, &["x"]).remove(0);
    let gavel_core::Outcome::Scored(score) = &outcome else { panic!("{outcome:?}") };
    assert_eq!(score.value, 0.0, "{:?}", score.explanation);
    assert!(!score.explanation.as_deref().unwrap_or("").contains("GAVEL_TEST_SECRET"));
}

#[test]
fn only_std_interfaces_are_imported_by_bundled_plugins() {
    let (host, _cache) = host();
    for bundled in gavel_bundled::PLUGINS {
        let plugin = host
            .load(PluginSource::bytes(bundled.name, bundled.wasm), WasmLimits::default())
            .unwrap();
        for import in plugin.imports() {
            let contract_types = import.starts_with("gavel:reward/types@");
            assert!(
                contract_types || gavel_sandbox::is_std_import(import),
                "{}: {import}",
                bundled.name
            );
        }
    }
}

/// The refusal comes from the component's bytes, before it is compiled: an untrusted
/// component asking for too much costs no compilation (nothing reaches the compile cache).
#[test]
fn forbidden_imports_are_refused_before_compilation() {
    let (host, cache) = host();
    let files = |dir: &std::path::Path| walk(dir).len();
    let before = files(cache.path());
    assert!(matches!(
        host.load(PluginSource::file(guest("clock")), WasmLimits::default()),
        Err(LoadError::ForbiddenImport { .. })
    ));
    assert_eq!(files(cache.path()), before, "the refused component was compiled");
    load(&host, "trivial", WasmLimits::default());
    assert!(
        files(cache.path()) > before,
        "a loaded component is cached (the check above means something)"
    );
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}
