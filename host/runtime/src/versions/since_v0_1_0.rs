//! `gavel:reward@0.1.0`.

use wasmtime::Store;

use crate::info::PluginInfo;
use crate::state::HostState;

wasmtime::component::bindgen!({
    world: "reward-plugin",
    path: "../../wit/since_v0_1_0",
    // Samples are lowered into the guest straight from the caller's strings, not copied first.
    ownership: Borrowing { duplicate_if_necessary: true },
});

use gavel::reward::types as wit;

/// The contract version.
pub(crate) const VERSION: &str = "0.1.0";
/// The export that marks a component as built against this version.
pub(crate) const EXPORT: &str = "gavel:reward/plugin@0.1.0";

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
        capabilities: Vec::new(),
    })
}

super::score_and_convert!();
