//! What a policy adds on top of its plugins: the R1 policy (`examples/policies/r1_sum.toml`,
//! math accuracy + format, GRPO advantages) against calling the same two plugins directly on
//! the same samples, in one run. Issue 5's bound: at most 10% more CPU.
//!
//! Run with `cargo bench -p gavel-tests --bench policy` (or `./dev bench`).

use std::path::Path;

use gavel_core::Sample;
use gavel_host::{Host, HostConfig, PluginSource};
use gavel_policy::{Policy, SourceKinds};
use gavel_sandbox::WasmLimits;
use serde_json::json;

fn main() {
    // The math corpus as R1-shaped rollouts in GRPO groups of eight.
    let pairs = gavel_tests::math_corpus();
    let samples: Vec<Sample> = gavel_tests::math_samples(&pairs)
        .into_iter()
        .enumerate()
        .map(|(i, mut s)| {
            s.completion =
                format!("<think>Let me work it out.</think>\n<answer>{}</answer>", s.completion);
            s.group = Some(format!("g{}", i / 8));
            s
        })
        .collect();
    let cache = tempfile::tempdir().unwrap();
    let host =
        Host::new(HostConfig { cache_dir: Some(cache.path().to_owned()), ..HostConfig::default() })
            .unwrap();
    let load = |name: &str| {
        let wasm = gavel_bundled::find(name).unwrap().wasm;
        host.load(PluginSource::bytes(name, wasm), WasmLimits::default()).unwrap()
    };
    let (math, format) = (load("math"), load("format"));
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/policies/r1_sum.toml");
    let policy = Policy::load(&path, &SourceKinds::standard(host.clone())).unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();

    let no_config = json!({});
    let rounds = gavel_tests::bench_iterations(20);
    let measure = |f: &dyn Fn()| {
        f(); // warm: compile caches, pools
        let started = gavel_tests::cpu_time();
        for _ in 0..rounds {
            f();
        }
        (gavel_tests::cpu_time() - started).as_secs_f64() / (rounds * samples.len()) as f64
    };
    let mut plugins_alone = Vec::new();
    let mut with_policy = Vec::new();
    // Interleaved, so drifts of the shared machine hit both sides alike.
    for _ in 0..gavel_tests::bench_iterations(3) {
        plugins_alone.push(measure(&|| {
            runtime.block_on(async {
                let (a, b) = tokio::join!(
                    host.score_batch(&math, samples.clone(), &no_config),
                    host.score_batch(&format, samples.clone(), &no_config)
                );
                std::hint::black_box((a.unwrap(), b.unwrap()));
            })
        }));
        with_policy.push(measure(&|| {
            std::hint::black_box(runtime.block_on(policy.score(&samples, 0.0)));
        }));
    }
    let best = |xs: &[f64]| xs.iter().copied().fold(f64::INFINITY, f64::min);
    let (alone, policed) = (best(&plugins_alone), best(&with_policy));
    println!(
        "R1 policy (math + format, GRPO advantages) on {} samples, groups of 8",
        samples.len()
    );
    println!("{:<34} {:>14}", "", "CPU µs/sample");
    println!("{:<34} {:>14.2}", "math + format plugins, direct", alone * 1e6);
    println!("{:<34} {:>14.2}", "r1_sum.toml policy", policed * 1e6);
    println!(
        "policy overhead: {:+.1}% (best of 3 interleaved runs of {rounds} rounds)",
        (policed / alone - 1.0) * 100.0
    );
}
