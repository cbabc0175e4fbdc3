//! The SWE verifier against the real Docker engine: the fixture repository's gold, wrong,
//! partial, malformed and test-tampering patches; hangs, fork bombs, memory hogs and network
//! attempts; an unreachable engine and a missing image. Every test ends by checking that no
//! container of this process is left.

use std::time::{Duration, Instant};

use gavel_core::{ErrorKind, Outcome, Sample, Status};
use gavel_sandbox::ContainerLimits;
use gavel_swe::engine::OWNER_LABEL;
use gavel_swe::{Engine, LABEL, SweConfig, SweVerifier};
use gavel_tests::{containers_owned_by, swe_patch, swe_task};
use serde_json::json;

fn sample(id: &str, completion: &str, task: &serde_json::Value) -> Sample {
    Sample::new(id, completion).with_reference(task.clone())
}

fn verifier(limits: ContainerLimits) -> SweVerifier {
    SweVerifier::new(SweConfig { socket: None, limits }).unwrap()
}

fn component(outcome: &Outcome, name: &str) -> f64 {
    let Outcome::Scored(score) = outcome else { panic!("not scored: {outcome:?}") };
    score.components.iter().find(|(n, _)| n == name).unwrap_or_else(|| panic!("no {name}")).1
}

/// Drops the verifier (its idle, prestarted containers go with it), then checks that no
/// container of this process is left.
async fn assert_no_leftovers(verifier: SweVerifier) {
    let owner = verifier.engine().await.unwrap().owner().to_owned();
    drop(verifier);
    // A replacement being started in the background finishes, then goes with the pool.
    for _ in 0..100 {
        if containers_owned_by(&owner).is_empty() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let ps = std::process::Command::new("docker")
        .args([
            "ps",
            "-a",
            "--filter",
            &format!("label=gavel.owner={owner}"),
            "--format",
            "{{.Names}} {{.Status}}",
        ])
        .output()
        .unwrap();
    panic!("containers left behind: {}", String::from_utf8_lossy(&ps.stdout));
}

#[tokio::test(flavor = "multi_thread")]
async fn patches_are_graded_the_swe_bench_way() {
    let mut task = swe_task();
    task["gold_patch"] = json!(swe_patch("gold"));
    let gold = swe_patch("gold");
    let samples = vec![
        sample("gold", &format!("The fix:\n```diff\n{gold}```\n"), &task),
        sample("wrong", &swe_patch("wrong"), &task),
        sample("partial", &format!("<patch>\n{}</patch>", swe_patch("partial")), &task),
        sample("malformed", &swe_patch("malformed"), &task),
        sample("delete_tests", &swe_patch("delete_tests"), &task),
        sample("skip_tests", &swe_patch("skip_tests"), &task),
        sample("no_diff", "I looked at it and it seems fine.", &task),
    ];
    let verifier = verifier(ContainerLimits::default());
    let outcomes = verifier.score(&samples).await;
    let by_id = |id: &str| &outcomes[samples.iter().position(|s| s.id == id).unwrap()];

    let gold = by_id("gold");
    assert_eq!(gold.reward(), Some(1.0), "{gold:?}");
    assert_eq!(component(gold, "applied"), 1.0);
    assert_eq!(component(gold, "f2p_passed"), 1.0);
    assert_eq!(component(gold, "p2p_kept"), 1.0);
    assert_eq!(component(gold, "similarity"), 1.0);

    let wrong = by_id("wrong");
    assert_eq!(wrong.reward(), Some(0.0), "{wrong:?}");
    assert!(component(wrong, "f2p_passed") < 1.0);
    assert!(component(wrong, "p2p_kept") < 1.0, "it breaks test_median_odd: {wrong:?}");
    assert!(component(wrong, "similarity") < 1.0);

    let partial = by_id("partial");
    assert_eq!(partial.reward(), Some(0.0), "{partial:?}");
    assert_eq!(component(partial, "f2p_passed"), 0.5);
    assert_eq!(component(partial, "p2p_kept"), 1.0);

    for id in ["malformed", "no_diff"] {
        let outcome = by_id(id);
        assert_eq!(outcome.reward(), Some(0.0), "{id}: {outcome:?}");
        assert_eq!(component(outcome, "applied"), 0.0, "{id}");
    }
    for id in ["delete_tests", "skip_tests"] {
        let outcome = by_id(id);
        assert_eq!(outcome.reward(), Some(0.0), "{id} must not resolve: {outcome:?}");
        assert_eq!(component(outcome, "applied"), 1.0, "{id}");
        assert_eq!(component(outcome, "f2p_passed"), 0.0, "{id}");
    }
    assert_no_leftovers(verifier).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_hanging_test_times_out_within_the_deadline() {
    let mut task = swe_task();
    task["timeout_s"] = json!(5);
    let verifier = verifier(ContainerLimits::default());
    let started = Instant::now();
    let outcome = verifier.evaluate(&sample("hang", &swe_patch("hang"), &task)).await;
    let elapsed = started.elapsed();
    assert_eq!(outcome.status(), Status::Timeout, "{outcome:?}");
    assert!(elapsed < Duration::from_secs(5 + 10), "took {elapsed:?}");
    assert_no_leftovers(verifier).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_fork_bomb_and_a_memory_hog_are_contained() {
    let mut task = swe_task();
    task["timeout_s"] = json!(20);
    let limits = ContainerLimits { pids: 64, memory_mib: 256, ..ContainerLimits::default() };
    let verifier = verifier(limits);
    let samples = [
        sample("fork_bomb", &swe_patch("fork_bomb"), &task),
        sample("memory_hog", &swe_patch("memory_hog"), &task),
    ];
    let started = Instant::now();
    let outcomes = verifier.score(&samples).await;
    assert!(started.elapsed() < Duration::from_secs(40), "took {:?}", started.elapsed());
    for (sample, outcome) in samples.iter().zip(&outcomes) {
        // Contained means: a verdict of "not resolved" or a timeout, never a reward of 1,
        // never an engine failure, and the machine still answers.
        assert_ne!(outcome.reward(), Some(1.0), "{}: {outcome:?}", sample.id);
        assert!(
            matches!(outcome.status(), Status::Ok | Status::Timeout),
            "{}: {outcome:?}",
            sample.id
        );
    }
    assert_no_leftovers(verifier).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_network_is_off() {
    let mut task = swe_task();
    // A test that passes only when connecting anywhere fails at once with ENETUNREACH (no
    // interface but loopback), not by a timeout as a filtered network would.
    task["test_cmd"] = json!(
        "python3 -c 'import socket, errno\ntry:\n    socket.create_connection((\"192.0.2.1\", 80), timeout=5)\n    print(\"FAILED net::offline - connected\")\nexcept OSError as e:\n    print((\"PASSED\" if e.errno == errno.ENETUNREACH else \"FAILED\") + \" net::offline - \" + repr(e))'"
    );
    task["fail_to_pass"] = json!(["net::offline"]);
    task["pass_to_pass"] = json!([]);
    let verifier = verifier(ContainerLimits::default());
    let outcome = verifier.evaluate(&sample("net", &swe_patch("gold"), &task)).await;
    assert_eq!(outcome.reward(), Some(1.0), "{outcome:?}");
    // And a patch that needs the network fails its tests rather than reaching it.
    let outcome = verifier.evaluate(&sample("net", &swe_patch("network"), &swe_task())).await;
    assert_eq!(outcome.reward(), Some(0.0), "{outcome:?}");
    assert_no_leftovers(verifier).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn engine_failures_are_errors_never_a_zero() {
    let task = swe_task();
    let unreachable = SweVerifier::new(SweConfig {
        socket: Some("/nonexistent/docker.sock".into()),
        limits: ContainerLimits::default(),
    })
    .unwrap();
    let outcome = unreachable.evaluate(&sample("x", &swe_patch("gold"), &task)).await;
    assert!(matches!(outcome, Outcome::Error { kind: ErrorKind::Engine, .. }), "{outcome:?}");

    let mut missing = task.clone();
    missing["image"] = json!("gavel-no-such-image:404");
    let verifier = verifier(ContainerLimits::default());
    let outcome = verifier.evaluate(&sample("x", &swe_patch("gold"), &missing)).await;
    let Outcome::Error { kind: ErrorKind::Engine, message } = &outcome else {
        panic!("{outcome:?}")
    };
    assert!(
        message.contains("gavel-no-such-image:404") && message.contains("never pulls"),
        "{message}"
    );

    let mut bad = task.clone();
    bad["log_parser"] = json!("jest");
    let outcome = verifier.evaluate(&sample("x", &swe_patch("gold"), &bad)).await;
    assert_eq!(outcome.status(), Status::Invalid, "{outcome:?}");
    assert_no_leftovers(verifier).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_cancelled_evaluation_removes_its_container() {
    let mut task = swe_task();
    task["timeout_s"] = json!(60);
    let verifier = verifier(ContainerLimits::default());
    let engine = verifier.engine().await.unwrap();
    let job = {
        let verifier = verifier.clone();
        let sample = sample("hang", &swe_patch("hang"), &task);
        tokio::spawn(async move { verifier.evaluate(&sample).await })
    };
    // Wait until its container exists, then cancel the evaluation.
    let deadline = Instant::now() + Duration::from_secs(30);
    while containers_owned_by(engine.owner()).is_empty() {
        assert!(Instant::now() < deadline, "no container appeared");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    job.abort();
    assert!(job.await.unwrap_err().is_cancelled());
    assert_no_leftovers(verifier).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_policy_shapes_the_test_verdict_with_patch_similarity() {
    let (host, _cache) = gavel_tests::host();
    let mut kinds = gavel_policy::SourceKinds::standard(host);
    gavel_swe::register(&mut kinds);
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../examples/policies/swe_shaped.toml");
    let policy = gavel_policy::Policy::load(&path, &kinds).unwrap_or_else(|e| panic!("{e}"));
    let mut task = swe_task();
    task["gold_patch"] = json!(swe_patch("gold"));
    let mut samples = vec![
        sample("gold", &swe_patch("gold"), &task),
        sample("partial", &swe_patch("partial"), &task),
    ];
    samples.iter_mut().for_each(|s| s.group = Some("g".into()));
    let scored = policy.score(&samples, 0.0).await;
    assert_eq!(scored[0].outcome.reward(), Some(1.0), "{:?}", scored[0].outcome);
    let partial = scored[1].outcome.reward().unwrap();
    assert!(partial > 0.0 && partial < 0.2, "similarity credit only: {partial}");
    assert!(scored[0].advantage.unwrap() > 0.0 && scored[1].advantage.unwrap() < 0.0);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_busybox_image_without_git_patches_with_patch() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../verifiers/swe/images");
    let status = std::process::Command::new(dir.join("build.sh")).arg("busybox").status().unwrap();
    assert!(status.success());
    let task = json!({
        "image": "gavel-busybox:1", "workdir": "/srv", "log_parser": "go",
        "test_cmd": "if [ \"$(cat answer.txt)\" = 42 ]; then echo '--- PASS: TestAnswer (0.00s)'; else echo '--- FAIL: TestAnswer (0.00s)'; exit 1; fi",
        "fail_to_pass": ["TestAnswer"], "timeout_s": 30
    });
    let right = "--- /dev/null\n+++ b/answer.txt\n@@ -0,0 +1 @@\n+42\n";
    let wrong = "--- /dev/null\n+++ b/answer.txt\n@@ -0,0 +1 @@\n+41\n";
    let verifier = verifier(ContainerLimits::default());
    let outcomes =
        verifier.score(&[sample("right", right, &task), sample("wrong", wrong, &task)]).await;
    assert_eq!(outcomes[0].reward(), Some(1.0), "{:?}", outcomes[0]);
    assert_eq!(outcomes[1].reward(), Some(0.0), "{:?}", outcomes[1]);
    assert_eq!(component(&outcomes[1], "applied"), 1.0);
    assert_no_leftovers(verifier).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_running_process_reaps_what_a_process_that_died_left_after_it_connected() {
    let image = swe_task()["image"].as_str().unwrap().to_owned();
    let engine = Engine::connect(None, 1).await.unwrap();
    engine.reap_every(Duration::from_millis(100));
    // This pid with another start time: a gavel process of this host that is gone, whose
    // container was still being created when the reap at connect looked.
    let (host_and_pid, _) = engine.owner().rsplit_once('/').unwrap();
    let gone = format!("{host_and_pid}/1");
    let created = std::process::Command::new("docker")
        .args(["create", "--label", &format!("{LABEL}=swe"), "--label"])
        .arg(format!("{OWNER_LABEL}={gone}"))
        .args([&image, "true"])
        .output()
        .unwrap();
    assert!(created.status.success(), "{}", String::from_utf8_lossy(&created.stderr));
    let deadline = Instant::now() + Duration::from_secs(20);
    while !containers_owned_by(&gone).is_empty() {
        assert!(Instant::now() < deadline, "the container of a process that is gone stays");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(containers_owned_by(engine.owner()).is_empty());
}
