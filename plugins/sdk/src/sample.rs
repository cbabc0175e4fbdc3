//! The sample a plugin function receives.

use crate::bindings::gavel::reward::types as wit;

/// One rollout to score, with its reference already parsed.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// The prompt the policy model saw (may be empty).
    pub prompt: String,
    /// The completion being rewarded.
    pub completion: String,
    /// The reference (ground truth); `Value::Null` when the sample has none.
    pub reference: serde_json::Value,
    /// The task or data-source name, when the trainer gave one.
    pub task: Option<String>,
    /// The GRPO group of this rollout, when the trainer gave one.
    pub group: Option<String>,
}

impl Sample {
    /// A sample with just a completion and a reference, as plugin unit tests need.
    pub fn new(completion: impl Into<String>, reference: serde_json::Value) -> Self {
        Self {
            prompt: String::new(),
            completion: completion.into(),
            reference,
            task: None,
            group: None,
        }
    }

    /// The string at `reference[key]`, or the reference itself when it is a bare string
    /// and `key` is absent from it. Numbers are given in their JSON spelling.
    pub fn reference_str(&self, key: &str) -> Option<String> {
        match &self.reference {
            serde_json::Value::String(s) => Some(s.clone()),
            serde_json::Value::Object(map) => match map.get(key)? {
                serde_json::Value::String(s) => Some(s.clone()),
                serde_json::Value::Number(n) => Some(n.to_string()),
                _ => None,
            },
            _ => None,
        }
    }
}

impl TryFrom<wit::Sample> for Sample {
    type Error = String;

    fn try_from(raw: wit::Sample) -> Result<Self, String> {
        let reference = if raw.reference.trim().is_empty() {
            serde_json::Value::Null
        } else {
            serde_json::from_str(&raw.reference)
                .map_err(|e| format!("reference is not valid JSON: {e}"))?
        };
        Ok(Self {
            prompt: raw.prompt,
            completion: raw.completion,
            reference,
            task: raw.task,
            group: raw.group,
        })
    }
}
