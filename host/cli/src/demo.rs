//! `gavel demo`: scores the bundled GRPO example with the default policy and prints a table.
//!
//! The default policy is `examples/policies/r1_sum.toml`: DeepSeek-R1's accuracy (`math`) plus
//! format (`format`) reward, with GRPO advantages per prompt group. A sample the math plugin
//! cannot judge is masked (no reward, no advantage), never rewarded 0.

use std::path::Path;

use anyhow::Context;
use gavel_core::{Outcome, Sample};
use gavel_host::{Host, HostConfig};
use gavel_policy::Policy;

const EXAMPLE: &str = include_str!("../../../examples/grpo-rollouts.jsonl");
const POLICY: &str = include_str!("../../../examples/policies/r1_sum.toml");

pub fn run() -> anyhow::Result<()> {
    let samples: Vec<Sample> = EXAMPLE
        .lines()
        .enumerate()
        .map(|(i, line)| {
            Sample::from_json_line(line).with_context(|| format!("example line {}", i + 1))
        })
        .collect::<anyhow::Result<_>>()?;
    let host = Host::new(HostConfig::default()).context("cannot start the plugin host")?;
    let policy = Policy::parse(
        POLICY,
        "examples/policies/r1_sum.toml",
        Path::new("."),
        &crate::source_kinds(host),
    )?;
    let runtime = tokio::runtime::Runtime::new()?;
    let scored = runtime.block_on(policy.score(&samples, 0.0));

    println!(
        "policy: reward = accuracy + format (examples/policies/r1_sum.toml), GRPO advantages\n"
    );
    println!(
        "{:<10} {:<8} {:<15} {:>7} {:>9} {:>7} {:>10}  why",
        "ID", "GROUP", "STATUS", "REWARD", "ACCURACY", "FORMAT", "ADVANTAGE"
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
            part("accuracy"),
            part("format"),
            result.advantage.map_or("masked".to_owned(), |a| format!("{a:+.2}")),
            why,
        );
    }
    println!("\nnot_applicable rows are masked from the group baseline, never rewarded 0.");
    Ok(())
}
