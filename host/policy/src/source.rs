//! Sources: where a policy's values come from.
//!
//! A source scores a batch of samples and gives, per sample, a typed value (a scalar, a bool,
//! step scores, ensemble scores) with named components, or the typed outcome that stopped it.
//! The evaluator sees only the [`Source`] trait; each `kind` of source in a policy file is built
//! by a factory registered in [`SourceKinds`]. This crate registers `wasm` (a sandboxed plugin)
//! and `field` (a value the trainer put in the sample); native verifiers (the SWE test runner,
//! the PRM) register their own kinds the same way, without touching the evaluator.

use std::collections::BTreeMap;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;

use gavel_core::{ErrorKind, Outcome, Sample};
use gavel_host::{Host, LoadOptions, Plugin, PluginSource};
use gavel_sandbox::{Grants, WasmLimits};

use crate::value::{Type, Value};

/// A boxed, sendable future.
pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// What a source gave for one sample.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceOutput {
    /// The value, of the source's declared type.
    pub value: Value,
    /// Named parts (a plugin's components), reachable in policies as `source.part`.
    pub components: Vec<(String, f64)>,
    /// The source's explanation, when it gave one.
    pub explanation: Option<String>,
}

/// A value, or the typed outcome (not applicable, invalid, timeout, error) that stopped it.
pub type SourceResult = Result<SourceOutput, Outcome>;

/// A producer of values for samples.
pub trait Source: Send + Sync + 'static {
    /// The type of the values it produces.
    fn output(&self) -> Type;

    /// One line for `gavel check`'s plan.
    fn describe(&self) -> String;

    /// Scores a batch: one result per sample, in order. Failures are results, not panics.
    fn score(self: Arc<Self>, samples: Vec<Sample>) -> BoxFuture<Vec<SourceResult>>;
}

/// One `[sources.<name>]` table of a policy file, for a factory to read.
pub struct SourceSpec<'a> {
    /// The source's name.
    pub name: &'a str,
    /// Its keys, less `kind` and `on_error` (which the policy reads itself).
    pub table: &'a toml::Table,
    /// The policy file's directory, against which relative paths resolve.
    pub base_dir: &'a Path,
}

impl<'a> SourceSpec<'a> {
    /// Refuses a key not in `known`, naming it and the keys there are.
    pub fn refuse_unknown_keys(&self, known: &[&str]) -> Result<(), String> {
        match self.table.keys().find(|k| !known.contains(&k.as_str())) {
            Some(key) => {
                Err(format!("unknown key `{key}` (expected one of: {})", known.join(", ")))
            }
            None => Ok(()),
        }
    }

    /// The string at `key`, if the key is there; any other type is an error naming the key.
    pub fn string(&self, key: &str) -> Result<Option<&'a str>, String> {
        match self.table.get(key) {
            None => Ok(None),
            Some(toml::Value::String(s)) => Ok(Some(s)),
            Some(other) => Err(format!("`{key}` must be a string, got {}", other.type_str())),
        }
    }
}

/// Builds a source from its table; the error says what is wrong with it.
pub type SourceFactory = Box<dyn Fn(&SourceSpec) -> Result<Arc<dyn Source>, String> + Send + Sync>;

/// The source kinds a policy may use, by name.
#[derive(Default)]
pub struct SourceKinds {
    kinds: BTreeMap<String, SourceFactory>,
}

impl SourceKinds {
    /// No kinds.
    pub fn new() -> Self {
        Self::default()
    }

    /// `wasm` (plugins on `host`) and `field` (values from the sample).
    pub fn standard(host: Host) -> Self {
        let mut kinds = Self::new();
        kinds.register("wasm", Box::new(move |spec| WasmSource::build(&host, spec)));
        kinds.register("field", Box::new(FieldSource::build));
        kinds
    }

    /// Adds (or replaces) a kind.
    pub fn register(&mut self, kind: &str, factory: SourceFactory) {
        self.kinds.insert(kind.to_owned(), factory);
    }

    /// Builds a source of `kind`.
    pub fn build(&self, kind: &str, spec: &SourceSpec) -> Result<Arc<dyn Source>, String> {
        match self.kinds.get(kind) {
            Some(factory) => factory(spec),
            None => Err(format!(
                "unknown kind {kind:?} (this build has: {})",
                self.kinds.keys().cloned().collect::<Vec<_>>().join(", ")
            )),
        }
    }
}

/// A WASM reward plugin: `plugin` (a bundled name or a `.wasm` path), `config`, `limits`,
/// `output` (`scalar`, default, or `bool`: the reward must then be exactly 0 or 1), and what the
/// operator allows it: `sha256` (the pin), `contract` (the version it must speak), `grant`
/// (capabilities) and `seed` (of the `random` capability).
pub struct WasmSource {
    host: Host,
    plugin: Arc<Plugin>,
    config: serde_json::Value,
    output: Type,
    label: String,
}

impl WasmSource {
    fn build(host: &Host, spec: &SourceSpec) -> Result<Arc<dyn Source>, String> {
        spec.refuse_unknown_keys(&[
            "plugin", "sha256", "contract", "grant", "seed", "config", "limits", "output",
        ])?;
        let Some(name) = spec.string("plugin")? else {
            return Err("a wasm source needs `plugin` (a bundled name or a .wasm path)".into());
        };
        let output = match spec.string("output")? {
            None | Some("scalar") => Type::Scalar,
            Some("bool") => Type::Bool,
            Some(other) => {
                return Err(format!("`output` of a wasm source is scalar or bool, not {other:?}"));
            }
        };
        let to_json = |key: &str| -> Result<serde_json::Value, String> {
            match spec.table.get(key) {
                None => Ok(serde_json::json!({})),
                Some(toml::Value::Table(t)) => {
                    serde_json::to_value(t).map_err(|e| format!("`{key}`: {e}"))
                }
                Some(other) => Err(format!("`{key}` must be a table, got {}", other.type_str())),
            }
        };
        let config = to_json("config")?;
        let limits: WasmLimits =
            serde_json::from_value(to_json("limits")?).map_err(|e| format!("`limits`: {e}"))?;
        let source = match gavel_bundled::find(name) {
            Some(bundled) => PluginSource::bytes(bundled.name, bundled.wasm),
            None if name.ends_with(".wasm") || name.contains('/') => {
                let path: PathBuf = spec.base_dir.join(name);
                if !path.is_file() {
                    return Err(format!("plugin file {} does not exist", path.display()));
                }
                PluginSource::file(path)
            }
            None => {
                let names: Vec<&str> = gavel_bundled::PLUGINS.iter().map(|p| p.name).collect();
                return Err(format!(
                    "no bundled plugin {name:?} (bundled: {}; a file path must end in .wasm)",
                    names.join(", ")
                ));
            }
        };
        let options = LoadOptions {
            limits,
            sha256: spec.string("sha256")?.map(str::to_owned),
            grants: grants(spec)?,
            contract: spec.string("contract")?.map(str::to_owned),
        };
        let plugin = host.load_with(source, &options).map_err(|e| e.to_string())?;
        host.check_config(&plugin, &config).map_err(|e| e.to_string())?;
        let label = format!("wasm plugin {} {}", plugin.info().name, plugin.info().version);
        Ok(Arc::new(Self { host: host.clone(), plugin, config, output, label }))
    }
}

/// `grant = ["clock", ...]` and `seed = N`: the capabilities the operator grants the plugin.
fn grants(spec: &SourceSpec) -> Result<Grants, String> {
    let mut grants = match spec.table.get("grant") {
        None => Grants::default(),
        Some(toml::Value::Array(names)) => {
            let names = names
                .iter()
                .map(|n| n.as_str().ok_or("`grant` must be a list of capability names"))
                .collect::<Result<Vec<_>, _>>()?;
            Grants::parse(names).map_err(|e| format!("`grant`: {e}"))?
        }
        Some(other) => {
            return Err(format!(
                "`grant` must be a list of capability names, got {}",
                other.type_str()
            ));
        }
    };
    match spec.table.get("seed") {
        None => {}
        Some(toml::Value::Integer(seed)) if *seed >= 0 => grants.seed = *seed as u64,
        Some(other) => return Err(format!("`seed` must be a non-negative integer, got {other}")),
    }
    Ok(grants)
}

impl Source for WasmSource {
    fn output(&self) -> Type {
        self.output
    }

    fn describe(&self) -> String {
        self.label.clone()
    }

    fn score(self: Arc<Self>, samples: Vec<Sample>) -> BoxFuture<Vec<SourceResult>> {
        Box::pin(async move {
            let n = samples.len();
            match self.host.score_batch(&self.plugin, samples, &self.config).await {
                Ok(outcomes) => outcomes.into_iter().map(|o| self.read(o)).collect(),
                Err(e) => vec![Err(Outcome::error(ErrorKind::Capacity, e.to_string())); n],
            }
        })
    }
}

impl WasmSource {
    fn read(&self, outcome: Outcome) -> SourceResult {
        let Outcome::Scored(score) = outcome else { return Err(outcome) };
        let value = match self.output {
            Type::Bool if score.value == 0.0 || score.value == 1.0 => {
                Value::Bool(score.value == 1.0)
            }
            Type::Bool => {
                return Err(Outcome::error(
                    ErrorKind::MalformedOutput,
                    format!("a bool source returned {}, not 0 or 1", score.value),
                ));
            }
            _ => Value::Scalar(score.value),
        };
        Ok(SourceOutput { value, components: score.components, explanation: score.explanation })
    }
}

/// A value the trainer put in the sample: `path` is `meta.<key>[.<key>…]` or
/// `reference.<key>…`; `output` is `scalar`, `bool`, `steps` or `ensemble` (lists of numbers).
/// For PRM step scores or reference-model scores computed elsewhere, and for tests.
pub struct FieldSource {
    root: Root,
    keys: Vec<String>,
    output: Type,
    path: String,
}

enum Root {
    Meta,
    Reference,
}

impl FieldSource {
    #[cfg(test)]
    pub(crate) fn build_for_tests(spec: &SourceSpec) -> Result<Arc<dyn Source>, String> {
        Self::build(spec)
    }

    fn build(spec: &SourceSpec) -> Result<Arc<dyn Source>, String> {
        spec.refuse_unknown_keys(&["path", "output"])?;
        let Some(path) = spec.string("path")? else {
            return Err("a field source needs `path` (meta.<key> or reference.<key>)".into());
        };
        let mut parts = path.split('.');
        let root = match parts.next() {
            Some("meta") => Root::Meta,
            Some("reference") => Root::Reference,
            _ => return Err(format!("`path` must start with meta. or reference., got {path:?}")),
        };
        let keys: Vec<String> = parts.map(str::to_owned).collect();
        if keys.is_empty() || keys.iter().any(String::is_empty) {
            return Err(format!("`path` {path:?} names no key"));
        }
        let output = match spec.string("output")? {
            None => Type::Scalar,
            Some(name) => Type::from_name(name).ok_or_else(|| {
                format!("`output` is scalar, bool, steps or ensemble, not {name:?}")
            })?,
        };
        Ok(Arc::new(Self { root, keys, output, path: path.to_owned() }))
    }

    fn read(&self, sample: &Sample) -> SourceResult {
        let reference;
        let mut at = match self.root {
            Root::Meta => &sample.meta,
            Root::Reference => {
                reference = sample.reference.value();
                &reference
            }
        };
        for key in &self.keys {
            at = match at.get(key) {
                Some(v) if !v.is_null() => v,
                _ => {
                    return Err(Outcome::NotApplicable {
                        reason: Some(format!("{} is absent", self.path)),
                    });
                }
            };
        }
        let wrong = || Outcome::invalid(format!("{} is {at}, not a {}", self.path, self.output));
        let numbers = || -> Option<Vec<f64>> {
            at.as_array()?.iter().map(|x| x.as_f64().filter(|f| f.is_finite())).collect()
        };
        let value = match self.output {
            Type::Scalar => Value::Scalar(at.as_f64().filter(|f| f.is_finite()).ok_or_else(wrong)?),
            Type::Bool => Value::Bool(at.as_bool().ok_or_else(wrong)?),
            Type::Steps => Value::Steps(numbers().ok_or_else(wrong)?),
            Type::Ensemble => Value::Ensemble(numbers().ok_or_else(wrong)?),
            Type::Text => Value::Text(at.as_str().ok_or_else(wrong)?.to_owned()),
        };
        Ok(SourceOutput { value, components: Vec::new(), explanation: None })
    }
}

impl Source for FieldSource {
    fn output(&self) -> Type {
        self.output
    }

    fn describe(&self) -> String {
        format!("field {} ({})", self.path, self.output)
    }

    fn score(self: Arc<Self>, samples: Vec<Sample>) -> BoxFuture<Vec<SourceResult>> {
        Box::pin(async move { samples.iter().map(|s| self.read(s)).collect() })
    }
}
