//! One plugin, one policy or one source behind the same call: what the CLI (`--plugin`,
//! `--policy` or `--verifier`) and the Python package (`from_plugin` or `from_policy`) score
//! with.

use std::sync::Arc;

use gavel_core::{ErrorKind, Outcome, Sample, Score};
use gavel_host::{Host, HostError, Plugin};

use crate::{Policy, Source};

/// A plugin with its config, a policy, or a single source (a native verifier).
pub enum Scorer {
    /// A plugin called directly: its outcomes as they are, no advantages.
    Plugin {
        /// The host that loaded it.
        host: Host,
        /// The plugin.
        plugin: Arc<Plugin>,
        /// Its config.
        config: serde_json::Value,
    },
    /// A policy.
    Policy(Policy),
    /// A source scored on its own: its value is the reward, its failures the outcomes.
    Source(Arc<dyn Source>),
}

impl Scorer {
    /// Whether results carry an advantage.
    pub fn has_advantage(&self) -> bool {
        matches!(self, Self::Policy(policy) if policy.has_advantage())
    }

    /// One (outcome, advantage) per sample, in order, at training step `step` (a policy's
    /// `sched` terms see it); the error is the host refusing a plugin call as a whole
    /// (overload).
    pub async fn score(
        &self,
        samples: Vec<Sample>,
        step: f64,
    ) -> Result<Vec<(Outcome, Option<f64>)>, HostError> {
        Ok(match self {
            Self::Plugin { host, plugin, config } => host
                .score_batch(plugin, samples, config)
                .await?
                .into_iter()
                .map(|o| (o, None))
                .collect(),
            Self::Policy(policy) => policy
                .score(&samples, step)
                .await
                .into_iter()
                .map(|s| (s.outcome, s.advantage))
                .collect(),
            Self::Source(source) => source
                .clone()
                .score(samples)
                .await
                .into_iter()
                .map(|result| {
                    let outcome = match result {
                        Ok(out) => match out.value.as_component() {
                            Some(value) => Outcome::Scored(Score {
                                value,
                                components: out.components,
                                explanation: out.explanation,
                            }),
                            None => Outcome::error(
                                ErrorKind::MalformedOutput,
                                format!("a {:?} source gives no single reward", out.value.ty()),
                            ),
                        },
                        Err(outcome) => outcome,
                    };
                    (outcome, None)
                })
                .collect(),
        })
    }
}
