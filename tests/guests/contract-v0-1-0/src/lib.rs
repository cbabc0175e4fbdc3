//! A plugin of contract 0.1.0, as built before 0.2.0 existed (plain wit-bindgen against
//! `wit/since_v0_1_0`): the reward is the completion's word count. The compatibility test puts
//! it in one policy beside 0.2.0 plugins. Only the wasm build exports the contract.

/// The reward, natively testable.
pub fn words(completion: &str) -> f64 {
    completion.split_whitespace().count() as f64
}

#[cfg(target_arch = "wasm32")]
mod plugin {
    wit_bindgen::generate!({ world: "reward-plugin", path: "../../../wit/since_v0_1_0" });

    use exports::gavel::reward::plugin::{Guest, Outcome, PluginInfo, Sample};
    use gavel::reward::types::Score;

    struct Words;

    impl Guest for Words {
        fn describe() -> PluginInfo {
            PluginInfo {
                name: "words".into(),
                version: "0.1.0".into(),
                description: "The completion's word count (a contract-0.1.0 test plugin).".into(),
                config_schema: "{}".into(),
                reference_schema: "{}".into(),
            }
        }

        fn score(_config: String, samples: Vec<Sample>) -> Result<Vec<Outcome>, String> {
            Ok(samples
                .iter()
                .map(|s| {
                    Outcome::Scored(Score {
                        value: super::words(&s.completion),
                        components: Vec::new(),
                        explanation: None,
                    })
                })
                .collect())
        }
    }

    export!(Words);
}
