//! One module per released version of the `gavel:reward` contract (the Zed pattern).
//!
//! Each `since_vX_Y_Z` module holds the bindings generated from `wit/since_vX_Y_Z` and converts
//! them to and from gavel's version-neutral types. [`PluginPre`] has one variant per version
//! and one method per export, so the rest of the host never sees a versioned type. A new
//! contract version adds a module and a variant; old plugins keep linking.

use wasmtime::Store;
use wasmtime::component::{Component, Linker};

use crate::info::PluginInfo;
use crate::state::HostState;

/// The `score` export and the outcome conversion, the same for every version whose `sample`
/// and `outcome` types have not changed (0.1.0 and 0.2.0): expanded inside a version module,
/// where `wit` and `RewardPluginPre` name that version's bindings.
macro_rules! score_and_convert {
    () => {
        use super::WireSample;

        pub(crate) fn score(
            pre: &RewardPluginPre<HostState>,
            store: &mut Store<HostState>,
            config: &str,
            samples: Vec<WireSample<'_>>,
        ) -> wasmtime::Result<Result<Vec<gavel_core::Outcome>, String>> {
            let samples: Vec<wit::Sample> = samples
                .into_iter()
                .map(|s| wit::Sample {
                    prompt: s.prompt,
                    completion: s.completion,
                    reference: s.reference,
                    task: s.task,
                    group: s.group,
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
                wit::Outcome::NotApplicable(reason) => gavel_core::Outcome::NotApplicable {
                    reason: (!reason.is_empty()).then_some(reason),
                },
                wit::Outcome::InvalidInput(message) => gavel_core::Outcome::Invalid { message },
            }
        }
    };
}
use score_and_convert;

mod since_v0_1_0;
mod since_v0_2_0;

/// The contract versions this host runs, as `gavel:reward/plugin@<version>` export names.
pub(crate) const SUPPORTED: &[&str] = &[since_v0_1_0::EXPORT, since_v0_2_0::EXPORT];

/// A sample as the host hands it to any contract version.
pub(crate) struct WireSample<'a> {
    pub(crate) prompt: &'a str,
    pub(crate) completion: &'a str,
    pub(crate) reference: &'a str,
    pub(crate) task: Option<&'a str>,
    pub(crate) group: Option<&'a str>,
}

/// A plugin linked and type-checked once, ready to instantiate per call.
pub(crate) enum PluginPre {
    V0_1_0(since_v0_1_0::RewardPluginPre<HostState>),
    V0_2_0(since_v0_2_0::RewardPluginPre<HostState>),
}

impl PluginPre {
    /// Links the component against the version it exports; `None` when it exports none that
    /// this host supports.
    pub(crate) fn new(
        linker: &Linker<HostState>,
        component: &Component,
        exports: &[String],
    ) -> Option<wasmtime::Result<Self>> {
        // The newest version a component exports wins.
        if exports.iter().any(|e| e == since_v0_2_0::EXPORT) {
            let pre = linker
                .instantiate_pre(component)
                .and_then(since_v0_2_0::RewardPluginPre::new)
                .map(Self::V0_2_0);
            return Some(pre);
        }
        if exports.iter().any(|e| e == since_v0_1_0::EXPORT) {
            let pre = linker
                .instantiate_pre(component)
                .and_then(since_v0_1_0::RewardPluginPre::new)
                .map(Self::V0_1_0);
            return Some(pre);
        }
        None
    }

    /// Instantiates and calls `describe`.
    pub(crate) fn describe(&self, store: &mut Store<HostState>) -> wasmtime::Result<PluginInfo> {
        match self {
            Self::V0_1_0(pre) => since_v0_1_0::describe(pre, store),
            Self::V0_2_0(pre) => since_v0_2_0::describe(pre, store),
        }
    }

    /// Instantiates and calls `score`. The outer error is a trap or host failure; the inner
    /// one is the plugin rejecting its config.
    pub(crate) fn score(
        &self,
        store: &mut Store<HostState>,
        config: &str,
        samples: Vec<WireSample<'_>>,
    ) -> wasmtime::Result<Result<Vec<gavel_core::Outcome>, String>> {
        match self {
            Self::V0_1_0(pre) => since_v0_1_0::score(pre, store, config, samples),
            Self::V0_2_0(pre) => since_v0_2_0::score(pre, store, config, samples),
        }
    }
}
