//! Rewards the current time, which imports `wasi:clocks`; requests the `clock` capability.

use gavel_plugin::{NoConfig, Outcome, Sample, Score};

fn reward(_: &Sample, _: &NoConfig) -> Outcome {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH);
    let elapsed = std::time::Instant::now().elapsed();
    Score::new(now.map(|d| d.as_secs_f64()).unwrap_or(0.0))
        .with("elapsed_us", elapsed.as_secs_f64() * 1e6)
        .into()
}

gavel_plugin::export!(reward, name = "clock", capabilities = &["clock"]);
