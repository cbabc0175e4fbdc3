//! Panics when the completion is `panic`; rewards 1 otherwise.

use gavel_plugin::{NoConfig, Outcome, Sample};

fn reward(sample: &Sample, _: &NoConfig) -> Outcome {
    if sample.completion == "panic" {
        panic!("the plugin gave up on {:?}", sample.prompt);
    }
    1.0.into()
}

gavel_plugin::export!(reward, name = "panic");
