//! The `toolcall` plugin's `bfcl` mode through the gavel host beside BFCL's own checker
//! (bfcl-eval, `tests/peers/run_bfcl.py`), on every case of the BFCL-derived corpus
//! (`tests/corpus/toolcall/cases.jsonl`: Python, Java, JavaScript) in one run. Parsing is included on both sides: gavel
//! reads every completion in its dialect; BFCL decodes each dialect with its own handlers.
//!
//! Run with `./dev bench` (which installs bfcl-eval into `$HOME/.cache/gavel/bfcl-venv`) or
//! `cargo bench -p gavel-tests --bench toolcall`.

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
            let reference = json!({"functions": c["functions"], "possible_answer": c["possible_answer"],
                "language": c["language"], "category": c["test_category"]});
            Sample::new(c["id"].as_str().unwrap(), c["completion"].as_str().unwrap()).with_reference(reference)
        })
        .collect();
    let cache = tempfile::tempdir().unwrap();
    let host =
        Host::new(HostConfig { cache_dir: Some(cache.path().to_owned()), ..HostConfig::default() })
            .unwrap();
    let wasm = gavel_bundled::find("toolcall").unwrap().wasm;
    let plugin = host.load(PluginSource::bytes("toolcall", wasm), WasmLimits::default()).unwrap();
    let config = json!({"mode": "bfcl"});

    // One untimed pass (first-use page faults, lazy initialisation), then 50 timed ones:
    // about half a second, where 10 passes left the figure to the machine's noise.
    let mut outcomes = host.score_batch_blocking(&plugin, &samples, &config).unwrap();
    let rounds = 50;
    let started = gavel_tests::cpu_time();
    for _ in 0..rounds {
        outcomes = host.score_batch_blocking(&plugin, &samples, &config).unwrap();
    }
    let rate = (rounds * samples.len()) as f64 / (gavel_tests::cpu_time() - started).as_secs_f64();
    let agree = cases
        .iter()
        .zip(&outcomes)
        .filter(|(c, o)| (o.reward() == Some(1.0)) == c["valid"].as_bool().unwrap())
        .count();
    let latencies = gavel_tests::sorted_latencies(&host, &plugin, &samples, &config);
    let pct = |q: f64| gavel_tests::quantile(&latencies, q);

    println!("BFCL AST checking on {} cases (parsing included)", cases.len());
    println!(
        "{:<16} {:>10} {:>18} {:>10} {:>10}",
        "checker", "agreement", "checks/CPU-s", "p50 µs", "p99 µs"
    );
    println!(
        "{:<16} {:>10.4} {:>18.0} {:>10.1} {:>10.1}",
        "gavel toolcall",
        agree as f64 / cases.len() as f64,
        rate,
        pct(0.5).as_secs_f64() * 1e6,
        pct(0.99).as_secs_f64() * 1e6
    );
    let home = std::env::var_os("HOME").map(std::path::PathBuf::from).unwrap_or_default();
    let python = std::env::var_os("GAVEL_BFCL_PYTHON")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| home.join(".cache/gavel/bfcl-venv/bin/python"));
    let out = std::process::Command::new(&python)
        .arg(root.join("peers/run_bfcl.py"))
        .arg(&corpus)
        .args(["--repeat", "5"])
        .output();
    match out {
        Ok(out) if out.status.success() => {
            let report: Value = serde_json::from_slice(&out.stdout).unwrap();
            let peer = &report["with_decoding"];
            let peer_rate = peer["checks_per_cpu_second"].as_f64().unwrap();
            println!(
                "{:<16} {:>10.4} {:>18.0} {:>10.1} {:>10.1}",
                format!("bfcl-eval {}", report["version"].as_str().unwrap_or("?")),
                peer["agreement_with_labels"].as_f64().unwrap(),
                peer_rate,
                peer["p50_us"].as_f64().unwrap(),
                peer["p99_us"].as_f64().unwrap()
            );
            println!("throughput: gavel toolcall / bfcl-eval = {:.1}x", rate / peer_rate);
        }
        _ => println!("bfcl-eval is not installed at {}: run ./dev bench", python.display()),
    }
}
