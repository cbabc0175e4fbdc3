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

struct Components<'a>(&'a [(String, f64)]);

impl Serialize for Components<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for (name, value) in self.0 {
            map.serialize_entry(name, value)?;
        }
        map.end()
    }
}

impl Serialize for Record<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(None)?;
        map.serialize_entry("id", self.id)?;
        map.serialize_entry("status", self.outcome.status().as_str())?;
        map.serialize_entry("reward", &self.outcome.reward())?;
        let components: &[(String, f64)] = match self.outcome {
            Outcome::Scored(score) => &score.components,
            _ => &[],
        };
        map.serialize_entry("components", &Components(components))?;
        map.serialize_entry("error", &self.outcome.message())?;
        match self.outcome {
            Outcome::Timeout { kind, .. } => map.serialize_entry(
                "kind",
                match kind {
                    TimeoutKind::Deadline => "deadline",
                    TimeoutKind::Fuel => "fuel",
                },
            )?,
            Outcome::Error { kind, .. } => map.serialize_entry("kind", kind.as_str())?,
            Outcome::Scored(score) => {
                if let Some(explanation) = &score.explanation {
                    map.serialize_entry("explanation", explanation)?;
                }
            }
            _ => {}
        }
        if let Some(advantage) = self.advantage {
            map.serialize_entry("advantage", &advantage)?;
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
