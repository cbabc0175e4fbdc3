//! Reads the wall clock (importing `wasi:clocks`) without requesting the `clock` capability:
//! refused at load even where `clock` is granted, because its declaration is not what it uses.

use gavel_plugin::{NoConfig, Outcome, Sample};

fn reward(_: &Sample, _: &NoConfig) -> Outcome {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH);
    now.map(|d| d.as_secs_f64()).unwrap_or(0.0).into()
}

gavel_plugin::export!(reward, name = "undeclared-clock");
