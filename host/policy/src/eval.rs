//! Evaluation: lazy, batched, in rounds.
//!
//! Every round evaluates each unfinished sample's reward as far as the known values allow.
//! Where a source's value is missing the sample waits and the source is put on that round's
//! list; gates, `route`, `and`/`or` and `gated_sum` only ever ask for the branch they take, so a
//! source under a branch not taken is never asked. At the end of a round every source with
//! work scores its samples in one batch, all sources at once. Group-stage values resolve once
//! every surviving sample of the group has its input. Rounds end when every sample is done;
//! there are at most as many as the longest chain of gates.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use gavel_core::{ErrorKind, Outcome, Sample, Score};

use crate::advantage;
use crate::check::Node;
use crate::source::SourceResult;
use crate::syntax::BinOp;
use crate::value::Value;
use crate::{OnError, Policy, Scored};

enum Step {
    Done(Value),
    Pending,
    Fail(Outcome),
}

use Step::{Done, Fail, Pending};

struct SampleState {
    sources: Vec<Option<SourceResult>>,
    terms: Vec<Option<Value>>,
    group_inputs: Vec<Option<f64>>,
    group_values: Vec<Option<f64>>,
    done: Option<Outcome>,
    /// Set when a source with `on_error = "drop_group"` failed on this sample.
    drops_group: bool,
}

struct Run<'p> {
    policy: &'p Policy,
    samples: &'p [Sample],
    step: f64,
    states: Vec<SampleState>,
    /// Per source, the samples waiting for it this round.
    wanted: Vec<Vec<usize>>,
}

/// Scores `samples` under `policy` at training step `step`.
pub(crate) async fn evaluate(policy: &Policy, samples: &[Sample], step: f64) -> Vec<Scored> {
    let n_sources = policy.sources.len();
    let states = samples
        .iter()
        .map(|_| SampleState {
            sources: vec![None; n_sources],
            terms: vec![None; policy.checked.terms.len()],
            group_inputs: vec![None; policy.checked.group_ops.len()],
            group_values: vec![None; policy.checked.group_ops.len()],
            done: None,
            drops_group: false,
        })
        .collect();
    let mut run = Run { policy, samples, step, states, wanted: vec![Vec::new(); n_sources] };
    loop {
        for i in 0..samples.len() {
            if run.states[i].done.is_some() {
                continue;
            }
            match run.eval(&policy.checked.reward, i) {
                Done(value) => run.finish(i, value.scalar()),
                Fail(outcome) => run.states[i].done = Some(outcome),
                Pending => {}
            }
        }
        run.drop_groups();
        let grouped = run.resolve_groups();
        if run.wanted.iter().all(Vec::is_empty) {
            if grouped {
                continue;
            }
            break;
        }
        run.dispatch().await;
    }
    let outcomes: Vec<Outcome> = run
        .states
        .into_iter()
        .map(|s| {
            s.done.unwrap_or_else(|| {
                Outcome::error(
                    ErrorKind::Host,
                    "the policy could not finish this sample (a gavel bug)",
                )
            })
        })
        .collect();
    let advantages = match &policy.advantage {
        Some(spec) => advantage::compute(spec, samples, &outcomes),
        None => vec![None; samples.len()],
    };
    outcomes
        .into_iter()
        .zip(advantages)
        .map(|(outcome, advantage)| Scored { outcome, advantage })
        .collect()
}

impl Run<'_> {
    fn eval(&mut self, node: &Node, i: usize) -> Step {
        match node {
            Node::Const(v) => Done(v.clone()),
            Node::Task => Done(Value::Text(self.samples[i].task.clone().unwrap_or_default())),
            Node::Step => Done(Value::Scalar(self.step)),
            Node::Source(s) => self.source(*s, i, |out| Ok(out.value.clone())),
            Node::Component(s, part) => {
                let name = &self.policy.sources[*s].name;
                self.source(*s, i, |out| match out.components.iter().find(|(n, _)| n == part) {
                    Some((_, v)) => Ok(Value::Scalar(*v)),
                    None => Err(Outcome::error(
                        ErrorKind::MalformedOutput,
                        format!("source `{name}` gave no component `{part}`"),
                    )),
                })
            }
            Node::Term(t) => {
                if let Some(v) = &self.states[i].terms[*t] {
                    return Done(v.clone());
                }
                let policy = self.policy;
                let step = self.eval(&policy.checked.terms[*t], i);
                if let Done(v) = &step {
                    self.states[i].terms[*t] = Some(v.clone());
                }
                step
            }
            Node::Neg(x) => self.eval(x, i).map(|v| arith(BinOp::Sub, &Value::Scalar(0.0), &v)),
            Node::Not(x) => self.eval(x, i).map(|v| Ok(Value::Bool(!v.truth()))),
            Node::Arith(op, a, b) => {
                let (a, b) = (self.eval(a, i), self.eval(b, i));
                both(a, b).map2(|a, b| arith(*op, &a, &b))
            }
            Node::Cmp(op, a, b) => {
                let (a, b) = (self.eval(a, i), self.eval(b, i));
                both(a, b).map2(|a, b| Ok(Value::Bool(compare(*op, &a, &b))))
            }
            Node::And(a, b) => match self.eval(a, i) {
                Done(v) if v.truth() => self.eval(b, i),
                Done(_) => Done(Value::Bool(false)),
                other => other,
            },
            Node::Or(a, b) => match self.eval(a, i) {
                Done(v) if v.truth() => Done(Value::Bool(true)),
                Done(_) => self.eval(b, i),
                other => other,
            },
            Node::If(c, a, b) => match self.eval(c, i) {
                Done(v) => self.eval(if v.truth() { a } else { b }, i),
                other => other,
            },
            Node::Route(key, arms, default) => match self.eval(key, i) {
                Done(Value::Text(k)) => match arms.iter().find(|(name, _)| *name == k) {
                    Some((_, arm)) => self.eval(arm, i),
                    None => match default {
                        Some(d) => self.eval(d, i),
                        None => Fail(Outcome::NotApplicable {
                            reason: Some(format!("`route` has no arm for {k:?} and no default")),
                        }),
                    },
                },
                Done(_) => unreachable!("route keys are type-checked as text"),
                other => other,
            },
            Node::GatedSum(tiers, tail) => {
                let mut total = 0.0;
                for (reward, threshold) in tiers {
                    let (r, t) = match both(self.eval(reward, i), self.eval(threshold, i)) {
                        Done2(r, t) => (r.scalar(), t.scalar()),
                        Other(step) => return step,
                    };
                    total += r;
                    if r < t {
                        return Done(Value::Scalar(total));
                    }
                }
                self.eval(tail, i).map(|v| Ok(Value::Scalar(total + v.scalar())))
            }
            Node::Call(builtin, name, args) => {
                let mut values = Vec::with_capacity(args.len());
                let mut waiting = false;
                for arg in args {
                    match self.eval(arg, i) {
                        Done(v) => values.push(v),
                        Pending => waiting = true,
                        Fail(o) => return Fail(o),
                    }
                }
                if waiting {
                    return Pending;
                }
                match builtin.apply(name, &values) {
                    Ok(v) => Done(v),
                    Err(message) => Fail(Outcome::invalid(message)),
                }
            }
            Node::Group(_, inner, slot) => {
                if let Some(v) = self.states[i].group_values[*slot] {
                    return Done(Value::Scalar(v));
                }
                match self.eval(inner, i) {
                    Done(v) => {
                        self.states[i].group_inputs[*slot] = Some(v.scalar());
                        Pending
                    }
                    other => other,
                }
            }
        }
    }

    /// A source's value for sample `i` (asking for it when missing), through its `on_error`.
    fn source(
        &mut self,
        s: usize,
        i: usize,
        read: impl FnOnce(&crate::source::SourceOutput) -> Result<Value, Outcome>,
    ) -> Step {
        let slot = &self.policy.sources[s];
        let failure = match &self.states[i].sources[s] {
            None => {
                self.wanted[s].push(i);
                return Pending;
            }
            Some(Ok(out)) => match read(out) {
                Ok(v) => return Done(v),
                Err(o) => o,
            },
            Some(Err(o)) => o.clone(),
        };
        match &slot.on_error {
            OnError::Value(v) => Done(v.clone()),
            OnError::Mask => Fail(prefix(&slot.name, failure)),
            OnError::DropGroup => {
                self.states[i].drops_group = true;
                Fail(prefix(&slot.name, failure))
            }
        }
    }

    fn finish(&mut self, i: usize, reward: f64) {
        let state = &mut self.states[i];
        if !reward.is_finite() {
            state.done = Some(Outcome::error(
                ErrorKind::NonFinite,
                format!("the policy's reward is {reward}"),
            ));
            return;
        }
        let mut components = Vec::new();
        // `source: why` for each source that explained itself, joined by `; `: built in one
        // string, as every sample of a batch has one.
        let mut explanation: Option<String> = None;
        for (slot, result) in self.policy.sources.iter().zip(&state.sources) {
            if let Some(Ok(out)) = result {
                if let Some(v) = out.value.as_component() {
                    components.push((slot.name.clone(), v));
                }
                if let Some(why) = &out.explanation {
                    let text = explanation.get_or_insert_with(|| {
                        String::with_capacity(slot.name.len() + 2 + why.len())
                    });
                    if !text.is_empty() {
                        text.push_str("; ");
                    }
                    text.push_str(&slot.name);
                    text.push_str(": ");
                    text.push_str(why);
                }
            }
        }
        for (name, value) in self.policy.term_names.iter().zip(&state.terms) {
            if let Some(v) = value.as_ref().and_then(Value::as_component) {
                components.push((name.clone(), v));
            }
        }
        state.done = Some(Outcome::Scored(Score { value: reward, components, explanation }));
    }

    /// Every sample of a group with a `drop_group` failure is dropped, masked.
    fn drop_groups(&mut self) {
        let dropping: Vec<(String, String)> = self
            .states
            .iter()
            .zip(self.samples)
            .filter(|(s, _)| s.drops_group)
            .filter_map(|(_, sample)| sample.group.clone().map(|g| (g, sample.id.clone())))
            .collect();
        for (group, culprit) in dropping {
            for (state, sample) in self.states.iter_mut().zip(self.samples) {
                if sample.group.as_deref() == Some(group.as_str()) && !state.drops_group {
                    state.done = Some(Outcome::error(
                        ErrorKind::GroupDropped,
                        format!(
                            "group {group:?} dropped: sample {culprit:?} failed in a source with on_error = \"drop_group\""
                        ),
                    ));
                }
            }
        }
    }

    /// Resolves group-stage values whose every surviving group member has its input.
    fn resolve_groups(&mut self) -> bool {
        let mut progress = false;
        for (slot, &op) in self.policy.checked.group_ops.iter().enumerate() {
            let mut groups: HashMap<Option<&str>, Vec<usize>> = HashMap::new();
            for (i, sample) in self.samples.iter().enumerate() {
                if self.states[i].done.is_none() && self.states[i].group_values[slot].is_none() {
                    // Ungrouped samples form groups of one.
                    let key = sample.group.as_deref();
                    if key.is_none() {
                        if let Some(x) = self.states[i].group_inputs[slot] {
                            self.states[i].group_values[slot] =
                                Some(advantage::normalise(op, &[x])[0]);
                            progress = true;
                        }
                        continue;
                    }
                    groups.entry(key).or_default().push(i);
                }
            }
            for members in groups.values() {
                let inputs: Option<Vec<f64>> =
                    members.iter().map(|&i| self.states[i].group_inputs[slot]).collect();
                let Some(inputs) = inputs else { continue };
                for (&i, v) in members.iter().zip(advantage::normalise(op, &inputs)) {
                    self.states[i].group_values[slot] = Some(v);
                }
                progress = true;
            }
        }
        progress
    }

    /// Runs every source that has waiting samples, all at once, one batch each.
    async fn dispatch(&mut self) {
        let mut jobs = Vec::new();
        for (s, wanted) in self.wanted.iter_mut().enumerate() {
            if wanted.is_empty() {
                continue;
            }
            let mut indices = std::mem::take(wanted);
            indices.sort_unstable();
            indices.dedup();
            let slot = &self.policy.sources[s];
            slot.calls.fetch_add(1, Ordering::Relaxed);
            slot.samples.fetch_add(indices.len() as u64, Ordering::Relaxed);
            let batch: Vec<Sample> = indices.iter().map(|&i| self.samples[i].clone()).collect();
            let source = Arc::clone(&slot.source);
            let call = source.score(batch);
            let timed = async move {
                let started = std::time::Instant::now();
                let results = call.await;
                (results, started.elapsed())
            };
            jobs.push((s, indices, AbortOnDrop(tokio::spawn(timed))));
        }
        for (s, indices, mut job) in jobs {
            let joined = (&mut job.0).await.map(|(results, took)| {
                self.policy.sources[s].latency.lock().expect("latency lock").observe(took);
                results
            });
            let results = match joined {
                Ok(results) if results.len() == indices.len() => results,
                Ok(results) => vec![
                    Err(Outcome::error(
                        ErrorKind::Host,
                        format!(
                            "source gave {} results for {} samples",
                            results.len(),
                            indices.len()
                        ),
                    ));
                    indices.len()
                ],
                Err(e) => {
                    vec![
                        Err(Outcome::error(ErrorKind::Host, format!("source task failed: {e}")));
                        indices.len()
                    ]
                }
            };
            for (i, result) in indices.into_iter().zip(results) {
                self.states[i].sources[s] = Some(result);
            }
        }
    }
}

/// A spawned source call, cancelled when dropped (a request whose client went away).
struct AbortOnDrop<T>(tokio::task::JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

fn prefix(source: &str, outcome: Outcome) -> Outcome {
    match outcome {
        Outcome::NotApplicable { reason } => Outcome::NotApplicable {
            reason: Some(format!(
                "source `{source}`: {}",
                reason.unwrap_or_else(|| "not applicable".into())
            )),
        },
        Outcome::Invalid { message } => Outcome::invalid(format!("source `{source}`: {message}")),
        Outcome::Timeout { kind, message } => {
            Outcome::timeout(kind, format!("source `{source}`: {message}"))
        }
        Outcome::Error { kind, message } => {
            Outcome::error(kind, format!("source `{source}`: {message}"))
        }
        scored @ Outcome::Scored(_) => scored,
    }
}

fn compare(op: BinOp, a: &Value, b: &Value) -> bool {
    if let (Value::Text(x), Value::Text(y)) = (a, b) {
        return if op == BinOp::Eq { x == y } else { x != y };
    }
    let (x, y) = (a.scalar(), b.scalar());
    match op {
        BinOp::Lt => x < y,
        BinOp::Le => x <= y,
        BinOp::Gt => x > y,
        BinOp::Ge => x >= y,
        BinOp::Eq => x == y,
        BinOp::Ne => x != y,
        _ => unreachable!("not a comparison"),
    }
}

/// Arithmetic with lists broadcast against scalars, elementwise between equal-length lists.
fn arith(op: BinOp, a: &Value, b: &Value) -> Result<Value, Outcome> {
    let f = |x: f64, y: f64| match op {
        BinOp::Add => x + y,
        BinOp::Sub => x - y,
        BinOp::Mul => x * y,
        BinOp::Div => x / y,
        BinOp::Pow => x.powf(y),
        _ => unreachable!("not arithmetic"),
    };
    let is_list = |v: &Value| matches!(v, Value::Steps(_) | Value::Ensemble(_));
    Ok(match (is_list(a), is_list(b)) {
        (false, false) => Value::Scalar(f(a.scalar(), b.scalar())),
        (true, false) => a.with_list(a.list().iter().map(|&x| f(x, b.scalar())).collect()),
        (false, true) => b.with_list(b.list().iter().map(|&y| f(a.scalar(), y)).collect()),
        (true, true) => {
            if a.list().len() != b.list().len() {
                return Err(Outcome::invalid(format!(
                    "`{}` between lists of {} and {} elements",
                    op.symbol(),
                    a.list().len(),
                    b.list().len()
                )));
            }
            a.with_list(a.list().iter().zip(b.list()).map(|(&x, &y)| f(x, y)).collect())
        }
    })
}

/// Two steps evaluated side by side: both done, or the first that is not.
enum Both {
    Done2(Value, Value),
    Other(Step),
}

use Both::{Done2, Other};

fn both(a: Step, b: Step) -> Both {
    match (a, b) {
        (Done(a), Done(b)) => Done2(a, b),
        (Fail(o), _) | (_, Fail(o)) => Other(Fail(o)),
        _ => Other(Pending),
    }
}

impl Both {
    fn map2(self, f: impl FnOnce(Value, Value) -> Result<Value, Outcome>) -> Step {
        match self {
            Done2(a, b) => match f(a, b) {
                Ok(v) => Done(v),
                Err(o) => Fail(o),
            },
            Other(step) => step,
        }
    }
}

impl Step {
    fn map(self, f: impl FnOnce(Value) -> Result<Value, Outcome>) -> Step {
        match self {
            Done(v) => match f(v) {
                Ok(v) => Done(v),
                Err(o) => Fail(o),
            },
            other => other,
        }
    }
}
