//! The SWE verifier's overhead and throughput beside a naive `docker run` shell harness
//! (`tests/peers/swe_naive.sh`), on the same fixture task and patch, in one run.
//!
//! Overhead is everything but the test command: both sides run the fixture task with a test
//! command that prints its result and exits at once, so the wall time per evaluation is the
//! harness's own (container create, copy-in, start, patching, output, removal), measured as the
//! latency a caller waits, one evaluation after another. gavel starts containers ahead of need
//! in the background (`prestart`), which hides the start from that latency but not from the
//! machine: throughput, the real pytest task with N evaluations at once, shows the total work.
//!
//! Run with `./dev bench` or `cargo bench -p gavel-tests --bench swe` (needs a Docker engine).

use std::process::Command;
use std::time::{Duration, Instant};

use gavel_core::Sample;
use gavel_sandbox::ContainerLimits;
use gavel_swe::{SweConfig, SweVerifier};
use serde_json::{Value, json};

const ROUNDS: usize = 12;
const CONCURRENCY: usize = 4;

fn naive(task: &Value, patch: &str, dir: &std::path::Path, i: usize) -> Duration {
    let model = dir.join(format!("model-{i}.patch"));
    let tests = dir.join(format!("test-{i}.patch"));
    std::fs::write(&model, patch).unwrap();
    std::fs::write(&tests, task["test_patch"].as_str().unwrap()).unwrap();
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("peers/swe_naive.sh");
    let started = Instant::now();
    let out = Command::new(script)
        .args([task["image"].as_str().unwrap(), "/testbed"])
        .arg(&model)
        .arg(&tests)
        .arg(task["test_cmd"].as_str().unwrap())
        .output()
        .unwrap();
    let elapsed = started.elapsed();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("PASSED"),
        "naive harness: {stdout} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    elapsed
}

fn median(mut xs: Vec<Duration>) -> Duration {
    xs.sort();
    xs[xs.len() / 2]
}

fn main() {
    let mut task = gavel_tests::swe_task();
    let patch = gavel_tests::swe_patch("gold");
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let limits = ContainerLimits { concurrency: CONCURRENCY, ..ContainerLimits::default() };
    let verifier = SweVerifier::new(SweConfig { socket: None, limits }).unwrap();
    let dir = tempfile::tempdir().unwrap();

    // Overhead: a test command that takes no time.
    let mut quick = task.clone();
    quick["test_cmd"] = json!("echo PASSED t::quick");
    quick["fail_to_pass"] = json!(["t::quick"]);
    quick["pass_to_pass"] = json!([]);
    let sample = Sample::new("quick", patch.as_str()).with_reference(quick.clone());
    runtime.block_on(verifier.evaluate(&sample)); // connect, warm the image
    // Back to back, each side on its own: gavel's background starts overlap only its own
    // evaluations, never the peer's.
    let mut gavel = Vec::new();
    let rounds = gavel_tests::bench_iterations(ROUNDS);
    for _ in 0..rounds {
        let started = Instant::now();
        let outcome = runtime.block_on(verifier.evaluate(&sample));
        gavel.push(started.elapsed());
        assert_eq!(outcome.reward(), Some(1.0), "{outcome:?}");
    }
    std::thread::sleep(Duration::from_secs(1));
    let peer: Vec<Duration> = (0..rounds).map(|i| naive(&quick, &patch, dir.path(), i)).collect();
    let (g, p) = (median(gavel), median(peer));
    println!("SWE evaluation overhead (test command excluded), median of {rounds}, sequential");
    println!("{:<22} {:>12}", "harness", "ms / eval");
    println!("{:<22} {:>12.1}", "gavel swe", g.as_secs_f64() * 1e3);
    println!("{:<22} {:>12.1}", "naive docker run", p.as_secs_f64() * 1e3);
    println!("overhead: gavel / naive = {:.2}x", g.as_secs_f64() / p.as_secs_f64());

    // Throughput: the real pytest task, CONCURRENCY at once.
    task["timeout_s"] = json!(120);
    let n = rounds * 2;
    let samples: Vec<Sample> = (0..n)
        .map(|i| Sample::new(i.to_string(), patch.as_str()).with_reference(task.clone()))
        .collect();
    let started = Instant::now();
    let outcomes = runtime.block_on(verifier.score(&samples));
    let gavel_rate = n as f64 / started.elapsed().as_secs_f64();
    assert!(outcomes.iter().all(|o| o.reward() == Some(1.0)), "{outcomes:?}");
    let started = Instant::now();
    let next = std::sync::atomic::AtomicUsize::new(0);
    std::thread::scope(|scope| {
        for _ in 0..CONCURRENCY {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    if i >= n {
                        break;
                    }
                    naive(&task, &patch, dir.path(), 1000 + i);
                }
            });
        }
    });
    let naive_rate = n as f64 / started.elapsed().as_secs_f64();
    println!("\nSWE throughput, {n} pytest evaluations, {CONCURRENCY} at once");
    println!("{:<22} {:>12}", "harness", "evals / s");
    println!("{:<22} {:>12.2}", "gavel swe", gavel_rate);
    println!("{:<22} {:>12.2}", "naive docker run", naive_rate);
    println!("throughput: gavel / naive = {:.2}x", gavel_rate / naive_rate);
}
