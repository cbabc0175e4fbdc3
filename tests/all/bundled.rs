//! The bundled plugins through the host, and their determinism.

use gavel_core::{Outcome, Sample, Status};
use gavel_host::{Host, PluginSource};
use gavel_sandbox::WasmLimits;
use gavel_tests::host;
use proptest::prelude::*;
use serde_json::json;

fn bundled(host: &Host, name: &str) -> std::sync::Arc<gavel_host::Plugin> {
    let wasm = gavel_bundled::find(name).unwrap_or_else(|| panic!("{name} is bundled")).wasm;
    host.load(PluginSource::bytes(name, wasm), WasmLimits::default()).unwrap()
}

#[test]
fn exact_scores_the_issue_example() {
    let (host, _cache) = host();
    let plugin = bundled(&host, "exact");
    let sample = Sample::from_json_line(
        r#"{"id":"a","completion":"<answer>42</answer>","reference":{"answer":"42"}}"#,
    )
    .unwrap();
    let outcome = host.score_batch_blocking(&plugin, &[sample], &json!({})).unwrap().remove(0);
    assert_eq!(outcome.status(), Status::Ok);
    assert_eq!(outcome.reward(), Some(1.0));
}

#[test]
fn format_scores_r1_shapes_with_components() {
    let (host, _cache) = host();
    let plugin = bundled(&host, "format");
    let samples = vec![
        Sample::new("good", "<think>hm</think>\n<answer>42</answer>"),
        Sample::new("bare", "42"),
    ];
    let outcomes = host.score_batch_blocking(&plugin, &samples, &json!({"partial": true})).unwrap();
    let Outcome::Scored(good) = &outcomes[0] else { panic!("{outcomes:?}") };
    assert_eq!(good.value, 1.0);
    assert_eq!(good.components.len(), 4);
    assert_eq!(outcomes[1].reward(), Some(0.0));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    /// The same input gives the same reward, whatever the batch it arrives in.
    #[test]
    fn rewards_are_deterministic_across_calls_and_batchings(
        completions in proptest::collection::vec("(<think>[a-z ]{0,8}</think>)?\\s?(<answer>[0-9]{1,3}</answer>)?[a-z]{0,3}", 1..20),
        answer in "[0-9]{1,3}",
    ) {
        let (host, _cache) = host();
        let samples: Vec<Sample> = completions
            .iter()
            .enumerate()
            .map(|(i, c)| Sample::new(i.to_string(), c.as_str()).with_reference(json!({"answer": answer})))
            .collect();
        for name in ["format", "exact"] {
            let plugin = bundled(&host, name);
            let together = host.score_batch_blocking(&plugin, &samples, &json!({})).unwrap();
            let again = host.score_batch_blocking(&plugin, &samples, &json!({})).unwrap();
            prop_assert_eq!(&together, &again);
            for (sample, expected) in samples.iter().zip(&together) {
                let alone = host.score_batch_blocking(&plugin, std::slice::from_ref(sample), &json!({})).unwrap();
                prop_assert_eq!(&alone[0], expected);
                prop_assert!(expected.reward().is_some_and(|r| r == 0.0 || r == 1.0));
            }
        }
    }
}
