//! A plugin that requests the `clock` capability (declared with the SDK's `capabilities` key)
//! without using it: refused at load unless the operator grants `clock`.

use gavel_plugin::{NoConfig, Outcome, Sample};

fn reward(_: &Sample, _: &NoConfig) -> Outcome {
    Outcome::invalid("never called: the host refuses this plugin")
}

gavel_plugin::export!(reward, name = "wants-clock", capabilities = &["clock"]);
