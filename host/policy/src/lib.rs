//! Reward policies: several sources (sandboxed plugins, native verifiers, the PRM, values the
//! trainer supplies) combined into one reward by a typed, lazy expression, with a per-sample
//! breakdown and optional GRPO-style advantages.
//!
//! ```toml
//! version = 1
//! reward = "if format >= 1 then accuracy + 0.5 * bonus else -1"
//!
//! [terms]
//! bonus = "gate(accuracy >= 1, 0.2, 0)"
//!
//! [sources.format]
//! kind = "wasm"
//! plugin = "format"
//!
//! [sources.accuracy]
//! kind = "wasm"
//! plugin = "math"
//! on_error = { value = 0.0 }
//!
//! [advantage]
//! kind = "grpo"
//! ```
//!
//! A policy is checked when it loads: every name resolves, every call fits its built-in, the
//! reward is a scalar, terms form no cycle, and each source is built (a plugin is loaded and
//! its config checked). An error names the file, line and column. Evaluation ([`Policy::score`])
//! runs only the sources the gates require ([`eval`]), and a source's failure follows its
//! `on_error`: `"mask"` (the default: the sample takes the source's outcome, `timeout`, `error`
//! and so on, and is never scored), `"drop_group"` (every sample of its GRPO group is masked), or
//! `{ value = x }` (substitute `x`, stated explicitly).
#![deny(missing_docs)]

pub mod advantage;
pub mod builtins;
pub mod check;
mod eval;
mod file;
mod scorer;
pub mod source;
pub mod syntax;
pub mod value;

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use gavel_core::{Outcome, Sample};

pub use advantage::{AdvantageKind, AdvantageSpec};
pub use file::PolicyError;
pub use scorer::Scorer;
pub use source::{Source, SourceKinds, SourceOutput, SourceResult, SourceSpec};
pub use value::{Type, Value};

use check::{Checked, Node};

/// What a source's failure on a sample does.
#[derive(Debug, Clone, PartialEq)]
pub enum OnError {
    /// The sample takes the source's outcome (masked, never scored). The default.
    Mask,
    /// Every sample of the sample's group is masked.
    DropGroup,
    /// This value stands in for the source's.
    Value(Value),
}

pub(crate) struct SourceSlot {
    pub(crate) name: String,
    pub(crate) source: Arc<dyn Source>,
    pub(crate) on_error: OnError,
    pub(crate) calls: AtomicU64,
    pub(crate) samples: AtomicU64,
    /// Durations of this source's batch calls.
    pub(crate) latency: std::sync::Mutex<LatencyHistogram>,
}

/// Upper bounds (seconds) of the latency histogram buckets.
pub const LATENCY_BUCKETS: [f64; 12] =
    [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0];

/// A cumulative latency histogram over [`LATENCY_BUCKETS`], Prometheus-style.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LatencyHistogram {
    /// Observations at or under each bucket's bound.
    pub buckets: [u64; LATENCY_BUCKETS.len()],
    /// All observations.
    pub count: u64,
    /// Their sum, seconds.
    pub sum: f64,
}

impl LatencyHistogram {
    /// Records one duration.
    pub fn observe(&mut self, took: std::time::Duration) {
        let secs = took.as_secs_f64();
        for (bucket, bound) in self.buckets.iter_mut().zip(LATENCY_BUCKETS) {
            if secs <= bound {
                *bucket += 1;
            }
        }
        self.count += 1;
        self.sum += secs;
    }
}

/// What a source has done so far.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceStats {
    /// The source's name.
    pub name: String,
    /// Batch calls made.
    pub calls: u64,
    /// Samples asked for.
    pub samples: u64,
    /// Durations of the batch calls.
    pub latency: LatencyHistogram,
}

/// One sample's result under a policy.
#[derive(Debug, Clone, PartialEq)]
pub struct Scored {
    /// The reward with its breakdown (every source and term that was evaluated), or the
    /// typed outcome that masks the sample.
    pub outcome: Outcome,
    /// The advantage, when the policy has an `[advantage]` block and the sample has a `group`
    /// and a reward.
    pub advantage: Option<f64>,
}

/// A loaded, checked policy.
pub struct Policy {
    pub(crate) sources: Vec<SourceSlot>,
    pub(crate) term_names: Vec<String>,
    pub(crate) checked: Checked,
    pub(crate) advantage: Option<AdvantageSpec>,
    reward_text: String,
}

impl Policy {
    /// Reads and checks a policy file; relative plugin paths resolve against its directory.
    pub fn load(path: &Path, kinds: &SourceKinds) -> Result<Policy, PolicyError> {
        let text = std::fs::read_to_string(path).map_err(|e| PolicyError {
            file: path.display().to_string(),
            line: 0,
            column: 0,
            message: format!("cannot read the policy: {e}"),
        })?;
        let dir = path.parent().unwrap_or(Path::new("."));
        Self::parse(&text, &path.display().to_string(), dir, kinds)
    }

    /// Checks a policy given as text; `file` names it in errors.
    pub fn parse(
        text: &str,
        file: &str,
        base_dir: &Path,
        kinds: &SourceKinds,
    ) -> Result<Policy, PolicyError> {
        file::load(text, file, base_dir, kinds)
    }

    /// Scores a batch at training step `step` (for `sched`): one result per sample, in order.
    pub async fn score(&self, samples: &[Sample], step: f64) -> Vec<Scored> {
        eval::evaluate(self, samples, step).await
    }

    /// Whether the policy computes advantages.
    pub fn has_advantage(&self) -> bool {
        self.advantage.is_some()
    }

    /// The sources: name, what it is, and its output type, in file order.
    pub fn sources(&self) -> Vec<(String, String, Type)> {
        self.sources
            .iter()
            .map(|s| (s.name.clone(), s.source.describe(), s.source.output()))
            .collect()
    }

    /// Calls, samples and call latencies per source, in file order.
    pub fn source_stats(&self) -> Vec<SourceStats> {
        self.sources
            .iter()
            .map(|s| SourceStats {
                name: s.name.clone(),
                calls: s.calls.load(Ordering::Relaxed),
                samples: s.samples.load(Ordering::Relaxed),
                latency: s.latency.lock().expect("latency lock").clone(),
            })
            .collect()
    }

    /// How many samples a source has been asked to score so far, by source name.
    pub fn invocations(&self, source: &str) -> Option<u64> {
        self.sources.iter().find(|s| s.name == source).map(|s| s.samples.load(Ordering::Relaxed))
    }

    /// A readable account of the policy: its sources, when each runs, its terms, the reward
    /// and the advantage.
    pub fn plan(&self) -> String {
        let mut seen = Reach {
            always: vec![false; self.sources.len()],
            ever: vec![false; self.sources.len()],
            terms: vec![false; self.term_names.len()],
        };
        self.reach(&self.checked.reward, false, &mut seen);
        let (always, ever) = (seen.always, seen.ever);
        let mut out = String::from("sources:\n");
        for (i, slot) in self.sources.iter().enumerate() {
            let when = match (always[i], ever[i]) {
                (true, _) => "runs for every sample",
                (false, true) => "runs only where a gate or route reaches it",
                (false, false) => "never used by the reward",
            };
            let on_error = match &slot.on_error {
                OnError::Mask => "mask".to_owned(),
                OnError::DropGroup => "drop_group".to_owned(),
                OnError::Value(v) => format!("{{ value = {v} }}"),
            };
            out += &format!(
                "  {:<12} {} -> {}; on_error = {on_error}; {when}\n",
                slot.name,
                slot.source.describe(),
                slot.source.output()
            );
        }
        if !self.term_names.is_empty() {
            out += "terms:\n";
            for (name, ty) in self.term_names.iter().zip(&self.checked.term_types) {
                out += &format!("  {name:<12} {ty}\n");
            }
        }
        out += &format!("reward: {}\n", self.reward_text.trim());
        if !self.checked.group_ops.is_empty() {
            out += &format!(
                "group stage: {} normalisation(s) inside the reward\n",
                self.checked.group_ops.len()
            );
        }
        match &self.advantage {
            Some(spec) => out += &format!("advantage: {} (eps {})\n", spec.kind.name(), spec.eps),
            None => out += "advantage: none\n",
        }
        out
    }

    fn reach(&self, node: &Node, conditional: bool, seen: &mut Reach) {
        match node {
            Node::Source(s) | Node::Component(s, _) => {
                seen.ever[*s] = true;
                seen.always[*s] |= !conditional;
            }
            Node::Term(t) => {
                // Walk a term again only when it is now reached unconditionally.
                if !seen.terms[*t] || !conditional {
                    seen.terms[*t] = true;
                    self.reach(&self.checked.terms[*t], conditional, seen);
                }
            }
            Node::Const(_) | Node::Task | Node::Step => {}
            Node::Neg(a) | Node::Not(a) | Node::Group(_, a, _) => self.reach(a, conditional, seen),
            Node::Arith(_, a, b) | Node::Cmp(_, a, b) => {
                self.reach(a, conditional, seen);
                self.reach(b, conditional, seen);
            }
            Node::And(a, b) | Node::Or(a, b) => {
                self.reach(a, conditional, seen);
                self.reach(b, true, seen);
            }
            Node::If(c, a, b) => {
                self.reach(c, conditional, seen);
                self.reach(a, true, seen);
                self.reach(b, true, seen);
            }
            Node::Route(k, arms, d) => {
                self.reach(k, conditional, seen);
                for (_, a) in arms {
                    self.reach(a, true, seen);
                }
                if let Some(d) = d {
                    self.reach(d, true, seen);
                }
            }
            Node::GatedSum(tiers, tail) => {
                for (i, (r, t)) in tiers.iter().enumerate() {
                    self.reach(r, conditional || i > 0, seen);
                    self.reach(t, conditional || i > 0, seen);
                }
                self.reach(tail, true, seen);
            }
            Node::Call(_, _, args) => {
                for a in args {
                    self.reach(a, conditional, seen);
                }
            }
        }
    }
}

/// Which sources the reward reaches, and how.
struct Reach {
    always: Vec<bool>,
    ever: Vec<bool>,
    terms: Vec<bool>,
}

#[cfg(test)]
mod tests;
