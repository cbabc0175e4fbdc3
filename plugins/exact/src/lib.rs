//! `exact`: normalised exact match of the completion's answer against `reference.answer`.
//!
//! The answer is taken from the last `<answer>…</answer>` block, else the last `\boxed{…}`,
//! else the whole completion. Both sides are normalised before comparison: surrounding
//! whitespace, `$…$` and a trailing period are dropped, inner whitespace collapses, case is
//! folded (unless `case_sensitive`), and plain numbers are compared in canonical decimal form
//! (`1,000.50` ≡ `1000.5`, `+7` ≡ `7`). `reference.answer` may be a string, a number or a
//! list of accepted answers; a bare string or number reference is the answer itself.
#![deny(missing_docs)]

use gavel_plugin::serde_json::Value;
use gavel_plugin::{Outcome, Sample, Score};

/// Where the predicted answer is read from.
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Extract {
    /// The last answer block, else the last `\boxed{}`, else the whole completion.
    #[default]
    Auto,
    /// Only the last answer block; a completion without one scores 0.
    AnswerTag,
    /// Only the last `\boxed{}`; a completion without one scores 0.
    Boxed,
    /// The whole completion.
    Whole,
}

/// The plugin's config.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Compare case-sensitively (default false).
    pub case_sensitive: bool,
    /// Where the answer is read from (default `auto`).
    pub extract: Extract,
    /// The answer tag (default `answer`).
    pub answer_tag: String,
}

impl Default for Config {
    fn default() -> Self {
        Self { case_sensitive: false, extract: Extract::Auto, answer_tag: "answer".into() }
    }
}

/// The text inside the last `<tag>…</tag>`.
fn last_tagged<'a>(text: &'a str, tag: &str) -> Option<&'a str> {
    let (open, close) = (format!("<{tag}>"), format!("</{tag}>"));
    let start = text.rfind(&open)? + open.len();
    let len = text[start..].find(&close)?;
    Some(&text[start..start + len])
}

/// The text inside the last `\boxed{…}`, with nested braces balanced.
fn last_boxed(text: &str) -> Option<&str> {
    let start = text.rfind("\\boxed{")? + "\\boxed{".len();
    let mut depth = 1usize;
    for (i, c) in text[start..].char_indices() {
        match c {
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    return Some(&text[start..start + i]);
                }
            }
            _ => {}
        }
    }
    None
}

fn extract<'a>(completion: &'a str, config: &Config) -> Option<&'a str> {
    match config.extract {
        Extract::Auto => last_tagged(completion, &config.answer_tag)
            .or_else(|| last_boxed(completion))
            .or(Some(completion)),
        Extract::AnswerTag => last_tagged(completion, &config.answer_tag),
        Extract::Boxed => last_boxed(completion),
        Extract::Whole => Some(completion),
    }
}

/// Canonical decimal spelling of a plain number, or `None` when `s` is not one.
fn canonical_number(s: &str) -> Option<String> {
    let s = s.strip_prefix('+').unwrap_or(s);
    let (sign, digits) = match s.strip_prefix('-') {
        Some(rest) => ("-", rest),
        None => ("", s),
    };
    let digits = digits.replace(',', "");
    let (int, frac) = digits.split_once('.').unwrap_or((&digits, ""));
    let all_digits = |p: &str| p.chars().all(|c| c.is_ascii_digit());
    if int.is_empty() && frac.is_empty() || !all_digits(int) || !all_digits(frac) {
        return None;
    }
    let int = int.trim_start_matches('0');
    let frac = frac.trim_end_matches('0');
    let int = if int.is_empty() { "0" } else { int };
    let body = if frac.is_empty() { int.to_owned() } else { format!("{int}.{frac}") };
    Some(if body == "0" { body } else { format!("{sign}{body}") })
}

/// Normalises an answer for comparison.
pub fn normalise(answer: &str, case_sensitive: bool) -> String {
    // Peel `$…$` and a trailing period in any order (`$x$.`, `$x.$`) until nothing changes.
    let mut s = answer.trim();
    loop {
        let peeled = s
            .strip_suffix('.')
            .or_else(|| s.strip_prefix('$').and_then(|r| r.strip_suffix('$')))
            .map(str::trim);
        match peeled {
            Some(inner) => s = inner,
            None => break,
        }
    }
    let collapsed = s.split_whitespace().collect::<Vec<_>>().join(" ");
    if let Some(number) = canonical_number(&collapsed) {
        return number;
    }
    if case_sensitive { collapsed } else { collapsed.to_lowercase() }
}

/// The accepted answers of a reference, or an outcome saying why there are none.
fn accepted(reference: &Value) -> Result<Vec<String>, Outcome> {
    let answer = match reference {
        Value::Null => return Err(Outcome::not_applicable("the sample has no reference")),
        Value::Object(map) => map
            .get("answer")
            .ok_or_else(|| Outcome::not_applicable("the reference has no `answer` field"))?,
        other => other,
    };
    let one = |v: &Value| match v {
        Value::String(s) => Ok(s.clone()),
        Value::Number(n) => Ok(n.to_string()),
        other => Err(Outcome::invalid(format!(
            "reference.answer must be a string, a number or a list of them, got {other}"
        ))),
    };
    match answer {
        Value::Array(items) if items.is_empty() => {
            Err(Outcome::invalid("reference.answer is an empty list"))
        }
        Value::Array(items) => items.iter().map(one).collect(),
        other => Ok(vec![one(other)?]),
    }
}

/// Scores one completion.
pub fn reward(sample: &Sample, config: &Config) -> Outcome {
    let answers = match accepted(sample.reference()) {
        Ok(answers) => answers,
        Err(outcome) => return outcome,
    };
    let Some(predicted) = extract(&sample.completion, config) else {
        return Score::new(0.0).with("match", 0.0).because("no answer found").into();
    };
    let predicted = normalise(predicted, config.case_sensitive);
    let hit = answers.iter().any(|a| normalise(a, config.case_sensitive) == predicted);
    let value = f64::from(u8::from(hit));
    let mut shown: String = predicted.chars().take(80).collect();
    if shown.len() < predicted.len() {
        shown.push('…');
    }
    Score::new(value).with("match", value).because(format!("answer {shown:?}")).into()
}

gavel_plugin::export!(
    reward,
    name = "exact",
    config_schema = r#"{"type":"object","additionalProperties":false,"properties":{"case_sensitive":{"type":"boolean","default":false},"extract":{"enum":["auto","answer_tag","boxed","whole"],"default":"auto"},"answer_tag":{"type":"string","default":"answer"}}}"#,
    reference_schema = r#"{"anyOf":[{"type":"object","required":["answer"],"properties":{"answer":{"anyOf":[{"type":["string","number"]},{"type":"array","items":{"type":["string","number"]}}]}}},{"type":["string","number"]}]}"#,
);

#[cfg(test)]
mod tests {
    use super::*;
    use gavel_plugin::serde_json::json;

    fn run(completion: &str, reference: Value) -> Outcome {
        let sample = Sample::new(completion, reference);
        reward(&sample, &Config::default())
    }

    fn value(outcome: Outcome) -> f64 {
        match outcome {
            Outcome::Scored(s) => s.value,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn extracts_and_normalises() {
        assert_eq!(value(run("<answer>42</answer>", json!({"answer": "42"}))), 1.0);
        assert_eq!(value(run("so \\boxed{1,000.50}", json!({"answer": 1000.5}))), 1.0);
        assert_eq!(value(run("<answer> $Paris$. </answer>", json!("paris"))), 1.0);
        assert_eq!(value(run("<answer>41</answer>", json!({"answer": ["40", "42"]}))), 0.0);
        assert_eq!(value(run("-0.0", json!(0))), 1.0);
        assert_eq!(value(run("\\boxed{\\frac{1}{2}}", json!("\\frac{1}{2}"))), 1.0);
    }

    #[test]
    fn missing_or_malformed_references_are_not_zero() {
        assert!(matches!(run("42", Value::Null), Outcome::NotApplicable(_)));
        assert!(matches!(run("42", json!({"gold": 1})), Outcome::NotApplicable(_)));
        assert!(matches!(run("42", json!({"answer": {"x": 1}})), Outcome::Invalid(_)));
        assert!(matches!(run("42", json!({"answer": []})), Outcome::Invalid(_)));
    }

    #[test]
    fn canonical_numbers() {
        assert_eq!(canonical_number("007.500").as_deref(), Some("7.5"));
        assert_eq!(canonical_number("-0").as_deref(), Some("0"));
        assert_eq!(canonical_number("1e5"), None);
        assert_eq!(canonical_number("."), None);
    }
}
