//! One plugin or one policy behind the same call: what the CLI (`--plugin` or `--policy`) and
//! the Python package (`from_plugin` or `from_policy`) score with.

use std::sync::Arc;

use gavel_core::{Outcome, Sample};
use gavel_host::{Host, HostError, Plugin};

use crate::Policy;

/// A plugin with its config, or a policy.
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
        })
    }
}
