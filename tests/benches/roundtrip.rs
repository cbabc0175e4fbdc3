//! Round trip of the trivial plugin through the gavel host, beside the same Rust function
//! called natively and beside bare wasmtime (no gavel code: default `Config`, full WASIp2
//! linker, a fresh `Store` and instance per call), on the same samples in one run.
//!
//! Run with `cargo bench -p gavel-tests --bench roundtrip`. Prints p50 µs per call and per
//! sample for batches of 1 and 64, and the ratios.

use std::hint::black_box;
use std::time::{Duration, Instant};

use gavel_core::Sample;
use gavel_host::{Host, HostConfig, PluginSource};
use gavel_sandbox::WasmLimits;
use wasmtime::component::{Component, Linker, ResourceTable};
use wasmtime::{Config, Engine, Store};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

mod bare {
    wasmtime::component::bindgen!({ world: "reward-plugin", path: "../wit/since_v0_2_0" });
}

const PROMPT: &str =
    "What is the sum of the first ten positive integers? Think step by step, then answer.";
const COMPLETION: &str = "<think>1 + 2 + ... + 10 = 10 * 11 / 2 = 55.</think>\n<answer>55</answer>";

/// Times `f` over `iterations` runs (one in a smoke run) after a warm-up and returns the median.
fn median(iterations: usize, mut f: impl FnMut()) -> Duration {
    let iterations = gavel_tests::bench_iterations(iterations);
    for _ in 0..iterations / 10 + 10 {
        f();
    }
    let mut times: Vec<Duration> = (0..iterations)
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed()
        })
        .collect();
    times.sort_unstable();
    times[times.len() / 2]
}

struct BareState {
    wasi: WasiCtx,
    table: ResourceTable,
}

impl WasiView for BareState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView { ctx: &mut self.wasi, table: &mut self.table }
    }
}

struct Row {
    name: &'static str,
    batch: usize,
    per_call: Duration,
}

impl Row {
    fn per_sample_us(&self) -> f64 {
        self.per_call.as_secs_f64() * 1e6 / self.batch as f64
    }
}

fn main() {
    let wasm = std::fs::read(gavel_tests::guest("trivial")).expect("trivial guest is built");
    let samples: Vec<Sample> = (0..64)
        .map(|i| Sample {
            prompt: PROMPT.into(),
            ..Sample::new(i.to_string(), COMPLETION)
                .with_reference(serde_json::json!({"answer": "55"}))
        })
        .collect();
    let mut rows = Vec::new();

    // Native: the same function, no sandbox.
    for batch in [1, 64] {
        let per_call = median(20_000, || {
            for s in &samples[..batch] {
                black_box(gavel_guest_trivial::length(black_box(&s.completion)));
            }
        });
        rows.push(Row { name: "native", batch, per_call });
    }

    // Bare wasmtime, default configuration.
    let engine = Engine::new(&Config::new()).unwrap();
    let component = Component::new(&engine, &wasm).unwrap();
    let mut linker: Linker<BareState> = Linker::new(&engine);
    wasmtime_wasi::p2::add_to_linker_sync(&mut linker).unwrap();
    let pre = bare::RewardPluginPre::new(linker.instantiate_pre(&component).unwrap()).unwrap();
    for batch in [1, 64] {
        let per_call = median(if batch == 1 { 20_000 } else { 2_000 }, || {
            let wit_samples: Vec<bare::gavel::reward::types::Sample> = samples[..batch]
                .iter()
                .map(|s| bare::gavel::reward::types::Sample {
                    prompt: s.prompt.clone(),
                    completion: s.completion.clone(),
                    reference: s.reference.json().to_owned(),
                    task: None,
                    group: None,
                })
                .collect();
            let state = BareState { wasi: WasiCtx::builder().build(), table: ResourceTable::new() };
            let mut store = Store::new(&engine, state);
            let plugin = pre.instantiate(&mut store).unwrap();
            let out =
                plugin.gavel_reward_plugin().call_score(&mut store, "{}", &wit_samples).unwrap();
            black_box(out.unwrap());
        });
        rows.push(Row { name: "bare wasmtime", batch, per_call });
    }

    // gavel: the host's blocking API, fresh instance per call, every limit enforced.
    let cache = tempfile::tempdir().unwrap();
    let host =
        Host::new(HostConfig { cache_dir: Some(cache.path().to_owned()), ..HostConfig::default() })
            .unwrap();
    let plugin = host.load(PluginSource::bytes("trivial", wasm), WasmLimits::default()).unwrap();
    for batch in [1, 64] {
        let per_call = median(if batch == 1 { 20_000 } else { 2_000 }, || {
            let outcomes = host
                .score_batch_blocking(&plugin, &samples[..batch], &serde_json::Value::Null)
                .unwrap();
            assert_eq!(outcomes[0].reward(), Some(COMPLETION.len() as f64));
            black_box(outcomes);
        });
        rows.push(Row { name: "gavel", batch, per_call });
    }

    println!("trivial plugin round trip, fresh instance per call (p50)");
    println!("{:<14} {:>6} {:>12} {:>14}", "path", "batch", "µs/call", "µs/sample");
    for row in &rows {
        println!(
            "{:<14} {:>6} {:>12.2} {:>14.3}",
            row.name,
            row.batch,
            row.per_call.as_secs_f64() * 1e6,
            row.per_sample_us()
        );
    }
    let find = |name: &str, batch: usize| {
        rows.iter().find(|r| r.name == name && r.batch == batch).unwrap().per_sample_us()
    };
    for batch in [1, 64] {
        println!(
            "batch {batch:>2}: gavel / bare wasmtime = {:.2}x, gavel / native = {:.0}x",
            find("gavel", batch) / find("bare wasmtime", batch),
            find("gavel", batch) / find("native", batch),
        );
    }
}
