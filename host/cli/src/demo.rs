//! `gavel demo`: scores the bundled GRPO example with the bundled plugins and prints a table.
//!
//! Each rollout gets a correctness reward from `math` and a format reward from `format`.
//! Until policies land, the demo's reward is correctness, shown beside the format reward and
//! the GRPO advantage within each group (reward minus group mean, over group std).

use std::collections::BTreeMap;

use anyhow::Context;
use gavel_core::{Outcome, Sample};
use gavel_host::{Host, HostConfig};
use gavel_sandbox::WasmLimits;

const EXAMPLE: &str = include_str!("../../../examples/grpo-rollouts.jsonl");

pub fn run() -> anyhow::Result<()> {
    let samples: Vec<Sample> = EXAMPLE
        .lines()
        .enumerate()
        .map(|(i, line)| {
            Sample::from_json_line(line).with_context(|| format!("example line {}", i + 1))
        })
        .collect::<anyhow::Result<_>>()?;
    let host = Host::new(HostConfig::default()).context("cannot start the plugin host")?;
    let runtime = tokio::runtime::Runtime::new()?;
    let mut columns = Vec::new();
    for name in ["math", "format"] {
        let plugin = host.load(crate::plugins::source(name)?, WasmLimits::default())?;
        let outcomes = runtime.block_on(host.score_batch(
            &plugin,
            samples.clone(),
            &serde_json::Value::Null,
        ))?;
        columns.push(outcomes);
    }
    let (math, format) = (&columns[0], &columns[1]);
    let advantages = group_advantages(&samples, math);

    println!(
        "{:<10} {:<8} {:<16} {:>7} {:>7} {:>9}  answer",
        "ID", "GROUP", "STATUS", "MATH", "FORMAT", "ADVANTAGE"
    );
    for (i, sample) in samples.iter().enumerate() {
        let cell = |o: &Outcome| o.reward().map_or("-".to_owned(), |r| format!("{r:.2}"));
        let explanation = match &math[i] {
            Outcome::Scored(score) => score.explanation.clone().unwrap_or_default(),
            other => other.message().unwrap_or_default().to_owned(),
        };
        println!(
            "{:<10} {:<8} {:<16} {:>7} {:>7} {:>9}  {}",
            sample.id,
            sample.group.as_deref().unwrap_or("-"),
            math[i].status().as_str(),
            cell(&math[i]),
            cell(&format[i]),
            advantages[i].map_or("masked".to_owned(), |a| format!("{a:+.2}")),
            explanation,
        );
    }
    println!("\nnot_applicable rows are masked from the group baseline, never rewarded 0.");
    Ok(())
}

/// GRPO advantages per group over the scored samples; `None` for samples without a reward.
fn group_advantages(samples: &[Sample], outcomes: &[Outcome]) -> Vec<Option<f64>> {
    let mut groups: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
    for (sample, outcome) in samples.iter().zip(outcomes) {
        if let Some(reward) = outcome.reward() {
            groups.entry(sample.group.as_deref().unwrap_or("")).or_default().push(reward);
        }
    }
    samples
        .iter()
        .zip(outcomes)
        .map(|(sample, outcome)| {
            let reward = outcome.reward()?;
            let rewards = &groups[sample.group.as_deref().unwrap_or("")];
            let n = rewards.len() as f64;
            let mean = rewards.iter().sum::<f64>() / n;
            let std = (rewards.iter().map(|r| (r - mean).powi(2)).sum::<f64>() / n).sqrt();
            Some((reward - mean) / (std + 1e-6))
        })
        .collect()
}
