//! The host side of the contract: fresh instances, configs, input caps, what is a plugin.

use gavel_core::{Outcome, Sample, Status};
use gavel_host::{HostError, LoadError, LoadOptions, PluginSource};
use gavel_sandbox::WasmLimits;
use gavel_tests::{guest, host, load, samples, score};

#[test]
fn every_call_gets_a_fresh_instance() {
    let (host, _cache) = host();
    let plugin = load(&host, "stateful", WasmLimits::default());
    // Within one batch the instance is shared; across calls nothing carries over.
    let rewards: Vec<_> =
        score(&host, &plugin, &["a", "b", "c"]).iter().map(Outcome::reward).collect();
    assert_eq!(rewards, [Some(1.0), Some(2.0), Some(3.0)]);
    assert_eq!(score(&host, &plugin, &["a"])[0].reward(), Some(1.0));
    let small = load(&host, "stateful", WasmLimits { batch_size: 2, ..WasmLimits::default() });
    let rewards: Vec<_> =
        score(&host, &small, &["a", "b", "c"]).iter().map(Outcome::reward).collect();
    assert_eq!(rewards, [Some(1.0), Some(2.0), Some(1.0)]);
}

#[test]
fn a_rejected_config_fails_fast_and_names_the_field() {
    let (host, _cache) = host();
    let plugin = host
        .load(
            PluginSource::bytes("format", gavel_bundled::find("format").unwrap().wasm),
            WasmLimits::default(),
        )
        .unwrap();
    let config = serde_json::json!({"strictnes": "strict"});
    match host.check_config(&plugin, &config) {
        Err(HostError::Config { message, .. }) => {
            assert!(message.contains("strictnes"), "{message}")
        }
        other => panic!("{other:?}"),
    }
    // Scored anyway, every sample is invalid with the same message: never a reward.
    let outcomes = host.score_batch_blocking(&plugin, &samples(&["x", "y"]), &config).unwrap();
    for outcome in outcomes {
        assert_eq!(outcome.status(), Status::Invalid);
        assert!(outcome.message().unwrap().contains("strictnes"));
    }
    assert!(matches!(
        host.score_batch_blocking(&plugin, &samples(&["x"]), &serde_json::json!([1])),
        Err(HostError::ConfigShape(_))
    ));
}

#[test]
fn oversized_samples_are_invalid_without_running() {
    let (host, _cache) = host();
    let plugin =
        load(&host, "trivial", WasmLimits { max_input_bytes: 100, ..WasmLimits::default() });
    let big = "x".repeat(200);
    let outcomes = score(&host, &plugin, &["short", &big, "ok"]);
    assert_eq!(outcomes[0].reward(), Some(5.0));
    assert_eq!(outcomes[1].status(), Status::Invalid);
    assert!(outcomes[1].message().unwrap().contains("input cap of 100 bytes"));
    assert_eq!(outcomes[2].reward(), Some(2.0));
}

#[test]
fn non_components_are_refused_with_a_reason() {
    let (host, _cache) = host();
    let core_module = b"\0asm\x01\0\0\0".to_vec();
    match host.load(PluginSource::bytes("core", core_module), WasmLimits::default()) {
        Err(LoadError::NotAComponent { reason, .. }) => {
            assert!(reason.contains("wasm32-wasip2"), "{reason}")
        }
        other => panic!("{other:?}"),
    }
    let garbage = PluginSource::bytes("garbage", b"hello world".to_vec());
    assert!(matches!(
        host.load(garbage, WasmLimits::default()),
        Err(LoadError::NotAComponent { .. })
    ));
    let missing = PluginSource::file("/nonexistent/plugin.wasm");
    assert!(matches!(host.load(missing, WasmLimits::default()), Err(LoadError::Read { .. })));
}

#[test]
fn invalid_limits_are_refused_naming_the_field() {
    let (host, _cache) = host();
    let limits = WasmLimits { batch_size: 0, ..WasmLimits::default() };
    let err = host.load(PluginSource::file(guest("trivial")), limits).unwrap_err();
    assert!(err.to_string().contains("batch_size"), "{err}");
}

#[test]
fn describe_reports_the_contract_version() {
    let (host, _cache) = host();
    let plugin = load(&host, "trivial", WasmLimits::default());
    assert_eq!(plugin.info().name, "trivial");
    assert_eq!(plugin.info().api_version, "0.2.0");
    assert_eq!(plugin.digest().len(), 64);
}

#[test]
fn samples_carry_prompt_reference_task_and_group() {
    let (host, _cache) = host();
    let plugin = host
        .load(
            PluginSource::bytes("exact", gavel_bundled::find("exact").unwrap().wasm),
            WasmLimits::default(),
        )
        .unwrap();
    let mut sample =
        Sample::new("a", "<answer>42</answer>").with_reference(serde_json::json!({"answer": "42"}));
    sample.task = Some("math".into());
    sample.group = Some("g".into());
    let outcomes = host.score_batch_blocking(&plugin, &[sample], &serde_json::Value::Null).unwrap();
    assert_eq!(outcomes[0].reward(), Some(1.0));
}

#[test]
fn the_plugin_template_builds_loads_and_scores() {
    let (host, _cache) = host();
    let plugin = load(&host, "template", WasmLimits::default());
    assert_eq!(plugin.info().name, "template");
    let samples = vec![
        Sample::new("hit", "it is Paris").with_reference(serde_json::json!({"answer": "paris"})),
        Sample::new("miss", "it is Rome").with_reference(serde_json::json!({"answer": "paris"})),
        Sample::new("na", "it is Rome"),
    ];
    let outcomes = host.score_batch_blocking(&plugin, &samples, &serde_json::json!({})).unwrap();
    let statuses: Vec<_> = outcomes.iter().map(|o| (o.status(), o.reward())).collect();
    assert_eq!(
        statuses,
        [(Status::Ok, Some(1.0)), (Status::Ok, Some(0.0)), (Status::NotApplicable, None)]
    );
    let strict = serde_json::json!({"case_sensitive": true});
    assert_eq!(
        host.score_batch_blocking(&plugin, &samples[..1], &strict).unwrap()[0].reward(),
        Some(0.0)
    );
}

/// An operator's pin: the plugin loads only when its bytes are the ones reviewed, and a pin
/// that is not a sha256 is an error of its own.
#[test]
fn a_pinned_plugin_loads_only_with_its_own_hash() {
    let (host, _cache) = host();
    let path = guest("trivial");
    let hash = gavel_host::sha256_hex(&std::fs::read(path).unwrap());
    let pinned = |pin: &str| {
        let options = LoadOptions { sha256: Some(pin.to_owned()), ..LoadOptions::default() };
        host.load_with(PluginSource::file(path), &options)
    };
    assert_eq!(pinned(&hash).unwrap().info().name, "trivial");
    assert!(pinned(&hash.to_uppercase()).is_ok(), "hex case does not matter");
    let wrong = if hash.starts_with('0') { "1".repeat(64) } else { "0".repeat(64) };
    let err = pinned(&wrong).unwrap_err();
    let message = err.to_string();
    assert!(matches!(err, LoadError::PinMismatch { .. }), "{message}");
    assert!(message.contains(&hash) && message.contains(&wrong), "{message}");
    assert!(message.contains("not the bytes that were reviewed"), "{message}");
    let err = pinned("abc").unwrap_err();
    assert!(matches!(err, LoadError::BadPin { .. }), "{err}");
    assert!(err.to_string().contains("is not a sha256 (64 hex digits)"), "{err}");
}

/// A 100 MB blob is refused from its size alone: not read, not compiled.
#[test]
fn a_100_mb_blob_is_refused_before_it_is_read() {
    let (host, _cache) = host();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("blob.wasm");
    let file = std::fs::File::create(&path).unwrap();
    file.set_len(100 << 20).unwrap();
    let started = std::time::Instant::now();
    let err = host.load(PluginSource::file(&path), WasmLimits::default()).unwrap_err();
    assert!(started.elapsed() < std::time::Duration::from_secs(1));
    assert!(matches!(err, LoadError::TooLarge { bytes: 104_857_600, .. }), "{err}");
    assert!(err.to_string().contains("more than the 67108864 bytes a plugin may be"), "{err}");
    let bytes = PluginSource::bytes("blob", vec![0u8; (64 << 20) + 1]);
    assert!(matches!(host.load(bytes, WasmLimits::default()), Err(LoadError::TooLarge { .. })));
}

/// A component that is not a gavel plugin, and a plugin of a contract version this host does
/// not know, are refused saying what the host supports and what the component exports.
#[test]
fn components_without_a_supported_contract_are_refused_naming_versions() {
    let (host, _cache) = host();
    let err =
        host.load(PluginSource::file(guest("not-a-plugin")), WasmLimits::default()).unwrap_err();
    let message = err.to_string();
    assert!(matches!(err, LoadError::UnsupportedVersion { .. }), "{message}");
    assert!(message.contains("supports gavel:reward/plugin@0.1.0"), "{message}");
    let err =
        host.load(PluginSource::file(guest("future-contract")), WasmLimits::default()).unwrap_err();
    let message = err.to_string();
    assert!(matches!(err, LoadError::UnsupportedVersion { .. }), "{message}");
    assert!(message.contains("gavel:reward/plugin@9.0.0"), "{message}");
}

/// A policy pins a third party's plugin with `sha256`; the wrong bytes never load.
#[test]
fn a_policy_pins_a_plugin_by_hash() {
    let (host, _cache) = host();
    let path = guest("trivial");
    let hash = gavel_host::sha256_hex(&std::fs::read(path).unwrap());
    let kinds = gavel_policy::SourceKinds::standard(host);
    let policy = |pin: &str| {
        let text = format!(
            "version = 1\nreward = \"len\"\n[sources.len]\nkind = \"wasm\"\nplugin = {path:?}\nsha256 = {pin:?}\n"
        );
        gavel_policy::Policy::parse(&text, "pinned.toml", std::path::Path::new("/"), &kinds)
    };
    assert!(policy(&hash).is_ok());
    // The operator may pin the contract version too.
    let versioned = |contract: &str| {
        let text = format!(
            "version = 1\nreward = \"len\"\n[sources.len]\nkind = \"wasm\"\nplugin = {path:?}\ncontract = {contract:?}\n"
        );
        gavel_policy::Policy::parse(&text, "versioned.toml", std::path::Path::new("/"), &kinds)
    };
    assert!(versioned("0.2.0").is_ok());
    let Err(err) = versioned("0.1.0") else { panic!("the wrong contract loaded") };
    assert!(
        err.to_string()
            .contains("speaks gavel:reward 0.2.0, but the operator pinned contract 0.1.0"),
        "{err}"
    );
    let Err(err) = policy(&"0".repeat(64)) else { panic!("the wrong pin loaded") };
    let err = err.to_string();
    assert!(err.contains("pinned to 0000") && err.contains(&hash), "{err}");
}

/// Contract versions side by side (the Zed pattern): a 0.1.0 plugin and a 0.2.0 plugin in one
/// policy, each linked with its own bindings, their outcomes converted to the same types.
#[test]
fn a_v0_1_0_and_a_v0_2_0_plugin_score_in_one_policy() {
    let (host, _cache) = host();
    let old = load(&host, "contract-v0-1-0", WasmLimits::default());
    let new = load(&host, "trivial", WasmLimits::default());
    assert_eq!(
        (old.info().api_version.as_str(), new.info().api_version.as_str()),
        ("0.1.0", "0.2.0")
    );
    assert!(old.info().capabilities.is_empty() && new.info().capabilities.is_empty());
    let text = format!(
        "version = 1\nreward = \"length + words\"\n\
         [sources.length]\nkind = \"wasm\"\nplugin = {:?}\n\
         [sources.words]\nkind = \"wasm\"\nplugin = {:?}\n",
        guest("trivial"),
        guest("contract-v0-1-0"),
    );
    let kinds = gavel_policy::SourceKinds::standard(host);
    let Ok(policy) =
        gavel_policy::Policy::parse(&text, "mixed.toml", std::path::Path::new("/"), &kinds)
    else {
        panic!("the mixed policy does not load")
    };
    let samples = vec![Sample::new("a", "two words"), Sample::new("b", "one")];
    let scored = tokio::runtime::Runtime::new().unwrap().block_on(policy.score(&samples, 0.0));
    let rewards: Vec<_> = scored.iter().map(|s| s.outcome.reward()).collect();
    assert_eq!(rewards, [Some(9.0 + 2.0), Some(3.0 + 1.0)]);
}
