//! Returns a 1 MiB explanation for `long`, 1 000 components for `many`; rewards 1 otherwise.

use gavel_plugin::{NoConfig, Outcome, Sample, Score};

fn reward(sample: &Sample, _: &NoConfig) -> Outcome {
    match sample.completion.as_str() {
        "long" => Score::new(1.0).because("x".repeat(1 << 20)).into(),
        "many" => (0..1000).fold(Score::new(1.0), |s, i| s.with(format!("c{i}"), 1.0)).into(),
        _ => 1.0.into(),
    }
}

gavel_plugin::export!(reward, name = "huge-output");
