//! Compiling an untrusted component is bounded: the CLI compiles in a child process of its own
//! binary, with a memory cap (`RLIMIT_AS`) and a deadline, and a component past either is
//! refused with the bound named. Within the bounds, the child's output loads and scores.

use std::process::{Command, Output};

fn inspect_math(env: &[(&str, &str)]) -> Output {
    let cache = tempfile::tempdir().unwrap();
    Command::new(env!("CARGO_BIN_EXE_gavel"))
        .args(["inspect", "math"])
        .env("GAVEL_CACHE_DIR", cache.path())
        .envs(env.iter().copied())
        .output()
        .unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn a_compilation_past_its_memory_bound_is_refused() {
    let out = inspect_math(&[("GAVEL_COMPILE_MEMORY_MIB", "48")]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("plugin math is refused: its compilation needed more than 48 MiB"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_compilation_past_its_deadline_is_refused() {
    let out = inspect_math(&[("GAVEL_COMPILE_TIMEOUT_S", "0")]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("its compilation took longer than 0 ms"), "{}", stderr(&out));
}

#[test]
fn within_the_bounds_the_isolated_compilation_loads() {
    let out = inspect_math(&[("GAVEL_COMPILE_MEMORY_MIB", "1024")]);
    assert!(out.status.success(), "{}", stderr(&out));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["name"], "math");
    let bad = inspect_math(&[("GAVEL_COMPILE_MEMORY_MIB", "lots")]);
    assert!(stderr(&bad).contains("GAVEL_COMPILE_MEMORY_MIB=\"lots\" is not a whole number"));
}
