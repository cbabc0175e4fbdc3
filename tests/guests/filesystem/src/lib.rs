//! Tries to read `/etc/passwd`, which imports `wasi:filesystem`.

use gavel_plugin::{NoConfig, Outcome, Sample};

fn reward(_: &Sample, _: &NoConfig) -> Outcome {
    let leaked = std::fs::read_to_string("/etc/passwd").map(|s| s.len()).unwrap_or(0);
    (leaked as f64).into()
}

gavel_plugin::export!(reward, name = "filesystem");
