//! Rewards a hash keyed by `std`'s random seed (`RandomState`, which imports `wasi:random`);
//! requests the `random` capability.

use std::hash::{BuildHasher, Hasher};

use gavel_plugin::{NoConfig, Outcome, Sample};

fn reward(sample: &Sample, _: &NoConfig) -> Outcome {
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write(sample.completion.as_bytes());
    ((hasher.finish() >> 11) as f64 / (1u64 << 53) as f64).into()
}

gavel_plugin::export!(reward, name = "random", capabilities = &["random"]);
