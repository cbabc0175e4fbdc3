//! The bundled `toolcall` plugin through the host: dialects, modes, hostile inputs.

use std::time::{Duration, Instant};

use gavel_core::{Outcome, Sample, Status};
use gavel_host::{Host, Plugin, PluginSource};
use gavel_sandbox::WasmLimits;
use gavel_tests::host;
use serde_json::{Value, json};

fn toolcall(host: &Host) -> std::sync::Arc<Plugin> {
    let wasm = gavel_bundled::find("toolcall").expect("toolcall is bundled").wasm;
    host.load(PluginSource::bytes("toolcall", wasm), WasmLimits::default()).unwrap()
}

fn check(
    host: &Host,
    plugin: &Plugin,
    completion: &str,
    reference: Value,
    config: Value,
) -> Outcome {
    let sample = Sample::new("s", completion).with_reference(reference);
    host.score_batch_blocking(plugin, &[sample], &config).unwrap().remove(0)
}

fn weather() -> Value {
    json!({"calls": [{"name": "get_weather", "arguments": {"city": "Berlin", "days": 3}}]})
}

#[test]
fn every_dialect_scores_the_same_call() {
    let (host, _cache) = host();
    let plugin = toolcall(&host);
    let dialects = [
        "[get_weather(city='Berlin', days=3)]",
        "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Berlin\", \"days\": 3}}\n</tool_call>",
        r#"{"tool_calls": [{"type": "function", "function": {"name": "get_weather", "arguments": "{\"city\": \"Berlin\", \"days\": 3}"}}]}"#,
        r#"[{"name": "get_weather", "arguments": {"city": "Berlin", "days": 3.0}}]"#,
    ];
    for completion in dialects {
        assert_eq!(
            check(&host, &plugin, completion, weather(), json!({})).reward(),
            Some(1.0),
            "{completion}"
        );
    }
    let wrong = check(&host, &plugin, "[get_weather(city='Paris', days=3)]", weather(), json!({}));
    let Outcome::Scored(score) = wrong else { panic!("{wrong:?}") };
    assert!(score.value > 0.0 && score.value < 1.0);
    assert!(score.explanation.unwrap().contains("`city` is \"Paris\", expected \"Berlin\""));
}

#[test]
fn toolrl_mode_has_format_and_correctness() {
    let (host, _cache) = host();
    let plugin = toolcall(&host);
    let completion = "<think>look it up</think>\n<tool_call>\n{\"name\": \"get_weather\", \"parameters\": {\"city\": \"Berlin\", \"days\": 3}}\n</tool_call>";
    let Outcome::Scored(score) =
        check(&host, &plugin, completion, weather(), json!({"mode": "toolrl"}))
    else {
        panic!()
    };
    assert_eq!(score.value, 4.0);
    assert_eq!(score.components, [("format".to_owned(), 1.0), ("correctness".to_owned(), 3.0)]);
}

#[test]
fn hostile_inputs_get_a_clear_outcome_within_the_deadline() {
    let (host, _cache) = host();
    let plugin = toolcall(&host);
    let deadline = Duration::from_millis(WasmLimits::default().deadline_ms);
    let nested = format!("[get_weather(city={}1{})]", "[".repeat(5_000), "]".repeat(5_000));
    let nested_json = format!(
        "<tool_call>{{\"name\": \"f\", \"arguments\": {{\"x\": {}1{}}}}}</tool_call>",
        "[".repeat(5_000),
        "]".repeat(5_000)
    );
    let many = format!("[{}]", vec!["get_weather(city='Berlin', days=3)"; 5_000].join(", "));
    let bad_escape =
        r#"<tool_call>{"name": "get_weather", "arguments": {"city": "\udc80Berlin"}}</tool_call>"#;
    let huge = "x".repeat(10 << 20);
    for completion in
        [nested.as_str(), nested_json.as_str(), many.as_str(), bad_escape, huge.as_str()]
    {
        let started = Instant::now();
        let outcome = check(&host, &plugin, completion, weather(), json!({}));
        assert!(started.elapsed() < deadline, "{:.40}: {:?}", completion, started.elapsed());
        assert!(
            matches!(outcome.status(), Status::Ok | Status::Invalid),
            "{:.40}: {outcome:?}",
            completion
        );
        assert_ne!(outcome.reward(), Some(1.0), "{:.40}", completion);
    }
    let huge_outcome = check(&host, &plugin, &huge, weather(), json!({}));
    assert!(huge_outcome.message().unwrap().contains("input cap"), "{huge_outcome:?}");
}

#[test]
fn hostile_java_and_javascript_arguments_get_a_clear_outcome_within_the_deadline() {
    let (host, _cache) = host();
    let plugin = toolcall(&host);
    let deadline = Duration::from_millis(WasmLimits::default().deadline_ms);
    let js = json!({"language": "javascript", "category": "simple",
        "functions": [{"name": "f", "parameters": {"type": "dict", "properties": {
            "rows": {"type": "array", "items": {"type": "array"}}}, "required": ["rows"]}}],
        "possible_answer": [{"f": {"rows": [[[1]]]}}]});
    let java = json!({"language": "java", "category": "simple",
        "functions": [{"name": "f", "parameters": {"type": "dict", "properties": {
            "m": {"type": "HashMap"}, "xs": {"type": "ArrayList", "items": {"type": "integer"}}},
            "required": ["m"]}}],
        "possible_answer": [{"f": {"m": [{"k": [1]}], "xs": [[1], ""]}}]});
    let call = |args: Value| json!([{"name": "f", "arguments": args}]).to_string();
    let many_rows = format!("[{}]", vec!["[1]"; 5_000].join(", "));
    // Almost a 2-D array: BFCL's pattern backtracks exponentially on it (so does BFCL).
    let almost = format!("[{}", vec!["[1]"; 40].join(","));
    let puts =
        format!("new HashMap<String, Object>() {{{{ {} }}}}", "put(\"k\", 2); ".repeat(50_000));
    let adds = format!("new ArrayList<Integer>() {{{{ {} }}}}", "add(7); ".repeat(80_000));
    let cases = [
        (js.clone(), call(json!({"rows": many_rows})), &[Status::Invalid][..]),
        (js.clone(), call(json!({"rows": almost})), &[Status::Ok, Status::Timeout][..]),
        // Hundreds of kilobytes of Java literal: read (a wrong value) or stopped by the
        // sample's fuel, never a crash.
        (java.clone(), call(json!({"m": puts})), &[Status::Ok, Status::Timeout][..]),
        (
            java.clone(),
            call(json!({"m": "new HashMap<>() {{ put(\"k\", 1); }}", "xs": adds})),
            &[Status::Ok, Status::Timeout][..],
        ),
        (java, call(json!({"m": 7})), &[Status::Ok][..]),
    ];
    for (reference, completion, expected) in cases {
        let started = Instant::now();
        let outcome = check(&host, &plugin, &completion, reference, json!({"mode": "bfcl"}));
        let took = started.elapsed();
        assert!(took < deadline + Duration::from_millis(500), "{:.60}: {took:?}", completion);
        assert!(expected.contains(&outcome.status()), "{:.60}: {outcome:?}", completion);
        assert_ne!(outcome.reward(), Some(1.0), "{:.60}", completion);
    }
}

#[test]
fn toolrl_mode_reproduces_the_authors_values() {
    let cases = gavel_tests::jsonl("corpus/toolrl/cases.jsonl");
    assert!(cases.len() >= 500);
    let samples: Vec<Sample> = cases
        .iter()
        .map(|c| {
            Sample::new(c["id"].as_str().unwrap(), c["completion"].as_str().unwrap())
                .with_reference(c["reference"].clone())
        })
        .collect();
    let (host, _cache) = host();
    let plugin = toolcall(&host);
    let outcomes =
        host.score_batch_blocking(&plugin, &samples, &json!({"mode": "toolrl"})).unwrap();
    let mut mismatches = Vec::new();
    for (case, outcome) in cases.iter().zip(&outcomes) {
        let Outcome::Scored(score) = outcome else { panic!("{}: {outcome:?}", case["id"]) };
        let component = |name: &str| score.components.iter().find(|(n, _)| n == name).unwrap().1;
        let (format, correctness) =
            (case["format"].as_f64().unwrap(), case["correctness"].as_f64().unwrap());
        if (component("format") - format).abs() > 1e-9
            || (component("correctness") - correctness).abs() > 1e-9
        {
            mismatches.push(format!(
                "{} ({}, {}): ours {}/{}, authors {format}/{correctness}",
                case["id"],
                case["mutation"],
                case["shape"],
                component("format"),
                component("correctness")
            ));
        }
    }
    assert!(
        mismatches.is_empty(),
        "{} of {} differ:\n{}",
        mismatches.len(),
        cases.len(),
        mismatches.join("\n")
    );
}

#[test]
fn bfcl_mode_agrees_with_bfcl_on_every_case() {
    let cases: Vec<Value> = gavel_tests::jsonl("corpus/toolcall/cases.jsonl");
    assert!(cases.len() >= 1_000, "{} cases", cases.len());
    for language in ["python", "java", "javascript"] {
        let n = cases.iter().filter(|c| c["language"] == language).count();
        assert!(n >= 200, "{n} {language} cases");
    }
    let samples: Vec<Sample> = cases
        .iter()
        .map(|c| {
            let reference = json!({
                "functions": c["functions"],
                "possible_answer": c["possible_answer"],
                "language": c["language"],
                "category": c["test_category"],
            });
            Sample::new(c["id"].as_str().unwrap(), c["completion"].as_str().unwrap())
                .with_reference(reference)
        })
        .collect();
    let (host, _cache) = host();
    let plugin = toolcall(&host);
    let outcomes = host.score_batch_blocking(&plugin, &samples, &json!({"mode": "bfcl"})).unwrap();
    let mut disagreements = Vec::new();
    for (case, outcome) in cases.iter().zip(&outcomes) {
        let id = case["id"].as_str().unwrap();
        let ours = outcome.reward() == Some(1.0);
        if ours != case["valid"].as_bool().unwrap() {
            let why = match outcome {
                Outcome::Scored(s) => s.explanation.clone().unwrap_or_default(),
                other => format!("{other:?}"),
            };
            disagreements.push(format!(
                "{id} [{} {}]: bfcl {} {:?}; ours: {why}",
                case["language"], case["dialect"], case["valid"], case["error_type"]
            ));
        }
    }
    let agreement = 1.0 - disagreements.len() as f64 / cases.len() as f64;
    println!("bfcl mode: agreement {agreement:.4} with BFCL's checker on {} cases", cases.len());
    assert!(
        disagreements.is_empty(),
        "{} disagreements:\n{}",
        disagreements.len(),
        disagreements.join("\n")
    );
}
