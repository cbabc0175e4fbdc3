//! `gavel serve`: a policy behind HTTP, for trainers that keep rewards in a separate service.
//!
//! | route | what |
//! |---|---|
//! | `POST /v1/score[?step=N]` | a JSON array of samples (the CLI's input objects) → a JSON array of the CLI's output objects, same order; with `Accept: application/x-ndjson`, one line per sample as its group finishes ([`stream`]) |
//! | `POST /get_reward[?step=N]` | OpenRLHF's remote reward protocol ([`openrlhf`]) |
//! | `GET /v1/plugins` | the policy's sources and the bundled plugins |
//! | `GET /healthz` | liveness, with in-flight and queued requests |
//! | `GET /metrics` | Prometheus text ([`metrics`]) |
//!
//! Bounded everywhere: at most `max_in_flight` requests are scored at once and `max_queued`
//! wait; one more is answered at once with 503 and `Retry-After`. Bodies over `max_body_bytes`
//! and batches over `max_batch` get 413; malformed JSON gets 400 naming the problem. A client
//! that disconnects gives back its place in the queue or its slot and cancels its work still
//! waiting for a worker. SIGTERM stops accepting and
//! drains in-flight requests; SIGHUP reloads the policy file, keeping the old policy (and
//! saying why) when the new one does not load. With a bearer token, every route but
//! `/healthz` requires it; binding a non-loopback address requires one. `step` is the training
//! step that policies' `sched` reads (the CLI's `--step`).
#![deny(missing_docs)]

pub mod metrics;
pub mod openrlhf;
mod stream;
#[cfg(test)]
mod tests;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Instant;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use gavel_core::batch::{self, Entry};
use gavel_policy::{Policy, SourceKinds};
use serde_json::value::RawValue;

/// How the daemon is set up.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    /// The policy file, reloaded on SIGHUP.
    pub policy: PathBuf,
    /// Where to listen (`127.0.0.1:0` picks a free port).
    pub listen: SocketAddr,
    /// The bearer token clients must send; required for a non-loopback address.
    pub token: Option<String>,
    /// Requests scored at once.
    pub max_in_flight: usize,
    /// Requests waiting beyond those; more get 503.
    pub max_queued: usize,
    /// Largest request body, bytes.
    pub max_body_bytes: usize,
    /// Most samples in one request.
    pub max_batch: usize,
}

impl ServeConfig {
    /// Defaults for `policy` on `listen`: 2 × cores in flight, 64 queued, 32 MiB bodies,
    /// 4,096 samples per request.
    pub fn new(policy: PathBuf, listen: SocketAddr) -> Self {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        Self {
            policy,
            listen,
            token: None,
            max_in_flight: 2 * cores,
            max_queued: 64,
            max_body_bytes: 32 << 20,
            max_batch: 4096,
        }
    }
}

/// Why the daemon could not start or stopped.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The policy did not load.
    #[error(transparent)]
    Policy(#[from] gavel_policy::PolicyError),
    /// A non-loopback address without a token.
    #[error(
        "refusing to listen on {0} without a token: set --token (or GAVEL_TOKEN), or listen on a loopback address"
    )]
    NeedsToken(SocketAddr),
    /// The socket could not be bound or served.
    #[error("cannot serve on {addr}: {source}")]
    Io {
        /// The address.
        addr: SocketAddr,
        /// The I/O error.
        source: std::io::Error,
    },
}

/// Builds the source kinds a (re)loaded policy may use.
pub type KindsFactory = Arc<dyn Fn() -> SourceKinds + Send + Sync>;

struct Shared {
    config: ServeConfig,
    kinds: KindsFactory,
    policy: RwLock<Arc<Policy>>,
    slots: Arc<tokio::sync::Semaphore>,
    waiting: AtomicUsize,
    in_flight: AtomicUsize,
    metrics: metrics::Metrics,
}

type AppState = Arc<Shared>;

impl Shared {
    fn new(config: ServeConfig, kinds: KindsFactory, policy: Policy) -> AppState {
        Arc::new(Shared {
            slots: Arc::new(tokio::sync::Semaphore::new(config.max_in_flight.max(1))),
            config,
            kinds,
            policy: RwLock::new(Arc::new(policy)),
            waiting: AtomicUsize::new(0),
            in_flight: AtomicUsize::new(0),
            metrics: metrics::Metrics::default(),
        })
    }
}

/// Loads the policy, binds, prints `listening on http://<addr>` to stderr, and serves until
/// SIGTERM or Ctrl-C (then drains in-flight requests).
pub async fn serve(config: ServeConfig, kinds: KindsFactory) -> Result<(), ServeError> {
    if !config.listen.ip().is_loopback() && config.token.is_none() {
        return Err(ServeError::NeedsToken(config.listen));
    }
    let policy = Policy::load(&config.policy, &kinds())?;
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|source| ServeError::Io { addr: config.listen, source })?;
    let addr =
        listener.local_addr().map_err(|source| ServeError::Io { addr: config.listen, source })?;
    let shared = Shared::new(config, kinds, policy);
    tokio::spawn(reload_on_hangup(shared.clone()));
    eprintln!("gavel serve: listening on http://{addr}");
    serve_on(listener, shared, terminated())
        .await
        .map_err(|source| ServeError::Io { addr, source })?;
    eprintln!("gavel serve: stopped after draining in-flight requests");
    Ok(())
}

/// Serves on `listener` until `shutdown` completes; then accepts nothing more and returns once
/// the requests in flight are answered.
async fn serve_on(
    listener: tokio::net::TcpListener,
    shared: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(shared)).with_graceful_shutdown(shutdown).await
}

fn router(shared: AppState) -> Router {
    let body_limit = shared.config.max_body_bytes;
    Router::new()
        .route("/v1/score", post(score))
        .route("/get_reward", post(get_reward))
        .route("/v1/plugins", get(plugins))
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics_text))
        .layer(DefaultBodyLimit::max(body_limit))
        .with_state(shared)
}

async fn terminated() {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .expect("cannot listen for SIGTERM");
    tokio::select! {
        _ = term.recv() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
    eprintln!("gavel serve: shutting down, draining in-flight requests");
}

async fn reload_on_hangup(shared: AppState) {
    let Ok(mut hangup) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
    else {
        return;
    };
    while hangup.recv().await.is_some() {
        let path = shared.config.policy.clone();
        let kinds = shared.kinds.clone();
        match tokio::task::spawn_blocking(move || Policy::load(&path, &kinds())).await {
            Ok(Ok(policy)) => {
                *shared.policy.write().expect("policy lock") = Arc::new(policy);
                shared.metrics.reloads.fetch_add(1, Ordering::Relaxed);
                eprintln!("gavel serve: reloaded {}", shared.config.policy.display());
            }
            Ok(Err(e)) => {
                shared.metrics.failed_reloads.fetch_add(1, Ordering::Relaxed);
                eprintln!("gavel serve: kept the previous policy; the new one does not load: {e}");
            }
            Err(e) => eprintln!("gavel serve: reload failed: {e}"),
        }
    }
}

/// A request refused before it was scored: a status, a message (as `{"error": ...}`), and
/// maybe a header.
struct Refusal {
    status: StatusCode,
    message: String,
    header: Option<(header::HeaderName, HeaderValue)>,
}

fn error(status: StatusCode, message: impl Into<String>) -> Refusal {
    Refusal { status, message: message.into(), header: None }
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        let mut response =
            (self.status, axum::Json(serde_json::json!({"error": self.message}))).into_response();
        if let Some((name, value)) = self.header {
            response.headers_mut().insert(name, value);
        }
        response
    }
}

fn authorised(shared: &Shared, headers: &HeaderMap) -> Result<(), Refusal> {
    let Some(token) = &shared.config.token else { return Ok(()) };
    let given = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
    if given.and_then(|v| v.strip_prefix("Bearer ")) == Some(token.as_str()) {
        Ok(())
    } else {
        let mut refusal = error(StatusCode::UNAUTHORIZED, "a bearer token is required");
        refusal.header = Some((header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer")));
        Err(refusal)
    }
}

/// A request's claim on the scoring slots; released when dropped (also when the client goes
/// away mid-request, which drops the handler or the stream).
struct Slot {
    shared: AppState,
    _permit: tokio::sync::OwnedSemaphorePermit,
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.shared.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

/// A place in the queue for a slot; given back when dropped, also when the client hangs up
/// while it waits.
struct Place<'a>(&'a AtomicUsize);

impl<'a> Place<'a> {
    /// Takes a place if fewer than `limit` are taken: one atomic step, so racing requests
    /// never overfill the queue.
    fn take(waiting: &'a AtomicUsize, limit: usize) -> Option<Self> {
        let free = |taken: usize| (taken < limit).then_some(taken + 1);
        waiting.fetch_update(Ordering::AcqRel, Ordering::Acquire, free).ok().map(|_| Place(waiting))
    }
}

impl Drop for Place<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Takes a free scoring slot, or waits for one in the queue, or refuses at once when the queue
/// is full.
async fn admit(shared: &AppState) -> Result<Slot, Refusal> {
    let permit = match shared.slots.clone().try_acquire_owned() {
        Ok(permit) => permit,
        Err(_) => {
            let limit = shared.config.max_queued;
            let Some(_place) = Place::take(&shared.waiting, limit) else {
                shared.metrics.rejected.fetch_add(1, Ordering::Relaxed);
                let mut refusal = error(
                    StatusCode::SERVICE_UNAVAILABLE,
                    format!(
                        "overloaded: {} requests in flight and {limit} waiting",
                        shared.config.max_in_flight
                    ),
                );
                refusal.header = Some((header::RETRY_AFTER, HeaderValue::from_static("1")));
                return Err(refusal);
            };
            shared.slots.clone().acquire_owned().await.expect("the semaphore is never closed")
        }
    };
    shared.in_flight.fetch_add(1, Ordering::Relaxed);
    Ok(Slot { shared: shared.clone(), _permit: permit })
}

/// Reads a JSON array of samples: one entry per element, a malformed element becoming an
/// `invalid` outcome in its place.
fn read_samples(shared: &Shared, body: &Bytes) -> Result<Vec<Entry>, Refusal> {
    let items: Vec<Box<RawValue>> = serde_json::from_slice(body).map_err(|e| {
        error(StatusCode::BAD_REQUEST, format!("the body must be a JSON array of samples: {e}"))
    })?;
    if items.len() > shared.config.max_batch {
        return Err(error(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!(
                "{} samples, over the limit of {} per request",
                items.len(),
                shared.config.max_batch
            ),
        ));
    }
    Ok(batch::read_entries(&items))
}

/// The training step a request scores at: `?step=N` (for policies that `sched` their weights),
/// 0 without it. Any other parameter, or a step that is not a finite number, is refused.
fn step(uri: &Uri) -> Result<f64, Refusal> {
    let mut step = 0.0;
    for pair in uri.query().unwrap_or_default().split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        if key != "step" {
            let message = format!("unknown query parameter `{key}` (expected: step)");
            return Err(error(StatusCode::BAD_REQUEST, message));
        }
        step = value.parse::<f64>().ok().filter(|s| s.is_finite()).ok_or_else(|| {
            error(StatusCode::BAD_REQUEST, format!("`step` must be a finite number, got {value:?}"))
        })?;
    }
    Ok(step)
}

async fn score(
    State(shared): State<AppState>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let started = Instant::now();
    let response = score_inner(&shared, &uri, &headers, &body).await;
    shared.metrics.observe("/v1/score", response.status().as_u16(), started.elapsed());
    response
}

async fn score_inner(shared: &AppState, uri: &Uri, headers: &HeaderMap, body: &Bytes) -> Response {
    if let Err(r) = authorised(shared, headers) {
        return r.into_response();
    }
    let step = match step(uri) {
        Ok(step) => step,
        Err(r) => return r.into_response(),
    };
    let entries = match read_samples(shared, body) {
        Ok(entries) => entries,
        Err(r) => return r.into_response(),
    };
    let slot = match admit(shared).await {
        Ok(slot) => slot,
        Err(r) => return r.into_response(),
    };
    let policy = shared.policy.read().expect("policy lock").clone();
    let streaming = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("application/x-ndjson"));
    if streaming {
        return stream::respond(slot, policy, entries, step);
    }
    let samples = batch::samples(&entries);
    let scored = policy.score(&samples, step).await;
    for (_, outcome) in entries.iter().filter_map(|e| e.as_ref().err()) {
        shared.metrics.outcome(outcome);
    }
    for s in &scored {
        shared.metrics.outcome(&s.outcome);
    }
    let out = batch::write_records(
        &entries,
        scored.into_iter().map(|s| (s.outcome, s.advantage)),
        policy.has_advantage(),
    );
    shared.metrics.samples.fetch_add(entries.len() as u64, Ordering::Relaxed);
    ([(header::CONTENT_TYPE, "application/json")], out).into_response()
}

async fn get_reward(
    State(shared): State<AppState>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let shared = &shared;
    let started = Instant::now();
    let response = async {
        authorised(shared, &headers)?;
        let step = step(&uri)?;
        let request: openrlhf::Request = serde_json::from_slice(&body).map_err(|e| {
            error(
                StatusCode::BAD_REQUEST,
                format!("expected {{\"query\", \"prompts\", \"labels\"}}: {e}"),
            )
        })?;
        let samples = request.samples().map_err(|m| error(StatusCode::BAD_REQUEST, m))?;
        if samples.len() > shared.config.max_batch {
            return Err(error(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("{} samples, over the limit of {}", samples.len(), shared.config.max_batch),
            ));
        }
        let _slot = admit(shared).await?;
        let policy = shared.policy.read().expect("policy lock").clone();
        let scored = policy.score(&samples, step).await;
        for s in &scored {
            shared.metrics.outcome(&s.outcome);
        }
        shared.metrics.samples.fetch_add(samples.len() as u64, Ordering::Relaxed);
        Ok::<_, Refusal>(axum::Json(openrlhf::response(&scored)).into_response())
    }
    .await
    .unwrap_or_else(IntoResponse::into_response);
    shared.metrics.observe("/get_reward", response.status().as_u16(), started.elapsed());
    response
}

async fn plugins(State(shared): State<AppState>, headers: HeaderMap) -> Response {
    if let Err(r) = authorised(&shared, &headers) {
        return r.into_response();
    }
    let policy = shared.policy.read().expect("policy lock").clone();
    let sources: Vec<serde_json::Value> = policy
        .sources()
        .into_iter()
        .map(|(name, what, ty)| serde_json::json!({"name": name, "source": what, "output": ty.name()}))
        .collect();
    let bundled: Vec<&str> = gavel_bundled::PLUGINS.iter().map(|p| p.name).collect();
    axum::Json(serde_json::json!({
        "policy": shared.config.policy.display().to_string(),
        "sources": sources,
        "bundled": bundled,
    }))
    .into_response()
}

async fn healthz(State(shared): State<AppState>) -> Response {
    axum::Json(serde_json::json!({
        "status": "ok",
        "in_flight": shared.in_flight.load(Ordering::Relaxed),
        "queued": shared.waiting.load(Ordering::Relaxed),
    }))
    .into_response()
}

async fn metrics_text(State(shared): State<AppState>, headers: HeaderMap) -> Response {
    if let Err(r) = authorised(&shared, &headers) {
        return r.into_response();
    }
    let policy = shared.policy.read().expect("policy lock").clone();
    let text = shared.metrics.render(
        shared.waiting.load(Ordering::Relaxed),
        shared.in_flight.load(Ordering::Relaxed),
        &policy.source_stats(),
    );
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text).into_response()
}
