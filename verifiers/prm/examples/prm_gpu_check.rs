//! The GPU check, for a machine with a GPU and no Rust toolchain: built here, carried there, run
//! by `verifiers/prm/gpu/check.sh`.
//!
//! ```text
//! prm_gpu_check parity FIXTURES_DIR
//!     every fixture family on the CPU and on CUDA: each against transformers' f32 outputs, and
//!     CUDA against the CPU; a batch scored at once against each sequence alone; and CUDA
//!     against the CPU on longer made-up sequences (the fixtures' own are shorter than one
//!     attention tile). Fails above 2e-2.
//! prm_gpu_check bench MODEL_DIR INPUTS.jsonl SCORES_PREFIX REPS BATCH[,BATCH...]
//!     loads MODEL_DIR on CUDA (or where GAVEL_PRM_DEVICE says, to dry-run it), and for each
//!     BATCH scores the inputs ({"input_ids": [...], "step_token_id": N} lines) REPS times in
//!     batches of BATCH sequences, prints a JSON line with tokens/s, and writes the step scores
//!     to SCORES_PREFIX-bBATCH.jsonl for comparison with transformers'.
//! prm_gpu_check cpu-scores MODEL_DIR INPUTS.jsonl OUT.jsonl N
//!     the f32 CPU path's step scores of the first N inputs (the reference for a large model).
//! ```

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use gavel_prm::golden::Golden;
use gavel_prm::weights::Weights;
use gavel_prm::{Device, Prm};

const TOLERANCE: f64 = 2e-2;

fn main() {
    tracing_subscriber::fmt().with_writer(std::io::stderr).init();
    let args: Vec<String> = std::env::args().collect();
    let result = match args.get(1).map(String::as_str) {
        Some("parity") if args.len() == 3 => parity(Path::new(&args[2])),
        Some("cpu-scores") if args.len() == 6 => cpu_scores(
            Path::new(&args[2]),
            Path::new(&args[3]),
            Path::new(&args[4]),
            args[5].parse().expect("N"),
        ),
        Some("bench") if args.len() == 7 => bench(
            Path::new(&args[2]),
            Path::new(&args[3]),
            Path::new(&args[4]),
            args[5].parse().expect("REPS"),
            &args[6].split(',').map(|b| b.parse().expect("BATCH")).collect::<Vec<usize>>(),
        ),
        _ => {
            Err("usage: prm_gpu_check parity FIXTURES | bench MODEL INPUTS PREFIX REPS BATCHES"
                .into())
        }
    };
    if let Err(e) = result {
        eprintln!("prm_gpu_check: {e}");
        std::process::exit(1);
    }
}

fn load(dir: &Path, device: Device) -> Result<Prm, String> {
    let files = Weights::files(dir).map_err(|e| e.to_string())?;
    Prm::load_with(dir, &files, device).map_err(|e| format!("{}: {e}", dir.display()))
}

fn parity(fixtures: &Path) -> Result<(), String> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(fixtures)
        .map_err(|e| format!("{}: {e}", fixtures.display()))?
        .filter_map(|e| Some(e.ok()?.path()))
        .filter(|p| p.join("golden.json").is_file())
        .collect();
    dirs.sort();
    let mut failed = false;
    for dir in dirs {
        let name = dir.file_name().unwrap_or_default().to_string_lossy().into_owned();
        let golden = Golden::load(&dir, "cases").map_err(|e| e.to_string())?;
        let cpu = load(&dir, Device::Cpu)?;
        let gpu = load(&dir, Device::Cuda)?;
        let cpu_vs_hf = golden.worst_difference(&cpu)?;
        let gpu_vs_hf = golden.worst_difference(&gpu)?;
        // CUDA against the CPU, and a packed batch against each sequence alone.
        let inputs: Vec<(&[u32], u32)> =
            golden.cases.iter().map(|(ids, _)| (ids.as_slice(), golden.step_token)).collect();
        let (mut gpu_vs_cpu, mut batch_vs_alone) = (0.0f64, 0.0f64);
        let batch = gpu.score_batch(&inputs);
        for ((ids, step), together) in inputs.iter().zip(batch) {
            let together = together.map_err(|e| e.to_string())?.step_scores;
            let alone = gpu.score_ids(ids, *step).map_err(|e| e.to_string())?.step_scores;
            let reference = cpu.score_ids(ids, *step).map_err(|e| e.to_string())?.step_scores;
            for ((t, a), r) in together.iter().zip(&alone).zip(&reference) {
                gpu_vs_cpu = gpu_vs_cpu.max((t - r).abs());
                batch_vs_alone = batch_vs_alone.max((t - a).abs());
            }
        }
        let long_vs_cpu = long_parity(&cpu, &gpu)?;
        let ok =
            [gpu_vs_hf, gpu_vs_cpu, batch_vs_alone, long_vs_cpu].iter().all(|d| *d <= TOLERANCE);
        failed |= !ok;
        println!(
            "{{\"fixture\": {name:?}, \"backend\": {:?}, \"cpu_vs_transformers_f32\": {cpu_vs_hf:e}, \"cuda_vs_transformers_f32\": {gpu_vs_hf:e}, \"cuda_vs_cpu\": {gpu_vs_cpu:e}, \"cuda_batch_vs_alone\": {batch_vs_alone:e}, \"long_cuda_vs_cpu\": {long_vs_cpu:e}, \"ok\": {ok}}}",
            gpu.backend()
        );
    }
    if failed { Err(format!("a CUDA difference is above {TOLERANCE}")) } else { Ok(()) }
}

/// CUDA against the CPU on made-up sequences long enough to cross attention tiles (64 rows and
/// keys) several times, scored in one batch: the worst difference of a step probability.
fn long_parity(cpu: &Prm, gpu: &Prm) -> Result<f64, String> {
    let c = cpu.config();
    let step = (c.vocab_size - 1) as u32;
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let seqs: Vec<Vec<u32>> = [250usize, 130, 65, 200]
        .iter()
        .map(|&len| {
            let len = len.min(c.max_positions);
            (0..len)
                .map(|i| {
                    if i % 23 == 22 || i + 1 == len {
                        return step;
                    }
                    state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
                    ((state >> 33) % step as u64) as u32
                })
                .collect()
        })
        .collect();
    let inputs: Vec<(&[u32], u32)> = seqs.iter().map(|s| (s.as_slice(), step)).collect();
    let mut worst = 0.0f64;
    for (g, r) in gpu.score_batch(&inputs).into_iter().zip(cpu.score_batch(&inputs)) {
        let (g, r) = (g.map_err(|e| e.to_string())?, r.map_err(|e| e.to_string())?);
        if g.step_scores.len() != r.step_scores.len() {
            return Err("CUDA and the CPU found different step counts".into());
        }
        for (a, b) in g.step_scores.iter().zip(&r.step_scores) {
            worst = worst.max((a - b).abs());
        }
    }
    Ok(worst)
}

fn read_inputs(inputs: &Path) -> Result<Vec<(Vec<u32>, u32)>, String> {
    let text = std::fs::read_to_string(inputs).map_err(|e| format!("{}: {e}", inputs.display()))?;
    let mut seqs = Vec::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let v: serde_json::Value = serde_json::from_str(line).map_err(|e| e.to_string())?;
        let ids = v["input_ids"]
            .as_array()
            .ok_or("input_ids")?
            .iter()
            .map(|x| x.as_u64().map(|x| x as u32).ok_or("an id"))
            .collect::<Result<Vec<u32>, _>>()?;
        seqs.push((ids, v["step_token_id"].as_u64().ok_or("step_token_id")? as u32));
    }
    Ok(seqs)
}

fn cpu_scores(model: &Path, inputs: &Path, out: &Path, n: usize) -> Result<(), String> {
    let seqs = read_inputs(inputs)?;
    let prm = load(model, Device::Cpu)?;
    let inputs: Vec<(&[u32], u32)> =
        seqs.iter().take(n).map(|(ids, s)| (ids.as_slice(), *s)).collect();
    let mut file = std::fs::File::create(out).map_err(|e| format!("{}: {e}", out.display()))?;
    for r in prm.score_batch(&inputs) {
        let s = r.map_err(|e| e.to_string())?.step_scores;
        writeln!(file, "{}", serde_json::json!({ "step_scores": s })).map_err(|e| e.to_string())?;
    }
    Ok(())
}

fn bench(
    model: &Path,
    inputs: &Path,
    prefix: &Path,
    reps: usize,
    batches: &[usize],
) -> Result<(), String> {
    let seqs = read_inputs(inputs)?;
    let started = Instant::now();
    let device = match std::env::var_os("GAVEL_PRM_DEVICE") {
        Some(_) => Device::from_env().map_err(|e| e.to_string())?,
        None => Device::Cuda,
    };
    let prm = load(model, device)?;
    let load_s = started.elapsed().as_secs_f64();
    let inputs: Vec<(&[u32], u32)> = seqs.iter().map(|(ids, s)| (ids.as_slice(), *s)).collect();
    let tokens: usize = seqs.iter().map(|(ids, _)| ids.len()).sum();
    for &batch in batches {
        let run = || -> Result<Vec<Vec<f64>>, String> {
            let mut scores = Vec::with_capacity(inputs.len());
            for chunk in inputs.chunks(batch) {
                for r in prm.score_batch(chunk) {
                    scores.push(r.map_err(|e| e.to_string())?.step_scores);
                }
            }
            Ok(scores)
        };
        run()?; // warm-up: kernels loaded, cuBLAS heuristics cached, memory pool grown
        let started = Instant::now();
        let mut scores = Vec::new();
        for _ in 0..reps {
            scores = run()?;
        }
        let seconds = started.elapsed().as_secs_f64() / reps as f64;
        let out = PathBuf::from(format!("{}-b{batch}.jsonl", prefix.display()));
        let mut file =
            std::fs::File::create(&out).map_err(|e| format!("{}: {e}", out.display()))?;
        for s in &scores {
            writeln!(file, "{}", serde_json::json!({ "step_scores": s }))
                .map_err(|e| e.to_string())?;
        }
        println!(
            "{}",
            serde_json::json!({
                "backend": prm.backend(),
                "sequences": seqs.len(),
                "tokens": tokens,
                "batch": batch,
                "reps": reps,
                "seconds_per_pass": seconds,
                "tokens_per_s": tokens as f64 / seconds,
                "load_s": load_s,
                "scores": out,
            })
        );
    }
    Ok(())
}
