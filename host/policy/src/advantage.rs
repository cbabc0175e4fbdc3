//! Group normalisation: GRPO, Dr. GRPO and RLOO advantages, and the group-stage built-ins.
//!
//! GRPO divides by the group's unbiased standard deviation plus ε, as verl and TRL do
//! (`torch.std`). A group whose rewards are all equal (or a group of one) carries no signal and
//! gets 0 for every sample. Samples that were not scored are left out of the group and get no
//! advantage, so a failure never moves its group's baseline.

use gavel_core::{Outcome, Sample};

use crate::check::GroupOp;

/// The `[advantage]` block of a policy.
#[derive(Debug, Clone, Copy, PartialEq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdvantageSpec {
    /// `grpo`, `dr_grpo` or `rloo`.
    pub kind: AdvantageKind,
    /// ε added to the standard deviation (GRPO only). Default 1e-6.
    #[serde(default = "default_eps")]
    pub eps: f64,
}

fn default_eps() -> f64 {
    1e-6
}

/// How rewards become advantages within a group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AdvantageKind {
    /// (r − mean) / (std + ε).
    Grpo,
    /// r − mean (Dr. GRPO: no division by the std).
    DrGrpo,
    /// r − the mean of the other samples of the group.
    Rloo,
}

impl AdvantageKind {
    /// The name used in policy files.
    pub fn name(self) -> &'static str {
        match self {
            AdvantageKind::Grpo => "grpo",
            AdvantageKind::DrGrpo => "dr_grpo",
            AdvantageKind::Rloo => "rloo",
        }
    }
}

/// Normalises one group's values for the group-stage built-ins (ε = 1e-6).
pub(crate) fn normalise(op: GroupOp, xs: &[f64]) -> Vec<f64> {
    let kind = match op {
        GroupOp::Z => AdvantageKind::Grpo,
        GroupOp::Center => AdvantageKind::DrGrpo,
        GroupOp::Rloo => AdvantageKind::Rloo,
    };
    group(kind, 1e-6, xs)
}

/// The advantages of one group's rewards.
pub fn group(kind: AdvantageKind, eps: f64, rewards: &[f64]) -> Vec<f64> {
    let n = rewards.len();
    if n < 2 || rewards.iter().all(|&r| r == rewards[0]) {
        return vec![0.0; n];
    }
    let mean = ordered_sum(rewards.iter().copied()) / n as f64;
    match kind {
        AdvantageKind::Grpo => {
            let var = ordered_sum(rewards.iter().map(|r| (r - mean) * (r - mean))) / (n - 1) as f64;
            let std = var.sqrt();
            rewards.iter().map(|r| (r - mean) / (std + eps)).collect()
        }
        AdvantageKind::DrGrpo => rewards.iter().map(|r| r - mean).collect(),
        AdvantageKind::Rloo => {
            let total = ordered_sum(rewards.iter().copied());
            rewards.iter().map(|r| r - (total - r) / (n - 1) as f64).collect()
        }
    }
}

/// A sum that does not depend on the order of its terms (they are added smallest first), so
/// a group's advantages are the same bits however the batch was ordered.
fn ordered_sum(xs: impl Iterator<Item = f64>) -> f64 {
    let mut xs: Vec<f64> = xs.collect();
    xs.sort_by(f64::total_cmp);
    xs.iter().sum()
}

/// Advantages for a batch: per `group`, over the scored samples; `None` for samples with no
/// group or no reward.
pub(crate) fn compute(
    spec: &AdvantageSpec,
    samples: &[Sample],
    outcomes: &[Outcome],
) -> Vec<Option<f64>> {
    let mut out = vec![None; samples.len()];
    let mut groups: std::collections::BTreeMap<&str, Vec<usize>> = Default::default();
    for (i, (sample, outcome)) in samples.iter().zip(outcomes).enumerate() {
        if let (Some(g), Some(_)) = (sample.group.as_deref(), outcome.reward()) {
            groups.entry(g).or_default().push(i);
        }
    }
    for members in groups.values() {
        let rewards: Vec<f64> =
            members.iter().map(|&i| outcomes[i].reward().expect("scored")).collect();
        for (&i, a) in members.iter().zip(group(spec.kind, spec.eps, &rewards)) {
            out[i] = Some(a);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn hand_computed() {
        let g = group(AdvantageKind::Grpo, 0.0, &[1.0, 0.0, 0.0, 1.0]);
        let s = (1.0f64 / 3.0).sqrt(); // unbiased std of [1, 0, 0, 1]
        assert!((g[0] - 0.5 / s).abs() < 1e-12 && (g[1] + 0.5 / s).abs() < 1e-12);
        assert_eq!(group(AdvantageKind::DrGrpo, 0.0, &[1.0, 0.0]), [0.5, -0.5]);
        assert_eq!(group(AdvantageKind::Rloo, 0.0, &[3.0, 1.0, 2.0]), [1.5, -1.5, 0.0]);
        assert_eq!(group(AdvantageKind::Grpo, 1e-6, &[0.7, 0.7, 0.7]), [0.0, 0.0, 0.0]);
        assert_eq!(group(AdvantageKind::Grpo, 1e-6, &[0.7]), [0.0]);
    }

    proptest! {
        #[test]
        fn grpo_has_mean_zero_and_unit_std(rewards in prop::collection::vec(-10.0f64..10.0, 2..32)) {
            let a = group(AdvantageKind::Grpo, 0.0, &rewards);
            let n = a.len() as f64;
            let mean = a.iter().sum::<f64>() / n;
            prop_assert!(mean.abs() < 1e-9);
            if rewards.iter().any(|&r| r != rewards[0]) {
                let std = (a.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / (n - 1.0)).sqrt();
                prop_assert!((std - 1.0).abs() < 1e-9, "std {std}");
            } else {
                prop_assert!(a.iter().all(|&x| x == 0.0));
            }
            for kind in [AdvantageKind::DrGrpo, AdvantageKind::Rloo] {
                let b = group(kind, 0.0, &rewards);
                prop_assert!((b.iter().sum::<f64>() / n).abs() < 1e-9);
            }
        }
    }
}
