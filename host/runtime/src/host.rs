//! The host: one engine, one linker, the precompiled cache, and the scheduling of calls.
//!
//! Calls run the synchronous wasmtime API on the host's own worker threads ([`Workers`]; a
//! guest→host call is about half the cost of the async one, and reward plugins do no I/O), at
//! most `workers` at a time. Admission is bounded: when `max_pending` calls are already in
//! flight or waiting, a new one is refused at once with [`HostError::Overloaded`] rather than
//! queued without bound.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use gavel_core::{ErrorKind, Outcome, Sample};
use gavel_sandbox::{Capability, Grants, WasmLimits};
use wasmtime::Engine;
use wasmtime::component::{Component, Linker};

use crate::cache::{self, ComponentCache};
use crate::call::{call_batch, new_store};
use crate::compile::{self, CompileConfig};
use crate::plugin::{Plugin, PluginSource};
use crate::shipped::{self, ShippedDir};
use crate::state::HostState;
use crate::versions::{PluginPre, SUPPORTED};
use crate::workers::Workers;
use crate::{HostError, LoadError, engine, linker, vet};

/// How a host is set up.
#[derive(Debug, Clone)]
pub struct HostConfig {
    /// Plugin calls running at once. Default: the number of cores.
    pub workers: usize,
    /// Calls admitted at once (running or waiting for a worker); more are refused. Default 1024.
    pub max_pending: usize,
    /// Where precompiled components are cached; `None` disables the cache. Default:
    /// `$GAVEL_CACHE_DIR`, else `$XDG_CACHE_HOME/gavel/components`, else `~/.cache/gavel/components`.
    pub cache_dir: Option<PathBuf>,
    /// Plugin instances alive at once (pool slots), across async and blocking callers.
    /// Default 256.
    pub max_instances: u32,
    /// How components are compiled: bounded in time and memory, in a child process when
    /// the embedding binary offers one.
    pub compile: CompileConfig,
}

impl Default for HostConfig {
    fn default() -> Self {
        Self {
            workers: std::thread::available_parallelism().map_or(1, |n| n.get()),
            max_pending: 1024,
            cache_dir: cache::default_dir(),
            max_instances: 256,
            compile: CompileConfig::default(),
        }
    }
}

/// What the operator allows one plugin.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// The limits its calls run under.
    pub limits: WasmLimits,
    /// The sha256 (hex) its bytes must have: how an operator runs exactly the plugin that
    /// was reviewed. `None`: any bytes.
    pub sha256: Option<String>,
    /// The capabilities it may use beyond pure computation. Default: none.
    pub grants: Grants,
    /// The contract version (such as `0.2.0`) it must speak, when the operator pins one.
    pub contract: Option<String>,
}

/// The plugin host. Cheap to clone; clones share the engine, cache and worker budget.
#[derive(Clone)]
pub struct Host {
    inner: Arc<Inner>,
}

struct Inner {
    engine: Engine,
    linker: Linker<HostState>,
    cache: Option<ComponentCache>,
    compile: CompileConfig,
    workers: Workers,
    pending: AtomicUsize,
    max_pending: usize,
}

/// Holds one admission slot; releases it when dropped.
struct Admission<'a>(&'a AtomicUsize);

impl Drop for Admission<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

impl Host {
    /// Creates a host: the engine, its epoch ticker, the linker and the cache directory.
    pub fn new(config: HostConfig) -> Result<Self, HostError> {
        let engine = engine::new_engine(config.max_instances.max(1))?;
        engine::start_ticker(&engine);
        let linker =
            linker::new_linker(&engine).map_err(|e| HostError::Engine(format!("{e:#}")))?;
        let workers = config.workers.max(1);
        let cache = match config.cache_dir {
            Some(dir) => Some(
                ComponentCache::new(&engine, dir.clone())
                    .map_err(|error| HostError::Cache { path: dir, error })?,
            ),
            None => None,
        };
        Ok(Self {
            inner: Arc::new(Inner {
                engine,
                linker,
                cache,
                compile: config.compile,
                workers: Workers::start(workers).map_err(|e| {
                    HostError::Engine(format!("cannot start the worker threads: {e}"))
                })?,
                pending: AtomicUsize::new(0),
                max_pending: config.max_pending.max(1),
            }),
        })
    }

    /// Loads a plugin with `limits`, no pin and no capabilities: see [`Host::load_with`].
    pub fn load(&self, source: PluginSource, limits: WasmLimits) -> Result<Arc<Plugin>, LoadError> {
        self.load_with(source, &LoadOptions { limits, ..LoadOptions::default() })
    }

    /// Loads a plugin under what the operator allows it. In order, each step refusing with a
    /// [`LoadError`] that says exactly why: the size cap, the sha256 pin, the component
    /// header, the imports declared in its bytes against the grants (before any compilation),
    /// compilation (or the cache), the contract version it exports, its `plugin-info`'s
    /// requested capabilities against the grants, and its imports against what it requested.
    pub fn load_with(
        &self,
        source: PluginSource,
        options: &LoadOptions,
    ) -> Result<Arc<Plugin>, LoadError> {
        let LoadOptions { limits, sha256, grants, contract } = options;
        let label = source.label();
        limits.validate().map_err(|error| LoadError::Limits { plugin: label.clone(), error })?;
        let wasm = vet::read(source, &label)?;
        if let Some(pin) = sha256 {
            vet::check_pin(&label, &wasm, pin)?;
        }
        vet::check_header(&label, &wasm)?;
        let top = vet::top_level(&wasm);
        if let Some(declared) = &top.imports {
            linker::check_imports(&label, declared, grants)?;
        }
        let files = shipped::from_sections(&top.files)
            .map_err(|message| LoadError::ShippedFiles { plugin: label.clone(), message })?;
        let component = self.compile(&label, &wasm)?;
        let engine = &self.inner.engine;

        let imports = linker::imports(engine, &component);
        linker::check_imports(&label, &imports, grants)?;
        let exports: Vec<String> =
            component.component_type().exports(engine).map(|(n, _)| n.to_owned()).collect();
        let pre = match PluginPre::new(&self.inner.linker, &component, &exports) {
            Some(Ok(pre)) => pre,
            Some(Err(e)) => {
                return Err(LoadError::Link { plugin: label, message: format!("{e:#}") });
            }
            None => {
                return Err(LoadError::UnsupportedVersion {
                    plugin: label,
                    supported: SUPPORTED.join(", "),
                    found: if exports.is_empty() { "nothing".into() } else { exports.join(", ") },
                });
            }
        };
        let info = pre
            .describe(&mut new_store(engine, limits, grants, None, 1))
            .map_err(|e| LoadError::Describe { plugin: label, message: format!("{e:#}") })?;
        vet::check_info(&info, &imports, grants, contract.as_deref())?;
        let shipped = match files {
            Some(files) if grants.allows(Capability::Files) => {
                Some(ShippedDir::write(&files).map_err(|e| LoadError::ShippedFiles {
                    plugin: info.name.clone(),
                    message: format!("cannot write them out: {e}"),
                })?)
            }
            _ => None,
        };
        let digest = vet::sha256_hex(&wasm);
        Ok(Arc::new(Plugin {
            info,
            pre,
            limits: limits.clone(),
            grants: grants.clone(),
            shipped,
            imports,
            digest,
            warned_heavy: Default::default(),
        }))
    }

    fn compile(&self, label: &str, wasm: &[u8]) -> Result<Component, LoadError> {
        let engine = &self.inner.engine;
        if let Some(component) = self.inner.cache.as_ref().and_then(|c| c.get(engine, wasm)) {
            return Ok(component);
        }
        let component = compile::compile(engine, &self.inner.compile, label, wasm)?;
        if let Some(cache) = &self.inner.cache {
            cache.put(wasm, &component);
        }
        Ok(component)
    }

    /// Calls admitted and not yet finished (a refused call counts for the instant it takes to
    /// refuse it).
    pub fn pending(&self) -> usize {
        self.inner.pending.load(Ordering::Acquire)
    }

    fn admit(&self) -> Result<Admission<'_>, HostError> {
        let pending = self.inner.pending.fetch_add(1, Ordering::AcqRel);
        let admission = Admission(&self.inner.pending);
        if pending >= self.inner.max_pending {
            return Err(HostError::Overloaded { pending, limit: self.inner.max_pending });
        }
        Ok(admission)
    }

    /// Checks a config against the plugin without scoring anything: the plugin parses it
    /// on an empty batch. Use it to fail fast before a long run.
    pub fn check_config(
        &self,
        plugin: &Plugin,
        config: &serde_json::Value,
    ) -> Result<(), HostError> {
        let text = config_text(config)?;
        let mut store =
            new_store(&self.inner.engine, &plugin.limits, &plugin.grants, plugin.files(), 1);
        match plugin.pre.score(&mut store, &text, Vec::new()) {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(message)) => {
                Err(HostError::Config { plugin: plugin.info.name.clone(), message })
            }
            Err(e) => Err(HostError::Config {
                plugin: plugin.info.name.clone(),
                message: format!("the plugin failed while reading it: {e:#}"),
            }),
        }
    }

    /// Scores samples on the worker threads, in batches of the plugin's `batch_size`, at most
    /// `workers` batches at a time. One outcome per sample, in order.
    ///
    /// Refused with [`HostError::Overloaded`] when `max_pending` calls are already admitted.
    /// Dropping the future (a caller that went away) cancels the batches still waiting for a
    /// worker; a batch already running finishes within its deadline.
    pub async fn score_batch(
        &self,
        plugin: &Arc<Plugin>,
        samples: Vec<Sample>,
        config: &serde_json::Value,
    ) -> Result<Vec<Outcome>, HostError> {
        let _admission = self.admit()?;
        let config: Arc<str> = config_text(config)?.into();
        let samples = Arc::new(samples);
        let batch = plugin.limits.batch_size as usize;
        // Every batch is queued now; dropping the receivers (this future) skips those no
        // worker has taken up yet.
        let queued: Vec<_> = (0..samples.len())
            .step_by(batch)
            .map(|start| {
                let end = (start + batch).min(samples.len());
                let (inner, plugin, config, samples) =
                    (self.inner.clone(), plugin.clone(), config.clone(), samples.clone());
                let result = self.inner.workers.submit(move || {
                    call_batch(&inner.engine, &plugin, &config, &samples[start..end])
                });
                (end - start, result)
            })
            .collect();
        let mut outcomes = Vec::with_capacity(samples.len());
        for (size, result) in queued {
            match result.await {
                Ok(batch_outcomes) => outcomes.extend(batch_outcomes),
                Err(_) => {
                    let panicked = Outcome::error(
                        ErrorKind::Host,
                        "scoring task failed: the batch panicked".to_owned(),
                    );
                    outcomes.extend(std::iter::repeat_n(panicked, size));
                }
            }
        }
        Ok(outcomes)
    }

    /// Runs one queued plugin call on the calling thread, if one is waiting for a worker
    /// thread; whether one was. For embedders whose thread would otherwise block until its
    /// results arrive: with [`HostConfig::workers`] one below the cores, the waiting thread
    /// takes the last core's share of the calls (the Python package does this).
    pub fn help(&self) -> bool {
        self.inner.workers.help()
    }

    /// Scores samples on the calling thread, batch after batch. For scripts and tools; rollout
    /// code should prefer [`Host::score_batch`].
    pub fn score_batch_blocking(
        &self,
        plugin: &Plugin,
        samples: &[Sample],
        config: &serde_json::Value,
    ) -> Result<Vec<Outcome>, HostError> {
        let _admission = self.admit()?;
        let config = config_text(config)?;
        Ok(samples
            .chunks(plugin.limits.batch_size as usize)
            .flat_map(|batch| call_batch(&self.inner.engine, plugin, &config, batch))
            .collect())
    }
}

/// The config as the JSON text a plugin receives: an object, `null` meaning `{}`.
fn config_text(config: &serde_json::Value) -> Result<String, HostError> {
    match config {
        serde_json::Value::Null => Ok("{}".to_owned()),
        serde_json::Value::Object(_) => Ok(config.to_string()),
        other => Err(HostError::ConfigShape(other.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configs_must_be_objects_or_null() {
        assert_eq!(config_text(&serde_json::Value::Null).unwrap(), "{}");
        assert_eq!(config_text(&serde_json::json!({"a": 1})).unwrap(), r#"{"a":1}"#);
        assert!(matches!(config_text(&serde_json::json!("x")), Err(HostError::ConfigShape(_))));
    }
}
