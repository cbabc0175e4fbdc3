//! Capabilities: what an operator grants a plugin beyond pure computation, each virtual and
//! deterministic. A granted plugin sees a stopped clock, seeded randomness, only the files it
//! ships and refused sockets; a plugin is refused when it requests, or imports, more than it
//! was granted, or imports a capability it did not declare.

use gavel_core::Outcome;
use gavel_host::{Host, LoadError, LoadOptions, Plugin, PluginSource};
use gavel_sandbox::{Capability, Grants};
use gavel_tests::{guest, host, score};
use std::sync::Arc;

fn load_granted(host: &Host, name: &str, grants: Grants) -> Result<Arc<Plugin>, LoadError> {
    let options = LoadOptions { grants, ..LoadOptions::default() };
    host.load_with(PluginSource::file(guest(name)), &options)
}

fn scored(outcome: &Outcome) -> &gavel_core::Score {
    match outcome {
        Outcome::Scored(score) => score,
        other => panic!("expected a score, got {other:?}"),
    }
}

#[test]
fn a_granted_clock_is_stopped_at_the_virtual_epoch() {
    let (host, _cache) = host();
    let plugin = load_granted(&host, "clock", Grants::of([Capability::Clock])).unwrap();
    let first = score(&host, &plugin, &["a", "b"]);
    for outcome in first.iter().chain(&score(&host, &plugin, &["a", "b"])) {
        let score = scored(outcome);
        assert_eq!(score.value, gavel_sandbox::VIRTUAL_WALL_CLOCK_SECS as f64);
        // Two readings of the monotonic clock, one step apart, whatever the real time.
        assert_eq!(score.components, [("elapsed_us".to_owned(), 1.0)]);
    }
}

#[test]
fn granted_randomness_follows_the_seed() {
    let (host, _cache) = host();
    let seeded = |seed| {
        let grants = Grants { seed, ..Grants::of([Capability::Random]) };
        let plugin = load_granted(&host, "random", grants).unwrap();
        score(&host, &plugin, &["same text"]).remove(0).reward().unwrap()
    };
    let (a, b, c) = (seeded(1), seeded(1), seeded(2));
    assert_eq!(a, b, "one seed, one stream: the same reward on every run");
    assert_ne!(a, c, "the seed is what the plugin's randomness comes from");
    assert!((0.0..1.0).contains(&a));
}

#[test]
fn granted_files_show_nothing_of_the_host() {
    let (host, _cache) = host();
    let plugin =
        load_granted(&host, "filesystem", Grants::of([Capability::Files, Capability::Clock]))
            .unwrap();
    assert_eq!(score(&host, &plugin, &["x"])[0].reward(), Some(0.0));
}

#[test]
fn granted_sockets_refuse_every_call() {
    let (host, _cache) = host();
    let grants = Grants::of([Capability::Sockets, Capability::Clock, Capability::Files]);
    let plugin = load_granted(&host, "socket", grants).unwrap();
    let started = std::time::Instant::now();
    assert_eq!(score(&host, &plugin, &["x"])[0].reward(), Some(0.0));
    assert!(started.elapsed() < std::time::Duration::from_secs(1), "refused, not timed out");
}

/// Granting one capability unlocks its interfaces only; the refusal says what is missing.
#[test]
fn a_grant_covers_its_own_interfaces_only() {
    let (host, _cache) = host();
    let err = load_granted(&host, "clock", Grants::of([Capability::Random])).unwrap_err();
    let message = err.to_string();
    assert!(matches!(err, LoadError::ForbiddenImport { .. }), "{message}");
    assert!(message.contains("`wasi:clocks/wall-clock@0.2"), "{message}");
    assert!(message.contains("they need the capability `clock`"), "{message}");
}

/// A plugin that imports a capability's interface without requesting it is refused even where
/// the capability is granted: what a plugin declares is what a reviewer reads.
#[test]
fn an_undeclared_capability_is_refused() {
    let (host, _cache) = host();
    let err = load_granted(&host, "undeclared-clock", Grants::of([Capability::Clock])).unwrap_err();
    let message = err.to_string();
    assert!(matches!(err, LoadError::UndeclaredCapability { .. }), "{message}");
    assert!(message.contains("does not request the `clock` capability"), "{message}");
    assert!(message.contains("`wasi:clocks/"), "{message}");
}

/// A plugin requesting a capability the operator did not grant is refused by name, even when
/// it imports nothing of it; granted, it loads.
#[test]
fn a_requested_capability_must_be_granted() {
    let (host, _cache) = host();
    let err = load_granted(&host, "wants-clock", Grants::default()).unwrap_err();
    let message = err.to_string();
    assert!(matches!(err, LoadError::CapabilityNotGranted { .. }), "{message}");
    assert!(
        message.contains("requests `clock`, which the operator did not grant it (granted: none)"),
        "{message}"
    );
    let plugin = load_granted(&host, "wants-clock", Grants::of([Capability::Clock])).unwrap();
    assert_eq!(plugin.info().capabilities, ["clock"]);
}

/// The operator's config: a policy's wasm source grants capabilities (`grant`, `seed`) next to
/// its pin; an unknown capability is an error naming it.
#[test]
fn a_policy_grants_capabilities_per_plugin() {
    let (host, _cache) = host();
    let path = guest("random");
    let kinds = gavel_policy::SourceKinds::standard(host);
    let policy = |grant: &str| {
        let text = format!(
            "version = 1\nreward = \"r\"\n[sources.r]\nkind = \"wasm\"\nplugin = {path:?}\n{grant}\n"
        );
        gavel_policy::Policy::parse(&text, "granted.toml", std::path::Path::new("/"), &kinds)
    };
    let rt = tokio::runtime::Runtime::new().unwrap();
    let reward = |grant: &str| {
        let policy = policy(grant).unwrap_or_else(|e| panic!("{grant}: {e}"));
        let samples = [gavel_core::Sample::new("a", "same text")];
        rt.block_on(policy.score(&samples, 0.0))[0].outcome.reward().unwrap()
    };
    assert_eq!(reward("grant = [\"random\"]\nseed = 5"), reward("grant = [\"random\"]\nseed = 5"));
    assert_ne!(reward("grant = [\"random\"]\nseed = 5"), reward("grant = [\"random\"]"));
    let Err(err) = policy("") else { panic!("loaded without its grant") };
    assert!(err.to_string().contains("which it was not granted"), "{err}");
    let Err(err) = policy("grant = [\"random\", \"network\"]") else { panic!("unknown grant") };
    assert!(err.to_string().contains("unknown capability \"network\""), "{err}");
}

/// Files a plugin ships in its own component (a `gavel:files` section, under its pin) are what
/// a `files` grant shows: read-only, at `/`, their times the virtual epoch; the host stays out
/// of sight, and the written-out copy goes away with the plugin.
#[test]
fn granted_files_are_the_files_the_plugin_ships() {
    let (host, _cache) = host();
    let wasm = std::fs::read(guest("shipped-files")).unwrap();
    let words = ("data/words.txt".to_owned(), b"alpha\nbeta\ngamma\n".to_vec());
    let shipped = gavel_host::ship_files(&wasm, &[words]).unwrap();
    let grants = Grants::of([Capability::Files, Capability::Clock]);
    let options = LoadOptions { grants, ..LoadOptions::default() };
    let written_out = || -> std::collections::BTreeSet<_> {
        [std::path::PathBuf::from("/dev/shm"), std::env::temp_dir()]
            .iter()
            .flat_map(|dir| std::fs::read_dir(dir).into_iter().flatten().flatten())
            .map(|e| e.path())
            .filter(|p| {
                p.file_name().is_some_and(|n| n.to_string_lossy().starts_with("gavel-files-"))
            })
            .collect()
    };
    let before = written_out();
    let plugin = host.load_with(PluginSource::bytes("shipped", shipped), &options).unwrap();
    assert_eq!(written_out().len(), before.len() + 1);
    let outcome = score(&host, &plugin, &["x"]).remove(0);
    let got = scored(&outcome);
    assert_eq!(got.value, 3.0, "{:?}", got.explanation);
    let parts: std::collections::BTreeMap<_, _> = got.components.iter().cloned().collect();
    assert_eq!(parts["write_refused"], 1.0);
    assert_eq!(parts["host_hidden"], 1.0);
    assert_eq!(parts["mtime"], gavel_sandbox::VIRTUAL_WALL_CLOCK_SECS as f64);
    // The same component without its files sees nothing.
    let bare = host.load_with(PluginSource::bytes("bare", wasm), &options).unwrap();
    assert_eq!(score(&host, &bare, &["x"])[0].reward(), Some(0.0));
    drop(plugin);
    assert_eq!(written_out(), before, "the written-out files outlived their plugin");
}
