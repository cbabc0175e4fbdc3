//! A sample's reference, kept as JSON text.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::value::RawValue;

/// The reference (ground truth) of a sample: any JSON, kept as the text it arrived in.
///
/// Plugins receive the reference as JSON text, so keeping the text means a sample read from a
/// JSON line crosses into a plugin without being parsed into a tree and serialised again (for
/// a 1 KB BFCL reference that round trip cost more than the plugin call itself). `null` and an
/// absent reference are the same.
#[derive(Clone, Default)]
pub struct Reference(Option<Box<RawValue>>);

impl Reference {
    /// No reference.
    pub const NONE: Reference = Reference(None);

    /// A reference from JSON text, kept as it is; an error when the text is not one JSON value.
    pub fn from_json(text: String) -> Result<Self, serde_json::Error> {
        let raw = RawValue::from_string(text)?;
        Ok(Reference(if raw.get() == "null" { None } else { Some(raw) }))
    }

    /// The reference as JSON text (`null` when there is none).
    pub fn json(&self) -> &str {
        self.0.as_deref().map_or("null", RawValue::get)
    }

    /// Whether the sample has no reference.
    pub fn is_null(&self) -> bool {
        self.0.is_none()
    }

    /// The reference parsed into a JSON tree.
    pub fn value(&self) -> serde_json::Value {
        match &self.0 {
            Some(raw) => serde_json::from_str(raw.get()).expect("a RawValue holds valid JSON"),
            None => serde_json::Value::Null,
        }
    }
}

impl From<serde_json::Value> for Reference {
    fn from(value: serde_json::Value) -> Self {
        if value.is_null() {
            return Reference(None);
        }
        Reference(Some(serde_json::value::to_raw_value(&value).expect("a Value serialises")))
    }
}

impl PartialEq for Reference {
    /// Equal when the JSON values are equal (whitespace and key order aside).
    fn eq(&self, other: &Self) -> bool {
        self.json() == other.json() || self.value() == other.value()
    }
}

impl fmt::Debug for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.json())
    }
}

impl<'de> Deserialize<'de> for Reference {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = Box::<RawValue>::deserialize(d)?;
        Ok(Reference(if raw.get() == "null" { None } else { Some(raw) }))
    }
}

impl Serialize for Reference {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match &self.0 {
            Some(raw) => raw.serialize(s),
            None => s.serialize_unit(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn text_is_kept_and_null_is_none() {
        let r: Reference = serde_json::from_str(r#"{"answer":  "42"}"#).unwrap();
        assert_eq!(r.json(), r#"{"answer":  "42"}"#);
        assert_eq!(r.value(), json!({"answer": "42"}));
        assert_eq!(r, Reference::from(json!({"answer": "42"})));
        assert!(serde_json::from_str::<Reference>("null").unwrap().is_null());
        assert!(Reference::from(serde_json::Value::Null).is_null());
        assert_eq!(Reference::default().json(), "null");
    }
}
