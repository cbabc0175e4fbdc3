//! `gavel._gavel`: the native half of the `gavel` Python package. It holds a host (and a
//! policy or a plugin) and scores JSON text in, JSON text out, with the GIL released; the
//! Python half (`gavel/__init__.py`) turns that into dicts and the trainers' call shapes.

use std::path::Path;

use gavel_core::batch;
use gavel_core::{ErrorKind, Outcome};
use gavel_host::{Host, HostConfig};
use gavel_policy::{Policy, Scorer, SourceKinds};
use gavel_sandbox::WasmLimits;
use pyo3::exceptions::{PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use serde_json::value::RawValue;

/// A policy or a plugin, ready to score; safe to share between threads.
#[pyclass(frozen, module = "gavel._gavel")]
struct NativeScorer {
    scorer: Scorer,
    runtime: tokio::runtime::Runtime,
}

fn runtime() -> PyResult<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| PyRuntimeError::new_err(format!("cannot start the async runtime: {e}")))
}

fn host() -> PyResult<Host> {
    Host::new(HostConfig::default())
        .map_err(|e| PyRuntimeError::new_err(format!("cannot start the plugin host: {e}")))
}

#[pymethods]
impl NativeScorer {
    /// Loads and checks a policy file.
    #[staticmethod]
    fn from_policy(py: Python<'_>, path: &str) -> PyResult<Self> {
        let runtime = runtime()?;
        let host = host()?;
        let policy = py
            .allow_threads(|| Policy::load(Path::new(path), &SourceKinds::standard(host)))
            .map_err(|e| PyValueError::new_err(e.to_string()))?;
        Ok(Self { scorer: Scorer::Policy(policy), runtime })
    }

    /// Loads a bundled plugin by name, or a `.wasm` component by path, with a JSON config,
    /// limits and grants (`{"capabilities": [...], "seed": N}`).
    #[staticmethod]
    #[pyo3(signature = (spec, config_json, limits_json, grants_json = "{}"))]
    fn from_plugin(
        py: Python<'_>,
        spec: &str,
        config_json: &str,
        limits_json: &str,
        grants_json: &str,
    ) -> PyResult<Self> {
        let runtime = runtime()?;
        let host = host()?;
        let config: serde_json::Value = serde_json::from_str(config_json)
            .map_err(|e| PyValueError::new_err(format!("config is not JSON: {e}")))?;
        let limits: WasmLimits = serde_json::from_str(limits_json)
            .map_err(|e| PyValueError::new_err(format!("invalid limits: {e}")))?;
        let grants: gavel_sandbox::Grants = serde_json::from_str(grants_json)
            .map_err(|e| PyValueError::new_err(format!("invalid grant: {e}")))?;
        let options = gavel_host::LoadOptions { limits, grants, ..Default::default() };
        let source = match gavel_bundled::find(spec) {
            Some(bundled) => gavel_host::PluginSource::bytes(bundled.name, bundled.wasm),
            None if Path::new(spec).is_file() => gavel_host::PluginSource::file(spec),
            None => {
                let names: Vec<&str> = gavel_bundled::PLUGINS.iter().map(|p| p.name).collect();
                return Err(PyValueError::new_err(format!(
                    "no bundled plugin {spec:?} and no such file (bundled: {})",
                    names.join(", ")
                )));
            }
        };
        let plugin = py
            .allow_threads(|| {
                let plugin = host.load_with(source, &options).map_err(|e| e.to_string())?;
                host.check_config(&plugin, &config).map_err(|e| e.to_string())?;
                Ok::<_, String>(plugin)
            })
            .map_err(PyValueError::new_err)?;
        Ok(Self { scorer: Scorer::Plugin { host, plugin, config }, runtime })
    }

    /// Whether results carry an `advantage`.
    fn has_advantage(&self) -> bool {
        self.scorer.has_advantage()
    }

    /// Scores a JSON array of samples; returns a JSON array of results, same order. A
    /// malformed sample is an `invalid` result in its place, never an exception.
    #[pyo3(signature = (samples_json, step = 0.0))]
    fn score_json(&self, py: Python<'_>, samples_json: &str, step: f64) -> PyResult<String> {
        let items: Vec<Box<RawValue>> = serde_json::from_str(samples_json)
            .map_err(|e| PyValueError::new_err(format!("samples must be a JSON array: {e}")))?;
        py.allow_threads(|| Ok(self.score(&items, step)))
    }
}

impl NativeScorer {
    fn score(&self, items: &[Box<RawValue>], step: f64) -> String {
        let entries = batch::read_entries(items);
        let samples = batch::samples(&entries);
        let n = samples.len();
        // The host refusing the whole call (overload) makes every sample a capacity error.
        let results = self.runtime.block_on(self.scorer.score(samples, step)).unwrap_or_else(|e| {
            vec![(Outcome::error(ErrorKind::Capacity, e.to_string()), None); n]
        });
        batch::write_records(&entries, results, self.scorer.has_advantage())
    }
}

/// The native module.
#[pymodule]
fn _gavel(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<NativeScorer>()?;
    Ok(())
}
