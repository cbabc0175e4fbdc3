//! The async API: batches across workers, order kept, overload refused fast.

use std::time::{Duration, Instant};

use gavel_core::Outcome;
use gavel_host::{Host, HostConfig, HostError};
use gavel_sandbox::WasmLimits;
use gavel_tests::{load, samples};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_batches_keep_their_order() {
    let dir = tempfile::tempdir().unwrap();
    let host =
        Host::new(HostConfig { cache_dir: Some(dir.path().to_owned()), ..HostConfig::default() })
            .unwrap();
    let plugin = load(&host, "trivial", WasmLimits { batch_size: 7, ..WasmLimits::default() });
    let completions: Vec<String> = (0..500).map(|i| "x".repeat(i % 37)).collect();
    let refs: Vec<&str> = completions.iter().map(String::as_str).collect();
    let outcomes =
        host.score_batch(&plugin, samples(&refs), &serde_json::Value::Null).await.unwrap();
    let rewards: Vec<Option<f64>> = outcomes.iter().map(Outcome::reward).collect();
    let expected: Vec<Option<f64>> = (0..500).map(|i| Some((i % 37) as f64)).collect();
    assert_eq!(rewards, expected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn overload_is_refused_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let config = HostConfig {
        workers: 1,
        max_pending: 1,
        cache_dir: Some(dir.path().to_owned()),
        ..HostConfig::default()
    };
    let host = Host::new(config).unwrap();
    let limits =
        WasmLimits { fuel_per_sample: u64::MAX, deadline_ms: 500, ..WasmLimits::default() };
    let plugin = load(&host, "spin", limits);
    let busy = {
        let (host, plugin) = (host.clone(), plugin.clone());
        tokio::spawn(async move {
            host.score_batch(&plugin, samples(&["spin"]), &serde_json::Value::Null).await
        })
    };
    let admitted = Instant::now() + Duration::from_secs(20);
    while host.pending() == 0 {
        assert!(Instant::now() < admitted, "the spinning call is never admitted");
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let started = Instant::now();
    let refused = host.score_batch(&plugin, samples(&["ok"]), &serde_json::Value::Null).await;
    assert!(matches!(refused, Err(HostError::Overloaded { limit: 1, .. })), "{refused:?}");
    // At once: not after the spinning call's 500 ms deadline.
    assert!(started.elapsed() < Duration::from_millis(250), "refusal is immediate");
    let spun = busy.await.unwrap().unwrap();
    assert_eq!(spun[0].status(), gavel_core::Status::Timeout);
    // Once the slot is free, calls are admitted again.
    let outcomes =
        host.score_batch(&plugin, samples(&["ok"]), &serde_json::Value::Null).await.unwrap();
    assert_eq!(outcomes[0].reward(), Some(1.0));
}
