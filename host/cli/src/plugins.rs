//! Finding plugins by name or path, and the `plugins` and `inspect` commands.

use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, bail};
use gavel_host::{Host, HostConfig, Plugin, PluginSource};
use gavel_sandbox::WasmLimits;

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

/// Creates a host and loads one plugin.
pub fn load(spec: &str, limits: WasmLimits) -> anyhow::Result<(Host, Arc<Plugin>)> {
    let host = Host::new(HostConfig::default()).context("cannot start the plugin host")?;
    let plugin =
        host.load(source(spec)?, limits).with_context(|| format!("cannot load plugin {spec:?}"))?;
    Ok((host, plugin))
}

pub fn list() -> anyhow::Result<()> {
    let host = Host::new(HostConfig::default()).context("cannot start the plugin host")?;
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

pub fn inspect(spec: &str) -> anyhow::Result<()> {
    let (_host, plugin) = load(spec, WasmLimits::default())?;
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
        "sha256": plugin.digest(),
        "config_schema": schema(&info.config_schema),
        "reference_schema": schema(&info.reference_schema),
        "imports": plugin.imports(),
        "limits": plugin.limits(),
    });
    println!("{}", serde_json::to_string_pretty(&report)?);
    Ok(())
}
