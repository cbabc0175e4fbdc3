//! `gavel:reward@0.2.0`: 0.1.0 plus the capabilities a plugin requests.

use wasmtime::Store;

use super::WireSample;
use crate::info::PluginInfo;
use crate::state::HostState;

wasmtime::component::bindgen!({
    world: "reward-plugin",
    path: "../../wit/since_v0_2_0",
});

use gavel::reward::types as wit;

/// The contract version.
pub(crate) const VERSION: &str = "0.2.0";
/// The export that marks a component as built against this version.
pub(crate) const EXPORT: &str = "gavel:reward/plugin@0.2.0";

pub(crate) fn describe(
    pre: &RewardPluginPre<HostState>,
    store: &mut Store<HostState>,
) -> wasmtime::Result<PluginInfo> {
    let plugin = pre.instantiate(&mut *store)?;
    let info = plugin.gavel_reward_plugin().call_describe(&mut *store)?;
    Ok(PluginInfo {
        name: info.name,
        version: info.version,
        description: info.description,
        config_schema: info.config_schema,
        reference_schema: info.reference_schema,
        api_version: VERSION.to_owned(),
        capabilities: info.capabilities,
    })
}

pub(crate) fn score(
    pre: &RewardPluginPre<HostState>,
    store: &mut Store<HostState>,
    config: &str,
    samples: Vec<WireSample<'_>>,
) -> wasmtime::Result<Result<Vec<gavel_core::Outcome>, String>> {
    let samples: Vec<wit::Sample> = samples
        .into_iter()
        .map(|s| wit::Sample {
            prompt: s.prompt.to_owned(),
            completion: s.completion.to_owned(),
            reference: s.reference.to_owned(),
            task: s.task.map(str::to_owned),
            group: s.group.map(str::to_owned),
        })
        .collect();
    let plugin = pre.instantiate(&mut *store)?;
    let result = plugin.gavel_reward_plugin().call_score(&mut *store, config, &samples)?;
    Ok(result.map(|outcomes| outcomes.into_iter().map(into_core).collect()))
}

fn into_core(outcome: wit::Outcome) -> gavel_core::Outcome {
    match outcome {
        wit::Outcome::Scored(score) => gavel_core::Outcome::Scored(gavel_core::Score {
            value: score.value,
            components: score.components.into_iter().map(|c| (c.name, c.value)).collect(),
            explanation: score.explanation,
        }),
        wit::Outcome::NotApplicable(reason) => {
            gavel_core::Outcome::NotApplicable { reason: (!reason.is_empty()).then_some(reason) }
        }
        wit::Outcome::InvalidInput(message) => gavel_core::Outcome::Invalid { message },
    }
}
