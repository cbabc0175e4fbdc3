//! Implements the raw contract wrongly: `score` returns no outcomes whatever it is given.

#[cfg(target_arch = "wasm32")]
use gavel_plugin::bindings::exports::gavel::reward::plugin::{Guest, PluginInfo};
#[cfg(target_arch = "wasm32")]
use gavel_plugin::bindings::gavel::reward::types::{Outcome, Sample};

#[cfg(target_arch = "wasm32")]
struct WrongCount;

#[cfg(target_arch = "wasm32")]
impl Guest for WrongCount {
    fn describe() -> PluginInfo {
        PluginInfo {
            name: "wrong-count".into(),
            version: "0.1.0".into(),
            description: "returns no outcomes".into(),
            config_schema: "{}".into(),
            reference_schema: "{}".into(),
            capabilities: Vec::new(),
        }
    }

    fn score(_config: String, _samples: Vec<Sample>) -> Result<Vec<Outcome>, String> {
        Ok(Vec::new())
    }
}

#[cfg(target_arch = "wasm32")]
gavel_plugin::bindings::__export_reward_plugin!(WrongCount with_types_in gavel_plugin::bindings);
