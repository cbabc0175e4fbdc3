//! Calls `std::process::exit(3)` when the completion is `exit`; rewards 1 otherwise.

use gavel_plugin::{NoConfig, Outcome, Sample};

fn reward(sample: &Sample, _: &NoConfig) -> Outcome {
    if sample.completion == "exit" {
        std::process::exit(3);
    }
    1.0.into()
}

gavel_plugin::export!(reward, name = "exit");
