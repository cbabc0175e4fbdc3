//! The `prm` source kind: a policy's step scores from a PRM checkpoint.
//!
//! ```toml
//! [sources.steps]
//! kind = "prm"
//! model = "models/tiny-prm"      # relative to the policy file
//! separator = "\n\n"             # how the completion splits into steps (Qwen2.5-Math-PRM's)
//! steps_end = "<answer>"         # optional: the steps stop here (an answer block is no step)
//! ```
//!
//! Where the model runs is chosen when the policy loads (`GAVEL_PRM_DEVICE`, by default the GPU
//! when there is one), and the batch of a policy call is scored in one go.

use std::path::Path;
use std::sync::Arc;

use gavel_core::{ErrorKind, Outcome, Sample};
use gavel_policy::source::BoxFuture;
use gavel_policy::{Source, SourceKinds, SourceOutput, SourceResult, SourceSpec, Type, Value};

use rayon::prelude::*;

use crate::Prm;

/// Registers `kind = "prm"`: its value is the step scores (type `steps`), with components
/// `min`, `last`, `prod` and `mean`.
pub fn register(kinds: &mut SourceKinds) {
    kinds.register("prm", Box::new(PrmSource::build));
}

struct PrmSource {
    prm: Arc<Prm>,
    separator: String,
    steps_end: Option<String>,
    label: String,
}

impl PrmSource {
    fn build(spec: &SourceSpec) -> Result<Arc<dyn Source>, String> {
        spec.refuse_unknown_keys(&["model", "separator", "steps_end"])?;
        let Some(model) = spec.string("model")? else {
            return Err("a prm source needs `model` (a checkpoint directory)".into());
        };
        let model = spec.base_dir.join(model);
        let separator = match spec.string("separator")? {
            None => "\n\n".to_owned(),
            Some("") => return Err("`separator` must be a non-empty string".into()),
            Some(s) => s.to_owned(),
        };
        let steps_end = match spec.string("steps_end")? {
            Some("") => return Err("`steps_end` must be a non-empty string".into()),
            other => other.map(str::to_owned),
        };
        let prm = Prm::load(&model).map_err(|e| format!("{}: {e}", model.display()))?;
        let label = format!("prm {}", display_name(&model));
        Ok(Arc::new(Self { prm: Arc::new(prm), separator, steps_end, label }))
    }

    /// A sample's ids and step token, or the outcome that stands for its score.
    fn encode(&self, sample: &Sample) -> Result<(Vec<u32>, u32), Outcome> {
        let text = match &self.steps_end {
            Some(end) => sample.completion.split(end.as_str()).next().unwrap_or_default(),
            None => &sample.completion,
        };
        let steps: Vec<String> = text
            .split(self.separator.as_str())
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect();
        if steps.is_empty() {
            return Err(Outcome::NotApplicable {
                reason: Some("the completion has no steps".into()),
            });
        }
        self.prm.encode(&sample.prompt, &steps).map_err(outcome)
    }

    /// Every sample's step scores: the encodable ones scored as one batch.
    fn score_all(&self, samples: &[Sample]) -> Vec<SourceResult> {
        let encoded: Vec<_> = samples.par_iter().map(|s| self.encode(s)).collect();
        let inputs: Vec<(&[u32], u32)> = encoded
            .iter()
            .filter_map(|e| e.as_ref().ok().map(|(ids, step)| (ids.as_slice(), *step)))
            .collect();
        let mut scores = self.prm.score_batch(&inputs).into_iter();
        encoded
            .iter()
            .map(|e| {
                e.as_ref().map_err(Clone::clone)?;
                let scores = scores.next().expect("one result per input").map_err(outcome)?;
                let components = [
                    ("min", scores.min),
                    ("last", scores.last),
                    ("prod", scores.prod),
                    ("mean", scores.mean),
                ]
                .into_iter()
                .filter_map(|(n, v)| Some((n.to_owned(), v?)))
                .collect();
                Ok(SourceOutput {
                    value: Value::Steps(scores.step_scores),
                    components,
                    explanation: None,
                })
            })
            .collect()
    }
}

/// A PRM failure as an outcome: bad input is `invalid`, a failed GPU an engine error, the rest
/// the host's.
fn outcome(e: crate::PrmError) -> Outcome {
    match e {
        crate::PrmError::Input(why) => Outcome::invalid(why),
        crate::PrmError::Device(why) => Outcome::error(ErrorKind::Engine, format!("cuda: {why}")),
        other => Outcome::error(ErrorKind::Host, other.to_string()),
    }
}

fn display_name(path: &Path) -> String {
    path.file_name()
        .map_or_else(|| path.display().to_string(), |n| n.to_string_lossy().into_owned())
}

impl Source for PrmSource {
    fn output(&self) -> Type {
        Type::Steps
    }

    fn describe(&self) -> String {
        format!("{} on {}, steps split on {:?}", self.label, self.prm.backend(), self.separator)
    }

    fn score(self: Arc<Self>, samples: Vec<Sample>) -> BoxFuture<Vec<SourceResult>> {
        Box::pin(async move {
            let n = samples.len();
            // The forward pass blocks (CPU work, or waiting on the GPU): off the async threads.
            tokio::task::spawn_blocking(move || self.score_all(&samples))
                .await
                .unwrap_or_else(|e| vec![Err(Outcome::error(ErrorKind::Panic, e.to_string())); n])
        })
    }
}
