//! The trivial reward: the completion's length in bytes. Used by the benchmark beside the same
//! function called natively.

use gavel_plugin::{NoConfig, Outcome, Sample};

/// The reward, as a plain function (the benchmark also calls it natively).
pub fn length(completion: &str) -> f64 {
    completion.len() as f64
}

fn reward(sample: &Sample, _: &NoConfig) -> Outcome {
    length(&sample.completion).into()
}

gavel_plugin::export!(reward, name = "trivial");
