//! Rewards the number of samples this instance has scored so far, including this one: 1 for
//! the first sample of every call when instances are fresh per call.

use std::sync::atomic::{AtomicU64, Ordering};

use gavel_plugin::{NoConfig, Outcome, Sample};

static SEEN: AtomicU64 = AtomicU64::new(0);

fn reward(_: &Sample, _: &NoConfig) -> Outcome {
    (SEEN.fetch_add(1, Ordering::Relaxed) as f64 + 1.0).into()
}

gavel_plugin::export!(reward, name = "stateful");
