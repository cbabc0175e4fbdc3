//! The policy file (TOML): reading it, building its sources, and turning every error into
//! `file:line:column: message`.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::AtomicU64;

use serde::Deserialize;
use toml::Spanned;

use crate::advantage::AdvantageSpec;
use crate::check::{self, Origin};
use crate::source::{SourceKinds, SourceSpec};
use crate::syntax::{self, Expr};
use crate::value::{Type, Value};
use crate::{OnError, Policy, SourceSlot};

/// A policy that does not load: where and why.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{file}:{line}:{column}: {message}")]
pub struct PolicyError {
    /// The policy file.
    pub file: String,
    /// 1-based line (0 when the file could not be read).
    pub line: usize,
    /// 1-based column, in characters.
    pub column: usize,
    /// What was wrong.
    pub message: String,
}

/// The version of the policy format this build reads.
const VERSION: i64 = 1;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPolicy {
    version: Spanned<i64>,
    reward: Spanned<String>,
    #[serde(default)]
    terms: BTreeMap<String, Spanned<String>>,
    #[serde(default)]
    sources: BTreeMap<String, Spanned<toml::Table>>,
    #[serde(default)]
    advantage: Option<Spanned<toml::Table>>,
}

struct Errors<'a> {
    text: &'a str,
    file: &'a str,
}

impl Errors<'_> {
    fn at(&self, offset: usize, message: impl Into<String>) -> PolicyError {
        let before = &self.text[..offset.min(self.text.len())];
        let line = before.matches('\n').count() + 1;
        let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        PolicyError { file: self.file.to_owned(), line, column, message: message.into() }
    }

    /// Where the text of a TOML string literal starts (after its quotes, and after the newline
    /// that opens a multi-line string).
    fn content_start(&self, span: std::ops::Range<usize>) -> usize {
        let raw = &self.text[span.start..];
        if raw.starts_with("\"\"\"") || raw.starts_with("'''") {
            let after = span.start + 3;
            if self.text[after..].starts_with('\n') { after + 1 } else { after }
        } else {
            span.start + 1
        }
    }
}

fn is_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

const RESERVED: [&str; 8] = ["task", "step", "true", "false", "if", "then", "else", "not"];

pub(crate) fn load(
    text: &str,
    file: &str,
    base_dir: &Path,
    kinds: &SourceKinds,
) -> Result<Policy, PolicyError> {
    let errors = Errors { text, file };
    let raw: RawPolicy = toml::from_str(text).map_err(|e| {
        let offset = e.span().map_or(0, |s| s.start);
        errors.at(offset, e.message().trim().to_owned())
    })?;
    if *raw.version.get_ref() != VERSION {
        return Err(errors.at(
            raw.version.span().start,
            format!(
                "policy format version {} is not supported (this build reads version {VERSION})",
                raw.version.get_ref()
            ),
        ));
    }

    // Sources, in file order.
    let mut sources: Vec<(&String, &Spanned<toml::Table>)> = raw.sources.iter().collect();
    sources.sort_by_key(|(_, t)| t.span().start);
    let mut slots = Vec::new();
    for (name, table) in sources {
        let at = table.span().start;
        if !is_name(name) || RESERVED.contains(&name.as_str()) {
            return Err(errors.at(
                at,
                format!(
                    "`{name}` cannot name a source (letters, digits and _, not a reserved word)"
                ),
            ));
        }
        let mut table = table.get_ref().clone();
        let kind = match table.remove("kind") {
            Some(toml::Value::String(kind)) => kind,
            Some(other) => {
                return Err(errors.at(
                    at,
                    format!("source `{name}`: `kind` must be a string, got {}", other.type_str()),
                ));
            }
            None => {
                return Err(
                    errors.at(at, format!("source `{name}` has no `kind` (such as \"wasm\")"))
                );
            }
        };
        let on_error_value = table.remove("on_error");
        let spec = SourceSpec { name, table: &table, base_dir };
        let source = kinds
            .build(&kind, &spec)
            .map_err(|m| errors.at(at, format!("source `{name}`: {m}")))?;
        let on_error = match on_error_value {
            None => OnError::Mask,
            Some(v) => on_error(&v, source.output())
                .map_err(|m| errors.at(at, format!("source `{name}`: on_error {m}")))?,
        };
        slots.push(SourceSlot {
            name: name.clone(),
            source,
            on_error,
            calls: AtomicU64::new(0),
            samples: AtomicU64::new(0),
            latency: Default::default(),
        });
    }

    // Terms, in file order, each parsed with its position.
    let mut terms: Vec<(&String, &Spanned<String>)> = raw.terms.iter().collect();
    terms.sort_by_key(|(_, t)| t.span().start);
    let parse = |spanned: &Spanned<String>| -> Result<Expr, PolicyError> {
        syntax::parse(spanned.get_ref()).map_err(|e| {
            errors.at(errors.content_start(spanned.span()) + e.at, format!("syntax: {}", e.message))
        })
    };
    let mut parsed_terms = Vec::new();
    for (name, expr) in &terms {
        let at = expr.span().start;
        if !is_name(name) || RESERVED.contains(&name.as_str()) {
            return Err(errors.at(
                at,
                format!("`{name}` cannot name a term (letters, digits and _, not a reserved word)"),
            ));
        }
        if slots.iter().any(|s| &s.name == *name) {
            return Err(errors.at(at, format!("`{name}` names both a source and a term")));
        }
        parsed_terms.push(((*name).clone(), parse(expr)?));
    }
    let reward = parse(&raw.reward)?;

    let source_types: Vec<(String, Type)> =
        slots.iter().map(|s| (s.name.clone(), s.source.output())).collect();
    let names = check::Names { sources: &source_types, terms: &parsed_terms };
    let checked = check::check(&names, &reward).map_err(|e| {
        let spanned = match e.origin {
            Origin::Reward => &raw.reward,
            Origin::Term(i) => terms[i].1,
        };
        errors.at(errors.content_start(spanned.span()) + e.span.start, e.message)
    })?;

    let advantage = match &raw.advantage {
        None => None,
        Some(table) => {
            let spec = AdvantageSpec::deserialize(toml::Value::Table(table.get_ref().clone()))
                .map_err(|e| {
                    errors.at(table.span().start, format!("[advantage]: {}", e.message().trim()))
                })?;
            if !(spec.eps.is_finite() && spec.eps >= 0.0) {
                return Err(errors.at(
                    table.span().start,
                    format!("[advantage]: eps must be a finite number ≥ 0, got {}", spec.eps),
                ));
            }
            Some(spec)
        }
    };
    Ok(Policy {
        sources: slots,
        term_names: parsed_terms.into_iter().map(|(n, _)| n).collect(),
        checked,
        advantage,
        reward_text: raw.reward.into_inner(),
    })
}

/// Reads `on_error`: `"mask"`, `"drop_group"` or `{ value = x }` of the source's type.
fn on_error(v: &toml::Value, output: Type) -> Result<OnError, String> {
    match v {
        toml::Value::String(s) if s == "mask" => Ok(OnError::Mask),
        toml::Value::String(s) if s == "drop_group" => Ok(OnError::DropGroup),
        toml::Value::Table(t) if t.len() == 1 && t.contains_key("value") => {
            let x = &t["value"];
            let number = |x: &toml::Value| {
                x.as_float().or_else(|| x.as_integer().map(|i| i as f64)).filter(|f| f.is_finite())
            };
            let value = match output {
                Type::Scalar => number(x).map(Value::Scalar),
                Type::Bool => x.as_bool().map(Value::Bool),
                Type::Steps | Type::Ensemble => x
                    .as_array()
                    .and_then(|a| a.iter().map(number).collect::<Option<Vec<f64>>>())
                    .map(|xs| {
                        if output == Type::Steps { Value::Steps(xs) } else { Value::Ensemble(xs) }
                    }),
                Type::Text => x.as_str().map(|s| Value::Text(s.to_owned())),
            };
            value
                .map(OnError::Value)
                .ok_or_else(|| format!("value must be a {output} like the source's, got {x}"))
        }
        other => Err(format!("is \"mask\", \"drop_group\" or {{ value = ... }}, got {other}")),
    }
}
