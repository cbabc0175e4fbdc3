//! `gavel._gavel`: the native half of the `gavel` Python package. It holds a host (and a
//! policy or a plugin) and scores lists of sample dicts into lists of result dicts, with the
//! GIL released while scoring; the Python half (`gavel/__init__.py`) adds the trainers' call
//! shapes.
//!
//! Samples are read straight from the dicts when they are plain (`read`), results are built
//! as dicts field by field (`results`).

mod read;
mod results;

use std::collections::VecDeque;
use std::path::Path;
use std::sync::{Arc, LazyLock};

use gavel_core::batch::{self, Entry};
use gavel_core::{ErrorKind, Outcome};
use gavel_host::{Host, HostConfig, HostError};
use gavel_policy::{Policy, Scorer, SourceKinds};
use gavel_sandbox::WasmLimits;
use pyo3::exceptions::{PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyList;
use results::ResultDicts;
use serde_json::value::RawValue;

/// A policy or a plugin, ready to score; safe to share between threads.
#[pyclass(frozen, module = "gavel._gavel")]
struct NativeScorer {
    scorer: Arc<Scorer>,
    /// The host the scorer's plugins run on, whose queued calls a waiting caller runs.
    host: Host,
    runtime: tokio::runtime::Runtime,
}

/// A current-thread runtime: the calling thread drives the scoring it waits for. The plugins
/// run on the host's worker threads and a policy's evaluation is light, so runtime threads of
/// its own would only compete with the workers for the cores and add a hop to every result
/// (the `exact` plugin in process: +20% samples/s on two cores). Nothing runs between calls,
/// which suits the package: its sources (wasm, field) start no background work.
fn runtime() -> PyResult<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| PyRuntimeError::new_err(format!("cannot start the async runtime: {e}")))
}

/// A host with one worker thread fewer than cores: the calling thread is the last core's
/// worker. It reads samples and builds results between plugin calls, and while it waits it
/// runs queued calls itself (`NativeScorer::wait`). With a worker on every core as well, the
/// caller was a thread more than cores, and the kernel often left it queued behind a worker
/// for a whole plugin call while the other worker ran out of work (the `math` plugin in
/// process, calls of 256, two cores: 1.5 cores busy; +20% samples/s with the caller helping).
fn host() -> PyResult<Host> {
    Host::new(HostConfig { workers: CORES.saturating_sub(1).max(1), ..HostConfig::default() })
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
            .allow_threads(|| Policy::load(Path::new(path), &SourceKinds::standard(host.clone())))
            .map_err(|e| PyValueError::new_err(e.to_string()))?;
        Ok(Self { scorer: Arc::new(Scorer::Policy(policy)), host, runtime })
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
        let scorer = Arc::new(Scorer::Plugin { host: host.clone(), plugin, config });
        Ok(Self { scorer, host, runtime })
    }

    /// Whether results carry an `advantage`.
    fn has_advantage(&self) -> bool {
        self.scorer.has_advantage()
    }

    /// Scores sample dicts; returns result dicts, same order. A malformed sample is an
    /// `invalid` result in its place, never an exception.
    ///
    /// The list is scored in pieces that keep every GRPO group whole, so the results equal
    /// those of one call; each piece goes to the workers as soon as it is read, and its results
    /// become dicts while later pieces are still scoring: the work that needs the GIL overlaps
    /// the scoring instead of adding to it.
    #[pyo3(signature = (samples, step = 0.0))]
    fn score<'py>(
        &self,
        py: Python<'py>,
        samples: &Bound<'py, PyList>,
        step: f64,
    ) -> PyResult<Bound<'py, PyList>> {
        let with_advantage = self.scorer.has_advantage();
        let mut records = Vec::with_capacity(samples.len());
        let mut dicts = ResultDicts::new(py);
        let mut finish = |(entries, mut scoring): Piece| {
            let n = entries.iter().filter(|e| e.is_ok()).count();
            let results = py.allow_threads(|| self.wait(&mut scoring.0));
            let results = unwrap_results(results, n);
            records.extend(batch::map_records(&entries, results, with_advantage, |record| {
                dicts.build(record)
            }));
        };
        // A bounded window of pieces in flight: enough to keep every worker busy, few enough
        // that a long list neither holds many admissions of the host nor reads far ahead.
        let mut in_flight = VecDeque::new();
        for range in
            batch::pieces_keeping_groups(&read::group_keys(samples), piece_size(samples.len()))
        {
            if in_flight.len() == *IN_FLIGHT {
                finish(in_flight.pop_front().expect("the window is full"));
            }
            let mut entries: Vec<Entry> = range
                .map(|i| samples.get_item(i).map(|item| read::read_entry(i, &item)))
                .collect::<PyResult<_>>()?;
            let (scorer, batch) = (self.scorer.clone(), batch::take_samples(&mut entries));
            let scoring = self.runtime.spawn(async move { scorer.score(batch, step).await });
            in_flight.push_back((entries, AbortOnDrop(scoring)));
            // Start the piece now, not at the first wait: its evaluation runs until its
            // batches are with the workers.
            py.allow_threads(|| self.runtime.block_on(tokio::task::yield_now()));
        }
        in_flight.into_iter().for_each(&mut finish);
        PyList::new(py, records.into_iter().collect::<PyResult<Vec<_>>>()?)
    }

    /// Scores a JSON array of samples; returns a JSON array of results, same order (the
    /// daemon's wire format, for callers that hold JSON text already).
    #[pyo3(signature = (samples_json, step = 0.0))]
    fn score_json(&self, py: Python<'_>, samples_json: &str, step: f64) -> PyResult<String> {
        let items: Vec<Box<RawValue>> = serde_json::from_str(samples_json)
            .map_err(|e| PyValueError::new_err(format!("samples must be a JSON array: {e}")))?;
        py.allow_threads(|| {
            let mut entries = batch::read_entries(&items);
            let results = self.results(&mut entries, step);
            Ok(batch::write_records(&entries, results, self.scorer.has_advantage()))
        })
    }
}

impl NativeScorer {
    /// One (outcome, advantage) per sample entry, in order.
    fn results(&self, entries: &mut [Entry], step: f64) -> Results {
        let samples = batch::take_samples(entries);
        let n = samples.len();
        unwrap_results(Ok(self.wait(self.scorer.score(samples, step))), n)
    }

    /// Drives `future` to its end on the calling thread, running queued plugin calls while
    /// it is pending: each turn lets the runtime's other tasks run first (a piece's evaluation
    /// queues its calls there), then takes one call; with none queued, it waits.
    ///
    /// The calls run outside the runtime: a plugin's WASI calls (files) block on a runtime of
    /// their own, which tokio refuses inside another's `block_on`.
    fn wait<F: std::future::Future>(&self, future: F) -> F::Output {
        let mut future = std::pin::pin!(future);
        loop {
            let turn = self.runtime.block_on(async {
                tokio::select! {
                    biased;
                    output = &mut future => Some(output),
                    () = tokio::task::yield_now() => None,
                }
            });
            if let Some(output) = turn {
                return output;
            }
            if !self.host.help() {
                return self.runtime.block_on(future);
            }
        }
    }
}

/// One (outcome, advantage) per sample, in order.
type Results = Vec<(Outcome, Option<f64>)>;

/// The cores this process may run on.
static CORES: LazyLock<usize> =
    LazyLock::new(|| std::thread::available_parallelism().map_or(1, |n| n.get()));

/// How many samples a piece of a list of `n` holds at least: about a third of a core's share,
/// so that every thread has a piece queued behind the one it runs and the last pieces (whose
/// results are built after every thread is done) are short; between 16 and the plugins'
/// default batch of 64, as a plugin call's fixed cost (a fresh instance) is ~20 µs.
/// The `math` plugin, calls of 256 on two cores: 42 gives +6% samples/s over 64.
fn piece_size(n: usize) -> usize {
    (n / (3 * *CORES)).clamp(16, 64)
}

/// How many pieces of a list are scoring at once: three for each core.
static IN_FLIGHT: LazyLock<usize> = LazyLock::new(|| 3 * *CORES);

/// A piece of a list: its entries (the samples' ids, once scoring took them) and their scoring.
type Piece = (Vec<Entry>, AbortOnDrop<Result<Results, HostError>>);

/// The scoring of one piece of a list; cancelled when the call goes away.
struct AbortOnDrop<T>(tokio::task::JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// `n` results from a scoring task: the host refusing the call (overload) or the task failing
/// makes every sample an error of its kind.
fn unwrap_results(
    results: Result<Result<Results, HostError>, tokio::task::JoinError>,
    n: usize,
) -> Results {
    let failed = |kind, message: String| vec![(Outcome::error(kind, message), None); n];
    match results {
        Ok(Ok(results)) => results,
        Ok(Err(refused)) => failed(ErrorKind::Capacity, refused.to_string()),
        Err(e) => failed(ErrorKind::Host, format!("scoring task failed: {e}")),
    }
}

/// The native module.
#[pymodule]
fn _gavel(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<NativeScorer>()?;
    Ok(())
}
