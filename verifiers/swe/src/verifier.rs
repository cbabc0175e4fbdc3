//! The verifier: samples in, outcomes out; and the `swe` source kind for policies.

use std::sync::Arc;

use gavel_core::{ErrorKind, Outcome, Sample, Score, TimeoutKind};
use gavel_policy::source::BoxFuture;
use gavel_policy::{Source, SourceKinds, SourceOutput, SourceResult, SourceSpec, Type, Value};
use gavel_sandbox::ContainerLimits;
use serde::Deserialize;
use tokio::sync::Mutex;

use crate::engine::Engine;
use crate::grade::{Grade, grade};
use crate::patch;
use crate::pool::Pool;
use crate::run::{RunError, RunOutput, run};
use crate::similarity::patch_similarity;
use crate::task::Task;

/// The verifier's configuration (`--config` of `gavel score --verifier swe`, or the keys of a
/// `kind = "swe"` policy source). Unknown fields are refused.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SweConfig {
    /// The engine's unix socket (`/var/run/docker.sock`); default: `DOCKER_HOST` or the
    /// platform's default.
    pub socket: Option<String>,
    /// The container sandbox.
    pub limits: ContainerLimits,
}

/// Runs SWE tasks. Cheap to clone; clones share the engine connection and its concurrency
/// limit. The engine is connected on first use, so an unreachable engine makes each sample
/// an `error` outcome (kind `engine`) rather than a failure to start.
#[derive(Clone)]
pub struct SweVerifier {
    config: Arc<SweConfig>,
    pool: Arc<Mutex<Option<Arc<Pool>>>>,
}

impl SweVerifier {
    /// A verifier with `config`; the error names the limit at fault.
    pub fn new(config: SweConfig) -> Result<Self, String> {
        config.limits.validate().map_err(|e| e.to_string())?;
        Ok(Self { config: Arc::new(config), pool: Arc::new(Mutex::new(None)) })
    }

    /// The engine, connecting (and reaping leftovers) on first use.
    pub async fn engine(&self) -> Result<Engine, String> {
        Ok(self.pool().await?.engine.clone())
    }

    /// The container pool, connecting to the engine (and reaping leftovers) on first use.
    async fn pool(&self) -> Result<Arc<Pool>, String> {
        let mut pool = self.pool.lock().await;
        if let Some(pool) = pool.as_ref() {
            return Ok(pool.clone());
        }
        let limits = &self.config.limits;
        let engine = Engine::connect(self.config.socket.as_deref(), limits.concurrency)
            .await
            .map_err(|e| e.to_string())?;
        let connected = Arc::new(Pool::new(engine, limits.clone()));
        *pool = Some(connected.clone());
        Ok(connected)
    }

    /// Scores a batch, running up to `limits.concurrency` evaluations at once.
    pub async fn score(&self, samples: &[Sample]) -> Vec<Outcome> {
        let futures = samples.iter().map(|s| self.evaluate(s));
        futures_util::future::join_all(futures).await
    }

    /// Scores one sample: its completion is the patch, its reference the [`Task`].
    pub async fn evaluate(&self, sample: &Sample) -> Outcome {
        if sample.reference.is_null() {
            return Outcome::NotApplicable {
                reason: Some("the sample has no task reference".into()),
            };
        }
        let task = match Task::from_json(&sample.reference.value()) {
            Ok(task) => task,
            Err(e) => return Outcome::invalid(format!("reference: {e}")),
        };
        let Some(patch) = patch::extract(&sample.completion) else {
            return scored(&task, None, Grade::not_applied("no diff found in the completion"));
        };
        let pool = match self.pool().await {
            Ok(pool) => pool,
            Err(e) => return Outcome::error(ErrorKind::Engine, e),
        };
        match run(&pool, &task, &patch).await {
            Ok(output) => judge(&task, &patch, output),
            Err(RunError::Engine(e)) => Outcome::error(ErrorKind::Engine, e.to_string()),
            Err(e @ RunError::Deadline(_)) => {
                Outcome::timeout(TimeoutKind::Deadline, e.to_string())
            }
            Err(e @ RunError::OutputCap(_)) => {
                Outcome::error(ErrorKind::OutputLimit, e.to_string())
            }
        }
    }
}

/// The outcome of a finished run.
fn judge(task: &Task, patch: &str, output: RunOutput) -> Outcome {
    let markers = &output.markers;
    let tail = || output.tail.join(" | ");
    let oom =
        if output.oom_killed { " (a process was killed for exceeding the memory cap)" } else { "" };
    match markers.applied {
        Some(false) => {
            return scored(task, Some(patch), Grade::not_applied("the patch did not apply"));
        }
        None => {
            return Outcome::error(
                ErrorKind::Engine,
                format!(
                    "the evaluation script stopped before applying the patch (exit {:?}){oom}: {}",
                    output.exit_code,
                    tail()
                ),
            );
        }
        Some(true) => {}
    }
    if let Some(why) = &markers.setup_failed {
        return Outcome::error(ErrorKind::Setup, format!("{why}{oom}: {}", tail()));
    }
    if !markers.tests_started {
        return Outcome::error(
            ErrorKind::Engine,
            format!(
                "the evaluation script stopped before the tests (exit {:?}){oom}: {}",
                output.exit_code,
                tail()
            ),
        );
    }
    let mut grade = grade(task, markers, &output.report);
    if let Some(how) = &markers.applied_with {
        grade.explanation.push_str(&format!("; applied with {how}"));
    }
    grade.explanation.push_str(oom);
    scored(task, Some(patch), grade)
}

fn scored(task: &Task, patch: Option<&str>, grade: Grade) -> Outcome {
    let mut score = Score::new(if grade.resolved { 1.0 } else { 0.0 });
    score.components = vec![
        ("applied".into(), f64::from(u8::from(grade.applied))),
        ("f2p_passed".into(), grade.f2p_passed),
        ("p2p_kept".into(), grade.p2p_kept),
    ];
    if let Some(gold) = &task.gold_patch {
        let similarity = patch.map_or(0.0, |p| patch_similarity(p, gold));
        score.components.push(("similarity".into(), similarity));
    }
    score.explanation = Some(grade.explanation);
    Outcome::Scored(score)
}

/// Registers the `swe` source kind: `[sources.tests] kind = "swe"`, with the optional keys
/// `socket` and `limits` (a table of [`ContainerLimits`]). Its value is `resolved` (0 or 1),
/// its components `applied`, `f2p_passed`, `p2p_kept` (and `similarity`).
pub fn register(kinds: &mut SourceKinds) {
    kinds.register("swe", Box::new(SweSource::build));
}

struct SweSource {
    verifier: SweVerifier,
}

impl SweSource {
    fn build(spec: &SourceSpec) -> Result<Arc<dyn Source>, String> {
        let config: SweConfig = serde_json::to_value(spec.table)
            .and_then(serde_json::from_value)
            .map_err(|e| format!("swe source: {e}"))?;
        Ok(Arc::new(Self { verifier: SweVerifier::new(config)? }))
    }
}

impl Source for SweSource {
    fn output(&self) -> Type {
        Type::Scalar
    }

    fn describe(&self) -> String {
        let limits = &self.verifier.config.limits;
        format!(
            "swe tests in docker ({} at once, {} s, {} MiB)",
            limits.concurrency, limits.timeout_s, limits.memory_mib
        )
    }

    fn score(self: Arc<Self>, samples: Vec<Sample>) -> BoxFuture<Vec<SourceResult>> {
        Box::pin(async move {
            let outcomes = self.verifier.score(&samples).await;
            outcomes
                .into_iter()
                .map(|outcome| match outcome {
                    Outcome::Scored(s) => Ok(SourceOutput {
                        value: Value::Scalar(s.value),
                        components: s.components,
                        explanation: s.explanation,
                    }),
                    other => Err(other),
                })
                .collect()
        })
    }
}
