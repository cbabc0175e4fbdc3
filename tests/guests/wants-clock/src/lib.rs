//! A plugin that requests the `clock` capability (declared with the SDK's `capabilities` key),
//! which no host grants yet: it must be refused at load, by name.

use gavel_plugin::{NoConfig, Outcome, Sample};

fn reward(_: &Sample, _: &NoConfig) -> Outcome {
    Outcome::invalid("never called: the host refuses this plugin")
}

gavel_plugin::export!(reward, name = "wants-clock", capabilities = &["clock"]);
