//! `partial` mode: an optimal assignment of predicted to gold calls, with per-call credit for
//! the name, the argument names and the argument values, and penalties for extra calls.

use crate::call::Call;
use crate::value::{Coercions, equal};

/// Weights of the parts of a call's credit, and the extra-call penalty.
#[derive(Debug, Clone, Copy, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Weights {
    /// Credit for the right function name (default 0.2).
    pub name: f64,
    /// Credit for the Jaccard overlap of argument names (default 0.3).
    pub keys: f64,
    /// Credit for the fraction of gold arguments given with the right value (default 0.5).
    pub values: f64,
    /// Penalty per predicted call that matches no gold call, in gold-call units (default 0.5).
    pub extra: f64,
}

impl Default for Weights {
    fn default() -> Self {
        Self { name: 0.2, keys: 0.3, values: 0.5, extra: 0.5 }
    }
}

/// How one gold call fared.
#[derive(Debug, Clone)]
pub struct Match {
    /// Index of the gold call.
    pub gold: usize,
    /// Index of the prediction it was assigned, if any.
    pub pred: Option<usize>,
    /// Its credit in [0, 1].
    pub credit: f64,
    /// What was wrong, if anything.
    pub why: Option<String>,
}

/// The credit of `pred` for `gold`, and what was wrong. No credit without the right name.
pub fn credit(gold: &Call, pred: &Call, w: &Weights, how: Coercions) -> (f64, Option<String>) {
    if gold.name != pred.name {
        return (0.0, Some(format!("called {} instead of {}", pred.name, gold.name)));
    }
    let total = w.name + w.keys + w.values;
    let union =
        gold.args.keys().chain(pred.args.keys().filter(|k| !gold.args.contains_key(*k))).count();
    let shared = gold.args.keys().filter(|k| pred.args.contains_key(*k)).count();
    let jaccard = if union == 0 { 1.0 } else { shared as f64 / union as f64 };
    let right: Vec<&String> = gold
        .args
        .iter()
        .filter(|(k, v)| pred.args.get(*k).is_some_and(|p| equal(v, p, how)))
        .map(|(k, _)| k)
        .collect();
    let values =
        if gold.args.is_empty() { 1.0 } else { right.len() as f64 / gold.args.len() as f64 };
    let score = (w.name + w.keys * jaccard + w.values * values) / total;
    let mut problems = Vec::new();
    for (k, v) in &gold.args {
        match pred.args.get(k) {
            None => problems.push(format!("{}: missing `{k}`", gold.name)),
            Some(p) if !right.contains(&k) => {
                problems.push(format!("{}: `{k}` is {p}, expected {v}", gold.name))
            }
            _ => {}
        }
    }
    for k in pred.args.keys().filter(|k| !gold.args.contains_key(*k)) {
        problems.push(format!("{}: unexpected `{k}`", gold.name));
    }
    (score, (!problems.is_empty()).then(|| problems.join("; ")))
}

/// Scores predictions against gold calls: the optimal one-to-one assignment (Hungarian
/// method), each gold call's credit, and the total reward in [0, 1].
pub fn score(
    gold: &[Call],
    pred: &[Call],
    w: &Weights,
    how: Coercions,
) -> (f64, Vec<Match>, usize) {
    if gold.is_empty() {
        return (if pred.is_empty() { 1.0 } else { 0.0 }, Vec::new(), pred.len());
    }
    let cells: Vec<Vec<(f64, Option<String>)>> =
        gold.iter().map(|g| pred.iter().map(|p| credit(g, p, w, how)).collect()).collect();
    let costs: Vec<Vec<f64>> =
        cells.iter().map(|row| row.iter().map(|(c, _)| -c).collect()).collect();
    let assignment = hungarian(&costs, pred.len());
    let mut matches = Vec::with_capacity(gold.len());
    let mut used = 0;
    for (g, slot) in assignment.iter().enumerate() {
        match slot {
            Some(p) if cells[g][*p].0 > 0.0 => {
                used += 1;
                matches.push(Match {
                    gold: g,
                    pred: Some(*p),
                    credit: cells[g][*p].0,
                    why: cells[g][*p].1.clone(),
                });
            }
            _ => matches.push(Match {
                gold: g,
                pred: None,
                credit: 0.0,
                why: Some(format!("no call of {}", gold[g].name)),
            }),
        }
    }
    let extra = pred.len() - used;
    let earned: f64 = matches.iter().map(|m| m.credit).sum::<f64>() - w.extra * extra as f64;
    ((earned / gold.len() as f64).clamp(0.0, 1.0), matches, extra)
}

/// Minimum-cost assignment of rows to columns (rows ≤ or > columns); `None` for a row left
/// without a column. O(n³), for the few calls a completion holds.
fn hungarian(costs: &[Vec<f64>], cols: usize) -> Vec<Option<usize>> {
    let rows = costs.len();
    let n = rows.max(cols);
    if n == 0 {
        return Vec::new();
    }
    let cost = |i: usize, j: usize| if i < rows && j < cols { costs[i][j] } else { 0.0 };
    // Potentials-based Hungarian algorithm on an n×n padded matrix (1-indexed).
    let (mut u, mut v) = (vec![0.0; n + 1], vec![0.0; n + 1]);
    let (mut p, mut way) = (vec![0usize; n + 1], vec![0usize; n + 1]);
    for i in 1..=n {
        p[0] = i;
        let mut j0 = 0;
        let mut minv = vec![f64::INFINITY; n + 1];
        let mut used = vec![false; n + 1];
        loop {
            used[j0] = true;
            let i0 = p[j0];
            let mut delta = f64::INFINITY;
            let mut j1 = 0;
            for j in 1..=n {
                if !used[j] {
                    let cur = cost(i0 - 1, j - 1) - u[i0] - v[j];
                    if cur < minv[j] {
                        minv[j] = cur;
                        way[j] = j0;
                    }
                    if minv[j] < delta {
                        delta = minv[j];
                        j1 = j;
                    }
                }
            }
            for j in 0..=n {
                if used[j] {
                    u[p[j]] += delta;
                    v[j] -= delta;
                } else {
                    minv[j] -= delta;
                }
            }
            j0 = j1;
            if p[j0] == 0 {
                break;
            }
        }
        loop {
            let j1 = way[j0];
            p[j0] = p[j1];
            j0 = j1;
            if j0 == 0 {
                break;
            }
        }
    }
    let mut assignment = vec![None; rows];
    for j in 1..=n {
        if p[j] != 0 && p[j] <= rows && j <= cols {
            assignment[p[j] - 1] = Some(j - 1);
        }
    }
    assignment
}

#[cfg(test)]
mod tests {
    use super::*;
    use gavel_plugin::serde_json::{Value, json};

    fn call(name: &str, args: Value) -> Call {
        let Value::Object(args) = args else { panic!() };
        Call { name: name.into(), args }
    }

    const HOW: Coercions = Coercions { strings_as_values: true, loose_strings: false };

    #[test]
    fn perfect_and_order_free() {
        let gold = [call("a", json!({"x": 1})), call("b", json!({"y": "z"}))];
        let pred = [call("b", json!({"y": "z"})), call("a", json!({"x": 1.0}))];
        let (reward, matches, extra) = score(&gold, &pred, &Weights::default(), HOW);
        assert_eq!((reward, extra), (1.0, 0));
        assert_eq!(matches[0].pred, Some(1));
    }

    #[test]
    fn optimal_not_greedy() {
        // Greedy in gold order would give gold 0 the full match and leave gold 1 nothing.
        let gold = [call("f", json!({"x": 1, "y": 2})), call("f", json!({"x": 1, "y": 3}))];
        let pred = [call("f", json!({"x": 1, "y": 3})), call("f", json!({"x": 9, "y": 2}))];
        let (reward, matches, _) = score(&gold, &pred, &Weights::default(), HOW);
        assert_eq!(matches[1].pred, Some(0));
        assert!(reward > 0.85, "{reward}");
    }

    #[test]
    fn partial_credit_and_penalties() {
        let w = Weights::default();
        let gold = [call("f", json!({"x": 1, "y": 2}))];
        let (half, m, _) = score(&gold, &[call("f", json!({"x": 1, "y": 5}))], &w, HOW);
        assert!((half - 0.75).abs() < 1e-12, "{half}");
        assert!(m[0].why.as_deref().unwrap().contains("`y` is 5, expected 2"));
        let (with_extra, _, extra) =
            score(&gold, &[call("f", json!({"x": 1, "y": 2})), call("g", json!({}))], &w, HOW);
        assert_eq!((with_extra, extra), (0.5, 1));
        let (none, _, _) = score(&gold, &[], &w, HOW);
        assert_eq!(none, 0.0);
        assert_eq!(score(&[], &[], &w, HOW).0, 1.0);
    }
}
