//! Write a gavel reward plugin as one plain Rust function and one macro line.
//!
//! ```
//! use gavel_plugin::{Outcome, Sample, Score};
//!
//! /// Rewards completions that mention the reference answer.
//! fn reward(sample: &Sample, _config: &gavel_plugin::NoConfig) -> Outcome {
//!     match sample.reference_str("answer") {
//!         Some(answer) => Score::new(f64::from(u8::from(sample.completion.contains(&answer)))).into(),
//!         None => Outcome::not_applicable("no reference.answer"),
//!     }
//! }
//!
//! gavel_plugin::export!(reward, name = "mentions");
//! ```
//!
//! Build it with `cargo build --release --target wasm32-wasip2`; the `.wasm` file in
//! `target/wasm32-wasip2/release/` is a component that `gavel score --plugin <path>` runs.
//!
//! The SDK turns the batch call of the `gavel:reward` WIT contract into one call of your
//! function per sample, parses the config once per batch into your config type (any
//! `serde::Deserialize` type; reject unknown fields so typos surface as errors), and parses each
//! sample's reference on first use, into a [`serde_json::Value`] ([`Sample::reference`]) or
//! into a typed struct of yours ([`Sample::reference_as`]).
//!
//! What a plugin may not do: read files, open sockets, read the clock or draw random numbers.
//! The host refuses to load a plugin that imports any of those. Use [`HashMap`] (deterministic
//! hashing) or `BTreeMap` rather than `std::collections::HashMap`, whose random seed needs
//! `wasi:random`. A panic is reported to the trainer as an `error` outcome with the panic
//! message, never as a reward of 0.
#![deny(missing_docs)]

use std::hash::{BuildHasherDefault, DefaultHasher};

pub use serde;
pub use serde_json;

pub mod alloc;
mod memcmp;
mod outcome;
mod sample;

pub use alloc::SizeClasses;
pub use outcome::{Outcome, Score};
pub use sample::Sample;

/// The raw WIT bindings of `gavel:reward`. The [`export!`] macro uses them; plugin authors
/// normally never touch them.
#[doc(hidden)]
pub mod bindings {
    wit_bindgen::generate!({
        path: "../../wit/since_v0_2_0",
        world: "reward-plugin",
        pub_export_macro: true,
        export_macro_name: "__export_reward_plugin",
        default_bindings_module: "gavel_plugin::bindings",
    });
}

/// A `HashMap` with deterministic hashing. `std`'s default hasher seeds itself from
/// `wasi:random`, which plugins are not granted.
pub type HashMap<K, V> = std::collections::HashMap<K, V, BuildHasherDefault<DefaultHasher>>;

/// A `HashSet` with deterministic hashing; see [`HashMap`].
pub type HashSet<T> = std::collections::HashSet<T, BuildHasherDefault<DefaultHasher>>;

/// The config type of a plugin that takes no config: accepts `{}` (or `null`) and refuses
/// any key, so a misspelt option is an error rather than silently ignored.
#[derive(Debug, Default, Clone, Copy, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoConfig {}

/// What a plugin says about itself; built by [`export!`] from its arguments and the crate's
/// `Cargo.toml`.
#[doc(hidden)]
pub struct Info {
    pub name: &'static str,
    pub version: &'static str,
    pub description: &'static str,
    pub config_schema: &'static str,
    pub reference_schema: &'static str,
    pub capabilities: &'static [&'static str],
}

impl From<Info> for bindings::exports::gavel::reward::plugin::PluginInfo {
    fn from(info: Info) -> Self {
        Self {
            name: info.name.to_owned(),
            version: info.version.to_owned(),
            description: info.description.to_owned(),
            config_schema: info.config_schema.to_owned(),
            reference_schema: info.reference_schema.to_owned(),
            capabilities: info.capabilities.iter().map(|c| (*c).to_owned()).collect(),
        }
    }
}

/// Runs `reward` over one batch: the body of the `score` export that [`export!`] generates.
#[doc(hidden)]
pub fn score_batch<C: serde::de::DeserializeOwned>(
    reward: impl Fn(&Sample, &C) -> Outcome,
    config: &str,
    samples: Vec<bindings::gavel::reward::types::Sample>,
) -> Result<Vec<bindings::gavel::reward::types::Outcome>, String> {
    let config = parse_config::<C>(config)?;
    Ok(samples
        .into_iter()
        .map(|raw| {
            let sample = Sample::from(raw);
            let outcome = reward(&sample, &config);
            match sample.reference_error() {
                Some(e) => Outcome::Invalid(format!("reference is not valid JSON: {e}")).into(),
                None => outcome.into(),
            }
        })
        .collect())
}

fn parse_config<C: serde::de::DeserializeOwned>(config: &str) -> Result<C, String> {
    let text = if config.trim().is_empty() { "{}" } else { config };
    let value: serde_json::Value =
        serde_json::from_str(text).map_err(|e| format!("config is not valid JSON: {e}"))?;
    let value = if value.is_null() { serde_json::json!({}) } else { value };
    serde_json::from_value(value).map_err(|e| format!("invalid config: {e}"))
}

/// Exports a plain function as a gavel reward plugin.
///
/// The function takes `(&Sample, &Config)` and returns an [`Outcome`] (or anything
/// `Into<Outcome>`, such as a [`Score`] or an `f64`). `Config` is any
/// `serde::Deserialize` type; use [`NoConfig`] when there is none.
///
/// Optional arguments, all string literals: `name` (default: the crate name),
/// `description` (default: the crate's `description`), `config_schema` and
/// `reference_schema` (JSON Schema text; default `{}`, anything).
///
/// ```
/// #[derive(serde::Deserialize, Default)]
/// #[serde(deny_unknown_fields, default)]
/// struct Config {
///     bonus: f64,
/// }
///
/// fn reward(sample: &gavel_plugin::Sample, config: &Config) -> f64 {
///     sample.completion.len().min(1) as f64 + config.bonus
/// }
///
/// gavel_plugin::export!(reward, name = "nonempty", config_schema = r#"{"type":"object"}"#);
/// ```
#[macro_export]
macro_rules! export {
    ($reward:path $(, $key:ident = $value:expr)* $(,)?) => {
        const _: () = {
            struct GavelPlugin;

            impl $crate::bindings::exports::gavel::reward::plugin::Guest for GavelPlugin {
                fn describe() -> $crate::bindings::exports::gavel::reward::plugin::PluginInfo {
                    #[allow(unused_mut)]
                    let mut info = $crate::Info {
                        name: env!("CARGO_PKG_NAME"),
                        version: env!("CARGO_PKG_VERSION"),
                        description: env!("CARGO_PKG_DESCRIPTION"),
                        config_schema: "{}",
                        reference_schema: "{}",
                        capabilities: &[],
                    };
                    $( info.$key = $value; )*
                    info.into()
                }

                fn score(
                    config: String,
                    samples: Vec<$crate::bindings::gavel::reward::types::Sample>,
                ) -> Result<Vec<$crate::bindings::gavel::reward::types::Outcome>, String> {
                    $crate::score_batch(
                        |sample, config| $crate::Outcome::from($reward(sample, config)),
                        &config,
                        samples,
                    )
                }
            }

            // Only wasm builds export the contract's symbols; their names (with `:` and `@`)
            // are not valid for native linkers, and a native build only type-checks the plugin
            // and runs its unit tests.
            #[cfg(target_arch = "wasm32")]
            $crate::bindings::__export_reward_plugin!(GavelPlugin with_types_in $crate::bindings);
            // Natively, keep the export reachable so the plugin function is not dead code.
            #[cfg(not(target_arch = "wasm32"))]
            #[allow(dead_code)]
            fn keep_export() {
                let _ = <GavelPlugin as $crate::bindings::exports::gavel::reward::plugin::Guest>::score;
            }
        };
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize, Default)]
    #[serde(deny_unknown_fields, default)]
    struct Strict {
        bonus: f64,
    }

    #[test]
    fn empty_and_null_configs_mean_defaults() {
        assert_eq!(parse_config::<Strict>("").unwrap().bonus, 0.0);
        assert_eq!(parse_config::<Strict>("null").unwrap().bonus, 0.0);
        assert_eq!(parse_config::<Strict>(r#"{"bonus": 2}"#).unwrap().bonus, 2.0);
    }

    #[test]
    fn config_errors_name_the_problem() {
        let err = parse_config::<Strict>(r#"{"bonsu": 1}"#).err().unwrap();
        assert!(err.contains("bonsu"), "{err}");
        let err = parse_config::<NoConfig>("{not json").err().unwrap();
        assert!(err.starts_with("config is not valid JSON"), "{err}");
    }
}
