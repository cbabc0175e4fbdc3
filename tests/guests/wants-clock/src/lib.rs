//! A contract-0.2.0 plugin that requests the `clock` capability, which no host grants yet: it
//! must be refused at load, by name. Only the wasm build exports the contract.

#[cfg(target_arch = "wasm32")]
mod plugin {
    wit_bindgen::generate!({ world: "reward-plugin", path: "../../../wit/since_v0_2_0" });

    use exports::gavel::reward::plugin::{Guest, Outcome, PluginInfo, Sample};

    struct WantsClock;

    impl Guest for WantsClock {
        fn describe() -> PluginInfo {
            PluginInfo {
                name: "wants-clock".into(),
                version: "0.1.0".into(),
                description: "Asks for the wall clock.".into(),
                config_schema: "{}".into(),
                reference_schema: "{}".into(),
                capabilities: vec!["clock".into()],
            }
        }

        fn score(_config: String, _samples: Vec<Sample>) -> Result<Vec<Outcome>, String> {
            Err("never called: the host refuses this plugin".into())
        }
    }

    export!(WantsClock);
}
