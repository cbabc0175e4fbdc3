//! The `gavel` command line, run as a user runs it.

use std::io::Write;
use std::process::{Command, Output, Stdio};

use serde_json::{Value, json};

fn gavel(args: &[&str], stdin: &str) -> Output {
    let cache = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_gavel"))
        .args(args)
        .env("GAVEL_CACHE_DIR", cache.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    child.wait_with_output().unwrap()
}

fn lines(output: &Output) -> Vec<Value> {
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn score_exact_from_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("f.jsonl");
    std::fs::write(
        &input,
        r#"{"id":"a","completion":"<answer>42</answer>","reference":{"answer":"42"}}"#,
    )
    .unwrap();
    let out = gavel(&["score", "--plugin", "exact", "--input", input.to_str().unwrap()], "");
    assert!(out.status.success(), "{}", stderr(&out));
    let results = lines(&out);
    assert_eq!(results.len(), 1);
    assert_eq!(results[0]["id"], "a");
    assert_eq!(results[0]["status"], "ok");
    assert_eq!(results[0]["reward"], 1.0);
    assert_eq!(results[0]["components"], json!({"match": 1.0}));
    assert_eq!(results[0]["error"], Value::Null);
}

#[test]
fn malformed_lines_are_invalid_and_the_rest_is_scored_in_order() {
    let input = [
        r#"{"id":"a","completion":"<think>x</think><answer>1</answer>"}"#,
        "{not json",
        r#"{"id":"b"}"#,
        "",
        r#"{"id":"c","completion":"no tags"}"#,
    ]
    .join("\n");
    let out = gavel(&["score", "--plugin", "format", "--input", "-"], &input);
    assert!(out.status.success(), "{}", stderr(&out));
    let results = lines(&out);
    let ids: Vec<&str> = results.iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["a", "line 2", "b", "c"]);
    assert_eq!(results[0]["reward"], 1.0);
    assert_eq!(results[1]["status"], "invalid");
    assert!(results[1]["error"].as_str().unwrap().starts_with("line 2:"));
    assert_eq!(results[2]["status"], "invalid");
    assert!(results[2]["error"].as_str().unwrap().contains("completion"));
    assert_eq!(results[2]["reward"], Value::Null);
    assert_eq!(results[3]["reward"], 0.0);
    assert!(stderr(&out).contains("scored 4 samples"));
}

#[test]
fn output_goes_to_a_file_when_asked() {
    let dir = tempfile::tempdir().unwrap();
    let output = dir.path().join("out.jsonl");
    let out = gavel(
        &["score", "--plugin", "exact", "--input", "-", "--output", output.to_str().unwrap()],
        r#"{"id":1,"completion":"7","reference":7}"#,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(out.stdout.is_empty());
    let written: Value =
        serde_json::from_str(std::fs::read_to_string(&output).unwrap().trim()).unwrap();
    assert_eq!(written["id"], "1");
    assert_eq!(written["reward"], 1.0);
}

#[test]
fn commands_that_cannot_run_fail_with_a_reason() {
    let out = gavel(&["score", "--plugin", "nope", "--input", "-"], "");
    assert!(!out.status.success());
    assert!(stderr(&out).contains("no bundled plugin named \"nope\""), "{}", stderr(&out));

    let out = gavel(
        &["score", "--plugin", "format", "--config", r#"{"strict": true}"#, "--input", "-"],
        "",
    );
    assert!(!out.status.success());
    assert!(stderr(&out).contains("unknown field `strict`"), "{}", stderr(&out));

    let out = gavel(&["score", "--plugin", "format", "--input", "/nonexistent.jsonl"], "");
    assert!(!out.status.success());
    assert!(stderr(&out).contains("cannot open input /nonexistent.jsonl"), "{}", stderr(&out));

    let out = gavel(
        &["score", "--plugin", "format", "--limits", r#"{"deadline_ms": 0}"#, "--input", "-"],
        "",
    );
    assert!(!out.status.success());
    assert!(stderr(&out).contains("deadline_ms"), "{}", stderr(&out));
}

#[test]
fn plugins_inspect_and_demo() {
    let out = gavel(&["plugins"], "");
    assert!(out.status.success());
    let listing = String::from_utf8_lossy(&out.stdout);
    assert!(listing.contains("format") && listing.contains("exact"), "{listing}");

    let out = gavel(&["inspect", "exact"], "");
    assert!(out.status.success(), "{}", stderr(&out));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["name"], "exact");
    assert_eq!(report["api_version"], "0.2.0");
    assert!(
        report["imports"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i.as_str().unwrap().starts_with("wasi:cli/"))
    );

    let out = gavel(&["demo"], "");
    assert!(out.status.success(), "{}", stderr(&out));
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(table.contains("gsm-17/0") && table.contains("not_applicable"), "{table}");
}

fn policy_file(dir: &std::path::Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

#[test]
fn check_prints_the_plan_or_says_where_a_policy_is_wrong() {
    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/policies/r1_gated.toml");
    let out = gavel(&["check", example], "");
    assert!(out.status.success(), "{}", stderr(&out));
    let plan = String::from_utf8_lossy(&out.stdout);
    assert!(
        plan.contains("accuracy") && plan.contains("runs only where a gate or route reaches it"),
        "{plan}"
    );

    let dir = tempfile::tempdir().unwrap();
    let math = "[sources.acc]\nkind = \"wasm\"\nplugin = \"math\"\n";
    let cases = [
        ("unknown.toml", format!("version = 1\nreward = \"acc + fmt\"\n{math}"), "unknown.toml:2:17: unknown name `fmt`"),
        ("types.toml", format!("version = 1\nreward = \"mean(acc)\"\n{math}"), "types.toml:2:11: `mean` argument 1 must be steps or an ensemble, got scalar"),
        ("cycle.toml", format!("version = 1\nreward = \"a\"\n[terms]\na = \"b\"\nb = \"a * 2\"\n{math}"), "terms depend on each other in a cycle: a → b → a"),
        ("missing.toml", "version = 1\nreward = \"acc\"\n[sources.acc]\nkind = \"wasm\"\nplugin = \"nope.wasm\"\n".to_owned(), "missing.toml:3:1: source `acc`: plugin file"),
        ("number.toml", format!("version = 1\nreward = \"acc * 1e\"\n{math}"), "number.toml:2:17: syntax: `1e` is not a number"),
        ("config.toml", "version = 1\nreward = \"acc\"\n[sources.acc]\nkind = \"wasm\"\nplugin = \"math\"\nconfig = { toleranse = 1 }\n".to_owned(), "config.toml:3:1: source `acc`"),
    ];
    for (name, text, expected) in cases {
        let path = policy_file(dir.path(), name, &text);
        let out = gavel(&["check", &path], "");
        assert!(!out.status.success(), "{name} should be refused");
        assert!(stderr(&out).contains(expected), "{name}: {}", stderr(&out));
    }
}

#[test]
fn score_with_a_policy_adds_the_advantage() {
    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/policies/r1_sum.toml");
    let input = [
        json!({"id": "a", "group": "g", "completion": "<think>x</think>\n<answer>4</answer>", "reference": {"answer": "4"}}),
        json!({"id": "b", "group": "g", "completion": "<answer>5</answer>", "reference": {"answer": "4"}}),
        json!({"id": "c", "completion": "<answer>4</answer>"}),
    ]
    .map(|v| v.to_string())
    .join("\n");
    let out = gavel(&["score", "--policy", example, "--input", "-"], &input);
    assert!(out.status.success(), "{}", stderr(&out));
    let lines = lines(&out);
    assert_eq!(lines[0]["reward"], 2.0);
    assert_eq!(lines[0]["components"], json!({"accuracy": 1.0, "format": 1.0}));
    assert_eq!(lines[1]["reward"], 0.0);
    assert!(lines[0]["advantage"].as_f64().unwrap() > 0.7);
    assert_eq!(lines[2]["status"], "not_applicable");
    assert_eq!(lines[2]["advantage"], Value::Null);
    let out = gavel(&["score", "--policy", example, "--plugin", "math", "--input", "-"], "");
    assert!(!out.status.success(), "--policy and --plugin together are refused");
}

#[test]
fn prm_score_reads_ids_and_text_and_reports_bad_lines() {
    let model = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../verifiers/prm/fixtures/qwen2_prm");
    let golden: Value =
        serde_json::from_str(&std::fs::read_to_string(model.join("golden.json")).unwrap()).unwrap();
    let case = &golden["cases"][0];
    let input = format!(
        "{}\n{}\n{}\n",
        json!({"id": "ids", "input_ids": case["input_ids"], "step_token_id": golden["step_token_id"]}),
        json!({"id": "text", "prompt": "What is 2 + 3?", "steps": ["2 + 3 = 5", "The answer is 5."]}),
        json!({"id": "bad", "steps": ["x"], "input_ids": [1]}),
    );
    let model = model.to_str().unwrap();
    let out = gavel(&["prm", "score", "--model", model, "--device", "cpu", "--input", "-"], &input);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("PRM on cpu (f32)"), "{}", stderr(&out));
    let lines = lines(&out);
    let want: Vec<f64> =
        case["step_scores"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect();
    let got: Vec<f64> =
        lines[0]["step_scores"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect();
    assert_eq!(got.len(), want.len());
    assert!(got.iter().zip(&want).all(|(g, w)| (g - w).abs() < 1e-4), "{got:?} vs {want:?}");
    assert_eq!(lines[0]["min"], got.iter().copied().fold(f64::INFINITY, f64::min));
    assert_eq!(lines[1]["id"], "text");
    assert_eq!(lines[1]["step_scores"].as_array().unwrap().len(), 2);
    assert!(lines[2]["error"].as_str().unwrap().contains("either"), "{}", lines[2]);
}

#[test]
fn prm_score_says_which_device_it_runs_on_or_why_not() {
    let model = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../verifiers/prm/fixtures/qwen2_prm");
    let model = model.to_str().unwrap();
    let input = json!({"id": 1, "input_ids": [5, 6, 3], "step_token_id": 3}).to_string();
    let out = gavel(&["prm", "score", "--model", model, "--device", "gpu", "--input", "-"], "");
    assert!(!out.status.success());
    assert!(stderr(&out).contains("unknown device \"gpu\" (auto, cpu, cuda)"), "{}", stderr(&out));
    // `cuda` runs on a GPU or fails saying why; `auto` always runs, and says where.
    let out =
        gavel(&["prm", "score", "--model", model, "--device", "cuda", "--input", "-"], &input);
    if out.status.success() {
        assert!(stderr(&out).contains("PRM on cuda: "), "{}", stderr(&out));
    } else {
        assert!(stderr(&out).contains("cuda: "), "{}", stderr(&out));
    }
    let out = gavel(&["prm", "score", "--model", model, "--input", "-"], &input);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("PRM on "), "{}", stderr(&out));
    assert_eq!(lines(&out)[0]["step_scores"].as_array().unwrap().len(), 1);
}
