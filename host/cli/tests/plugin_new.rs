//! `gavel plugin new`, `build` and `test`: a plugin of one's own, from nothing to a score.
//! Builds a real component (cargo, wasm32-wasip2), so it takes a while on a cold target dir.

use std::process::{Command, Output};

fn gavel(args: &[&str]) -> Output {
    let cache = tempfile::tempdir().unwrap();
    Command::new(env!("CARGO_BIN_EXE_gavel"))
        .args(args)
        .env("GAVEL_CACHE_DIR", cache.path())
        .output()
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn a_new_plugin_builds_passes_its_cases_and_scores() {
    let dir = tempfile::tempdir().unwrap();
    let crate_dir = dir.path().join("keyword-bonus");
    let crate_dir = crate_dir.to_str().unwrap();

    let out = gavel(&["plugin", "new", "keyword-bonus", "--dir", crate_dir]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let again = gavel(&["plugin", "new", "keyword-bonus", "--dir", crate_dir]);
    assert!(text(&again.stderr).contains("already exists"), "{}", text(&again.stderr));
    let bad = gavel(&["plugin", "new", "Bad Name", "--dir", crate_dir]);
    assert!(text(&bad.stderr).contains("not a plugin name"), "{}", text(&bad.stderr));

    let built = gavel(&["plugin", "build", crate_dir]);
    assert!(built.status.success(), "{}", text(&built.stderr));
    let wasm = text(&built.stdout).trim().to_owned();
    assert!(wasm.ends_with("keyword_bonus.wasm"), "{wasm}");
    assert!(text(&built.stderr).contains("plugin keyword-bonus 0.1.0"), "{}", text(&built.stderr));
    let wasm_opt = Command::new(std::env::var_os("WASM_OPT").unwrap_or("wasm-opt".into()))
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    let said = if wasm_opt { "optimised with" } else { "wasm-opt (binaryen) was not found" };
    assert!(text(&built.stderr).contains(said), "{}", text(&built.stderr));
    // Building again gives the same component: a policy's sha256 pin stays valid.
    let pin = |out: &Output| {
        let err = text(&out.stderr);
        err.lines().find(|l| l.starts_with("pin it in a policy")).map(str::to_owned)
    };
    let rebuilt = gavel(&["plugin", "build", crate_dir]);
    assert!(rebuilt.status.success(), "{}", text(&rebuilt.stderr));
    assert!(pin(&built).is_some());
    assert_eq!(pin(&built), pin(&rebuilt));

    let cases = format!("{crate_dir}/tests/cases.jsonl");
    let tested = gavel(&["plugin", "test", &wasm, "--input", &cases]);
    assert!(tested.status.success(), "{}{}", text(&tested.stdout), text(&tested.stderr));
    assert!(
        text(&tested.stdout).contains("4 cases, 4 passed, 0 failed"),
        "{}",
        text(&tested.stdout)
    );

    // A case whose expectation is wrong fails, saying what came out instead.
    let wrong = dir.path().join("wrong.jsonl");
    std::fs::write(
        &wrong,
        r#"{"id": "w", "completion": "Lyon", "reference": {"answer": "Paris"}, "expect": {"reward": 1.0}}"#,
    )
    .unwrap();
    let failed = gavel(&["plugin", "test", &wasm, "--input", wrong.to_str().unwrap()]);
    assert!(!failed.status.success());
    assert!(
        text(&failed.stdout).contains("FAIL  w: reward Some(0.0), expected 1"),
        "{}",
        text(&failed.stdout)
    );

    // And it scores like any plugin.
    let samples = dir.path().join("samples.jsonl");
    std::fs::write(
        &samples,
        r#"{"id": "s", "completion": "PARIS", "reference": {"answer": "paris"}}"#,
    )
    .unwrap();
    let scored = gavel(&["score", "--plugin", &wasm, "--input", samples.to_str().unwrap()]);
    assert!(scored.status.success(), "{}", text(&scored.stderr));
    let line: serde_json::Value = serde_json::from_str(text(&scored.stdout).trim()).unwrap();
    assert_eq!(line["reward"], 1.0);
    assert_eq!(line["components"]["found"], 1.0);
}
