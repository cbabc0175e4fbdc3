//! `gavel._gavel`: the native half of the `gavel` Python package. It holds a host (and a
//! policy or a plugin) and scores lists of sample dicts into lists of result dicts, with the
//! GIL released while scoring; the Python half (`gavel/__init__.py`) adds the trainers' call
//! shapes.
//!
//! Samples are read straight from the dicts when they are plain (known keys, string fields, a
//! string or integer id); anything else goes through `json.dumps` and the same reader as a
//! JSON line, so its verdict and its error message are the daemon's to the letter.

use std::path::Path;

use gavel_core::batch::{self, Entry};
use gavel_core::{ErrorKind, Outcome, Reference, Sample};
use gavel_host::{Host, HostConfig};
use gavel_policy::{Policy, Scorer, SourceKinds};
use gavel_sandbox::WasmLimits;
use pyo3::exceptions::{PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use pyo3::sync::GILOnceCell;
use pyo3::types::{PyBool, PyDict, PyInt, PyList, PyString};
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

    /// Scores sample dicts; returns result dicts, same order. A malformed sample is an
    /// `invalid` result in its place, never an exception.
    #[pyo3(signature = (samples, step = 0.0))]
    fn score<'py>(
        &self,
        py: Python<'py>,
        samples: &Bound<'py, PyList>,
        step: f64,
    ) -> PyResult<Bound<'py, PyList>> {
        let entries: Vec<Entry> =
            samples.iter().enumerate().map(|(i, item)| read_entry(i, &item)).collect();
        let results = py.allow_threads(|| self.results(&entries, step));
        let records = batch::map_records(&entries, results, self.scorer.has_advantage(), |r| {
            pythonize::pythonize(py, &r)
                .map_err(|e| PyRuntimeError::new_err(format!("cannot build a result: {e}")))
        });
        PyList::new(py, records.into_iter().collect::<PyResult<Vec<_>>>()?)
    }

    /// Scores a JSON array of samples; returns a JSON array of results, same order (the
    /// daemon's wire format, for callers that hold JSON text already).
    #[pyo3(signature = (samples_json, step = 0.0))]
    fn score_json(&self, py: Python<'_>, samples_json: &str, step: f64) -> PyResult<String> {
        let items: Vec<Box<RawValue>> = serde_json::from_str(samples_json)
            .map_err(|e| PyValueError::new_err(format!("samples must be a JSON array: {e}")))?;
        py.allow_threads(|| {
            let entries = batch::read_entries(&items);
            let results = self.results(&entries, step);
            Ok(batch::write_records(&entries, results, self.scorer.has_advantage()))
        })
    }
}

impl NativeScorer {
    /// One (outcome, advantage) per sample entry, in order.
    fn results(&self, entries: &[Entry], step: f64) -> Vec<(Outcome, Option<f64>)> {
        let samples = batch::samples(entries);
        let n = samples.len();
        // The host refusing the whole call (overload) makes every sample a capacity error.
        self.runtime
            .block_on(self.scorer.score(samples, step))
            .unwrap_or_else(|e| vec![(Outcome::error(ErrorKind::Capacity, e.to_string()), None); n])
    }
}

/// The `i`th element of a batch as a sample, or the `invalid` outcome it gets instead.
fn read_entry(i: usize, item: &Bound<'_, PyAny>) -> Entry {
    if let Some(sample) = plain_sample(item) {
        return Ok(sample);
    }
    let invalid = |id: Option<String>, message: String| {
        (id.unwrap_or_else(|| format!("#{i}")), Outcome::invalid(format!("sample {i}: {message}")))
    };
    let text = json_dumps(item.py()).and_then(|dumps| dumps.call1((item,))?.extract::<String>());
    match text {
        Ok(text) => Sample::from_json_line(&text).map_err(|e| invalid(e.id, e.message)),
        Err(e) => Err(invalid(None, format!("not JSON: {e}"))),
    }
}

/// A dict with only a sample's keys, string fields and a string or integer id, read as it is;
/// `None` for anything else (the JSON reader then judges it).
fn plain_sample(item: &Bound<'_, PyAny>) -> Option<Sample> {
    let dict = item.downcast::<PyDict>().ok()?;
    let text = |value: &Bound<'_, PyAny>| value.downcast::<PyString>().ok()?.extract().ok();
    let optional = |value: &Bound<'_, PyAny>| match value.is_none() {
        true => Some(None),
        false => text(value).map(Some),
    };
    let (mut id, mut completion) = (None, None);
    let mut sample = Sample::new(String::new(), String::new());
    for (key, value) in dict.iter() {
        match key.downcast::<PyString>().ok()?.to_cow().ok()?.as_ref() {
            "id" if value.is_instance_of::<PyBool>() => return None,
            "id" if value.is_instance_of::<PyInt>() => {
                id = Some(value.extract::<i64>().ok()?.to_string())
            }
            "id" => id = Some(text(&value)?),
            "completion" => completion = Some(text(&value)?),
            "prompt" => sample.prompt = text(&value)?,
            "task" => sample.task = optional(&value)?,
            "group" => sample.group = optional(&value)?,
            "reference" if value.is_none() => {}
            "reference" => {
                let json = json_dumps(item.py()).ok()?.call1((&value,)).ok()?.extract().ok()?;
                sample.reference = Reference::from_json(json).ok()?;
            }
            "meta" => {}
            _ => return None,
        }
    }
    sample.id = id?;
    sample.completion = completion?;
    Some(sample)
}

/// Python's `json.dumps`.
fn json_dumps(py: Python<'_>) -> PyResult<&Bound<'_, PyAny>> {
    static DUMPS: GILOnceCell<Py<PyAny>> = GILOnceCell::new();
    Ok(DUMPS
        .get_or_try_init(py, || Ok::<_, PyErr>(py.import("json")?.getattr("dumps")?.unbind()))?
        .bind(py))
}

/// The native module.
#[pymodule]
fn _gavel(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<NativeScorer>()?;
    Ok(())
}
