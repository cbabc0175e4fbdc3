//! The sample a plugin function receives.

use std::cell::OnceCell;

use crate::bindings::gavel::reward::types as wit;

/// One rollout to score.
///
/// The reference arrives as JSON text and is parsed on first use: [`Sample::reference`] gives
/// it as a [`serde_json::Value`], [`Sample::reference_as`] straight into a typed (and possibly
/// borrowing) struct, which is much faster for large references. A reference that is not valid
/// JSON makes the sample `invalid`, whatever the plugin returned.
#[derive(Debug, Clone)]
pub struct Sample {
    /// The prompt the policy model saw (may be empty).
    pub prompt: String,
    /// The completion being rewarded.
    pub completion: String,
    /// The task or data-source name, when the trainer gave one.
    pub task: Option<String>,
    /// The GRPO group of this rollout, when the trainer gave one.
    pub group: Option<String>,
    reference_json: String,
    reference: OnceCell<Result<serde_json::Value, String>>,
}

impl Sample {
    /// A sample with just a completion and a reference, as plugin unit tests need.
    pub fn new(completion: impl Into<String>, reference: serde_json::Value) -> Self {
        let reference_json =
            if reference.is_null() { String::new() } else { reference.to_string() };
        Self {
            prompt: String::new(),
            completion: completion.into(),
            task: None,
            group: None,
            reference_json,
            reference: OnceCell::from(Ok(reference)),
        }
    }

    /// The reference (ground truth); `Value::Null` when the sample has none (or when its text
    /// is not JSON, which the SDK then reports as an invalid sample).
    pub fn reference(&self) -> &serde_json::Value {
        static NULL: serde_json::Value = serde_json::Value::Null;
        let parsed = self.reference.get_or_init(|| {
            if self.reference_json.trim().is_empty() {
                return Ok(serde_json::Value::Null);
            }
            serde_json::from_str(&self.reference_json).map_err(|e| e.to_string())
        });
        parsed.as_ref().unwrap_or(&NULL)
    }

    /// The reference's JSON text (empty when the sample has none).
    pub fn reference_json(&self) -> &str {
        &self.reference_json
    }

    /// The reference parsed straight into `T`, which may borrow strings from the text.
    /// The error names what did not fit.
    pub fn reference_as<'a, T: serde::Deserialize<'a>>(&'a self) -> Result<T, String> {
        serde_json::from_str(&self.reference_json).map_err(|e| format!("reference: {e}"))
    }

    /// Why the reference text is not JSON, once [`Sample::reference`] has tried to parse it.
    pub(crate) fn reference_error(&self) -> Option<&str> {
        self.reference.get().and_then(|r| r.as_ref().err()).map(String::as_str)
    }

    /// The string at `reference[key]`, or the reference itself when it is a bare string
    /// and `key` is absent from it. Numbers are given in their JSON spelling.
    pub fn reference_str(&self, key: &str) -> Option<String> {
        match self.reference() {
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

impl From<wit::Sample> for Sample {
    fn from(raw: wit::Sample) -> Self {
        Self {
            prompt: raw.prompt,
            completion: raw.completion,
            task: raw.task,
            group: raw.group,
            reference_json: raw.reference,
            reference: OnceCell::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(reference: &str) -> Sample {
        Sample::from(wit::Sample {
            prompt: String::new(),
            completion: String::new(),
            reference: reference.to_owned(),
            task: None,
            group: None,
        })
    }

    #[test]
    fn reference_is_parsed_on_first_use() {
        let sample = raw(r#"{"answer": "42", "n": 7}"#);
        assert_eq!(sample.reference_str("answer").as_deref(), Some("42"));
        assert_eq!(sample.reference_str("n").as_deref(), Some("7"));
        #[derive(serde::Deserialize)]
        struct Typed<'a> {
            answer: &'a str,
        }
        assert_eq!(sample.reference_as::<Typed>().unwrap().answer, "42");
        assert!(raw("").reference().is_null());
        let broken = raw("{oops");
        assert!(broken.reference().is_null());
        assert!(broken.reference_error().is_some());
    }
}
