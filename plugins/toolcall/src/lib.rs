//! `toolcall`: did the model call the right tools with the right arguments?
//!
//! Calls are read from the completion in any common dialect ([`parse`]): Hermes/Qwen
//! `<tool_call>` blocks, OpenAI `tool_calls` JSON (arguments as object or JSON string), a bare
//! JSON list, or BFCL's Python call syntax. The reference is `{"calls": [{"name", "arguments"|
//! "parameters"}]}` (plus `"response"` when the gold turn also answers in prose, for
//! `toolrl`'s format check). Modes (config `mode`):
//!
//! - `partial` (default): an optimal assignment of predicted to gold calls, credit per call for
//!   the name, the argument names and the argument values (typed: `1` = `1.0`; `"5"` = `5`
//!   and `"true"` = `true` unless `strings_as_values` is off; BFCL's loose string
//!   standardisation with `loose_strings`), minus a penalty per extra call; in [0, 1].
//! - `toolrl`: ToolRL's reward, format (0/1) plus correctness (`6·S/S_max − 3`), components
//!   `format` and `correctness`.
//! - `bfcl`: the Berkeley Function Calling Leaderboard's AST-checker verdict (1 valid, 0 not)
//!   for the reference `{"functions", "possible_answer", "language"?, "category"?}`, with
//!   BFCL's Python, Java and JavaScript typing ([`bfcl`]).
//!
//! A completion whose calls cannot be read is scored (0 in `partial`, −3 correctness in
//! `toolrl`), never an error, with the reason in the explanation.
#![deny(missing_docs)]

pub mod bfcl;
pub mod call;
pub mod json;
pub mod parse;
pub mod partial;
pub mod text;
pub mod toolrl;
pub mod value;

#[cfg(target_arch = "wasm32")]
#[global_allocator]
static ALLOCATOR: gavel_plugin::SizeClasses = gavel_plugin::SizeClasses::new();

use std::cell::RefCell;
use std::rc::Rc;

use gavel_plugin::serde_json::Value;
use gavel_plugin::{Outcome, Sample, Score};

use crate::call::Call;

/// Most predicted calls scored; more is a degenerate completion, scored 0 (the optimal
/// assignment is cubic in the number of calls).
pub const MAX_CALLS: usize = 256;

/// The reward formula.
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// Optimal assignment with per-argument partial credit.
    #[default]
    Partial,
    /// ToolRL's format + correctness reward.
    Toolrl,
    /// BFCL's AST-checker verdict (Python, Java, JavaScript).
    Bfcl,
}

/// The plugin's config.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// The reward formula (default `partial`).
    pub mode: Mode,
    /// Credit weights and the extra-call penalty of `partial` mode.
    pub weights: partial::Weights,
    /// `partial`: a string holding a JSON value equals that value (default true).
    pub strings_as_values: bool,
    /// `partial`: compare strings after BFCL's standardisation (default false).
    pub loose_strings: bool,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            mode: Mode::Partial,
            weights: partial::Weights::default(),
            strings_as_values: true,
            loose_strings: false,
        }
    }
}

/// The gold calls of a reference, and whether it has a prose response.
fn gold(reference: &Value) -> Result<(Vec<Call>, bool), Outcome> {
    let (calls, response) = match reference {
        Value::Null => return Err(Outcome::not_applicable("the sample has no reference")),
        Value::Array(_) => (reference, false),
        Value::Object(obj) => match obj.get("calls") {
            Some(calls) => (calls, obj.get("response").is_some_and(|r| !r.is_null())),
            None => return Err(Outcome::not_applicable("the reference has no `calls`")),
        },
        other => {
            return Err(Outcome::invalid(format!(
                "the reference must be an object with `calls`, got {other}"
            )));
        }
    };
    let Value::Array(items) = calls else {
        return Err(Outcome::invalid("reference.calls must be a list"));
    };
    let calls = items
        .iter()
        .enumerate()
        .map(|(i, c)| {
            Call::from_json(c.clone())
                .map_err(|e| Outcome::invalid(format!("reference.calls[{i}]: {e}")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok((calls, response))
}

/// The reference parsed, reusing the previous sample's when the text is the same: the rollouts
/// of a GRPO group share one reference and sit next to each other in a batch, so a group
/// parses its (often kilobyte-sized) function docs once. One entry, so memory stays bounded.
fn parsed_reference(text: &str) -> Result<Rc<bfcl::Reference>, String> {
    thread_local! {
        static LAST: RefCell<Option<(String, Rc<bfcl::Reference>)>> = const { RefCell::new(None) };
    }
    LAST.with_borrow_mut(|last| {
        if let Some((seen, parsed)) = last.as_ref()
            && seen == text
        {
            return Ok(parsed.clone());
        }
        let parsed = Rc::new(
            gavel_plugin::serde_json::from_str::<bfcl::Reference>(text)
                .map_err(|e| e.to_string())?,
        );
        *last = Some((text.to_owned(), parsed.clone()));
        Ok(parsed)
    })
}

/// `bfcl` mode: BFCL's verdict for the reference `{"functions", "possible_answer",
/// "language", "category"}` (category defaults to `parallel` when there are several possible
/// answers, else `simple`).
fn bfcl_reward(sample: &Sample) -> Outcome {
    if matches!(sample.reference_json().trim(), "" | "null") {
        return Outcome::not_applicable("the sample has no reference");
    }
    let reference = match parsed_reference(sample.reference_json()) {
        Ok(reference) => reference,
        Err(e) => {
            return Outcome::invalid(format!(
                "bfcl mode needs the reference {{\"functions\": [...], \"possible_answer\": [...], \"language\"?, \"category\"?}}: {e}"
            ));
        }
    };
    let language_name = reference.language.as_deref().unwrap_or("python");
    let Some(language) = bfcl::Language::from_name(language_name) else {
        return Outcome::invalid(format!(
            "reference.language must be python, java or javascript, got {language_name:?}"
        ));
    };
    let possible = &reference.possible_answer;
    let category = reference.category.as_deref().unwrap_or(if possible.len() > 1 {
        "parallel"
    } else {
        "simple"
    });
    let calls = match parse::calls(&sample.completion) {
        Ok(calls) => calls,
        Err(reason) => {
            return Score::new(0.0).with("valid", 0.0).with("parsed", 0.0).because(reason).into();
        }
    };
    let verdict = bfcl::check(&reference.functions, &calls, possible, category, language);
    match verdict.error_type {
        Some("reference") => {
            return Outcome::invalid(format!("reference: {}", verdict.error.unwrap_or_default()));
        }
        Some("too_large") => return Outcome::invalid(verdict.error.unwrap_or_default()),
        _ => {}
    }
    let value = f64::from(u8::from(verdict.valid));
    let why = match (verdict.error_type, verdict.error) {
        (Some(kind), Some(error)) => [kind, ": ", &error].concat(),
        _ => "valid".to_owned(),
    };
    Score::new(value).with("valid", value).with("parsed", 1.0).because(why).into()
}

/// Scores one completion.
pub fn reward(sample: &Sample, config: &Config) -> Outcome {
    match config.mode {
        Mode::Partial => partial_reward(sample, config),
        Mode::Toolrl => toolrl_reward(sample),
        Mode::Bfcl => bfcl_reward(sample),
    }
}

/// `partial` mode: optimal assignment with per-argument credit.
fn partial_reward(sample: &Sample, config: &Config) -> Outcome {
    let (gold, _) = match gold(sample.reference()) {
        Ok(gold) => gold,
        Err(outcome) => return outcome,
    };
    let pred = match parse::calls(&sample.completion) {
        Ok(pred) => pred,
        Err(reason) => {
            return Score::new(0.0).with("parsed", 0.0).because(reason).into();
        }
    };
    if pred.len() > MAX_CALLS {
        let why = format!("{} calls, over the cap of {MAX_CALLS}", pred.len());
        return Score::new(0.0).with("parsed", 1.0).because(why).into();
    }
    let how = value::Coercions {
        strings_as_values: config.strings_as_values,
        loose_strings: config.loose_strings,
    };
    let (value, matches, extra) = partial::score(&gold, &pred, &config.weights, how);
    let mut problems: Vec<String> = matches.iter().filter_map(|m| m.why.clone()).collect();
    if extra > 0 {
        problems.push(format!("{extra} extra call(s)"));
    }
    let explanation =
        if problems.is_empty() { "all calls match".to_owned() } else { problems.join("; ") };
    Score::new(value)
        .with("parsed", 1.0)
        .with("calls_matched", matches.iter().filter(|m| m.credit >= 1.0).count() as f64)
        .with("extra_calls", extra as f64)
        .because(explanation)
        .into()
}

/// `toolrl` mode: ToolRL's format + correctness.
fn toolrl_reward(sample: &Sample) -> Outcome {
    let (gold, has_response) = match gold(sample.reference()) {
        Ok(gold) => gold,
        Err(outcome) => return outcome,
    };
    let format = toolrl::format(&sample.completion, !gold.is_empty(), has_response);
    let (correctness, why) = if gold.is_empty() {
        (0.0, "the gold has no tool call".to_owned())
    } else {
        match toolrl::predictions(&sample.completion) {
            Ok(pred) => {
                (toolrl::correctness(&gold, &pred), format!("{} predicted call(s)", pred.len()))
            }
            Err(reason) => (-3.0, reason),
        }
    };
    Score::new(format + correctness)
        .with("format", format)
        .with("correctness", correctness)
        .because(why)
        .into()
}

gavel_plugin::export!(
    reward,
    name = "toolcall",
    config_schema = r#"{"type":"object","additionalProperties":false,"properties":{"mode":{"enum":["partial","toolrl","bfcl"],"default":"partial"},"weights":{"type":"object","properties":{"name":{"type":"number","default":0.2},"keys":{"type":"number","default":0.3},"values":{"type":"number","default":0.5},"extra":{"type":"number","default":0.5}}},"strings_as_values":{"type":"boolean","default":true},"loose_strings":{"type":"boolean","default":false}}}"#,
    reference_schema = r#"{"oneOf":[{"type":"object","required":["calls"],"properties":{"calls":{"type":"array","items":{"type":"object","required":["name"],"properties":{"name":{"type":"string"},"arguments":{"type":"object"},"parameters":{"type":"object"}}}},"response":{"type":"string"}}},{"type":"object","required":["functions","possible_answer"],"properties":{"functions":{"type":"array"},"possible_answer":{"type":"array"},"language":{"enum":["python","java","javascript"]},"category":{"type":"string"}}}]}"#,
);

#[cfg(test)]
mod tests {
    use super::*;
    use gavel_plugin::serde_json::json;

    fn run(completion: &str, reference: Value, config: &Config) -> Outcome {
        let sample = Sample::new(completion, reference);
        reward(&sample, config)
    }

    #[test]
    fn partial_mode_end_to_end() {
        let reference =
            json!({"calls": [{"name": "get_weather", "arguments": {"city": "Berlin"}}]});
        let Outcome::Scored(s) =
            run("[get_weather(city='Berlin')]", reference.clone(), &Config::default())
        else {
            panic!()
        };
        assert_eq!(s.value, 1.0);
        let Outcome::Scored(s) =
            run("I think it will rain.", reference.clone(), &Config::default())
        else {
            panic!()
        };
        assert_eq!(s.value, 0.0);
        let Outcome::Scored(s) = run("<tool_call>{oops</tool_call>", reference, &Config::default())
        else {
            panic!()
        };
        assert_eq!(s.value, 0.0);
        assert_eq!(s.components[0], ("parsed".to_owned(), 0.0));
    }

    #[test]
    fn toolrl_mode_end_to_end() {
        let reference = json!({"calls": [{"name": "f", "parameters": {"a": 1}}]});
        let config = Config { mode: Mode::Toolrl, ..Config::default() };
        let good = "<think>ok</think>\n<tool_call>\n{\"name\": \"f\", \"parameters\": {\"a\": 1}}\n</tool_call>";
        assert_eq!(run(good, reference.clone(), &config).reward(), Some(4.0));
        assert_eq!(run("no calls", reference, &config).reward(), Some(-3.0));
    }

    #[test]
    fn references_are_checked() {
        assert!(matches!(run("x", Value::Null, &Config::default()), Outcome::NotApplicable(_)));
        assert!(matches!(run("x", json!({"calls": 3}), &Config::default()), Outcome::Invalid(_)));
        assert!(matches!(
            run("x", json!({"calls": [{"nam": "f"}]}), &Config::default()),
            Outcome::Invalid(_)
        ));
    }
}
