//! `toolrl` mode: the ToolRL reward (Qian et al., `rlla.py`), format plus correctness.
//!
//! Correctness is `6·S/S_max − 3` with greedy same-name matching in gold order, as the authors'
//! code computes it (not an optimal assignment; `partial` mode is that). Values compare with
//! Python's `==` (`5 == 5.0`, `True == 1`, no string normalisation).

use gavel_plugin::serde_json::Value;

use crate::call::Call;
use crate::value::python_eq;

/// Multiset Jaccard of two lists of strings: 1 when equal as multisets, 0 when either is
/// empty, else |a ∩ b| / (|a| + |b| − |a ∩ b|).
fn jaccard(a: &[&str], b: &[&str]) -> f64 {
    let (mut a, mut b) = (a.to_vec(), b.to_vec());
    a.sort_unstable();
    b.sort_unstable();
    if a == b {
        return 1.0;
    }
    if a.is_empty() || b.is_empty() {
        return 0.0;
    }
    let mut rest = b.clone();
    let mut common = 0usize;
    for x in &a {
        if let Some(i) = rest.iter().position(|y| y == x) {
            rest.swap_remove(i);
            common += 1;
        }
    }
    common as f64 / (a.len() + b.len() - common) as f64
}

fn strs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

/// ToolRL's correctness in [−3, 3] of the predicted tool dicts against gold calls, with the
/// authors' failure rule: a prediction their code cannot read (not an object, no `name`, or a
/// same-named call without a `parameters` object) gives −3.
pub fn correctness(gold: &[Call], pred: &[Value]) -> f64 {
    try_correctness(gold, pred).unwrap_or(-3.0)
}

fn try_correctness(gold: &[Call], pred: &[Value]) -> Option<f64> {
    let pred: Vec<&gavel_plugin::serde_json::Map<String, Value>> =
        pred.iter().map(Value::as_object).collect::<Option<_>>()?;
    let names_p: Vec<&Value> = pred.iter().map(|p| p.get("name")).collect::<Option<_>>()?;
    // `gt_tools == pd_tools`: the same dicts, in order.
    let exact = gold.len() == pred.len()
        && gold.iter().zip(&pred).all(|(g, p)| {
            p.len() == 2
                && p.get("name") == Some(&Value::String(g.name.clone()))
                && p.get("parameters").is_some_and(|v| python_eq(v, &Value::Object(g.args.clone())))
        });
    if exact {
        return Some(3.0);
    }
    let names_g: Vec<String> = gold.iter().map(|c| c.name.clone()).collect();
    let names_p: Vec<String> =
        names_p.iter().map(|n| n.as_str().map_or_else(|| n.to_string(), str::to_owned)).collect();
    let mut s = jaccard(&strs(&names_g), &strs(&names_p));
    let mut s_max = 1.0;
    let mut taken = vec![false; pred.len()];
    for g in gold {
        s_max += 1.0 + g.args.len() as f64;
        let mut best: Option<(usize, f64)> = None;
        for (i, p) in pred.iter().enumerate() {
            if taken[i] || p.get("name") != Some(&Value::String(g.name.clone())) {
                continue;
            }
            let params = p.get("parameters")?.as_object()?;
            let gold_keys: Vec<&str> = g.args.keys().map(String::as_str).collect();
            let pred_keys: Vec<&str> = params.keys().map(String::as_str).collect();
            let right = g
                .args
                .iter()
                .filter(|(k, v)| params.get(*k).is_some_and(|q| python_eq(v, q)))
                .count();
            let value = jaccard(&gold_keys, &pred_keys) + right as f64;
            // Strictly better than the best so far (which starts at 0), as the authors do.
            if value > best.map_or(0.0, |(_, b)| b) {
                best = Some((i, value));
            }
        }
        if let Some((i, value)) = best {
            taken[i] = true;
            s += value;
        }
    }
    Some(6.0 * s / s_max - 3.0)
}

/// The prediction as ToolRL reads it: the text between the first `<tool_call>` and the next
/// `</tool_call>`, trimmed and split on newlines, each line one JSON object. Any line that is
/// not JSON (an empty one included) is a failure, as in the authors' code.
pub fn predictions(completion: &str) -> Result<Vec<Value>, String> {
    let start = completion.find("<tool_call>").ok_or("no <tool_call> tag")? + "<tool_call>".len();
    if !completion.contains("</tool_call>") {
        return Err("no </tool_call> tag".into());
    }
    let block = &completion[start..];
    let block = block.split("</tool_call>").next().unwrap_or(block).trim();
    block
        .split('\n')
        .map(|line| {
            gavel_plugin::serde_json::from_str(line).map_err(|e| format!("line {line:?}: {e}"))
        })
        .collect()
}

/// Whether `text` is `segments[0] .*? segments[1] .*? … segments[n-1]`, anchored at both ends.
fn shaped(text: &str, segments: &[&str]) -> bool {
    let (first, last) = (segments[0], segments[segments.len() - 1]);
    if !text.starts_with(first) || !text.ends_with(last) || text.len() < first.len() + last.len() {
        return false;
    }
    let end = text.len() - last.len();
    let mut at = first.len();
    for segment in &segments[1..segments.len() - 1] {
        match text[at..end].find(segment) {
            Some(i) => at += i + segment.len(),
            None => return false,
        }
    }
    at <= end
}

/// ToolRL's format reward: 1 when the completion has the shape the gold calls for.
pub fn format(completion: &str, gold_has_calls: bool, gold_has_response: bool) -> f64 {
    // Python's `$` also matches before one final newline.
    let trimmed = completion.strip_suffix('\n').unwrap_or(completion);
    let fits = |segments: &[&str]| shaped(completion, segments) || shaped(trimmed, segments);
    let once = |open: &str, close: &str| {
        completion.matches(open).count() == 1 && completion.matches(close).count() == 1
    };
    let (calls_once, response_once) =
        (once("<tool_call>", "</tool_call>"), once("<response>", "</response>"));
    let ok = match (gold_has_calls, gold_has_response) {
        (true, false) => {
            calls_once && fits(&["<think>", "</think>\n<tool_call>\n", "\n</tool_call>"])
        }
        (false, true) => response_once && fits(&["<think>", "</think>\n<response>", "</response>"]),
        (true, true) => {
            calls_once
                && response_once
                && fits(&[
                    "<think>",
                    "</think>\n<tool_call>\n",
                    "\n</tool_call>\n<response>",
                    "</response>",
                ])
        }
        (false, false) => fits(&["<think>", "</think>"]),
    };
    f64::from(u8::from(ok))
}

#[cfg(test)]
mod tests {
    use super::*;
    use gavel_plugin::serde_json::json;

    fn call(name: &str, args: Value) -> Call {
        let Value::Object(args) = args else { panic!() };
        Call { name: name.into(), args }
    }

    fn tool(name: &str, parameters: Value) -> Value {
        json!({"name": name, "parameters": parameters})
    }

    #[test]
    fn exact_and_partial_correctness() {
        let gold = [call("get_price", json!({"from": "ORD", "to": "SFO"}))];
        assert_eq!(
            correctness(&gold, &[tool("get_price", json!({"from": "ORD", "to": "SFO"}))]),
            3.0
        );
        // Names equal (J = 1), keys equal (1), one value right (1): S = 3, S_max = 1 + 3 = 4.
        let r = correctness(&gold, &[tool("get_price", json!({"from": "ORD", "to": "LAX"}))]);
        assert!((r - (6.0 * 3.0 / 4.0 - 3.0)).abs() < 1e-12, "{r}");
        assert_eq!(correctness(&gold, &[]), -3.0);
    }

    #[test]
    fn greedy_same_name_matching_as_the_authors() {
        // Greedy in gold order: the first Get_Price takes the only call, the second gets nothing.
        let gold = [
            call("Get_Price", json!({"from": "ORD", "to": "SFO"})),
            call("Get_Price", json!({"from": "ORD", "to": "LAX"})),
        ];
        let pred = [tool("Get_Price", json!({"from": "ORD", "to": "LAX"}))];
        // names J = 1/2; gold 1 takes the call: keys 1 + values 1 = 2; gold 2 gets 0.
        // S = 2.5, S_max = 1 + 3 + 3 = 7.
        let r = correctness(&gold, &pred);
        assert!((r - (6.0 * 2.5 / 7.0 - 3.0)).abs() < 1e-12, "{r}");
    }

    #[test]
    fn python_equality_of_values() {
        let gold = [call("f", json!({"n": 5}))];
        assert_eq!(correctness(&gold, &[tool("f", json!({"n": 5.0}))]), 3.0);
        // What the authors' code cannot read is the minimum.
        assert_eq!(correctness(&gold, &[json!({"name": "f", "arguments": {"n": 5}})]), -3.0);
        assert_eq!(correctness(&gold, &[json!(["f"])]), -3.0);
        // An extra key spoils the exact match but not the partial score.
        let extra = json!({"name": "f", "parameters": {"n": 5}, "id": 1});
        assert!((correctness(&gold, &[extra]) - 3.0).abs() < 1e-12);
    }

    #[test]
    fn formats() {
        let good =
            "<think>plan</think>\n<tool_call>\n{\"name\": \"f\", \"parameters\": {}}\n</tool_call>";
        assert_eq!(format(good, true, false), 1.0);
        assert_eq!(format(&format!("{good}\n<tool_call>\n{{}}\n</tool_call>"), true, false), 0.0);
        assert_eq!(format("<think>x</think>\n<response>hi</response>", false, true), 1.0);
        assert_eq!(format("<think>x</think>", false, false), 1.0);
        assert_eq!(format("no think", false, false), 0.0);
        assert_eq!(format(&format!("{good}\n"), true, false), 1.0);
    }

    #[test]
    fn reading_predictions() {
        let text = "<think>x</think>\n<tool_call>\n{\"name\": \"f\", \"parameters\": {\"a\": 1}}\n{\"name\": \"g\", \"parameters\": {}}\n</tool_call>";
        assert_eq!(predictions(text).unwrap().len(), 2);
        assert!(predictions("<tool_call>\n{bad\n</tool_call>").is_err());
        assert!(
            predictions("<tool_call>\n{\"name\": \"f\"}\n\n{\"name\": \"g\"}\n</tool_call>")
                .is_err()
        );
        assert!(predictions("nothing").is_err());
    }
}
