//! The result record: one outcome with its sample's id, as written to JSON lines.

use serde::ser::{Serialize, SerializeMap, Serializer};

use crate::{Outcome, TimeoutKind};

/// One result line: `{"id", "status", "reward", "components", "error"}`, plus `"kind"` for a
/// timeout or error, `"explanation"` when the scorer gave one, and `"advantage"` when a policy
/// computes advantages.
///
/// `reward` is a number only for status `ok`, `null` otherwise; `error` is the message of any
/// non-ok outcome (the reason, for `not_applicable`).
#[derive(Debug, Clone, Copy)]
pub struct Record<'a> {
    /// The sample's id.
    pub id: &'a str,
    /// Its outcome.
    pub outcome: &'a Outcome,
    /// `None`: no advantage stage; `Some(None)`: the sample has none (masked, or no group);
    /// `Some(Some(a))`: its advantage.
    pub advantage: Option<Option<f64>>,
}

impl<'a> Record<'a> {
    /// A record with no advantage stage.
    pub fn new(id: &'a str, outcome: &'a Outcome) -> Self {
        Self { id, outcome, advantage: None }
    }
}

/// The value of one field of a record.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Field<'a> {
    /// Free text: the id, a message, an explanation.
    Text(&'a str),
    /// One of a closed set of names: a status or a failure's kind (worth interning).
    Name(&'static str),
    /// A number.
    Number(f64),
    /// `null`.
    Null,
    /// The components: name to value, in the scorer's order.
    Components(&'a [(String, f64)]),
}

impl<'a> Record<'a> {
    /// The record's fields in order: the one definition of a record's shape, which the JSON
    /// writer and the Python package's dict builder both follow.
    pub fn fields(&self) -> impl Iterator<Item = (&'static str, Field<'a>)> + use<'a> {
        let outcome = self.outcome;
        let optional = |value: Option<&'a str>| value.map_or(Field::Null, Field::Text);
        let components: &'a [(String, f64)] = match outcome {
            Outcome::Scored(score) => &score.components,
            _ => &[],
        };
        let detail = match outcome {
            Outcome::Timeout { kind, .. } => Some((
                "kind",
                Field::Name(match kind {
                    TimeoutKind::Deadline => "deadline",
                    TimeoutKind::Fuel => "fuel",
                }),
            )),
            Outcome::Error { kind, .. } => Some(("kind", Field::Name(kind.as_str()))),
            Outcome::Scored(score) => {
                score.explanation.as_deref().map(|e| ("explanation", Field::Text(e)))
            }
            _ => None,
        };
        let advantage = self.advantage.map(|a| ("advantage", a.map_or(Field::Null, Field::Number)));
        [
            Some(("id", Field::Text(self.id))),
            Some(("status", Field::Name(outcome.status().as_str()))),
            Some(("reward", outcome.reward().map_or(Field::Null, Field::Number))),
            Some(("components", Field::Components(components))),
            Some(("error", optional(outcome.message()))),
            detail,
            advantage,
        ]
        .into_iter()
        .flatten()
    }
}

impl Serialize for Field<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match *self {
            Field::Text(text) => s.serialize_str(text),
            Field::Name(name) => s.serialize_str(name),
            Field::Number(n) => s.serialize_f64(n),
            Field::Null => s.serialize_none(),
            Field::Components(components) => {
                let mut map = s.serialize_map(Some(components.len()))?;
                for (name, value) in components {
                    map.serialize_entry(name, value)?;
                }
                map.end()
            }
        }
    }
}

impl Serialize for Record<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(None)?;
        for (key, field) in self.fields() {
            map.serialize_entry(key, &field)?;
        }
        map.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ErrorKind, Score};
    use serde_json::json;

    fn to_json(outcome: &Outcome) -> serde_json::Value {
        serde_json::to_value(Record::new("a", outcome)).unwrap()
    }

    #[test]
    fn scored_lines_carry_reward_and_components() {
        let outcome = Outcome::Scored(Score {
            value: 1.0,
            components: vec![("match".into(), 1.0)],
            explanation: None,
        });
        assert_eq!(
            to_json(&outcome),
            json!({"id": "a", "status": "ok", "reward": 1.0, "components": {"match": 1.0}, "error": null})
        );
    }

    #[test]
    fn fields_come_in_one_order() {
        let outcome = Outcome::timeout(TimeoutKind::Deadline, "slow");
        let record = Record { id: "a", outcome: &outcome, advantage: Some(None) };
        let keys: Vec<&str> = record.fields().map(|(key, _)| key).collect();
        assert_eq!(keys, ["id", "status", "reward", "components", "error", "kind", "advantage"]);
        assert_eq!(
            serde_json::to_string(&record).unwrap(),
            r#"{"id":"a","status":"timeout","reward":null,"components":{},"error":"slow","kind":"deadline","advantage":null}"#
        );
    }

    #[test]
    fn failures_have_null_reward_and_a_kind() {
        let outcome = Outcome::error(ErrorKind::Panic, "boom");
        assert_eq!(
            to_json(&outcome),
            json!({"id": "a", "status": "error", "reward": null, "components": {}, "error": "boom", "kind": "panic"})
        );
        let outcome = Outcome::timeout(TimeoutKind::Fuel, "out of fuel");
        assert_eq!(to_json(&outcome)["kind"], "fuel");
        assert_eq!(to_json(&outcome)["reward"], serde_json::Value::Null);
    }
}
