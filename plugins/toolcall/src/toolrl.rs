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

fn keys(call: &Call) -> Vec<&str> {
    call.args.keys().map(String::as_str).collect()
}

fn exact_values(gold: &Call, pred: &Call) -> usize {
    gold.args.iter().filter(|(k, v)| pred.args.get(*k).is_some_and(|p| python_eq(v, p))).count()
}

/// ToolRL's correctness in [−3, 3] of parsed predictions against gold calls.
pub fn correctness(gold: &[Call], pred: &[Call]) -> f64 {
    let same = |g: &Call, p: &Call| {
        g.name == p.name
            && python_eq(&Value::Object(g.args.clone()), &Value::Object(p.args.clone()))
    };
    if gold.len() == pred.len() && gold.iter().zip(pred).all(|(g, p)| same(g, p)) {
        return 3.0;
    }
    let names_g: Vec<&str> = gold.iter().map(|c| c.name.as_str()).collect();
    let names_p: Vec<&str> = pred.iter().map(|c| c.name.as_str()).collect();
    let mut s = jaccard(&names_g, &names_p);
    let mut s_max = 1.0;
    let mut taken = vec![false; pred.len()];
    for g in gold {
        s_max += 1.0 + g.args.len() as f64;
        let best = pred
            .iter()
            .enumerate()
            .filter(|(i, p)| !taken[*i] && p.name == g.name)
            .map(|(i, p)| (i, jaccard(&keys(g), &keys(p)) + exact_values(g, p) as f64))
            .fold(None::<(usize, f64)>, |best, (i, v)| match best {
                Some((_, bv)) if bv >= v => best,
                _ => Some((i, v)),
            });
        if let Some((i, value)) = best
            && value > 0.0
        {
            taken[i] = true;
            s += value;
        }
    }
    6.0 * s / s_max - 3.0
}

/// The prediction as ToolRL reads it: the lines between the first `<tool_call>` and
/// `</tool_call>`, one `{"name", "parameters"}` JSON object per line.
pub fn predictions(completion: &str) -> Result<Vec<Call>, String> {
    let start = completion.find("<tool_call>").ok_or("no <tool_call> tag")? + "<tool_call>".len();
    let len = completion[start..].find("</tool_call>").ok_or("no </tool_call> tag")?;
    completion[start..start + len]
        .split('\n')
        .filter(|line| !line.trim().is_empty())
        .map(|line| {
            let value: Value = gavel_plugin::serde_json::from_str(line)
                .map_err(|e| format!("line {line:?}: {e}"))?;
            Call::from_json(&value)
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
    let one_pair = completion.matches("<tool_call>").count() == 1
        && completion.matches("</tool_call>").count() == 1;
    let ok = match (gold_has_calls, gold_has_response) {
        (true, false) => {
            one_pair
                && shaped(completion, &["<think>", "</think>\n<tool_call>\n", "\n</tool_call>"])
        }
        (false, true) => shaped(completion, &["<think>", "</think>\n<response>", "</response>"]),
        (true, true) => {
            one_pair
                && shaped(
                    completion,
                    &[
                        "<think>",
                        "</think>\n<tool_call>\n",
                        "\n</tool_call>\n<response>",
                        "</response>",
                    ],
                )
        }
        (false, false) => shaped(completion, &["<think>", "</think>"]),
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

    #[test]
    fn exact_and_partial_correctness() {
        let gold = [call("get_price", json!({"from": "ORD", "to": "SFO"}))];
        assert_eq!(
            correctness(&gold, &[call("get_price", json!({"from": "ORD", "to": "SFO"}))]),
            3.0
        );
        // Names equal (J = 1), keys equal (1), one value right (1): S = 3, S_max = 1 + 3 = 4.
        let r = correctness(&gold, &[call("get_price", json!({"from": "ORD", "to": "LAX"}))]);
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
        let pred = [call("Get_Price", json!({"from": "ORD", "to": "LAX"}))];
        // names J = 1/2; gold 1 takes the call: keys 1 + values 1 = 2; gold 2 gets 0.
        // S = 2.5, S_max = 1 + 3 + 3 = 7.
        let r = correctness(&gold, &pred);
        assert!((r - (6.0 * 2.5 / 7.0 - 3.0)).abs() < 1e-12, "{r}");
    }

    #[test]
    fn python_equality_of_values() {
        let gold = [call("f", json!({"n": 5}))];
        assert_eq!(correctness(&gold, &[call("f", json!({"n": 5.0}))]), 3.0);
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
    }

    #[test]
    fn reading_predictions() {
        let text = "<think>x</think>\n<tool_call>\n{\"name\": \"f\", \"parameters\": {\"a\": 1}}\n{\"name\": \"g\", \"parameters\": {}}\n</tool_call>";
        assert_eq!(predictions(text).unwrap().len(), 2);
        assert!(predictions("<tool_call>\n{bad\n</tool_call>").is_err());
        assert!(predictions("nothing").is_err());
    }
}
