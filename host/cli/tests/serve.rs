//! `gavel serve` end to end: the real daemon on a loopback port, a plain HTTP/1.1 client.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

struct Daemon {
    child: Child,
    addr: String,
    _cache: tempfile::TempDir,
}

impl Daemon {
    fn start(policy: &Path, extra: &[&str]) -> Daemon {
        let cache = tempfile::tempdir().unwrap();
        let mut child = Command::new(env!("CARGO_BIN_EXE_gavel"))
            .args(["serve", "--policy"])
            .arg(policy)
            .args(["--listen", "127.0.0.1:0"])
            .args(extra)
            .env("GAVEL_CACHE_DIR", cache.path())
            .env_remove("GAVEL_TOKEN")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stderr = BufReader::new(child.stderr.take().unwrap());
        let mut line = String::new();
        stderr.read_line(&mut line).unwrap();
        let addr = line
            .trim()
            .strip_prefix("gavel serve: listening on http://")
            .unwrap_or_else(|| panic!("unexpected first line: {line:?}"))
            .to_owned();
        // Keep draining stderr so the daemon never blocks on a full pipe.
        std::thread::spawn(move || {
            let mut sink = String::new();
            let _ = stderr.read_to_string(&mut sink);
        });
        Daemon { child, addr, _cache: cache }
    }

    fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .args([&format!("-{name}"), &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

struct Reply {
    status: u16,
    headers: HashMap<String, String>,
    body: String,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }
}

fn http(addr: &str, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Reply {
    reply(send(addr, method, path, headers, body))
}

/// Sends a request; the reply is read with [`reply`], when the caller chooses.
fn send(addr: &str, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> TcpStream {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    let mut request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        request += &format!("{k}: {v}\r\n");
    }
    request += "\r\n";
    stream.write_all(request.as_bytes()).unwrap();
    let _ = stream.write_all(body);
    stream
}

/// Reads a whole reply (the server closes the connection).
fn reply(mut stream: TcpStream) -> Reply {
    let mut raw = Vec::new();
    let _ = stream.read_to_end(&mut raw);
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let mut lines = head.lines();
    let status = lines.next().unwrap_or_default().split(' ').nth(1).unwrap_or("0").parse().unwrap();
    let headers = lines
        .filter_map(|l| l.split_once(": "))
        .map(|(k, v)| (k.to_ascii_lowercase(), v.to_owned()))
        .collect();
    Reply { status, headers, body: body.to_owned() }
}

fn example(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/policies").join(name)
}

/// A policy of the `format` plugin whose reward is `reward`.
fn format_policy(reward: &str) -> String {
    format!(
        "version = 1\nreward = \"{reward}\"\n[sources.format]\nkind = \"wasm\"\nplugin = \"format\"\n"
    )
}

/// One sample the `format` plugin scores 1.
const WELL_FORMED: &[u8] =
    br#"[{"id": "a", "completion": "<think>x</think>\n<answer>1</answer>"}]"#;

fn rollouts() -> String {
    let text = include_str!("../../../examples/grpo-rollouts.jsonl");
    let items: Vec<Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    Value::Array(items).to_string()
}

#[test]
fn every_endpoint() {
    let d = Daemon::start(&example("r1_sum.toml"), &[]);
    let r = http(&d.addr, "GET", "/healthz", &[], b"");
    assert_eq!((r.status, r.json()["status"].clone()), (200, json!("ok")));

    let r = http(&d.addr, "POST", "/v1/score", &[], rollouts().as_bytes());
    assert_eq!(r.status, 200, "{}", r.body);
    let lines = r.json();
    assert_eq!(lines.as_array().unwrap().len(), 9);
    assert_eq!(lines[0]["id"], "gsm-17/0");
    assert_eq!(lines[0]["reward"], 2.0);
    assert_eq!(lines[0]["components"], json!({"accuracy": 1.0, "format": 1.0}));
    assert!((lines[0]["advantage"].as_f64().unwrap() - 0.866).abs() < 1e-3);
    assert_eq!(lines[8]["status"], "not_applicable");

    // A malformed element is an invalid line in its place; the rest is scored.
    let r = http(&d.addr, "POST", "/v1/score", &[], br#"[{"id": "a", "completion": "<answer>1</answer>", "reference": {"answer": "1"}}, {"id": "b"}]"#);
    assert_eq!(r.status, 200);
    assert_eq!(r.json()[1]["status"], "invalid");
    assert!(r.json()[1]["error"].as_str().unwrap().contains("completion"));

    // OpenRLHF's remote reward model request, exactly as its client sends it.
    let request = json!({
        "query": ["<|user|>2+2?<|assistant|><think>easy</think>\n<answer>4</answer>", "<|user|>1+1?<|assistant|><answer>3</answer>"],
        "prompts": ["<|user|>2+2?<|assistant|>", "<|user|>1+1?<|assistant|>"],
        "labels": ["4", "2"],
    });
    let r = http(
        &d.addr,
        "POST",
        "/get_reward",
        &[("Content-Type", "application/json")],
        request.to_string().as_bytes(),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let reply = r.json();
    assert_eq!(reply["rewards"], json!([2.0, 0.0]));
    assert_eq!(reply["scores"], json!([2.0, 0.0]));
    assert_eq!(reply["extra_logs"]["accuracy"], json!([1.0, 0.0]));
    assert_eq!(reply["extra_logs"]["gavel_masked"], json!([0.0, 0.0]));

    let r = http(&d.addr, "GET", "/v1/plugins", &[], b"");
    assert_eq!(r.json()["sources"][0]["name"], "accuracy");
    assert!(r.json()["bundled"].as_array().unwrap().contains(&json!("toolcall")));

    let r = http(&d.addr, "GET", "/metrics", &[], b"");
    assert!(
        r.body.contains("gavel_requests_total{route=\"/v1/score\",code=\"200\"} 2"),
        "{}",
        r.body
    );
    assert!(r.body.contains("gavel_outcomes_total{status=\"invalid\"} 1"), "{}", r.body);
    assert!(
        r.body.contains("gavel_request_duration_seconds_count{route=\"/get_reward\"} 1"),
        "{}",
        r.body
    );
    assert!(r.body.contains("gavel_queue_depth 0"));
    assert!(r.body.contains("gavel_source_samples_total{source=\"accuracy\"} 12"), "{}", r.body);
    assert!(
        r.body.contains("gavel_source_call_duration_seconds_count{source=\"format\"}"),
        "{}",
        r.body
    );
}

#[test]
fn bad_requests_are_refused_with_the_reason() {
    let d =
        Daemon::start(&example("r1_sum.toml"), &["--max-body-bytes", "2000", "--max-batch", "2"]);
    let r = http(&d.addr, "POST", "/v1/score", &[], b"[{\"id\": 1,");
    assert_eq!(r.status, 400);
    assert!(r.json()["error"].as_str().unwrap().contains("EOF while parsing"), "{}", r.body);
    let three = json!([{"id": 1, "completion": ""}, {"id": 2, "completion": ""}, {"id": 3, "completion": ""}]);
    let r = http(&d.addr, "POST", "/v1/score", &[], three.to_string().as_bytes());
    assert_eq!(r.status, 413);
    assert!(r.body.contains("over the limit of 2"), "{}", r.body);
    let big = json!([{"id": 1, "completion": "x".repeat(5000)}]);
    let r = http(&d.addr, "POST", "/v1/score", &[], big.to_string().as_bytes());
    assert_eq!(r.status, 413);
    let r =
        http(&d.addr, "POST", "/get_reward", &[], br#"{"query": ["a", "b"], "prompts": ["a"]}"#);
    assert_eq!(r.status, 400);
    assert!(r.body.contains("1 prompts for 2 queries"), "{}", r.body);
}

#[test]
fn tokens_guard_every_route_but_health_and_are_required_off_loopback() {
    let d = Daemon::start(&example("r1_sum.toml"), &["--token", "s3cret"]);
    assert_eq!(http(&d.addr, "POST", "/v1/score", &[], b"[]").status, 401);
    assert_eq!(
        http(&d.addr, "GET", "/metrics", &[("Authorization", "Bearer nope")], b"").status,
        401
    );
    assert_eq!(
        http(&d.addr, "POST", "/v1/score", &[("Authorization", "Bearer s3cret")], b"[]").status,
        200
    );
    assert_eq!(http(&d.addr, "GET", "/healthz", &[], b"").status, 200);

    let out = Command::new(env!("CARGO_BIN_EXE_gavel"))
        .args(["serve", "--policy"])
        .arg(example("r1_sum.toml"))
        .args(["--listen", "0.0.0.0:0"])
        .env_remove("GAVEL_TOKEN")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("without a token"));
}

#[test]
fn sighup_reloads_and_keeps_the_old_policy_when_the_new_one_is_broken() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("p.toml");
    std::fs::write(&path, format_policy("format")).unwrap();
    let d = Daemon::start(&path, &[]);
    let reward =
        || http(&d.addr, "POST", "/v1/score", &[], WELL_FORMED).json()[0]["reward"].clone();
    assert_eq!(reward(), json!(1.0));

    std::fs::write(&path, format_policy("format + nonsense")).unwrap();
    d.signal("HUP");
    let deadline = Instant::now() + Duration::from_secs(20);
    while !http(&d.addr, "GET", "/metrics", &[], b"")
        .body
        .contains("gavel_policy_reload_failures_total 1")
    {
        assert!(Instant::now() < deadline, "the failed reload is counted");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(reward(), json!(1.0), "the old policy still serves");

    std::fs::write(&path, format_policy("format + 10")).unwrap();
    d.signal("HUP");
    while reward() != json!(11.0) {
        assert!(Instant::now() < deadline, "the new policy takes over");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn a_step_in_the_query_drives_scheduled_weights() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sched.toml");
    std::fs::write(&path, format_policy("format + sched(step, 0, 10, 100)")).unwrap();
    let d = Daemon::start(&path, &[]);
    let at = |query: &str| {
        let r = http(&d.addr, "POST", &format!("/v1/score{query}"), &[], WELL_FORMED);
        assert_eq!(r.status, 200, "{}", r.body);
        r.json()[0]["reward"].clone()
    };
    assert_eq!(at(""), json!(1.0));
    assert_eq!(at("?step=50"), json!(6.0));
    assert_eq!(at("?step=500"), json!(11.0), "clamped at its target");
    let ndjson = [("Accept", "application/x-ndjson")];
    let r = http(&d.addr, "POST", "/v1/score?step=50", &ndjson, WELL_FORMED);
    assert!(r.body.contains("\"reward\":6.0"), "{}", r.body);
    let openrlhf = br#"{"query": ["<think>x</think>\n<answer>1</answer>"], "prompts": [""]}"#;
    let r = http(&d.addr, "POST", "/get_reward?step=50", &[], openrlhf);
    assert_eq!(r.json()["rewards"], json!([6.0]), "{}", r.body);
    let r = http(&d.addr, "POST", "/v1/score?step=soon", &[], WELL_FORMED);
    assert_eq!(r.status, 400);
    assert!(r.body.contains("`step` must be a finite number"), "{}", r.body);
}

#[test]
fn sigterm_drains_in_flight_requests() {
    let mut d = Daemon::start(&example("r1_sum.toml"), &[]);
    let slow: Vec<Value> = (0..3000)
        .map(|i| json!({"id": i, "completion": format!("<answer>{i}/3</answer>"), "reference": {"answer": "1"}}))
        .collect();
    let body = Value::Array(slow).to_string();
    let addr = d.addr.clone();
    let in_flight =
        std::thread::spawn(move || http(&addr, "POST", "/v1/score", &[], body.as_bytes()));
    // Signal once the request is being scored (or, on a machine fast enough, answered): a
    // signal sent before the daemon took the connection would leave it unanswered.
    let scoring = || http(&d.addr, "GET", "/healthz", &[], b"").json()["in_flight"] == json!(1);
    while !in_flight.is_finished() && !scoring() {
        std::thread::sleep(Duration::from_millis(5));
    }
    d.signal("TERM");
    let reply = in_flight.join().unwrap();
    assert_eq!(reply.status, 200, "the request in flight is answered");
    assert_eq!(reply.json().as_array().unwrap().len(), 3000);
    let status = d.child.wait().unwrap();
    assert!(status.success(), "a drained shutdown exits 0");
}

#[test]
fn ndjson_streams_one_line_per_sample_as_groups_finish() {
    let d = Daemon::start(&example("r1_sum.toml"), &[]);
    let r = http(
        &d.addr,
        "POST",
        "/v1/score",
        &[("Accept", "application/x-ndjson")],
        rollouts().as_bytes(),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.headers.get("content-type").map(String::as_str), Some("application/x-ndjson"));
    // The body is chunked: keep the JSON objects, drop the (hex) chunk sizes.
    let mut lines: Vec<Value> = r
        .body
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(Value::is_object)
        .collect();
    assert_eq!(lines.len(), 9, "{}", r.body);
    lines.sort_by_key(|l| l["index"].as_u64().unwrap());
    let whole = http(&d.addr, "POST", "/v1/score", &[], rollouts().as_bytes()).json();
    for (i, line) in lines.iter_mut().enumerate() {
        assert_eq!(line.as_object_mut().unwrap().remove("index"), Some(json!(i)));
        assert_eq!(*line, whole[i], "streamed and whole answers agree");
    }
}

#[test]
fn a_client_that_goes_away_cancels_its_pending_work() {
    let d = Daemon::start(&example("r1_sum.toml"), &["--max-in-flight", "1"]);
    let big: Vec<Value> = (0..4096)
        .map(|i| json!({"id": i, "completion": format!("<think>{}</think><answer>\\frac{{{i}}}{{7}} + \\sqrt{{{i}}}</answer>", "x".repeat(300)), "reference": {"answer": "1"}}))
        .collect();
    let body = Value::Array(big).to_string();
    let started = Instant::now();
    assert_eq!(http(&d.addr, "POST", "/v1/score", &[], body.as_bytes()).status, 200);
    let whole = started.elapsed();

    // Send the same batch and hang up early.
    let mut stream = TcpStream::connect(&d.addr).unwrap();
    let head =
        format!("POST /v1/score HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n", body.len());
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(body.as_bytes()).unwrap();
    std::thread::sleep(whole / 10);
    drop(stream);

    // The only slot comes free long before the abandoned batch would have finished.
    let started = Instant::now();
    let r = http(
        &d.addr,
        "POST",
        "/v1/score",
        &[],
        br#"[{"id": "a", "completion": "<answer>1</answer>", "reference": {"answer": "1"}}]"#,
    );
    assert_eq!(r.status, 200);
    assert!(
        started.elapsed() < whole / 2,
        "waited {:?}; the whole batch takes {whole:?}",
        started.elapsed()
    );
}
