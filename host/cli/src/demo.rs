//! `gavel demo`: scores the bundled GRPO examples and prints a table for each.
//!
//! First the default policy, `examples/policies/r1_sum.toml`: DeepSeek-R1's accuracy (`math`)
//! plus format (`format`) reward, with GRPO advantages per prompt group. A sample the math
//! plugin cannot judge is masked (no reward, no advantage), never rewarded 0. Then
//! `examples/policies/arith_prm.toml`: the demo PRM as a tie-breaker among right answers.

use std::path::Path;

use anyhow::Context;
use gavel_core::{Outcome, Sample};

use gavel_policy::Policy;

const EXAMPLE: &str = include_str!("../../../examples/grpo-rollouts.jsonl");
const POLICY: &str = include_str!("../../../examples/policies/r1_sum.toml");
const ARITH_EXAMPLE: &str = include_str!("../../../examples/arith-rollouts.jsonl");
const ARITH_POLICY: &str = include_str!("../../../examples/policies/arith_prm.toml");

pub fn run() -> anyhow::Result<()> {
    let host = crate::plugins::new_host()?;
    let kinds = crate::source_kinds(host);
    let runtime = tokio::runtime::Runtime::new()?;
    let policies = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/policies");
    let table = |title: &str, file: &str, policy: &str, example: &str, parts: [&str; 2]| {
        let samples: Vec<Sample> = example
            .lines()
            .enumerate()
            .map(|(i, line)| {
                Sample::from_json_line(line).with_context(|| format!("example line {}", i + 1))
            })
            .collect::<anyhow::Result<_>>()?;
        let policy = Policy::parse(policy, file, &policies, &kinds)?;
        let scored = runtime.block_on(policy.score(&samples, 0.0));
        println!("{title}\n");
        println!(
            "{:<10} {:<8} {:<15} {:>7} {:>9} {:>7} {:>10}  why",
            "ID",
            "GROUP",
            "STATUS",
            "REWARD",
            parts[0].to_uppercase(),
            parts[1].to_uppercase(),
            "ADVANTAGE"
        );
        for (sample, result) in samples.iter().zip(&scored) {
            let part = |name: &str| match &result.outcome {
                Outcome::Scored(s) => s
                    .components
                    .iter()
                    .find(|(n, _)| n == name)
                    .map_or("-".to_owned(), |(_, v)| format!("{v:.2}")),
                _ => "-".to_owned(),
            };
            let why = match &result.outcome {
                Outcome::Scored(score) => score.explanation.clone().unwrap_or_default(),
                other => other.message().unwrap_or_default().to_owned(),
            };
            println!(
                "{:<10} {:<8} {:<15} {:>7} {:>9} {:>7} {:>10}  {}",
                sample.id,
                sample.group.as_deref().unwrap_or("-"),
                result.outcome.status().as_str(),
                result.outcome.reward().map_or("-".to_owned(), |r| format!("{r:.2}")),
                part(parts[0]),
                part(parts[1]),
                result.advantage.map_or("masked".to_owned(), |a| format!("{a:+.2}")),
                why,
            );
        }
        anyhow::Ok(())
    };
    table(
        "policy: reward = accuracy + format (examples/policies/r1_sum.toml), GRPO advantages",
        "examples/policies/r1_sum.toml",
        POLICY,
        EXAMPLE,
        ["accuracy", "format"],
    )?;
    println!("\nnot_applicable rows are masked from the group baseline, never rewarded 0.\n");
    table(
        "policy: reward = accuracy + gate(accuracy >= 1, 0.5 * min(PRM steps)) (examples/policies/arith_prm.toml)",
        "examples/policies/arith_prm.toml",
        ARITH_POLICY,
        ARITH_EXAMPLE,
        ["accuracy", "bonus"],
    )?;
    println!(
        "\nThe demo PRM (verifiers/prm/demo/arith-prm) scores each step; arith-7/1 reaches the right\n\
         answer through wrong steps and earns less than arith-7/0. The PRM ran only for right answers."
    );
    Ok(())
}
