//! The `toolcall` plugin's `bfcl` mode through the gavel host beside BFCL's own checker
//! (bfcl-eval, `tests/peers/run_bfcl.py`), on every case of the BFCL-derived corpus
//! (`tests/corpus/toolcall/cases.jsonl`: Python, Java, JavaScript) in one run. Parsing is included on both sides: gavel
//! reads every completion in its dialect; BFCL decodes each dialect with its own handlers.
//!
//! A third row runs the plugin's own Rust code (the `gavel-plugin-toolcall` crate) built for
//! this machine and called directly: no sandbox, no fuel, no copies across the boundary. It is
//! the ceiling of the sandboxed plugin, so the ratio of the two is what the sandbox costs.
//!
//! Run with `./dev bench` (which installs bfcl-eval into `$HOME/.cache/gavel/bfcl-venv`) or
//! `cargo bench -p gavel-tests --bench toolcall`.
//!
//! For comparing builds of the plugin, `GAVEL_TOOLCALL_WASM=<component>` benches that file in
//! place of the bundled one, and `GAVEL_BENCH_ONE_PASS=1` scores the corpus once and stops, for
//! counting instructions, which unlike time is repeatable on a noisy machine:
//! `valgrind --tool=callgrind --toggle-collect='*score_batch_blocking*' <bench binary> --bench`
//! (valgrind's CPU has other features, so the first such run compiles the component under
//! valgrind, slowly, on a quiet machine, and caches it for the next).

use gavel_core::Sample;
use gavel_host::{Host, HostConfig, PluginSource};
use gavel_sandbox::WasmLimits;
use serde_json::{Value, json};

fn main() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let corpus = root.join("corpus/toolcall/cases.jsonl");
    let cases: Vec<Value> = gavel_tests::jsonl("corpus/toolcall/cases.jsonl");
    let samples: Vec<Sample> = cases
        .iter()
        .map(|c| {
            Sample::new(c["id"].as_str().unwrap(), c["completion"].as_str().unwrap())
                .with_reference(reference(c))
        })
        .collect();
    let native = Native::new(&cases);
    let host = Host::new(HostConfig::default()).unwrap();
    let wasm = match std::env::var_os("GAVEL_TOOLCALL_WASM") {
        Some(path) => std::fs::read(&path).unwrap_or_else(|e| panic!("{path:?}: {e}")),
        None => gavel_bundled::find("toolcall").unwrap().wasm.to_vec(),
    };
    let plugin = host.load(PluginSource::bytes("toolcall", wasm), WasmLimits::default()).unwrap();
    let config = json!({"mode": "bfcl"});
    if std::env::var_os("GAVEL_BENCH_ONE_PASS").is_some() {
        host.score_batch_blocking(&plugin, &samples, &config).unwrap();
        println!("scored {} cases once", samples.len());
        return;
    }

    // One untimed pass (first-use page faults, lazy initialisation). Then three rounds, each
    // 50 timed gavel passes, 50 native passes and one bfcl-eval run: the machine's load drifts
    // by several percent over seconds, so the sides are timed close together, and the headline
    // ratio is the median of the three rounds' ratios.
    let mut outcomes = host.score_batch_blocking(&plugin, &samples, &config).unwrap();
    let native_valid = native.pass();
    let home = std::env::var_os("HOME").map(std::path::PathBuf::from).unwrap_or_default();
    let python = std::env::var_os("GAVEL_BFCL_PYTHON")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| home.join(".cache/gavel/bfcl-venv/bin/python"));
    let passes = gavel_tests::bench_iterations(50);
    let mut rounds = Vec::new();
    for _ in 0..gavel_tests::bench_iterations(3) {
        let started = gavel_tests::cpu_time();
        for _ in 0..passes {
            outcomes = host.score_batch_blocking(&plugin, &samples, &config).unwrap();
        }
        let rate =
            (passes * samples.len()) as f64 / (gavel_tests::cpu_time() - started).as_secs_f64();
        rounds.push(Round {
            gavel: rate,
            native: native.rate(passes),
            peer: run_peer(&python, root, &corpus),
        });
    }
    let agree = cases
        .iter()
        .zip(&outcomes)
        .filter(|(c, o)| (o.reward() == Some(1.0)) == c["valid"].as_bool().unwrap())
        .count();
    let native_agree =
        cases.iter().zip(&native_valid).filter(|(c, v)| c["valid"].as_bool() == Some(**v)).count();
    let latencies = gavel_tests::sorted_latencies(&host, &plugin, &samples, &config);
    let pct = |q: f64| gavel_tests::quantile(&latencies, q);

    println!("BFCL AST checking on {} cases (parsing included), three rounds", cases.len());
    println!(
        "{:<16} {:>10} {:>26} {:>10} {:>10}",
        "checker", "agreement", "checks/CPU-s (rounds)", "p50 µs", "p99 µs"
    );
    println!(
        "{:<16} {:>10.4} {:>26} {:>10.1} {:>10.1}",
        "gavel toolcall",
        agree as f64 / cases.len() as f64,
        joined(rounds.iter().map(|round| round.gavel)),
        pct(0.5).as_secs_f64() * 1e6,
        pct(0.99).as_secs_f64() * 1e6
    );
    println!(
        "{:<16} {:>10.4} {:>26} {:>10} {:>10}",
        "toolcall native",
        native_agree as f64 / cases.len() as f64,
        joined(rounds.iter().map(|round| round.native)),
        "-",
        "-"
    );
    println!(
        "sandbox: gavel toolcall runs at {:.0}% of the native checker's rate (median of the rounds)",
        100.0 * median(rounds.iter().map(|round| round.gavel / round.native))
    );
    let Some(peer) = rounds.iter().find_map(|round| round.peer.as_ref()) else {
        let hint = format!("run ./dev bench (it goes to {})", python.display());
        println!("{}", gavel_tests::peer_missing("bfcl-eval", &hint));
        return;
    };
    println!(
        "{:<16} {:>10.4} {:>26} {:>10.1} {:>10.1}",
        format!("bfcl-eval {}", peer.version),
        peer.agreement,
        joined(rounds.iter().filter_map(|round| Some(round.peer.as_ref()?.rate))),
        peer.p50_us,
        peer.p99_us
    );
    let mut ratios: Vec<f64> =
        rounds.iter().filter_map(|round| Some(round.gavel / round.peer.as_ref()?.rate)).collect();
    ratios.sort_by(f64::total_cmp);
    let each: Vec<String> = ratios.iter().map(|r| format!("{r:.2}x")).collect();
    println!(
        "throughput: gavel toolcall / bfcl-eval = {:.1}x (median of the rounds: {})",
        median(ratios.iter().copied()),
        each.join(", ")
    );
    println!(
        "throughput: toolcall native / bfcl-eval = {:.1}x (median of the rounds)",
        median(rounds.iter().filter_map(|round| Some(round.native / round.peer.as_ref()?.rate)))
    );
}

/// The BFCL test entry of a corpus case, as the plugin's reference.
fn reference(case: &Value) -> Value {
    json!({"functions": case["functions"], "possible_answer": case["possible_answer"],
        "language": case["language"], "category": case["test_category"]})
}

/// One round's rates, in checks per CPU-second.
struct Round {
    gavel: f64,
    native: f64,
    peer: Option<Peer>,
}

fn median(values: impl Iterator<Item = f64>) -> f64 {
    let mut values: Vec<f64> = values.collect();
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// The plugin's Rust code called in process, on the corpus's samples.
struct Native {
    samples: Vec<gavel_plugin::Sample>,
    config: gavel_plugin_toolcall::Config,
}

impl Native {
    fn new(cases: &[Value]) -> Self {
        let samples = cases
            .iter()
            .map(|c| gavel_plugin::Sample::new(c["completion"].as_str().unwrap(), reference(c)))
            .collect();
        let config = serde_json::from_value(json!({"mode": "bfcl"})).unwrap();
        Self { samples, config }
    }

    /// One pass: each sample's verdict (valid or not).
    fn pass(&self) -> Vec<bool> {
        self.samples
            .iter()
            .map(|sample| gavel_plugin_toolcall::reward(sample, &self.config).reward() == Some(1.0))
            .collect()
    }

    /// Checks per CPU-second over `passes` passes.
    fn rate(&self, passes: usize) -> f64 {
        let started = gavel_tests::cpu_time();
        for _ in 0..passes {
            std::hint::black_box(self.pass());
        }
        (passes * self.samples.len()) as f64 / (gavel_tests::cpu_time() - started).as_secs_f64()
    }
}

/// Rates for a table cell: `136485 / 135028 / 134241`.
fn joined(rates: impl Iterator<Item = f64>) -> String {
    rates.map(|rate| format!("{rate:.0}")).collect::<Vec<_>>().join(" / ")
}

/// One bfcl-eval run's `with_decoding` figures.
struct Peer {
    version: String,
    rate: f64,
    agreement: f64,
    p50_us: f64,
    p99_us: f64,
}

/// Runs `tests/peers/run_bfcl.py` (five timed passes after its own warm-up); `None` when
/// bfcl-eval is not installed, or in a smoke run.
fn run_peer(
    python: &std::path::Path,
    root: &std::path::Path,
    corpus: &std::path::Path,
) -> Option<Peer> {
    if gavel_tests::bench_smoke() {
        return None;
    }
    let out = std::process::Command::new(python)
        .arg(root.join("peers/run_bfcl.py"))
        .arg(corpus)
        .args(["--repeat", "5"])
        .output()
        .ok()
        .filter(|out| out.status.success())?;
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let figures = &report["with_decoding"];
    Some(Peer {
        version: report["version"].as_str().unwrap_or("?").to_owned(),
        rate: figures["checks_per_cpu_second"].as_f64().unwrap(),
        agreement: figures["agreement_with_labels"].as_f64().unwrap(),
        p50_us: figures["p50_us"].as_f64().unwrap(),
        p99_us: figures["p99_us"].as_f64().unwrap(),
    })
}
