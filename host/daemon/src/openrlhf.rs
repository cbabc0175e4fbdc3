//! OpenRLHF's remote reward protocol, `POST /get_reward`.
//!
//! ```text
//! request  {"query": ["<prompt + response>", ...], "prompts": ["<prompt>", ...], "labels": [<ground truth>, ...]}
//! response {"rewards": [float, ...], "scores": [float, ...], "extra_logs": {"name": [float, ...]}}
//! ```
//!
//! Each entry becomes a sample: `prompt` is `prompts[i]`; `completion` is `query[i]` with the
//! prompt removed from its start (the whole query when it does not start with the prompt); the
//! reference comes from `labels[i]`: a JSON object (or a string holding one) is the reference
//! as is, any other string or number is `{"answer": label}`, `null` is no reference. `labels`
//! may be omitted. The responses to one prompt in a request form a group (OpenRLHF's
//! `n_samples_per_prompt`), for policies' group-stage terms.
//!
//! The protocol has no way to say "not scored", so a masked sample (not applicable, invalid,
//! timeout, error) reads 0.0 in `rewards` and `scores` and 1.0 in `extra_logs.gavel_masked`;
//! filter on it. Every component of the breakdown is a column of `extra_logs` (0.0 where a
//! sample has none).

use std::collections::{BTreeMap, HashMap};

use gavel_core::{Outcome, Reference, Sample};
use gavel_policy::Scored;
use serde::Deserialize;
use serde_json::Value;

/// The request body.
#[derive(Debug, Deserialize)]
pub struct Request {
    /// Prompt plus response, as decoded by the trainer.
    pub query: Vec<String>,
    /// The prompts.
    #[serde(default)]
    pub prompts: Vec<String>,
    /// The ground truths.
    #[serde(default)]
    pub labels: Vec<Value>,
}

impl Request {
    /// One sample per query; the error says which lengths disagree.
    pub fn samples(&self) -> Result<Vec<Sample>, String> {
        let n = self.query.len();
        if !self.prompts.is_empty() && self.prompts.len() != n {
            return Err(format!("{} prompts for {n} queries", self.prompts.len()));
        }
        if !self.labels.is_empty() && self.labels.len() != n {
            return Err(format!("{} labels for {n} queries", self.labels.len()));
        }
        let mut groups: HashMap<&str, usize> = HashMap::new();
        Ok((0..n)
            .map(|i| {
                let prompt = self.prompts.get(i).map_or("", String::as_str);
                let query = &self.query[i];
                let completion =
                    query.strip_prefix(prompt).filter(|_| !prompt.is_empty()).unwrap_or(query);
                let mut sample = Sample::new(i.to_string(), completion);
                if !self.prompts.is_empty() {
                    let next = groups.len();
                    sample.group = Some(groups.entry(prompt).or_insert(next).to_string());
                }
                sample.prompt = prompt.to_owned();
                sample.reference = self.labels.get(i).map_or(Reference::NONE, reference);
                sample
            })
            .collect())
    }
}

/// A label as a reference.
pub fn reference(label: &Value) -> Reference {
    match label {
        Value::Null => Reference::NONE,
        Value::Object(_) => Reference::from(label.clone()),
        Value::String(s) => match serde_json::from_str::<Value>(s) {
            Ok(parsed @ Value::Object(_)) => Reference::from(parsed),
            _ => Reference::from(serde_json::json!({ "answer": s })),
        },
        other => Reference::from(serde_json::json!({ "answer": other.to_string() })),
    }
}

/// The response body.
pub fn response(scored: &[Scored]) -> Value {
    let n = scored.len();
    let rewards: Vec<f64> = scored.iter().map(|s| s.outcome.reward().unwrap_or(0.0)).collect();
    let mut logs: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    logs.insert(
        "gavel_masked".into(),
        scored.iter().map(|s| f64::from(u8::from(s.outcome.reward().is_none()))).collect(),
    );
    for (i, s) in scored.iter().enumerate() {
        if let Outcome::Scored(score) = &s.outcome {
            for (name, value) in &score.components {
                logs.entry(name.clone()).or_insert_with(|| vec![0.0; n])[i] = *value;
            }
        }
    }
    serde_json::json!({"rewards": rewards, "scores": rewards, "extra_logs": logs})
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn labels_become_references() {
        assert_eq!(reference(&json!("42")).value(), json!({"answer": "42"}));
        assert_eq!(reference(&json!(7)).value(), json!({"answer": "7"}));
        assert_eq!(reference(&json!("{\"answer\": \"x\"}")).value(), json!({"answer": "x"}));
        assert_eq!(reference(&json!({"calls": []})).value(), json!({"calls": []}));
        assert!(reference(&Value::Null).is_null());
        let request: Request = serde_json::from_value(json!({
            "query": ["Q: 2+2? A: <answer>4</answer>"], "prompts": ["Q: 2+2? "], "labels": ["4"]
        }))
        .unwrap();
        let samples = request.samples().unwrap();
        assert_eq!(samples[0].completion, "A: <answer>4</answer>");
        let grouped: Request = serde_json::from_value(json!({
            "query": ["a1", "b1", "a2"], "prompts": ["a", "b", "a"]
        }))
        .unwrap();
        let groups: Vec<_> = grouped.samples().unwrap().into_iter().map(|s| s.group).collect();
        assert_eq!(groups, [Some("0".into()), Some("1".into()), Some("0".into())]);
        let bad: Request =
            serde_json::from_value(json!({"query": ["a", "b"], "prompts": ["a"]})).unwrap();
        assert_eq!(bad.samples().unwrap_err(), "1 prompts for 2 queries");
    }
}
