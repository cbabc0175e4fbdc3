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
        // Read from the text without building the whole reference as a `Value` (a map of owned
        // strings), unless it was built already; text that does not read this way (not JSON,
        // or neither an object nor a string) takes the general path, which also records why.
        if self.reference.get().is_none() {
            let mut text = serde_json::Deserializer::from_str(&self.reference_json);
            if let Ok(found) = serde::de::DeserializeSeed::deserialize(Lookup(key), &mut text)
                && text.end().is_ok()
            {
                return found;
            }
        }
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

/// Reads `reference[key]` (or a bare string reference) from JSON as [`Sample::reference_str`]
/// gives it, skipping every other entry; the last of duplicate keys wins, as in a `Value`.
struct Lookup<'k>(&'k str);

impl<'de> serde::de::DeserializeSeed<'de> for Lookup<'_> {
    type Value = Option<String>;

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> serde::de::Visitor<'de> for Lookup<'_> {
    type Value = Option<String>;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("an object or a string")
    }

    fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<Self::Value, E> {
        Ok(Some(s.to_owned()))
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut found = None;
        while let Some(is_key) = map.next_key_seed(IsKey(self.0))? {
            if is_key {
                found = match map.next_value()? {
                    serde_json::Value::String(s) => Some(s),
                    serde_json::Value::Number(n) => Some(n.to_string()),
                    _ => None,
                };
            } else {
                map.next_value::<serde::de::IgnoredAny>()?;
            }
        }
        Ok(found)
    }
}

/// Whether a map key is the one looked for, read without copying it where it has no escapes.
struct IsKey<'k>(&'k str);

impl<'de> serde::de::DeserializeSeed<'de> for IsKey<'_> {
    type Value = bool;

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<bool, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> serde::de::Visitor<'de> for IsKey<'_> {
    type Value = bool;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a key")
    }

    fn visit_str<E: serde::de::Error>(self, key: &str) -> Result<bool, E> {
        Ok(key == self.0)
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
        let broken = raw(r#"{"answer": "1"} trailing"#);
        assert_eq!(broken.reference_str("answer"), None);
        assert!(broken.reference_error().is_some(), "text that is not JSON is still reported");
    }

    /// JSON texts of references: objects with repeated, escaped and nested entries, bare
    /// strings and other values.
    fn reference_text() -> impl proptest::strategy::Strategy<Value = String> {
        use proptest::prelude::*;
        let key = prop_oneof![Just("answer"), Just("ans\\u0077er"), Just("n"), Just(r#"a\"b"#)];
        let value = prop_oneof![
            Just(r#""42""#),
            Just(r#""\u00e9\n""#),
            Just("7"),
            Just("-1.5e3"),
            Just("null"),
            Just("[1, {\"answer\": \"no\"}]"),
            Just("{\"answer\": \"inner\"}"),
            Just("true"),
        ];
        prop_oneof![
            proptest::collection::vec((key, value), 0..5).prop_map(|entries| {
                let body: Vec<String> =
                    entries.iter().map(|(k, v)| format!("\"{k}\": {v}")).collect();
                format!("{{{}}}", body.join(", "))
            }),
            Just(r#""bare""#.to_owned()),
            Just("12".to_owned()),
            Just("[]".to_owned()),
            Just(String::new()),
        ]
    }

    proptest::proptest! {
        /// Reading one entry from the text gives what the parsed reference gives.
        #[test]
        fn lookup_agrees_with_the_parsed_reference(text in reference_text()) {
            for key in ["answer", "n", "a\"b", "missing"] {
                let parsed = raw(&text);
                parsed.reference();
                proptest::prop_assert_eq!(raw(&text).reference_str(key), parsed.reference_str(key));
            }
        }
    }
}
