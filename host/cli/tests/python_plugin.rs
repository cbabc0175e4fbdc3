//! A plugin in Python: built with componentize-py (`$GAVEL_COMPONENTIZE_PY`, which `./dev test`
//! installs into its venv, else `componentize-py` on the PATH), loaded with the capabilities
//! its interpreter imports, each virtual, and scored twice with identical results.

use std::path::Path;
use std::process::{Command, Output};

const GRANT: &str = "clock,random,files,sockets";

fn gavel(cache: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_gavel"))
        .args(args)
        .env("GAVEL_CACHE_DIR", cache)
        .output()
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Builds the plugin in `dir` (copied to a temporary folder, so the checkout stays clean).
fn build(cache: &Path, dir: &Path) -> String {
    let built = gavel(cache, &["plugin", "build", dir.to_str().unwrap()]);
    assert!(
        built.status.success(),
        "{}\n(this test needs componentize-py: `./dev test` installs it; or pip install \
         componentize-py and set GAVEL_COMPONENTIZE_PY)",
        text(&built.stderr)
    );
    text(&built.stdout).trim().to_owned()
}

#[test]
fn the_python_keywords_plugin_builds_scores_and_is_deterministic() {
    let work = tempfile::tempdir().unwrap();
    let cache = work.path().join("cache");
    let dir = work.path().join("keywords-py");
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../plugins/keywords-py");
    std::fs::create_dir_all(dir.join("tests")).unwrap();
    std::fs::create_dir_all(dir.join("files")).unwrap();
    for file in ["app.py", "tests/cases.jsonl", "files/stopwords.txt"] {
        std::fs::copy(source.join(file), dir.join(file)).unwrap();
    }
    let wasm = build(&cache, &dir);
    assert!(wasm.ends_with("keywords-py.wasm"), "{wasm}");
    // Its stop words travel inside the component (the `files` capability reads them).
    let bytes = std::fs::read(&wasm).unwrap();
    let shipped = gavel_host::shipped_files(&bytes).unwrap().expect("files shipped");
    assert_eq!(shipped[0].0, "stopwords.txt");
    // `inspect` shows a reviewer what it requests and what it ships.
    let inspected = gavel(&cache, &["inspect", &wasm, "--grant", GRANT]);
    assert!(inspected.status.success(), "{}", text(&inspected.stderr));
    let report: serde_json::Value = serde_json::from_slice(&inspected.stdout).unwrap();
    assert_eq!(report["capabilities"], serde_json::json!(["clock", "random", "files", "sockets"]));
    assert_eq!(report["shipped_files"][0]["path"], "/stopwords.txt");

    let cases = source.join("tests/cases.jsonl");
    let cases = cases.to_str().unwrap();
    let tested = gavel(&cache, &["plugin", "test", &wasm, "--input", cases, "--grant", GRANT]);
    assert!(tested.status.success(), "{}{}", text(&tested.stdout), text(&tested.stderr));
    assert!(text(&tested.stdout).contains("6 cases, 6 passed, 0 failed"));

    // Scoring twice gives the same bytes: rewards, components and explanations.
    let samples = work.path().join("samples.jsonl");
    let lines: Vec<String> = std::fs::read_to_string(source.join("tests/cases.jsonl"))
        .unwrap()
        .lines()
        .map(|line| {
            let mut v: serde_json::Value = serde_json::from_str(line).unwrap();
            v.as_object_mut().unwrap().remove("expect");
            v.to_string()
        })
        .collect();
    std::fs::write(&samples, lines.join("\n")).unwrap();
    let score = || {
        let args = ["score", "--plugin", &wasm, "--grant", GRANT, "--seed", "7", "--input"];
        let out = gavel(&cache, &[&args[..], &[samples.to_str().unwrap()]].concat());
        assert!(out.status.success(), "{}", text(&out.stderr));
        text(&out.stdout)
    };
    let first = score();
    assert_eq!(first, score(), "two runs differ");
    let line: serde_json::Value = serde_json::from_str(first.lines().next().unwrap()).unwrap();
    assert_eq!(line["reward"], 1.0);
    assert_eq!(line["components"]["coverage"], 1.0);

    // Without the grants its interpreter needs, it is refused, naming what is missing.
    let refused = gavel(&cache, &["score", "--plugin", &wasm, "--input", "-"]);
    assert!(!refused.status.success());
    let message = text(&refused.stderr);
    assert!(message.contains("which it was not granted"), "{message}");
    assert!(
        message.contains("they need the capabilities `clock`, `random`, `files`, `sockets`"),
        "{message}"
    );
    // A bad config is the plugin's own error, by field.
    let args = ["score", "--plugin", &wasm, "--grant", GRANT, "--config", r#"{"target_word": 3}"#];
    let bad = gavel(&cache, &[&args[..], &["--input", samples.to_str().unwrap()]].concat());
    assert!(
        text(&bad.stderr).contains("unknown config field 'target_word'"),
        "{}",
        text(&bad.stderr)
    );
}

#[test]
fn a_new_python_plugin_builds_and_passes_its_cases() {
    let work = tempfile::tempdir().unwrap();
    let cache = work.path().join("cache");
    let dir = work.path().join("contains");
    let dir_str = dir.to_str().unwrap();
    let out = gavel(&cache, &["plugin", "new", "contains", "--lang", "python", "--dir", dir_str]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(dir.join("wit/reward.wit").is_file() && dir.join("gavel_plugin.py").is_file());
    let wasm = build(&cache, &dir);
    let cases = format!("{dir_str}/tests/cases.jsonl");
    let tested = gavel(&cache, &["plugin", "test", &wasm, "--input", &cases, "--grant", GRANT]);
    assert!(tested.status.success(), "{}{}", text(&tested.stdout), text(&tested.stderr));
    assert!(text(&tested.stdout).contains("4 cases, 4 passed, 0 failed"));
}
