//! `gavel plugin test`: score test cases and compare each outcome with what the case expects.

use std::path::Path;

use anyhow::{Context, bail};
use gavel_core::{Outcome, Sample};
use gavel_host::{LoadOptions, PluginSource};
use gavel_sandbox::Grants;
use serde_json::Value;

use super::build::{build, is_plugin_dir, ship_files};

pub fn test(plugin: &str, input: &Path, config: &str, grants: &Grants) -> anyhow::Result<()> {
    let config: Value = serde_json::from_str(config).context("--config is not valid JSON")?;
    let source = if is_plugin_dir(Path::new(plugin)) {
        let wasm = build(Path::new(plugin))?;
        ship_files(Path::new(plugin), &wasm)?;
        PluginSource::file(wasm)
    } else {
        crate::plugins::source(plugin)?
    };
    let text = std::fs::read_to_string(input)
        .with_context(|| format!("cannot read {}", input.display()))?;
    let mut samples = Vec::new();
    let mut expects = Vec::new();
    for (i, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        let at = || format!("{} line {}", input.display(), i + 1);
        let mut value: Value = serde_json::from_str(line).with_context(at)?;
        let expect = value
            .as_object_mut()
            .and_then(|o| o.remove("expect"))
            .with_context(|| format!("{}: no `expect` object", at()))?;
        samples.push(Sample::from_json_line(&value.to_string()).with_context(at)?);
        expects.push(expect);
    }
    let host = crate::plugins::new_host()?;
    let options = LoadOptions { grants: grants.clone(), ..LoadOptions::default() };
    let spinner = crate::plugins::spinner("loading the plugin");
    let plugin = host.load_with(source, &options).context("cannot load the plugin");
    spinner.finish_and_clear();
    let plugin = plugin?;
    let outcomes = host.score_batch_blocking(&plugin, &samples, &config)?;
    let mut failed = 0;
    for ((sample, expect), outcome) in samples.iter().zip(&expects).zip(&outcomes) {
        match mismatch(expect, outcome) {
            None => println!("ok    {}", sample.id),
            Some(why) => {
                failed += 1;
                println!("FAIL  {}: {why}", sample.id);
            }
        }
    }
    println!("{} cases, {} passed, {failed} failed", samples.len(), samples.len() - failed);
    if failed > 0 {
        bail!("{failed} case(s) did not give the expected outcome");
    }
    Ok(())
}

/// Why `outcome` is not what `expect` says, if it is not.
fn mismatch(expect: &Value, outcome: &Outcome) -> Option<String> {
    let status = outcome.status().as_str();
    if let Some(want) = expect.get("status").and_then(Value::as_str)
        && want != status
    {
        return Some(format!("status {status}, expected {want} ({})", describe(outcome)));
    }
    if let Some(want) = expect.get("reward").and_then(Value::as_f64) {
        match outcome.reward() {
            Some(got) if (got - want).abs() <= 1e-9 => {}
            got => return Some(format!("reward {got:?}, expected {want} ({})", describe(outcome))),
        }
    }
    if let (Some(want), Outcome::Scored(score)) =
        (expect.get("components").and_then(Value::as_object), outcome)
    {
        for (name, value) in want {
            let got = score.components.iter().find(|(n, _)| n == name).map(|(_, v)| *v);
            if got.zip(value.as_f64()).is_none_or(|(g, w)| (g - w).abs() > 1e-9) {
                return Some(format!("component {name} {got:?}, expected {value}"));
            }
        }
    }
    None
}

fn describe(outcome: &Outcome) -> String {
    match outcome {
        Outcome::Scored(score) => score.explanation.clone().unwrap_or_else(|| "scored".into()),
        other => other.message().unwrap_or_default().to_owned(),
    }
}
