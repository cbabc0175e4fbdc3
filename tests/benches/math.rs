//! The `math` plugin through the gavel host beside Hugging Face math-verify, on the same
//! labelled corpus (`tests/corpus/math/pairs.jsonl`) in one run.
//!
//! Run with `./dev bench` (which installs math-verify into `.venv`) or
//! `cargo bench -p gavel-tests --bench math`. Prints accuracy, verifications per CPU-second
//! and per-sample latency for both, and the throughput ratio.

use gavel_host::{Host, HostConfig, PluginSource};
use gavel_sandbox::WasmLimits;
use serde_json::json;

fn main() {
    let pairs = gavel_tests::math_corpus();
    let samples = gavel_tests::math_samples(&pairs);
    let cache = tempfile::tempdir().unwrap();
    let host =
        Host::new(HostConfig { cache_dir: Some(cache.path().to_owned()), ..HostConfig::default() })
            .unwrap();
    let wasm = gavel_bundled::find("math").unwrap().wasm;
    let plugin = host.load(PluginSource::bytes("math", wasm), WasmLimits::default()).unwrap();

    // Throughput: the whole corpus in batches of 64, repeated, on this thread.
    let rounds = gavel_tests::bench_iterations(20);
    let started = gavel_tests::cpu_time();
    let mut verdicts = Vec::new();
    for _ in 0..rounds {
        verdicts = host.score_batch_blocking(&plugin, &samples, &json!({})).unwrap();
    }
    let cpu = (gavel_tests::cpu_time() - started).as_secs_f64();
    let gavel_rate = (rounds * samples.len()) as f64 / cpu;
    let correct =
        pairs.iter().zip(&verdicts).filter(|(p, o)| (o.reward() == Some(1.0)) == p.equal).count();

    // Latency: each sample alone, a fresh instance per call.
    let latencies = gavel_tests::sorted_latencies(&host, &plugin, &samples, &json!({}));
    let pct = |q: f64| gavel_tests::quantile(&latencies, q);

    println!("math verification on {} labelled pairs", pairs.len());
    println!(
        "{:<12} {:>9} {:>22} {:>10} {:>10}",
        "verifier", "accuracy", "verifications/CPU-s", "p50 ms", "p99 ms"
    );
    println!(
        "{:<12} {:>9.4} {:>22.0} {:>10.3} {:>10.3}",
        "gavel math",
        correct as f64 / pairs.len() as f64,
        gavel_rate,
        pct(0.5).as_secs_f64() * 1e3,
        pct(0.99).as_secs_f64() * 1e3
    );
    match gavel_tests::math_verify_python().filter(|_| !gavel_tests::bench_smoke()) {
        Some(python) => {
            let report = gavel_tests::run_math_verify(&python, 1);
            let rate = report["verifications_per_cpu_second"].as_f64().unwrap();
            println!(
                "{:<12} {:>9.4} {:>22.0} {:>10.3} {:>10.3}",
                "math-verify",
                report["accuracy"].as_f64().unwrap(),
                rate,
                report["p50_ms"].as_f64().unwrap(),
                report["p99_ms"].as_f64().unwrap()
            );
            println!("throughput: gavel math / math-verify = {:.0}x", gavel_rate / rate);
        }
        None => println!(
            "{}",
            gavel_tests::peer_missing("math-verify", "run ./dev bench to install it into .venv")
        ),
    }
}
