//! Allocates 1 MiB blocks without bound when the completion is `bomb`; rewards 1 otherwise.

use gavel_plugin::{NoConfig, Outcome, Sample};

fn reward(sample: &Sample, _: &NoConfig) -> Outcome {
    if sample.completion == "bomb" {
        let mut hoard: Vec<Vec<u8>> = Vec::new();
        loop {
            hoard.push(std::hint::black_box(vec![1u8; 1 << 20]));
        }
    }
    1.0.into()
}

gavel_plugin::export!(reward, name = "memory-bomb");
