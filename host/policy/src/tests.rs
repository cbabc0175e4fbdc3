//! Policies over `field` sources: evaluation, laziness, failures, errors. (Policies over WASM
//! plugins are tested through the host in `tests/all/policy.rs`.)

use std::path::Path;

use gavel_core::{ErrorKind, Outcome, Sample, Status};
use proptest::prelude::*;
use serde_json::json;

use super::*;

fn kinds() -> SourceKinds {
    let mut kinds = SourceKinds::new();
    kinds.register("field", Box::new(crate::source::FieldSource::build_for_tests));
    kinds
}

fn policy(text: &str) -> Policy {
    Policy::parse(text, "p.toml", Path::new("."), &kinds()).unwrap_or_else(|e| panic!("{e}"))
}

fn error(text: &str) -> PolicyError {
    Policy::parse(text, "p.toml", Path::new("."), &kinds())
        .err()
        .expect("the policy should not load")
}

fn sample(id: &str, group: &str, meta: serde_json::Value) -> Sample {
    let mut s = Sample::new(id, "");
    s.group = Some(group.to_owned());
    s.meta = meta;
    s
}

fn score(policy: &Policy, samples: &[Sample]) -> Vec<Scored> {
    tokio::runtime::Runtime::new().unwrap().block_on(policy.score(samples, 0.0))
}

const SOURCES: &str = r#"
[sources.fmt]
kind = "field"
path = "meta.fmt"
output = "bool"

[sources.acc]
kind = "field"
path = "meta.acc"

[sources.prm]
kind = "field"
path = "meta.prm"
output = "steps"
"#;

#[test]
fn gates_breakdown_and_advantage() {
    let p = policy(&format!(
        "version = 1\nreward = \"if fmt then acc + bonus else -1\"\n[terms]\nbonus = \"gate(acc >= 1, 0.2 * (min(prm) - 0.5), 0)\"\n[advantage]\nkind = \"grpo\"\n{SOURCES}"
    ));
    let samples = [
        sample("a", "g", json!({"fmt": true, "acc": 1.0, "prm": [0.9, 0.7]})),
        sample("b", "g", json!({"fmt": true, "acc": 0.0, "prm": [0.9, 0.7]})),
        sample("c", "g", json!({"fmt": false, "acc": 1.0, "prm": [0.9]})),
    ];
    let out = score(&p, &samples);
    let rewards: Vec<f64> = out.iter().map(|s| s.outcome.reward().unwrap()).collect();
    assert!(
        (rewards[0] - 1.04).abs() < 1e-12 && rewards[1] == 0.0 && rewards[2] == -1.0,
        "{rewards:?}"
    );
    let Outcome::Scored(a) = &out[0].outcome else { panic!() };
    let names: Vec<&str> = a.components.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["fmt", "acc", "bonus"]);
    assert!((a.components[2].1 - 0.04).abs() < 1e-12);
    // Sample c never reached acc or prm: its breakdown has only fmt.
    let Outcome::Scored(c) = &out[2].outcome else { panic!() };
    assert_eq!(c.components, [("fmt".to_owned(), 0.0)]);
    let adv: Vec<f64> = out.iter().map(|s| s.advantage.unwrap()).collect();
    assert!(adv.iter().sum::<f64>().abs() < 1e-9 && adv[0] > adv[1] && adv[1] > adv[2]);
    assert_eq!(p.invocations("fmt"), Some(3));
    assert_eq!(p.invocations("acc"), Some(2), "acc is gated off for c");
    assert_eq!(p.invocations("prm"), Some(1), "prm only where acc >= 1 and fmt holds");
}

#[test]
fn routes_and_gated_sums_are_lazy() {
    let p = policy(&format!(
        "version = 1\nreward = \"route(task, {{mcq: acc, steps: gated_sum([(acc, 1), min(prm)]), default: 0}})\"\n{SOURCES}"
    ));
    let mut a = sample("a", "g", json!({"acc": 1.0, "prm": [0.5, 0.25]}));
    a.task = Some("steps".into());
    let mut b = sample("b", "g", json!({"acc": 0.0, "prm": [0.5]}));
    b.task = Some("steps".into());
    let mut c = sample("c", "g", json!({}));
    c.task = Some("chat".into());
    let out = score(&p, &[a, b, c]);
    assert_eq!(
        out.iter().map(|s| s.outcome.reward()).collect::<Vec<_>>(),
        [Some(1.25), Some(0.0), Some(0.0)]
    );
    assert_eq!(p.invocations("prm"), Some(1));
    assert_eq!(p.invocations("fmt"), Some(0));
}

#[test]
fn failures_follow_on_error() {
    let text = |on_error: &str| {
        format!(
            "version = 1\nreward = \"acc\"\n[sources.acc]\nkind = \"field\"\npath = \"meta.acc\"\non_error = {on_error}\n"
        )
    };
    let samples = [
        sample("a", "g", json!({"acc": 1.0})),
        sample("b", "g", json!({})),
        sample("c", "h", json!({"acc": 0.5})),
    ];
    let masked = score(&policy(&text("\"mask\"")), &samples);
    assert_eq!(masked[1].outcome.status(), Status::NotApplicable);
    assert!(masked[1].outcome.message().unwrap().contains("source `acc`: meta.acc is absent"));
    assert_eq!(masked[0].outcome.reward(), Some(1.0));
    let substituted = score(&policy(&text("{ value = -1.0 }")), &samples);
    assert_eq!(substituted[1].outcome.reward(), Some(-1.0));
    let dropped = score(&policy(&text("\"drop_group\"")), &samples);
    assert!(matches!(dropped[0].outcome, Outcome::Error { kind: ErrorKind::GroupDropped, .. }));
    assert_eq!(dropped[1].outcome.status(), Status::NotApplicable);
    assert_eq!(dropped[2].outcome.reward(), Some(0.5), "another group is untouched");
}

#[test]
fn group_stage_terms() {
    let p = policy(&format!(
        "version = 1\nreward = \"group_z(acc) + 0.5 * group_center(min(prm))\"\n{SOURCES}"
    ));
    let samples = [
        sample("a", "g", json!({"acc": 1.0, "prm": [1.0]})),
        sample("b", "g", json!({"acc": 0.0, "prm": [0.0]})),
        sample("c", "h", json!({"acc": 1.0, "prm": [0.3]})),
    ];
    let out = score(&p, &samples);
    let z = 0.5 / (0.5f64).sqrt();
    let r: Vec<f64> = out.iter().map(|s| s.outcome.reward().unwrap()).collect();
    assert!((r[0] - (z / (1.0 + 1e-6 / (0.5f64).sqrt()) + 0.25)).abs() < 1e-6, "{r:?}");
    assert!((r[0] + r[1]).abs() < 1e-9);
    assert_eq!(r[2], 0.0, "a group of one carries no signal");
}

#[test]
fn bad_policies_say_where_and_what() {
    let e = error(
        "version = 1\nreward = \"acc + fmtt\"\n[sources.acc]\nkind = \"field\"\npath = \"meta.acc\"\n",
    );
    assert_eq!((e.line, e.column), (2, 17), "{e}");
    assert!(e.message.contains("unknown name `fmtt`: not a source (acc), a term (none)"), "{e}");
    let e = error(&format!("version = 1\nreward = \"acc + prm\"\n{SOURCES}"));
    assert!(e.message.contains("reward must be a scalar"), "{e}");
    let e = error(&format!("version = 1\nreward = \"sum(acc)\"\n{SOURCES}"));
    assert!(e.message.contains("`sum` argument 1 must be steps or an ensemble, got scalar"), "{e}");
    let e = error(&format!("version = 1\nreward = \"gate(acc, 1, 0)\"\n{SOURCES}"));
    assert!(e.message.contains("must be a bool, got scalar"), "{e}");
    let e = error(&format!(
        "version = 1\nreward = \"a\"\n[terms]\na = \"b + 1\"\nb = \"2 * a\"\n{SOURCES}"
    ));
    assert!(e.message.contains("cycle: a → b → a"), "{e}");
    assert_eq!(e.line, 5, "{e}");
    let e = error("version = 1\nreward = \"1.5.2 * 2\"\n");
    assert_eq!((e.line, e.column), (2, 11), "{e}");
    assert!(e.message.contains("`1.5.2` is not a number"), "{e}");
    let e = error("version = 1\nreward = \"prm\"\n[sources.prm]\nkind = \"prm\"\n");
    assert!(e.message.contains("unknown kind \"prm\" (this build has: field)"), "{e}");
    assert_eq!(e.line, 3, "{e}");
    let e = error("version = 2\nreward = \"1\"\n");
    assert!(e.message.contains("version 2 is not supported"), "{e}");
    let e = error("version = 1\nreward = \"1\"\nrewrad = \"2\"\n");
    assert!(e.message.contains("rewrad"), "{e}");
    let e = error(&format!("version = 1\nreward = \"if fmt then group_z(acc) else 0\"\n{SOURCES}"));
    assert!(e.message.contains("cannot sit in a branch"), "{e}");
    let e = error(&format!("version = 1\nreward = \"softmin(prm, temp = 1)\"\n{SOURCES}"));
    assert!(e.message.contains("no parameter `temp` (it has: x, T)"), "{e}");
    let e = error(
        "version = 1\nreward = \"acc\"\n[sources.acc]\nkind = \"field\"\npath = \"meta.acc\"\non_error = \"ignore\"\n",
    );
    assert!(e.message.contains("on_error is \"mask\""), "{e}");
}

#[test]
fn the_plan_says_what_runs_when() {
    let p = policy(&format!("version = 1\nreward = \"if fmt then acc else 0\"\n{SOURCES}"));
    let plan = p.plan();
    assert!(plan.contains("fmt") && plan.contains("runs for every sample"), "{plan}");
    assert!(plan.contains("runs only where a gate or route reaches it"), "{plan}");
    assert!(plan.contains("never used by the reward"), "{plan}");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]
    #[test]
    fn sample_order_does_not_change_results(
        rows in prop::collection::vec((any::<bool>(), 0.0f64..1.0, prop::collection::vec(0.0f64..1.0, 1..4), 0usize..3), 1..12),
        seed in any::<u64>(),
    ) {
        let p = policy(&format!(
            "version = 1\nreward = \"gate(fmt, acc + 0.1 * mean(prm), -1) + group_center(acc)\"\n[advantage]\nkind = \"rloo\"\n{SOURCES}"
        ));
        let samples: Vec<Sample> = rows.iter().enumerate().map(|(i, (f, a, prm, g))| {
            sample(&i.to_string(), &g.to_string(), json!({"fmt": f, "acc": a, "prm": prm}))
        }).collect();

        let forward = score(&p, &samples);
        let mut order: Vec<usize> = (0..samples.len()).collect();
        let mut state = seed;
        for i in (1..order.len()).rev() {
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            order.swap(i, (state >> 33) as usize % (i + 1));
        }
        let shuffled: Vec<Sample> = order.iter().map(|&i| samples[i].clone()).collect();
        let back = score(&p, &shuffled);
        for (k, &i) in order.iter().enumerate() {
            prop_assert_eq!(&back[k].outcome, &forward[i].outcome);
            match (back[k].advantage, forward[i].advantage) {
                (Some(x), Some(y)) => prop_assert!((x - y).abs() < 1e-9),
                (x, y) => prop_assert_eq!(x, y),
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]
    #[test]
    fn a_gated_off_source_is_never_invoked(flags in prop::collection::vec((any::<bool>(), any::<bool>()), 1..16)) {
        let p = policy(&format!(
            "version = 1\nreward = \"gate(fmt, acc, 0) + route(task, {{deep: gated_sum([(acc, 0.5), min(prm)]), default: 0}})\"\n{SOURCES}"
        ));
        let samples: Vec<Sample> = flags.iter().enumerate().map(|(i, (fmt, deep))| {
            let mut s = sample(&i.to_string(), "g", json!({"fmt": fmt, "acc": 1.0, "prm": [0.5]}));
            s.task = Some(if *deep { "deep" } else { "shallow" }.into());
            s
        }).collect();
        score(&p, &samples);
        let wanted_acc = flags.iter().filter(|(fmt, deep)| *fmt || *deep).count() as u64;
        let wanted_prm = flags.iter().filter(|(_, deep)| *deep).count() as u64;
        prop_assert_eq!(p.invocations("acc"), Some(wanted_acc));
        prop_assert_eq!(p.invocations("prm"), Some(wanted_prm));
        prop_assert_eq!(p.invocations("fmt"), Some(flags.len() as u64));
    }
}
