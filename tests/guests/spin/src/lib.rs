//! Spins forever when the completion is `spin`; with `burn N`, loops N times first (a sample
//! of known cost); rewards 1 otherwise.

use gavel_plugin::{NoConfig, Outcome, Sample};

fn reward(sample: &Sample, _: &NoConfig) -> Outcome {
    if sample.completion == "spin" {
        let mut n = 0u64;
        loop {
            n = std::hint::black_box(n.wrapping_add(1));
        }
    }
    if let Some(count) = sample.completion.strip_prefix("burn ").and_then(|n| n.parse().ok()) {
        let mut n = 0u64;
        while n < count {
            n = std::hint::black_box(n + 1);
        }
    }
    1.0.into()
}

gavel_plugin::export!(reward, name = "spin");
