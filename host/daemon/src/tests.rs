//! The daemon in-process on a loopback port, behind a source that holds its samples until the
//! test opens a gate: admission and hang-ups are checked without depending on how fast anything
//! scores or how much a socket buffers.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use gavel_core::Sample;
use gavel_policy::source::BoxFuture;
use gavel_policy::{Source, SourceOutput, SourceResult, Type, Value};
use tokio::net::TcpStream;
use tokio::sync::watch;

use super::*;

/// A source whose batches wait until the gate opens, then score 1 each.
struct Gate(watch::Receiver<bool>);

impl Source for Gate {
    fn output(&self) -> Type {
        Type::Scalar
    }

    fn describe(&self) -> String {
        "a gate the test opens".into()
    }

    fn score(self: Arc<Self>, samples: Vec<Sample>) -> BoxFuture<Vec<SourceResult>> {
        Box::pin(async move {
            let mut open = self.0.clone();
            open.wait_for(|open| *open).await.expect("the test keeps the gate");
            let one = SourceOutput {
                value: Value::Scalar(1.0),
                components: Vec::new(),
                explanation: None,
            };
            samples.iter().map(|_| Ok(one.clone())).collect()
        })
    }
}

struct Daemon {
    addr: SocketAddr,
    shared: AppState,
    gate: watch::Sender<bool>,
    /// Sending (or dropping) it shuts the daemon down.
    stop: tokio::sync::oneshot::Sender<()>,
    served: tokio::task::JoinHandle<std::io::Result<()>>,
    _dir: tempfile::TempDir,
}

impl Daemon {
    async fn start(max_in_flight: usize, max_queued: usize) -> Daemon {
        let dir = tempfile::tempdir().unwrap();
        let policy = dir.path().join("held.toml");
        std::fs::write(
            &policy,
            "version = 1\nreward = \"held\"\n[sources.held]\nkind = \"gate\"\n",
        )
        .unwrap();
        let (gate, open) = watch::channel(false);
        let kinds: KindsFactory = Arc::new(move || {
            let open = open.clone();
            let mut kinds = SourceKinds::new();
            kinds.register(
                "gate",
                Box::new(move |_| Ok(Arc::new(Gate(open.clone())) as Arc<dyn Source>)),
            );
            kinds
        });
        let mut config = ServeConfig::new(policy, "127.0.0.1:0".parse().unwrap());
        config.max_in_flight = max_in_flight;
        config.max_queued = max_queued;
        let policy = Policy::load(&config.policy, &kinds()).unwrap();
        let shared = Shared::new(config, kinds, policy);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel();
        let shutdown = async move {
            let _ = stopped.await;
        };
        let served = tokio::spawn(serve_on(listener, shared.clone(), shutdown));
        Daemon { addr, shared, gate, stop, served, _dir: dir }
    }

    fn in_flight(&self) -> usize {
        self.shared.in_flight.load(Ordering::Relaxed)
    }

    fn waiting(&self) -> usize {
        self.shared.waiting.load(Ordering::Relaxed)
    }

    /// Sends `POST /v1/score` with one sample; the reply is read with [`reply`].
    async fn send(&self, accept: &str) -> TcpStream {
        let body = r#"[{"id": "a", "completion": "x"}]"#;
        let stream = TcpStream::connect(self.addr).await.unwrap();
        let request = format!(
            "POST /v1/score HTTP/1.1\r\nHost: {}\r\nAccept: {accept}\r\nContent-Length: {}\r\n\r\n{body}",
            self.addr,
            body.len()
        );
        let mut rest = request.as_bytes();
        while !rest.is_empty() {
            stream.writable().await.unwrap();
            match stream.try_write(rest) {
                Ok(n) => rest = &rest[n..],
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                Err(e) => panic!("cannot send the request: {e}"),
            }
        }
        stream
    }
}

/// Waits until `holds`, or fails naming what never happened.
async fn until(what: &str, holds: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !holds() {
        assert!(Instant::now() < deadline, "never: {what}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

struct Reply {
    status: u16,
    head: String,
    body: String,
}

/// Reads one reply: its head, then a body of `Content-Length` bytes or of chunks to the last.
async fn reply(stream: TcpStream) -> Reply {
    let mut raw = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        stream.readable().await.unwrap();
        let n = match stream.try_read(&mut buf) {
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
            Err(e) => panic!("cannot read the reply: {e}"),
        };
        raw.extend_from_slice(&buf[..n]);
        let text = String::from_utf8_lossy(&raw);
        if let Some((head, body)) = text.split_once("\r\n\r\n") {
            let length = head.lines().find_map(|l| {
                l.to_ascii_lowercase().strip_prefix("content-length: ")?.parse().ok()
            });
            let whole = match length {
                Some(length) => body.len() >= length,
                None => body.ends_with("0\r\n\r\n"),
            };
            if whole || n == 0 {
                let status = head.split(' ').nth(1).unwrap().parse().unwrap();
                return Reply { status, head: head.to_owned(), body: body.to_owned() };
            }
        }
        assert_ne!(n, 0, "the connection closed mid-reply: {text}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_house_is_refused_at_once_with_retry_after() {
    let d = Daemon::start(1, 1).await;
    let first = d.send("application/json").await;
    until("the first request holds the only slot", || d.in_flight() == 1).await;
    let second = d.send("application/json").await;
    until("the second request waits", || d.waiting() == 1).await;

    let started = Instant::now();
    let refused = reply(d.send("application/json").await).await;
    assert_eq!(refused.status, 503, "{}", refused.body);
    assert!(refused.head.to_ascii_lowercase().contains("\r\nretry-after: 1"), "{}", refused.head);
    assert!(
        refused.body.contains("overloaded: 1 requests in flight and 1 waiting"),
        "{}",
        refused.body
    );
    assert!(started.elapsed() < Duration::from_secs(5), "refused at once, not queued");
    assert_eq!(d.shared.metrics.rejected.load(Ordering::Relaxed), 1);

    d.gate.send(true).unwrap();
    for held in [first, second] {
        let r = reply(held).await;
        assert_eq!(r.status, 200, "{}", r.body);
        let out: serde_json::Value = serde_json::from_str(&r.body).unwrap();
        assert_eq!(out[0]["reward"], 1.0, "{}", r.body);
    }
    let r = reply(d.send("application/json").await).await;
    assert_eq!(r.status, 200, "admitted again once a slot is free: {}", r.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_streamed_request_holds_its_slot_until_its_client_hangs_up() {
    let d = Daemon::start(1, 0).await;
    let streamed = d.send("application/x-ndjson").await;
    until("the streamed request holds the only slot", || d.in_flight() == 1).await;
    let r = reply(d.send("application/json").await).await;
    assert_eq!(r.status, 503, "held while its samples score: {}", r.body);

    drop(streamed);
    until("the slot of a client that hung up comes free", || d.in_flight() == 0).await;
    d.gate.send(true).unwrap();
    let r = reply(d.send("application/x-ndjson").await).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let line = r.body.lines().find(|l| l.starts_with('{')).expect("one line per sample");
    let line: serde_json::Value = serde_json::from_str(line).unwrap();
    assert_eq!((&line["index"], &line["reward"]), (&0.into(), &1.0.into()), "{}", r.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_waiting_request_whose_client_hangs_up_leaves_the_queue() {
    let d = Daemon::start(1, 1).await;
    let first = d.send("application/json").await;
    until("the first request holds the only slot", || d.in_flight() == 1).await;
    let waiting = d.send("application/json").await;
    until("the second request waits", || d.waiting() == 1).await;
    drop(waiting);
    until("the hung-up request leaves the queue", || d.waiting() == 0).await;
    d.gate.send(true).unwrap();
    assert_eq!(reply(first).await.status, 200);
    until("every slot is free", || d.in_flight() == 0).await;
}

#[test]
fn racing_requests_never_overfill_the_queue() {
    let waiting = AtomicUsize::new(0);
    let barrier = std::sync::Barrier::new(8);
    let taken: usize = std::thread::scope(|s| {
        let takers: Vec<_> = (0..8)
            .map(|_| {
                s.spawn(|| {
                    barrier.wait();
                    let held: Vec<Place> =
                        (0..100).filter_map(|_| Place::take(&waiting, 10)).collect();
                    barrier.wait();
                    held.len()
                })
            })
            .collect();
        takers.into_iter().map(|t| t.join().unwrap()).sum()
    });
    assert_eq!(taken, 10, "exactly the limit's places are taken");
    assert_eq!(waiting.load(Ordering::Relaxed), 0, "and all given back");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shutdown_accepts_nothing_more_and_answers_the_requests_in_flight() {
    let d = Daemon::start(2, 0).await;
    let held = d.send("application/json").await;
    until("the request is in flight", || d.in_flight() == 1).await;
    d.stop.send(()).unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while TcpStream::connect(d.addr).await.is_ok() {
        assert!(Instant::now() < deadline, "never: new connections are refused");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert!(!d.served.is_finished(), "it waits for the request in flight");

    d.gate.send(true).unwrap();
    let r = reply(held).await;
    assert_eq!(r.status, 200, "the request in flight is answered: {}", r.body);
    let served = tokio::time::timeout(Duration::from_secs(20), d.served).await;
    served.expect("it returns once drained").unwrap().unwrap();
}

#[test]
fn the_step_comes_from_the_query() {
    let at = |uri: &str| step(&uri.parse().unwrap()).map_err(|r| r.message);
    assert_eq!(at("/v1/score"), Ok(0.0));
    assert_eq!(at("/v1/score?step=150"), Ok(150.0));
    assert_eq!(at("/get_reward?step=7.5&"), Ok(7.5));
    assert!(at("/v1/score?step=inf").unwrap_err().contains("finite number, got \"inf\""));
    assert!(at("/v1/score?step=").unwrap_err().contains("finite number"));
    assert!(at("/v1/score?steps=1").unwrap_err().contains("unknown query parameter `steps`"));
}
