//! The host side of the contract: fresh instances, configs, input caps, what is a plugin.

use gavel_core::{Outcome, Sample, Status};
use gavel_host::{HostError, LoadError, PluginSource};
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
    assert_eq!(plugin.info().api_version, "0.1.0");
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
