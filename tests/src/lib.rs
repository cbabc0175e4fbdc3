//! Shared helpers for gavel's integration tests and benchmarks: the compiled test guests and
//! hosts set up for testing.

use std::sync::Arc;

use gavel_core::{Outcome, Sample};
use gavel_host::{Host, HostConfig, Plugin, PluginSource};
use gavel_sandbox::WasmLimits;

include!(concat!(env!("OUT_DIR"), "/guests.rs"));

/// The component file of a test guest (a directory name under `tests/guests`).
pub fn guest(name: &str) -> &'static str {
    GUESTS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, path)| *path)
        .unwrap_or_else(|| panic!("no test guest named {name}"))
}

/// A host with a private cache directory (removed when the returned guard drops).
pub fn host() -> (Host, tempfile::TempDir) {
    let cache = tempfile::tempdir().expect("temp dir");
    let config = HostConfig { cache_dir: Some(cache.path().to_owned()), ..HostConfig::default() };
    (Host::new(config).expect("host starts"), cache)
}

/// Loads a test guest with the given limits.
pub fn load(host: &Host, name: &str, limits: WasmLimits) -> Arc<Plugin> {
    host.load(PluginSource::file(guest(name)), limits)
        .unwrap_or_else(|e| panic!("guest {name} does not load: {e}"))
}

/// Samples with the given completions, ids `0`, `1`, …
pub fn samples(completions: &[&str]) -> Vec<Sample> {
    completions.iter().enumerate().map(|(i, c)| Sample::new(i.to_string(), *c)).collect()
}

/// Scores on the calling thread with no config.
pub fn score(host: &Host, plugin: &Plugin, completions: &[&str]) -> Vec<Outcome> {
    host.score_batch_blocking(plugin, &samples(completions), &serde_json::Value::Null)
        .expect("host accepts the call")
}

/// One labelled pair of the math corpus (`tests/corpus/math/pairs.jsonl`).
#[derive(Debug, Clone, serde::Deserialize)]
pub struct MathPair {
    /// The gold answer.
    pub gold: String,
    /// The model's completion.
    pub completion: String,
    /// Whether they are mathematically equal.
    pub equal: bool,
    /// Where the pair comes from.
    pub source: String,
    /// What it exercises.
    pub category: String,
}

/// The path of the labelled math corpus.
pub fn math_corpus_path() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus/math/pairs.jsonl")
}

/// The labelled math corpus.
pub fn math_corpus() -> Vec<MathPair> {
    let text = std::fs::read_to_string(math_corpus_path()).expect("the math corpus is readable");
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .enumerate()
        .map(|(i, l)| {
            serde_json::from_str(l).unwrap_or_else(|e| panic!("corpus line {}: {e}", i + 1))
        })
        .collect()
}

/// The corpus as samples for the `math` plugin (ids are line indices).
pub fn math_samples(pairs: &[MathPair]) -> Vec<Sample> {
    pairs
        .iter()
        .enumerate()
        .map(|(i, p)| {
            Sample::new(i.to_string(), p.completion.as_str())
                .with_reference(serde_json::json!({ "answer": p.gold }))
        })
        .collect()
}

/// A Python with math-verify installed: `$GAVEL_MATH_VERIFY_PYTHON`, else the repository's
/// `.venv` (which `./dev bench` creates). `None` when neither has it.
pub fn math_verify_python() -> Option<std::path::PathBuf> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let candidates = [
        std::env::var_os("GAVEL_MATH_VERIFY_PYTHON").map(std::path::PathBuf::from),
        Some(root.join(".venv/bin/python")),
    ];
    candidates.into_iter().flatten().find(|python| {
        std::process::Command::new(python)
            .args(["-c", "import math_verify"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    })
}

/// Runs math-verify on the corpus (`tests/peers/run_math_verify.py`); its JSON report.
pub fn run_math_verify(python: &std::path::Path, repeat: u32) -> serde_json::Value {
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("peers/run_math_verify.py");
    let out = std::process::Command::new(python)
        .arg(script)
        .arg(math_corpus_path())
        .args(["--repeat", &repeat.to_string()])
        .output()
        .expect("python runs");
    assert!(out.status.success(), "math-verify failed: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("math-verify prints JSON")
}

/// The JSON objects of a JSON-lines file under `tests/` (a corpus).
pub fn jsonl(relative: &str) -> Vec<serde_json::Value> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(relative);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .enumerate()
        .map(|(i, l)| {
            serde_json::from_str(l)
                .unwrap_or_else(|e| panic!("{} line {}: {e}", path.display(), i + 1))
        })
        .collect()
}

/// Whether the benches run as a smoke test (`GAVEL_BENCH_SMOKE=1`, set by `./dev test`): one
/// iteration of each loop and no external peer, so CI sees every bench run to its end (a bench
/// that only compiles can still rot at run time) without timing anything.
pub fn bench_smoke() -> bool {
    std::env::var_os("GAVEL_BENCH_SMOKE").is_some_and(|v| v == "1")
}

/// The line a bench prints where its peer would be: skipped in a smoke run, else not installed.
pub fn peer_missing(peer: &str, hint: &str) -> String {
    if bench_smoke() {
        format!("{peer}: not run in a smoke run")
    } else {
        format!("{peer} is not installed: {hint}")
    }
}

/// A bench loop's count: `full`, or 1 in a smoke run.
pub fn bench_iterations(full: usize) -> usize {
    if bench_smoke() { 1 } else { full }
}

/// Process CPU time: what "per CPU-second" counts in the benchmarks, for gavel as for the
/// Python peers (which use `time.process_time()`).
pub fn cpu_time() -> std::time::Duration {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: `ts` is a valid, writable timespec for the duration of the call.
    unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut ts) };
    std::time::Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

/// CPU time of scoring each sample alone (a fresh instance per call), sorted.
pub fn sorted_latencies(
    host: &Host,
    plugin: &Plugin,
    samples: &[Sample],
    config: &serde_json::Value,
) -> Vec<std::time::Duration> {
    let mut latencies: Vec<std::time::Duration> = samples
        .iter()
        .map(|s| {
            let started = cpu_time();
            host.score_batch_blocking(plugin, std::slice::from_ref(s), config)
                .expect("host accepts the call");
            cpu_time() - started
        })
        .collect();
    latencies.sort_unstable();
    latencies
}

/// The `q` quantile of sorted durations.
pub fn quantile(sorted: &[std::time::Duration], q: f64) -> std::time::Duration {
    sorted[((sorted.len() as f64 * q) as usize).min(sorted.len() - 1)]
}

/// The SWE fixture (`tests/fixtures/swe/calc`): builds its image `gavel-swe-calc:1` on the
/// local Docker engine when missing (from base images built without a registry) and returns
/// the task reference, with the test patch filled in.
pub fn swe_task() -> serde_json::Value {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/swe/calc");
    let status = std::process::Command::new(dir.join("build.sh"))
        .status()
        .expect("run tests/fixtures/swe/calc/build.sh");
    assert!(status.success(), "building the SWE fixture image failed");
    serde_json::json!({
        "image": "gavel-swe-calc:1",
        "workdir": "/testbed",
        "test_cmd": "python3 -m pytest -rA -p no:cacheprovider tests",
        "test_patch": swe_patch("test"),
        "fail_to_pass": ["tests/test_stats.py::test_median_even", "tests/test_stats.py::test_mean_empty"],
        "pass_to_pass": ["tests/test_stats.py::test_mean", "tests/test_stats.py::test_median_odd"],
        "log_parser": "pytest",
        "timeout_s": 60
    })
}

/// A patch of the SWE fixture (`tests/fixtures/swe/calc/patches/<name>.diff`).
pub fn swe_patch(name: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/swe/calc/patches")
        .join(format!("{name}.diff"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Ids of the containers on the local engine whose gavel owner label is `owner`.
pub fn containers_owned_by(owner: &str) -> Vec<String> {
    let out = std::process::Command::new("docker")
        .args(["ps", "-aq", "--filter", &format!("label=gavel.owner={owner}")])
        .output()
        .expect("run docker ps");
    assert!(out.status.success(), "docker ps failed");
    String::from_utf8_lossy(&out.stdout).split_whitespace().map(str::to_owned).collect()
}
