//! The PRM's f32 CPU path beside PyTorch (transformers) on the CPU, on the same checkpoint
//! (the fixture `verifiers/prm/fixtures/qwen2_prm_gqa4`: a Qwen2.5-Math-PRM-format model,
//! hidden 128, 8 query heads on 2 KV heads; or the directory in `GAVEL_PRM_MODEL`) and the
//! same token sequences (the demo task's chains in Qwen2.5-Math-PRM's template), one sequence
//! per forward on both sides, in one run: tokens per second and the ratio, plus the largest
//! step-probability difference between the two.
//!
//! Run with `./dev bench` or `cargo bench -p gavel-tests --bench prm`; the peer needs torch and
//! transformers in `$HOME/.cache/gavel/prm-venv` (or `GAVEL_PRM_PYTHON`), which `./dev bench`
//! does not install (several GB): without it the bench prints gavel's side only.

use std::io::Write;
use std::time::Instant;

use gavel_prm::{Device, Prm, demo, weights::Weights};
use serde_json::{Value, json};

const CHAINS: usize = 200;

fn main() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let dir = std::env::var_os("GAVEL_PRM_MODEL")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| root.join("verifiers/prm/fixtures/qwen2_prm_gqa4"));
    let prm = Prm::load_with(&dir, &Weights::files(&dir).unwrap(), Device::Cpu).unwrap();
    let mut rng = demo::Rng::new(7);
    let chains = gavel_tests::bench_iterations(CHAINS);
    let inputs: Vec<(Vec<u32>, u32)> = (0..chains)
        .map(|_| {
            let chain = demo::arith_chain(&mut rng);
            prm.encode(&chain.prompt, &chain.steps).unwrap()
        })
        .collect();
    let tokens: usize = inputs.iter().map(|(ids, _)| ids.len()).sum();
    for (ids, step) in inputs.iter().take(4) {
        prm.score_ids(ids, *step).unwrap(); // warm-up
    }
    let started = Instant::now();
    let ours: Vec<Vec<f64>> =
        inputs.iter().map(|(ids, step)| prm.score_ids(ids, *step).unwrap().step_scores).collect();
    let rate = tokens as f64 / started.elapsed().as_secs_f64();
    println!("PRM scoring on the CPU, f32, {chains} sequences ({tokens} tokens), one per forward");
    println!("{:<26} {:>12}", "scorer", "tokens / s");
    println!("{:<26} {:>12.0}", "gavel-prm (CPU)", rate);

    let home = std::env::var_os("HOME").map(std::path::PathBuf::from).unwrap_or_default();
    let python = std::env::var_os("GAVEL_PRM_PYTHON")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| home.join(".cache/gavel/prm-venv/bin/python"));
    if gavel_tests::bench_smoke() || !python.exists() {
        let hint = format!("see the bench's doc comment (it goes to {})", python.display());
        println!("{}", gavel_tests::peer_missing("the PyTorch peer", &hint));
        return;
    }
    let mut ids_file = tempfile::NamedTempFile::new().unwrap();
    for (ids, step) in &inputs {
        writeln!(ids_file, "{}", json!({"input_ids": ids, "step_token_id": step})).unwrap();
    }
    let out = std::process::Command::new(&python)
        .arg(root.join("tests/peers/run_prm_torch.py"))
        .arg(&dir)
        .arg(ids_file.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let peer = report["tokens_per_s"].as_f64().unwrap();
    let mut worst = 0.0f64;
    for (mine, theirs) in ours.iter().zip(report["scores"].as_array().unwrap()) {
        for (a, b) in mine.iter().zip(theirs.as_array().unwrap()) {
            worst = worst.max((a - b.as_f64().unwrap()).abs());
        }
    }
    let threads = report["threads"].as_u64().unwrap_or(0);
    println!("{:<26} {:>12.0}", format!("PyTorch CPU ({threads} threads)"), peer);
    println!(
        "throughput: gavel-prm / PyTorch = {:.2}x; largest step-score difference {worst:.1e}",
        rate / peer
    );
}
