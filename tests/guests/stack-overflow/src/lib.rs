//! Recurses without bound when the completion is `deep`; rewards 1 otherwise. The recursion
//! keeps its state in wasm locals, so it exhausts the native wasm stack (not the guest's
//! shadow stack in linear memory).

use gavel_plugin::{NoConfig, Outcome, Sample};

fn depth(n: u64, stop: u64) -> u64 {
    if n == stop {
        return n;
    }
    let r = depth(n + 1, stop);
    r ^ (r >> 3) ^ n
}

fn reward(sample: &Sample, _: &NoConfig) -> Outcome {
    if sample.completion == "deep" {
        // `stop` is never reached: the completion is 4 bytes long.
        let stop = (sample.completion.len() as u64) << 40;
        return (depth(0, stop) as f64).into();
    }
    1.0.into()
}

gavel_plugin::export!(reward, name = "stack-overflow");
