//! `gavel score --verifier swe` against the real Docker engine, and what a SIGKILL leaves:
//! nothing, once the next gavel process starts.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/swe/calc")
}

fn read(name: &str) -> String {
    std::fs::read_to_string(fixture().join("patches").join(format!("{name}.diff"))).unwrap()
}

fn task(timeout_s: u64) -> Value {
    let status = Command::new(fixture().join("build.sh")).status().unwrap();
    assert!(status.success(), "building the fixture image failed");
    json!({
        "image": "gavel-swe-calc:1",
        "test_cmd": "python3 -m pytest -rA -p no:cacheprovider tests",
        "test_patch": read("test"),
        "fail_to_pass": ["tests/test_stats.py::test_median_even", "tests/test_stats.py::test_mean_empty"],
        "pass_to_pass": ["tests/test_stats.py::test_mean"],
        "log_parser": "pytest",
        "timeout_s": timeout_s
    })
}

/// Containers labelled by gavel whose owner is process `pid`.
fn containers_of(pid: u32) -> Vec<String> {
    let out = Command::new("docker")
        .args([
            "ps",
            "-a",
            "--filter",
            "label=gavel.verifier",
            "--format",
            "{{.ID}} {{.Label \"gavel.owner\"}}",
        ])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.contains(&format!("/{pid}/")))
        .map(|l| l.split(' ').next().unwrap().to_owned())
        .collect()
}

fn input_file(dir: &Path, name: &str, lines: &[Value]) -> PathBuf {
    let path = dir.join(name);
    let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn scores_a_task_file_and_reaps_what_a_killed_run_left() {
    let dir = tempfile::tempdir().unwrap();
    let hang = input_file(
        dir.path(),
        "hang.jsonl",
        &[json!({"id": "hang", "completion": read("hang"), "reference": task(120)})],
    );
    let mut killed = Command::new(env!("CARGO_BIN_EXE_gavel"))
        .args(["score", "--verifier", "swe", "--input"])
        .arg(&hang)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let pid = killed.id();
    let deadline = Instant::now() + Duration::from_secs(60);
    while containers_of(pid).is_empty() {
        assert!(Instant::now() < deadline, "no container appeared for the running evaluation");
        std::thread::sleep(Duration::from_millis(100));
    }
    killed.kill().unwrap(); // SIGKILL: no destructor runs.
    killed.wait().unwrap();
    // The run had started a spare container in the background (the pool); the engine finishes
    // a create request the dead process had in flight, so its containers may still grow for a
    // moment, and the restart's reaper can only remove those that exist when it looks: wait
    // until the list has not changed for two seconds.
    let (mut left, mut unchanged) = (containers_of(pid), 0);
    for _ in 0..30 {
        std::thread::sleep(Duration::from_secs(1));
        let now = containers_of(pid);
        unchanged = if now == left { unchanged + 1 } else { 0 };
        left = now;
        if unchanged == 2 {
            break;
        }
    }
    assert!(!left.is_empty(), "the killed run's container is still there");

    // The next run reaps it, and scores its own tasks.
    let tasks = input_file(
        dir.path(),
        "tasks.jsonl",
        &[
            json!({"id": "gold", "completion": read("gold"), "reference": task(60)}),
            json!({"id": "malformed", "completion": read("malformed"), "reference": task(60)}),
        ],
    );
    let restart = Command::new(env!("CARGO_BIN_EXE_gavel"))
        .args([
            "score",
            "--verifier",
            "swe",
            "--config",
            r#"{"limits": {"concurrency": 2}}"#,
            "--input",
        ])
        .arg(&tasks)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let restart_pid = restart.id();
    let out = restart.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let lines: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines[0]["id"], "gold");
    assert_eq!(lines[0]["reward"], 1.0, "{}", lines[0]);
    assert_eq!(lines[0]["components"]["f2p_passed"], 1.0, "{}", lines[0]);
    assert_eq!(lines[1]["reward"], 0.0, "{}", lines[1]);
    assert_eq!(lines[1]["components"]["applied"], 0.0, "{}", lines[1]);
    assert!(containers_of(pid).is_empty(), "the restart reaped the killed run's container");
    // And it left none of its own: the last removals were still in flight as it ended.
    assert!(containers_of(restart_pid).is_empty(), "the restart's own containers are gone");
}

#[test]
fn a_bad_config_is_refused_with_the_field_named() {
    let out = Command::new(env!("CARGO_BIN_EXE_gavel"))
        .args([
            "score",
            "--verifier",
            "swe",
            "--config",
            r#"{"limits": {"pids": 1}}"#,
            "--input",
            "-",
        ])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("pids"), "{stderr}");
}
