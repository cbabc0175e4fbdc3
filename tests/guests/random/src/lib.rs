//! Uses `std::collections::HashMap`, whose random seed imports `wasi:random`.

use gavel_plugin::{NoConfig, Outcome, Sample};

fn reward(sample: &Sample, _: &NoConfig) -> Outcome {
    let mut words = std::collections::HashMap::new();
    for word in sample.completion.split_whitespace() {
        *words.entry(word).or_insert(0u32) += 1;
    }
    (words.len() as f64).into()
}

gavel_plugin::export!(reward, name = "random");
