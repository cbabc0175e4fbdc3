//! Returns NaN for `nan`, +inf for `inf`, an infinite component for `component`; 1 otherwise.

use gavel_plugin::{NoConfig, Outcome, Sample, Score};

fn reward(sample: &Sample, _: &NoConfig) -> Outcome {
    match sample.completion.as_str() {
        "nan" => f64::NAN.into(),
        "inf" => f64::INFINITY.into(),
        "component" => Score::new(1.0).with("bad", f64::NEG_INFINITY).into(),
        _ => 1.0.into(),
    }
}

gavel_plugin::export!(reward, name = "non-finite");
