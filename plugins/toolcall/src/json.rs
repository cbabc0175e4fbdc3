//! Calls read straight from JSON text: the objects around the arguments (a call's `name`,
//! `arguments`, `function`, `tool_calls`) are taken apart while they are read, instead of being
//! built as JSON trees first and then taken apart. Same results as decoding to a
//! [`Value`] and reading it with [`Call::from_json`]; a property test holds the two together.

use std::borrow::Cow;
use std::fmt;

use gavel_plugin::serde_json::{self, Value};
use serde::de::{self, Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use crate::call::{Call, kind};

/// The calls of a JSON text: `{"tool_calls": [...]}`, a list of calls, or one call. `Err`
/// only when the text is not JSON; a call that is malformed is the inner `Err`.
pub fn calls(text: &str) -> Result<Result<Vec<Call>, String>, serde_json::Error> {
    serde_json::from_str::<Calls>(text).map(|Calls(calls)| calls)
}

/// The calls of a whole JSON text (the top level, where `tool_calls` has its meaning).
struct Calls(Result<Vec<Call>, String>);

/// One place where a call is expected: the call, or why it is not one.
struct Item(Result<Call, String>);

impl<'de> Deserialize<'de> for Calls {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(CallVisitor { top: true }).map(|found| match found {
            Found::Calls(calls) => Calls(calls),
            Found::Call(call) => Calls(call.map(|call| vec![call])),
        })
    }
}

impl<'de> Deserialize<'de> for Item {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(CallVisitor { top: false }).map(|found| match found {
            Found::Call(call) => Item(call),
            Found::Calls(_) => unreachable!("lists and tool_calls are read at the top level only"),
        })
    }
}

/// What a visitor found: several calls (a top-level list or `tool_calls`) or one.
enum Found {
    Calls(Result<Vec<Call>, String>),
    Call(Result<Call, String>),
}

struct CallVisitor {
    /// At the top level a list is a list of calls and `tool_calls` is read; inside, neither.
    top: bool,
}

impl CallVisitor {
    fn wrong(kind: &str) -> Found {
        Found::Call(Err(format!("a call must be a JSON object, got {kind}")))
    }
}

/// A visitor's `visit_*` for the JSON scalars other than null: each is the wrong kind of value,
/// named as [`kind`] names it, for the visitor's `wrong`.
macro_rules! scalars_are_wrong {
    ($found:ty) => {
        fn visit_bool<E>(self, _: bool) -> Result<$found, E> {
            Ok(Self::wrong(kind(&Value::Bool(false))))
        }
        fn visit_i64<E>(self, _: i64) -> Result<$found, E> {
            Ok(Self::wrong(kind(&Value::from(0))))
        }
        fn visit_u64<E>(self, _: u64) -> Result<$found, E> {
            Ok(Self::wrong(kind(&Value::from(0))))
        }
        fn visit_f64<E>(self, _: f64) -> Result<$found, E> {
            Ok(Self::wrong(kind(&Value::from(0))))
        }
        fn visit_str<E>(self, _: &str) -> Result<$found, E> {
            Ok(Self::wrong(kind(&Value::String(String::new()))))
        }
    };
}

impl<'de> Visitor<'de> for CallVisitor {
    type Value = Found;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("JSON")
    }

    scalars_are_wrong!(Found);

    fn visit_unit<E>(self) -> Result<Found, E> {
        Ok(Self::wrong(kind(&Value::Null)))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Found, A::Error> {
        if !self.top {
            while seq.next_element::<IgnoredAny>()?.is_some() {}
            return Ok(Self::wrong(kind(&Value::Array(Vec::new()))));
        }
        items(seq).map(Found::Calls)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Found, A::Error> {
        let mut fields = Fields::default();
        while let Some(Key(key)) = map.next_key::<Key>()? {
            let slot = match &*key {
                "name" => &mut fields.name,
                "arguments" => &mut fields.arguments,
                "parameters" => &mut fields.parameters,
                "function" => {
                    fields.function = Some(map.next_value::<Item>()?.0);
                    continue;
                }
                "tool_calls" if self.top => {
                    fields.tool_calls = Some(map.next_value::<ToolCalls>()?.0);
                    continue;
                }
                _ => {
                    let value = map.next_value::<Value>()?;
                    // A repeated key keeps its last value, as a JSON object does.
                    match fields.other.iter_mut().find(|(k, _)| **k == *key) {
                        Some((_, old)) => *old = value,
                        None => fields.other.push((key.into_owned(), value)),
                    }
                    continue;
                }
            };
            *slot = Some(map.next_value::<Value>()?);
        }
        Ok(match fields.tool_calls.take() {
            Some(tool_calls) => Found::Calls(tool_calls),
            None => Found::Call(fields.into_call()),
        })
    }
}

/// The keys of a call object that mean something, and the rest.
#[derive(Default)]
struct Fields {
    name: Option<Value>,
    arguments: Option<Value>,
    parameters: Option<Value>,
    function: Option<Result<Call, String>>,
    tool_calls: Option<Result<Vec<Call>, String>>,
    other: Vec<(String, Value)>,
}

impl Fields {
    /// [`Call::from_json`]'s reading of the object these fields came from.
    fn into_call(self) -> Result<Call, String> {
        if let Some(function) = self.function {
            return function;
        }
        if let Some(name) = self.name {
            return Call::named(name, self.arguments.or(self.parameters));
        }
        let known = [("arguments", self.arguments), ("parameters", self.parameters)];
        Call::decoded(
            known
                .into_iter()
                .filter_map(|(key, value)| Some((key.to_owned(), value?)))
                .chain(self.other),
        )
    }
}

/// The value of a top-level `tool_calls`: a list of calls, or null for none.
struct ToolCalls(Result<Vec<Call>, String>);

impl<'de> Deserialize<'de> for ToolCalls {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct ToolCallsVisitor;
        impl ToolCallsVisitor {
            fn wrong(kind: &str) -> ToolCalls {
                ToolCalls(Err(format!("tool_calls must be a list, got {kind}")))
            }
        }
        impl<'de> Visitor<'de> for ToolCallsVisitor {
            type Value = ToolCalls;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("JSON")
            }
            scalars_are_wrong!(ToolCalls);
            fn visit_unit<E>(self) -> Result<ToolCalls, E> {
                Ok(ToolCalls(Ok(Vec::new())))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<ToolCalls, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(Self::wrong(kind(&Value::Object(Default::default()))))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<ToolCalls, A::Error> {
                items(seq).map(ToolCalls)
            }
        }
        d.deserialize_any(ToolCallsVisitor)
    }
}

/// Every item of a list of calls is read (the text must be JSON to the end); the first that is
/// not a call is the error.
fn items<'de, A: SeqAccess<'de>>(mut seq: A) -> Result<Result<Vec<Call>, String>, A::Error> {
    let mut calls = Ok(Vec::new());
    while let Some(Item(item)) = seq.next_element::<Item>()? {
        if let Ok(list) = &mut calls {
            match item {
                Ok(call) => list.push(call),
                Err(why) => calls = Err(why),
            }
        }
    }
    Ok(calls)
}

/// An object key, borrowed from the text when it has no escapes.
struct Key<'de>(Cow<'de, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object key")
            }
            fn visit_borrowed_str<E: de::Error>(self, key: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(key)))
            }
            fn visit_str<E: de::Error>(self, key: &str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(key.to_owned())))
            }
            fn visit_string<E: de::Error>(self, key: String) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(key)))
            }
        }
        d.deserialize_str(KeyVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The reading this module replaces: decode to a tree, then take it apart.
    fn via_tree(text: &str) -> Option<Result<Vec<Call>, String>> {
        let value = serde_json::from_str::<Value>(text).ok()?;
        Some(match value {
            Value::Object(mut obj) if obj.contains_key("tool_calls") => {
                match obj.remove("tool_calls").expect("present") {
                    Value::Array(items) => items.into_iter().map(Call::from_json).collect(),
                    Value::Null => Ok(Vec::new()),
                    other => Err(format!("tool_calls must be a list, got {}", kind(&other))),
                }
            }
            Value::Array(items) => items.into_iter().map(Call::from_json).collect(),
            other => Call::from_json(other).map(|call| vec![call]),
        })
    }

    #[test]
    fn the_shapes_of_calls() {
        for text in [
            r#"{"name": "f", "arguments": {"a": 1}}"#,
            r#"{"name": "f", "parameters": {"a": 1}, "arguments": null}"#,
            r#"{"name": "f", "arguments": "{\"a\": [1, 2]}"}"#,
            r#"{"name": "f", "arguments": "[1]"}"#,
            r#"{"name": "f", "arguments": "{oops"}"#,
            r#"{"name": 3}"#,
            r#"{"name": "f", "arguments": 3}"#,
            r#"[{"name": "f"}, {"g": {"b": "x"}}, {"type": "function", "function": {"name": "h"}}]"#,
            r#"[{"name": "f"}, 3, "x", [1], null, true, {"a": 1, "b": 2}]"#,
            r#"{"tool_calls": [{"function": {"name": "f", "arguments": "{}"}}], "name": "g"}"#,
            r#"{"tool_calls": null}"#,
            r#"{"tool_calls": 3}"#,
            r#"{"tool_calls": {"a": [1]}}"#,
            r#"{"tool_calls": [{"function": 3}, {"name": "f"}]}"#,
            r#"{"function": {"function": {"name": "f"}}, "name": 3}"#,
            r#"{"function": {"name": "f"}, "function": {"name": "g"}}"#,
            r#"{"arguments": {"a": 1}}"#,
            r#"{"parameters": 1}"#,
            r#"{"f": {"a": 1}, "f": {"a": 2}}"#,
            r#"{"f": {"a": 1}, "g": {}}"#,
            r#"{"na\u006de": "f", "arguments": {"k\"": "v"}}"#,
            r#"{}"#,
            r#"[]"#,
            r#"[[{"name": "f"}]]"#,
            r#""f""#,
            r#"{"name": "f"} trailing"#,
            r#"{"name": "f""#,
        ] {
            assert_eq!(calls(text).ok(), via_tree(text), "{text}");
        }
    }

    fn json_text() -> impl proptest::strategy::Strategy<Value = String> {
        use proptest::prelude::*;
        let key = prop_oneof![
            Just("name".to_owned()),
            Just("arguments".to_owned()),
            Just("parameters".to_owned()),
            Just("function".to_owned()),
            Just("tool_calls".to_owned()),
            "[a-c]",
        ];
        let leaf = prop_oneof![
            Just("null".to_owned()),
            Just("true".to_owned()),
            "-?[0-9]{1,3}(\\.[0-9])?",
            "\"[a-c]{0,2}\"",
            Just(r#""{\"a\": 1}""#.to_owned()),
        ];
        leaf.prop_recursive(4, 32, 4, move |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..4)
                    .prop_map(|items| format!("[{}]", items.join(", "))),
                proptest::collection::vec((key.clone(), inner), 0..4).prop_map(|entries| {
                    let body: Vec<String> =
                        entries.iter().map(|(k, v)| format!("\"{k}\": {v}")).collect();
                    format!("{{{}}}", body.join(", "))
                }),
            ]
        })
    }

    proptest::proptest! {
        /// On any JSON built from the keys that mean something, reading straight from the text
        /// gives what decoding to a tree and taking it apart gives.
        #[test]
        fn reading_the_text_is_reading_the_tree(text in json_text()) {
            proptest::prop_assert_eq!(calls(&text).ok(), via_tree(&text), "{}", text);
        }
    }
}
