//! `gavel plugin new | build | test`: writing a plugin of one's own, from an empty folder to a
//! component that scores.

mod scaffold;

use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Command as Process, Stdio};

use anyhow::{Context, bail};
use gavel_core::{Outcome, Sample};
use gavel_host::{LoadOptions, PluginSource};
use gavel_sandbox::{Capability, Grants};
use serde_json::Value;

/// The target plugins are compiled for.
const TARGET: &str = "wasm32-wasip2";

#[derive(clap::Subcommand)]
pub enum Command {
    /// Write a new plugin (code, test cases, README, the SDK and the WIT contract): a Rust
    /// crate, or with `--lang python` a Python plugin for componentize-py.
    New {
        /// The plugin's name (lowercase letters, digits, '-', '_').
        name: String,
        /// Where to write it (default: ./NAME).
        #[arg(long)]
        dir: Option<PathBuf>,
        /// The language to write it in.
        #[arg(long, value_enum, default_value_t = scaffold::Lang::Rust)]
        lang: scaffold::Lang,
    },
    /// Build a plugin into a component (a Rust crate with cargo, a Python plugin with
    /// componentize-py), check that gavel loads it, and print its path and sha256.
    Build {
        /// The plugin's folder: a crate (`Cargo.toml`) or a Python plugin (`app.py`).
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
        #[command(flatten)]
        grants: crate::plugins::GrantArgs,
    },
}

pub fn run(command: Command) -> anyhow::Result<()> {
    match command {
        Command::New { name, dir, lang } => {
            let dir = dir.unwrap_or_else(|| PathBuf::from(&name));
            scaffold::write(&dir, &name, lang)?;
            println!("wrote plugin {name} in {}", dir.display());
            let grant = match lang {
                scaffold::Lang::Rust => "",
                scaffold::Lang::Python => " --grant clock,random,files,sockets",
            };
            println!(
                "next: gavel plugin build {0} && gavel plugin test {0} --input {0}/tests/cases.jsonl{grant}",
                dir.display()
            );
            Ok(())
        }
        Command::Build { dir } => {
            let wasm = build(&dir)?;
            ship_files(&dir, &wasm)?;
            let host = crate::plugins::new_host()?;
            // The author's check: everything granted, so what it requests can be reported.
            let options =
                LoadOptions { grants: Grants::of(Capability::ALL), ..LoadOptions::default() };
            let spinner = crate::plugins::spinner("compiling and checking the component");
            let plugin = host.load_with(PluginSource::file(&wasm), &options).with_context(|| {
                format!("{} was built but gavel does not load it", wasm.display())
            });
            spinner.finish_and_clear();
            let plugin = plugin?;
            let info = plugin.info();
            let bytes = std::fs::read(&wasm)?;
            println!("{}", wasm.display());
            eprintln!("plugin {} {}: {}", info.name, info.version, info.description);
            if !info.capabilities.is_empty() {
                let list = info.capabilities.join(",");
                eprintln!(
                    "it requests capabilities {list}: an operator grants them with \
                     `grant = {:?}` in the policy's source (or --grant {list})",
                    info.capabilities
                );
            }
            eprintln!("pin it in a policy: sha256 = \"{}\"", gavel_host::sha256_hex(&bytes));
            Ok(())
        }
        Command::Test { plugin, input, config, grants } => {
            test(&plugin, &input, &config, &grants.grants())
        }
    }
}

/// Builds the plugin in `dir` with its language's toolchain; the component's path.
pub fn build(dir: &Path) -> anyhow::Result<PathBuf> {
    if dir.join("Cargo.toml").is_file() {
        build_rust(dir)
    } else if dir.join("app.py").is_file() {
        build_python(dir)
    } else {
        bail!(
            "{} holds no plugin: a Rust plugin has a Cargo.toml, a Python plugin an app.py",
            dir.display()
        )
    }
}

/// Puts the files under `dir/files/` (if any) into the component at `wasm`, where a plugin
/// granted `files` reads them at `/` (`files/words.txt` as `/words.txt`).
fn ship_files(dir: &Path, wasm: &Path) -> anyhow::Result<()> {
    let root = dir.join("files");
    if !root.is_dir() {
        return Ok(());
    }
    let mut files = Vec::new();
    let mut pending = vec![root.clone()];
    while let Some(folder) = pending.pop() {
        for entry in std::fs::read_dir(&folder)
            .with_context(|| format!("cannot list {}", folder.display()))?
        {
            let path = entry?.path();
            if path.is_dir() {
                pending.push(path);
            } else if path.is_file() {
                let name = path.strip_prefix(&root).expect("under root");
                let name = name
                    .to_str()
                    .with_context(|| format!("{} is not a UTF-8 path", path.display()))?;
                let data = std::fs::read(&path)
                    .with_context(|| format!("cannot read {}", path.display()))?;
                files.push((name.replace(std::path::MAIN_SEPARATOR, "/"), data));
            }
        }
    }
    files.sort();
    let bytes = std::fs::read(wasm)?;
    let shipped = gavel_host::ship_files(&bytes, &files)
        .map_err(|e| anyhow::anyhow!("cannot ship {}: {e}", root.display()))?;
    std::fs::write(wasm, shipped)?;
    let total: usize = files.iter().map(|(_, d)| d.len()).sum();
    eprintln!(
        "shipped {} files ({total} bytes) from {} (read at / with `files`)",
        files.len(),
        root.display()
    );
    Ok(())
}

/// Whether `dir` is a plugin's source folder (rather than a component or a bundled name).
fn is_plugin_dir(dir: &Path) -> bool {
    dir.join("Cargo.toml").is_file() || dir.join("app.py").is_file()
}

/// `cargo build --release --target wasm32-wasip2` in `dir`; the component's path.
fn build_rust(dir: &Path) -> anyhow::Result<PathBuf> {
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

/// `componentize-py` on the Python plugin in `dir` (its `app.py`): `dir/build/<folder
/// name>.wasm`. The contract is the plugin's `wit/` when it has one (`gavel plugin new`
/// copies it), else the one this gavel speaks; the SDK likewise (`gavel_plugin.py`). The tool
/// is `$GAVEL_COMPONENTIZE_PY`, else `componentize-py` on the PATH.
fn build_python(dir: &Path) -> anyhow::Result<PathBuf> {
    let dir = dir.canonicalize().with_context(|| format!("cannot resolve {}", dir.display()))?;
    let name = dir.file_name().and_then(|n| n.to_str()).unwrap_or("plugin").to_owned();
    let out = dir.join("build");
    let sdk = out.join("sdk");
    std::fs::create_dir_all(&sdk).with_context(|| format!("cannot create {}", sdk.display()))?;
    std::fs::write(sdk.join(scaffold::PY_SDK.0), scaffold::PY_SDK.1)?;
    let wit = if dir.join("wit").is_dir() {
        dir.join("wit")
    } else {
        let wit = out.join("wit");
        std::fs::create_dir_all(&wit)?;
        std::fs::write(wit.join("reward.wit"), scaffold::WIT.1)?;
        wit
    };
    let wasm = out.join(format!("{name}.wasm"));
    let tool =
        std::env::var_os("GAVEL_COMPONENTIZE_PY").unwrap_or_else(|| "componentize-py".into());
    let status = Process::new(&tool)
        .arg("-d")
        .arg(&wit)
        .args(["-w", "reward-plugin", "componentize", "app", "-p", "."])
        .arg("-p")
        .arg(&sdk)
        .arg("-o")
        .arg(&wasm)
        .current_dir(&dir)
        .stdout(Stdio::null())
        .status()
        .with_context(|| {
            format!(
                "cannot run {}: install it with `pip install componentize-py` \
                 (or point GAVEL_COMPONENTIZE_PY at it)",
                tool.to_string_lossy()
            )
        })?;
    if !status.success() {
        bail!("componentize-py failed ({status}): see the messages above");
    }
    Ok(wasm)
}

fn test(plugin: &str, input: &Path, config: &str, grants: &Grants) -> anyhow::Result<()> {
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
