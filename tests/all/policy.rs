//! The example policies (`examples/policies/`) on fixed inputs through real plugins: rewards,
//! breakdowns, advantages and which sources ran, each computed by hand.

use std::path::Path;

use gavel_core::{Outcome, Sample, Status};
use gavel_policy::{Policy, Scored, SourceKinds};
use serde_json::{Value, json};

fn load(name: &str) -> (Policy, tempfile::TempDir) {
    let (host, cache) = gavel_tests::host();
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/policies").join(name);
    let policy =
        Policy::load(&path, &SourceKinds::standard(host)).unwrap_or_else(|e| panic!("{e}"));
    (policy, cache)
}

fn run(policy: &Policy, samples: &[Sample], step: f64) -> Vec<Scored> {
    tokio::runtime::Runtime::new().unwrap().block_on(policy.score(samples, step))
}

fn sample(id: &str, group: &str, completion: &str, reference: Value) -> Sample {
    let mut s = Sample::new(id, completion).with_reference(reference);
    s.group = Some(group.to_owned());
    s
}

fn rewards(out: &[Scored]) -> Vec<Option<f64>> {
    out.iter().map(|s| s.outcome.reward()).collect()
}

fn component(s: &Scored, name: &str) -> Option<f64> {
    match &s.outcome {
        Outcome::Scored(score) => score.components.iter().find(|(n, _)| n == name).map(|(_, v)| *v),
        _ => None,
    }
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-9
}

/// The bundled GRPO example: two groups of four math rollouts and one chat sample.
fn rollouts() -> Vec<Sample> {
    let text = include_str!("../../examples/grpo-rollouts.jsonl");
    text.lines().map(|l| Sample::from_json_line(l).unwrap()).collect()
}

#[test]
fn r1_sum() {
    let (policy, _cache) = load("r1_sum.toml");
    let out = run(&policy, &rollouts(), 0.0);
    // accuracy [1,0,1,1 | 1,1,0,0] + format [1,1,0,1 | 1,1,0,1]; the chat sample has no answer.
    assert_eq!(
        rewards(&out),
        [
            Some(2.0),
            Some(1.0),
            Some(1.0),
            Some(2.0),
            Some(2.0),
            Some(2.0),
            Some(0.0),
            Some(1.0),
            None
        ]
    );
    assert_eq!(
        (component(&out[2], "accuracy"), component(&out[2], "format")),
        (Some(1.0), Some(0.0))
    );
    assert_eq!(out[8].outcome.status(), Status::NotApplicable);
    // Group gsm-17: rewards 2,1,1,2, mean 1.5, unbiased std √(1/3): ±0.5·√3.
    let a = 0.5 * 3f64.sqrt();
    for (i, sign) in [(0, 1.0), (1, -1.0), (2, -1.0), (3, 1.0)] {
        assert!((out[i].advantage.unwrap() - sign * a).abs() < 1e-5, "{i}: {:?}", out[i].advantage);
    }
    // Group gsm-42: rewards 2,2,0,1, mean 1.25, std √(2.75/3).
    let std = (2.75f64 / 3.0).sqrt();
    assert!((out[6].advantage.unwrap() + 1.25 / std).abs() < 1e-5);
    assert_eq!(out[8].advantage, None, "masked samples get no advantage");
}

#[test]
fn the_explanation_names_each_source_that_gave_one() {
    let (host, _cache) = gavel_tests::host();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("two.toml");
    let sources =
        ["b", "a"].map(|name| format!("[sources.{name}]\nkind = \"wasm\"\nplugin = \"math\"\n"));
    std::fs::write(&path, format!("version = 1\nreward = \"a + b\"\n{}", sources.concat()))
        .unwrap();
    let policy =
        Policy::load(&path, &SourceKinds::standard(host)).unwrap_or_else(|e| panic!("{e}"));
    let out = run(&policy, &[sample("s", "g", "\\boxed{72}", json!({"answer": "72"}))], 0.0);
    let Outcome::Scored(score) = &out[0].outcome else { panic!("{:?}", out[0].outcome) };
    let each = "equal: \"72\" vs gold \"72\"";
    // In the order the policy file declares the sources.
    assert_eq!(score.explanation, Some(format!("b: {each}; a: {each}")));
}

#[test]
fn r1_gated_never_checks_badly_formatted_answers() {
    let (policy, _cache) = load("r1_gated.toml");
    let out = run(&policy, &rollouts(), 0.0);
    // The chat sample is well formed but has no answer to check: masked, not 0.
    assert_eq!(
        rewards(&out),
        [
            Some(1.0),
            Some(0.0),
            Some(0.0),
            Some(1.0),
            Some(1.0),
            Some(1.0),
            Some(0.0),
            Some(0.0),
            None
        ]
    );
    assert_eq!(out[8].outcome.status(), Status::NotApplicable);
    assert_eq!(policy.invocations("format"), Some(9));
    // Format fails for gsm-17/2 and gsm-42/2: accuracy runs for the other 7.
    assert_eq!(policy.invocations("accuracy"), Some(7));
    assert_eq!(component(&out[2], "accuracy"), None, "never computed");
}

const GOOD_CALL: &str = "<think>look it up</think>\n<tool_call>\n{\"name\": \"f\", \"parameters\": {\"a\": 1}}\n</tool_call>";

fn tool_reference() -> Value {
    json!({"calls": [{"name": "f", "parameters": {"a": 1}}]})
}

#[test]
fn toolrl_static_and_scheduled() {
    let samples = [
        sample("good", "g", GOOD_CALL, tool_reference()),
        sample("none", "g", "I would call f.", tool_reference()),
    ];
    let (policy, _cache) = load("toolrl_static.toml");
    let out = run(&policy, &samples, 0.0);
    assert_eq!(rewards(&out), [Some(4.0), Some(-3.0)]);
    assert!(close(out[0].advantage.unwrap(), 7.0 / 2.0 / (24.5f64.sqrt() + 1e-6)));

    let (policy, _cache) = load("toolrl_scheduled.toml");
    // Perfect call: format max + correctness max; no call: format min − correctness max.
    for (step, good, none) in [
        (0.0, 2.0 + 2.0, -2.0 - 2.0),
        (75.0, 1.5 + 2.5, -1.0 - 2.5),
        (150.0, 1.0 + 3.0, -1.0 - 3.0),
        (900.0, 4.0, -4.0),
    ] {
        let out = run(&policy, &samples, step);
        let r = rewards(&out);
        assert!(close(r[0].unwrap(), good) && close(r[1].unwrap(), none), "step {step}: {r:?}");
        assert!(close(
            component(&out[0], "cmax").unwrap(),
            if step >= 150.0 { 3.0 } else { 2.0 + step / 150.0 }
        ));
    }
}

#[test]
fn routed_mix_runs_only_the_routed_verifier() {
    let (policy, _cache) = load("routed_mix.toml");
    let mut math = sample("m", "g", "<think>2+2</think><answer>4</answer>", json!({"answer": "4"}));
    math.task = Some("math".into());
    let mut tool =
        sample("t", "g", "[f(a=1)]", json!({"calls": [{"name": "f", "arguments": {"a": 2}}]}));
    tool.task = Some("tool".into());
    let mut chat = sample("c", "g", "hello", Value::Null);
    chat.task = Some("chat".into());
    let out = run(&policy, &[math, tool, chat], 0.0);
    let r: Vec<f64> = rewards(&out).into_iter().map(Option::unwrap).collect();
    // math: 0.5·format(1) + 1; tool: 0.5·0 + partial credit (name 0.2 + keys 0.3, value wrong); chat: 0.
    assert!(close(r[0], 1.5) && close(r[1], 0.5) && close(r[2], 0.0), "{r:?}");
    assert_eq!((policy.invocations("accuracy"), policy.invocations("calls")), (Some(1), Some(1)));
    // Dr. GRPO: reward minus the group mean.
    assert!(close(out[0].advantage.unwrap(), 1.5 - 2.0 / 3.0));
}

#[test]
fn g_ra_counts_step_rewards_only_when_the_outcome_passes() {
    let (policy, _cache) = load("g_ra.toml");
    let mut right = sample("r", "g", "<answer>4</answer>", json!({"answer": "4"}));
    right.meta = json!({"step_rewards": [0.5, 1.0, -0.5]});
    let mut wrong = sample("w", "g", "<answer>5</answer>", json!({"answer": "4"}));
    wrong.meta = json!({"step_rewards": [1.0, 1.0]});
    let bare = sample("b", "g", "<answer>4</answer>", json!({"answer": "4"}));
    let out = run(&policy, &[right, wrong, bare], 0.0);
    let r: Vec<f64> = rewards(&out).into_iter().map(Option::unwrap).collect();
    assert!(close(r[0], 1.1) && close(r[1], 0.0) && close(r[2], 1.0), "{r:?}");
    assert_eq!(policy.invocations("critics"), Some(2), "never for the wrong answer");
}

#[test]
fn prm_bonus_breaks_ties_among_correct_answers() {
    let (policy, _cache) = load("prm_bonus.toml");
    let mut a = sample("a", "g", "<answer>4</answer>", json!({"answer": "4"}));
    a.meta = json!({"prm_steps": [0.9, 0.6]});
    let mut b = sample("b", "g", "<answer>4</answer>", json!({"answer": "4"}));
    b.meta = json!({"prm_steps": [0.9, 0.2]});
    let mut c = sample("c", "g", "<answer>3</answer>", json!({"answer": "4"}));
    c.meta = json!({"prm_steps": [0.99]});
    let out = run(&policy, &[a, b, c], 0.0);
    let r: Vec<f64> = rewards(&out).into_iter().map(Option::unwrap).collect();
    assert!(close(r[0], 1.02) && close(r[1], 0.94) && close(r[2], 0.0), "{r:?}");
    assert!(close(component(&out[0], "bonus").unwrap(), 0.02));
    assert_eq!(policy.invocations("prm"), Some(2));
}

#[test]
fn a_failing_plugin_masks_its_samples_and_never_becomes_a_reward() {
    let (host, _cache) = gavel_tests::host();
    let spin = gavel_tests::guest("spin");
    let text = format!(
        "version = 1\nreward = \"spin + 1\"\n[sources.spin]\nkind = \"wasm\"\nplugin = \"{spin}\"\nlimits = {{ deadline_ms = 50 }}\n"
    );
    let policy = Policy::parse(&text, "spin.toml", Path::new("/"), &SourceKinds::standard(host))
        .unwrap_or_else(|e| panic!("{e}"));
    let out = run(
        &policy,
        &[sample("s", "g", "spin", Value::Null), sample("t", "g", "fine", Value::Null)],
        0.0,
    );
    assert_eq!(out[0].outcome.status(), Status::Timeout, "{:?}", out[0].outcome);
    assert!(out[0].outcome.message().unwrap().starts_with("source `spin`"));
    assert_eq!(out[1].outcome.reward(), Some(2.0), "the rest of the batch is scored");
}
