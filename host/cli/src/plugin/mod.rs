//! `gavel plugin new | build | test`: writing a plugin of one's own, from an empty folder to a
//! component that scores.

mod scaffold;

use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Command as Process, Stdio};

use anyhow::{Context, bail};
use gavel_core::{Outcome, Sample};
use gavel_host::{Host, HostConfig, PluginSource};
use gavel_sandbox::WasmLimits;
use serde_json::Value;

/// The target plugins are compiled for.
const TARGET: &str = "wasm32-wasip2";

#[derive(clap::Subcommand)]
pub enum Command {
    /// Write a new plugin crate (code, test cases, README, the SDK and the WIT contract).
    New {
        /// The plugin's name (lowercase letters, digits, '-', '_').
        name: String,
        /// Where to write it (default: ./NAME).
        #[arg(long)]
        dir: Option<PathBuf>,
    },
    /// Build a plugin crate into a component, and check that gavel loads it.
    Build {
        /// The crate's folder.
        #[arg(default_value = ".")]
        dir: PathBuf,
    },
    /// Score test cases with a plugin and compare each outcome with the case's `expect`.
    Test {
        /// A `.wasm` component, a bundled plugin's name, or a crate folder (built first).
        plugin: String,
        /// JSON lines: samples, each with an `expect` object (`status`, `reward`, `components`).
        #[arg(long)]
        input: PathBuf,
        /// The plugin's config, as JSON.
        #[arg(long, default_value = "{}")]
        config: String,
    },
}

pub fn run(command: Command) -> anyhow::Result<()> {
    match command {
        Command::New { name, dir } => {
            let dir = dir.unwrap_or_else(|| PathBuf::from(&name));
            scaffold::write(&dir, &name)?;
            println!("wrote plugin {name} in {}", dir.display());
            println!(
                "next: gavel plugin build {0} && gavel plugin test {0} --input {0}/tests/cases.jsonl",
                dir.display()
            );
            Ok(())
        }
        Command::Build { dir } => {
            let wasm = build(&dir)?;
            let host = Host::new(HostConfig::default()).context("cannot start the plugin host")?;
            let plugin =
                host.load(PluginSource::file(&wasm), WasmLimits::default()).with_context(|| {
                    format!("{} was built but gavel does not load it", wasm.display())
                })?;
            let info = plugin.info();
            let bytes = std::fs::read(&wasm)?;
            println!("{}", wasm.display());
            eprintln!("plugin {} {}: {}", info.name, info.version, info.description);
            eprintln!("pin it in a policy: sha256 = \"{}\"", gavel_host::sha256_hex(&bytes));
            Ok(())
        }
        Command::Test { plugin, input, config } => test(&plugin, &input, &config),
    }
}

/// `cargo build --release --target wasm32-wasip2` in `dir`; the component's path.
pub fn build(dir: &Path) -> anyhow::Result<PathBuf> {
    let manifest = dir.join("Cargo.toml");
    if !manifest.is_file() {
        bail!("{} has no Cargo.toml: give the plugin crate's folder", dir.display());
    }
    if let Ok(out) = Process::new("rustup").args(["target", "list", "--installed"]).output()
        && out.status.success()
        && !String::from_utf8_lossy(&out.stdout).lines().any(|l| l.trim() == TARGET)
    {
        bail!("the Rust target {TARGET} is not installed: run `rustup target add {TARGET}`");
    }
    let mut child = Process::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
        .args([
            "build",
            "--release",
            "--target",
            TARGET,
            "--message-format=json-render-diagnostics",
        ])
        .arg("--manifest-path")
        .arg(&manifest)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .context("cannot run cargo (is Rust installed?)")?;
    let mut wasm = None;
    let stdout = child.stdout.take().expect("piped");
    for line in std::io::BufReader::new(stdout).lines() {
        let Ok(message) = serde_json::from_str::<Value>(&line?) else { continue };
        if message["reason"] == "compiler-artifact"
            && let Some(files) = message["filenames"].as_array()
        {
            for file in files.iter().filter_map(Value::as_str) {
                if file.ends_with(".wasm") {
                    wasm = Some(PathBuf::from(file));
                }
            }
        }
    }
    let status = child.wait()?;
    if !status.success() {
        bail!("cargo build failed ({status}): see the messages above");
    }
    wasm.with_context(|| {
        format!("cargo built no .wasm in {}: is it a cdylib crate?", dir.display())
    })
}

fn test(plugin: &str, input: &Path, config: &str) -> anyhow::Result<()> {
    let config: Value = serde_json::from_str(config).context("--config is not valid JSON")?;
    let source = if Path::new(plugin).join("Cargo.toml").is_file() {
        PluginSource::file(build(Path::new(plugin))?)
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
    let host = Host::new(HostConfig::default()).context("cannot start the plugin host")?;
    let plugin = host.load(source, WasmLimits::default()).context("cannot load the plugin")?;
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
