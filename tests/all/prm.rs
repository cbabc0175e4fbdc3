//! The `prm` source in a policy: a PRM checkpoint (a parity fixture) scores the steps of a
//! completion, and a gate keeps it from running on wrong answers.

use std::path::Path;

use gavel_core::Sample;
use gavel_policy::{Policy, SourceKinds};
use gavel_prm::Prm;
use serde_json::json;

#[test]
fn a_gated_prm_bonus_runs_the_model_only_on_right_answers() {
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("../verifiers/prm/fixtures/qwen2_prm");
    let text = format!(
        r#"version = 1
reward = "accuracy + bonus"
[terms]
bonus = "gate(accuracy >= 1, 0.2 * (min(steps) - 0.5), 0)"
[sources.accuracy]
kind = "wasm"
plugin = "exact"
[sources.steps]
kind = "prm"
model = "{}"
"#,
        fixture.display()
    );
    let (host, _cache) = gavel_tests::host();
    let mut kinds = SourceKinds::standard(host);
    gavel_prm::register(&mut kinds);
    let policy =
        Policy::parse(&text, "prm.toml", Path::new("/"), &kinds).unwrap_or_else(|e| panic!("{e}"));

    let mut right = Sample::new("right", "2 + 3 = 5\n\n5 * 4 = 20\n\n\\boxed{20}")
        .with_reference(json!({"answer": "20"}));
    right.prompt = "What is (2 + 3) * 4?".into();
    let mut wrong = right.clone();
    wrong.id = "wrong".into();
    wrong.completion = "2 + 3 = 6\n\n6 * 4 = 24\n\n\\boxed{24}".into();
    let scored = tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(policy.score(&[right.clone(), wrong], 0.0));

    let steps: Vec<String> = right.completion.split("\n\n").map(str::to_owned).collect();
    let min = Prm::load(&fixture).unwrap().score_text(&right.prompt, &steps).unwrap().min.unwrap();
    let reward = scored[0].outcome.reward().unwrap();
    assert!((reward - (1.0 + 0.2 * (min - 0.5))).abs() < 1e-9, "{reward} vs min {min}");
    assert_eq!(scored[1].outcome.reward(), Some(0.0));
    assert_eq!(policy.invocations("steps"), Some(1), "the PRM ran for the right answer only");
}
