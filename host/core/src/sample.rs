//! The sample: one rollout to score, as trainers hand it over.

use serde::{Deserialize, Deserializer};

use crate::Reference;

/// One rollout to score. Only `id` and `completion` are required.
///
/// As a JSON line: `{"id": "a", "prompt": "...", "completion": "...", "reference": <any JSON>,
/// "task": "...", "group": "..."}`. An `id` may also be given as a number. Unknown keys are
/// refused (a misspelt `reference` would otherwise silently score as "no reference"); put
/// free-form data under `meta`, which gavel ignores.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sample {
    /// The caller's identifier, echoed in the result.
    #[serde(deserialize_with = "string_or_number")]
    pub id: String,
    /// The prompt the policy model saw.
    #[serde(default)]
    pub prompt: String,
    /// The completion being rewarded.
    pub completion: String,
    /// The reference (ground truth), any JSON; `null` when absent.
    #[serde(default)]
    pub reference: Reference,
    /// The task or data-source name.
    #[serde(default)]
    pub task: Option<String>,
    /// The GRPO group of this rollout.
    #[serde(default)]
    pub group: Option<String>,
    /// Free-form data carried along and ignored.
    #[serde(default)]
    pub meta: serde_json::Value,
}

/// Why a JSON line is not a sample.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct SampleError {
    /// What was wrong, naming the field where one is to blame.
    pub message: String,
    /// The `id` of the line, when it could be read.
    pub id: Option<String>,
}

impl Sample {
    /// A sample with just an id and a completion.
    pub fn new(id: impl Into<String>, completion: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            prompt: String::new(),
            completion: completion.into(),
            reference: Reference::NONE,
            task: None,
            group: None,
            meta: serde_json::Value::Null,
        }
    }

    /// Sets the reference.
    pub fn with_reference(mut self, reference: impl Into<Reference>) -> Self {
        self.reference = reference.into();
        self
    }

    /// Parses one JSON line. On failure the error still carries the line's `id` when it
    /// has a readable one, so the result line can echo it.
    pub fn from_json_line(line: &str) -> Result<Self, SampleError> {
        serde_json::from_str(line).map_err(|e| SampleError {
            message: e.to_string(),
            id: serde_json::from_str::<serde_json::Value>(line).ok().and_then(|v| {
                match v.get("id")? {
                    serde_json::Value::String(s) => Some(s.clone()),
                    serde_json::Value::Number(n) => Some(n.to_string()),
                    _ => None,
                }
            }),
        })
    }
}

fn string_or_number<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Id {
        Text(String),
        Number(serde_json::Number),
    }
    match Id::deserialize(d) {
        Ok(Id::Text(s)) => Ok(s),
        Ok(Id::Number(n)) => Ok(n.to_string()),
        Err(_) => Err(serde::de::Error::custom("`id` must be a string or a number")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_id_and_completion_are_required() {
        let s = Sample::from_json_line(r#"{"id": 7, "completion": "x"}"#).unwrap();
        assert_eq!(s, Sample::new("7", "x"));
    }

    #[test]
    fn errors_name_the_field_and_keep_the_id() {
        let e = Sample::from_json_line(r#"{"id": "a"}"#).unwrap_err();
        assert!(e.message.contains("completion"), "{e}");
        assert_eq!(e.id.as_deref(), Some("a"));
        let e =
            Sample::from_json_line(r#"{"id": "b", "completion": "", "refrence": 1}"#).unwrap_err();
        assert!(e.message.contains("refrence"), "{e}");
        let e = Sample::from_json_line(r#"{"id": [1], "completion": ""}"#).unwrap_err();
        assert!(e.message.contains("`id`"), "{e}");
        assert_eq!(e.id, None);
    }
}
