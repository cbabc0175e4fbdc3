//! Finding plugins by name or path, and the `plugins` and `inspect` commands.

use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, bail};
use gavel_host::{Host, HostConfig, LoadOptions, Plugin, PluginSource};
use gavel_sandbox::{Capability, Grants, WasmLimits};

/// `--grant` and `--seed`: the capabilities granted to a plugin named on the command line
/// (a policy file grants them in the plugin's source instead).
#[derive(clap::Args, Debug, Default, Clone)]
pub struct GrantArgs {
    /// Capabilities to grant the plugin, comma-separated: clock, random, files, sockets. Each
    /// is virtual and deterministic (a stopped clock, seeded randomness, only shipped files,
    /// refused sockets); see the README's plugin guide.
    #[arg(long, value_delimiter = ',', value_parser = |s: &str| s.parse::<Capability>())]
    pub grant: Vec<Capability>,
    /// Seed of the `random` capability.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
}

impl GrantArgs {
    /// The grants these arguments describe.
    pub fn grants(&self) -> Grants {
        Grants { capabilities: self.grant.iter().copied().collect(), seed: self.seed }
    }

    /// Whether anything was granted or seeded.
    pub fn is_empty(&self) -> bool {
        self.grant.is_empty() && self.seed == 0
    }
}

/// A bundled plugin by short name, or a component file by path.
pub fn source(spec: &str) -> anyhow::Result<PluginSource> {
    if let Some(bundled) = gavel_bundled::find(spec) {
        return Ok(PluginSource::bytes(bundled.name, bundled.wasm));
    }
    let path = Path::new(spec);
    if path.exists() || spec.ends_with(".wasm") || spec.contains('/') {
        return Ok(PluginSource::file(path));
    }
    let names: Vec<_> = gavel_bundled::PLUGINS.iter().map(|p| p.name).collect();
    bail!("no bundled plugin named {spec:?} and no such file (bundled: {})", names.join(", "))
}

/// The host of every command: components are compiled in a child process of this binary
/// (`gavel compile-component`), bounded by `GAVEL_COMPILE_TIMEOUT_S` (default 120) and
/// `GAVEL_COMPILE_MEMORY_MIB` (default 4096).
pub fn new_host() -> anyhow::Result<Host> {
    let mut config = HostConfig::default();
    let number = |name: &str| -> anyhow::Result<Option<u64>> {
        match std::env::var(name) {
            Ok(text) => text
                .trim()
                .parse()
                .map(Some)
                .with_context(|| format!("{name}={text:?} is not a whole number")),
            Err(_) => Ok(None),
        }
    };
    if let Some(seconds) = number("GAVEL_COMPILE_TIMEOUT_S")? {
        config.compile.timeout = std::time::Duration::from_secs(seconds);
    }
    if let Some(mib) = number("GAVEL_COMPILE_MEMORY_MIB")? {
        config.compile.memory_mib = mib;
    }
    match std::env::current_exe() {
        Ok(exe) => config.compile.isolate = Some((exe, vec!["compile-component".into()])),
        Err(e) => tracing::warn!("cannot find gavel's own binary ({e}); compiling in process"),
    }
    Host::new(config).context("cannot start the plugin host")
}

/// A spinner on stderr for a step that may take seconds (compiling a large component); hidden
/// when stderr is not a terminal.
pub fn spinner(message: &'static str) -> indicatif::ProgressBar {
    let spinner = indicatif::ProgressBar::new_spinner().with_message(message);
    spinner.set_draw_target(indicatif::ProgressDrawTarget::stderr());
    spinner.enable_steady_tick(std::time::Duration::from_millis(120));
    spinner
}

/// Creates a host and loads one plugin.
pub fn load(spec: &str, options: &LoadOptions) -> anyhow::Result<(Host, Arc<Plugin>)> {
    let host = new_host()?;
    let spinner = spinner("loading the plugin");
    let plugin = host
        .load_with(source(spec)?, options)
        .with_context(|| format!("cannot load plugin {spec:?}"));
    spinner.finish_and_clear();
    Ok((host, plugin?))
}

pub fn list() -> anyhow::Result<()> {
    let host = new_host()?;
    println!("{:<10} {:<9} DESCRIPTION", "NAME", "VERSION");
    for bundled in gavel_bundled::PLUGINS {
        let plugin = host
            .load(PluginSource::bytes(bundled.name, bundled.wasm), WasmLimits::default())
            .with_context(|| format!("bundled plugin {} does not load", bundled.name))?;
        let info = plugin.info();
        println!("{:<10} {:<9} {}", info.name, info.version, info.description);
    }
    Ok(())
}

pub fn inspect(spec: &str, grants: &GrantArgs) -> anyhow::Result<()> {
    let options = LoadOptions { grants: grants.grants(), ..LoadOptions::default() };
    let (_host, plugin) = load(spec, &options)?;
    let bytes = match source(spec)? {
        PluginSource::Bytes { wasm, .. } => wasm.into_owned(),
        PluginSource::File(path) => std::fs::read(&path)?,
    };
    let files: Vec<serde_json::Value> = gavel_host::shipped_files(&bytes)
        .map_err(anyhow::Error::msg)?
        .unwrap_or_default()
        .iter()
        .map(|(path, data)| serde_json::json!({"path": format!("/{path}"), "bytes": data.len()}))
        .collect();
    let info = plugin.info();
    let schema = |text: &str| {
        serde_json::from_str::<serde_json::Value>(text)
            .unwrap_or(serde_json::Value::String(text.into()))
    };
    let report = serde_json::json!({
        "name": info.name,
        "version": info.version,
        "description": info.description,
        "api_version": info.api_version,
        "capabilities": info.capabilities,
        "sha256": plugin.digest(),
        "config_schema": schema(&info.config_schema),
        "reference_schema": schema(&info.reference_schema),
        "imports": plugin.imports(),
        "shipped_files": files,
        "limits": plugin.limits(),
    });
    println!("{}", serde_json::to_string_pretty(&report)?);
    Ok(())
}
