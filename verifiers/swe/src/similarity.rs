//! SWE-RL's patch-similarity reward: per touched file, Python `difflib.SequenceMatcher(None,
//! predicted, oracle, autojunk=False).ratio()` of the two diffs, averaged over the union of
//! files (0 for a file only one side touches).
//!
//! The matcher is a port of difflib's (Ratcliff/Obershelp: the longest matching block, then
//! recursively either side of it, earliest block on ties), so ratios equal Python's to the
//! last bit. One difference from SWE-RL: it regenerates each diff from file contents with
//! three lines of context; gavel compares the hunks as the patches give them, which is the
//! same for patches made by `git diff` with default context.

use std::collections::HashMap;

use crate::patch;

/// Longest diff text (in characters, per file and side) compared; a longer one counts as
/// dissimilar (0), which keeps the quadratic matcher bounded.
pub const MAX_CHARS: usize = 20_000;

/// The similarity of a predicted and an oracle patch, in [0, 1].
pub fn patch_similarity(predicted: &str, oracle: &str) -> f64 {
    let pred = patch::files(predicted);
    let gold = patch::files(oracle);
    let mut paths: Vec<&str> = pred.iter().chain(&gold).map(|f| f.path.as_str()).collect();
    paths.sort_unstable();
    paths.dedup();
    if paths.is_empty() {
        return 0.0;
    }
    let hunks = |files: &[patch::FileDiff], path: &str| {
        files.iter().filter(|f| f.path == path).map(|f| f.hunks.as_str()).collect::<String>()
    };
    let total: f64 = paths
        .iter()
        .map(|path| {
            let (p, o) = (hunks(&pred, path), hunks(&gold, path));
            if p.is_empty() || o.is_empty() { 0.0 } else { ratio(&p, &o) }
        })
        .sum();
    total / paths.len() as f64
}

/// `difflib.SequenceMatcher(None, a, b, autojunk=False).ratio()` over characters.
pub fn ratio(a: &str, b: &str) -> f64 {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    if a.len() + b.len() == 0 {
        return 1.0;
    }
    if a.len() > MAX_CHARS || b.len() > MAX_CHARS {
        return 0.0;
    }
    let matched: usize = matching_blocks(&a, &b).iter().map(|&(_, _, k)| k).sum();
    2.0 * matched as f64 / (a.len() + b.len()) as f64
}

/// difflib's `get_matching_blocks`, without the final sort and merge (the sum is the same).
fn matching_blocks(a: &[char], b: &[char]) -> Vec<(usize, usize, usize)> {
    let mut b2j: HashMap<char, Vec<usize>> = HashMap::new();
    for (j, c) in b.iter().enumerate() {
        b2j.entry(*c).or_default().push(j);
    }
    let mut blocks = Vec::new();
    let mut queue = vec![(0, a.len(), 0, b.len())];
    while let Some((alo, ahi, blo, bhi)) = queue.pop() {
        let (i, j, k) = longest_match(a, &b2j, alo, ahi, blo, bhi);
        if k > 0 {
            blocks.push((i, j, k));
            if alo < i && blo < j {
                queue.push((alo, i, blo, j));
            }
            if i + k < ahi && j + k < bhi {
                queue.push((i + k, ahi, j + k, bhi));
            }
        }
    }
    blocks
}

/// difflib's `find_longest_match` with no junk: the longest block `a[i..i+k] == b[j..j+k]` in
/// the ranges, the earliest `i` (then `j`) among the longest.
fn longest_match(
    a: &[char],
    b2j: &HashMap<char, Vec<usize>>,
    alo: usize,
    ahi: usize,
    blo: usize,
    bhi: usize,
) -> (usize, usize, usize) {
    let (mut best_i, mut best_j, mut best) = (alo, blo, 0);
    let mut lens: HashMap<usize, usize> = HashMap::new();
    for (i, c) in a.iter().enumerate().take(ahi).skip(alo) {
        let mut next: HashMap<usize, usize> = HashMap::new();
        if let Some(js) = b2j.get(c) {
            for &j in js {
                if j < blo {
                    continue;
                }
                if j >= bhi {
                    break;
                }
                let k = j.checked_sub(1).and_then(|p| lens.get(&p)).copied().unwrap_or(0) + 1;
                next.insert(j, k);
                if k > best {
                    (best_i, best_j, best) = (i + 1 - k, j + 1 - k, k);
                }
            }
        }
        lens = next;
    }
    (best_i, best_j, best)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ratios_equal_pythons() {
        // Values printed by CPython 3.11's difflib.SequenceMatcher(None, a, b, autojunk=False).ratio().
        assert_eq!(ratio("abcd", "bcde"), 0.75);
        assert_eq!(ratio("", ""), 1.0);
        assert_eq!(ratio("abc", ""), 0.0);
        assert_eq!(
            ratio("private Thread currentThread;", "private volatile Thread currentThread;"),
            0.8656716417910447
        );
        assert_eq!(ratio("qabxcd", "abycdf"), 0.6666666666666666);
    }

    #[test]
    fn identical_patches_are_one_and_disjoint_files_zero() {
        let p = "--- a/x.py\n+++ b/x.py\n@@ -1 +1 @@\n-a\n+b\n";
        let q = "--- a/y.py\n+++ b/y.py\n@@ -1 +1 @@\n-a\n+b\n";
        assert_eq!(patch_similarity(p, p), 1.0);
        assert_eq!(patch_similarity(p, q), 0.0);
        let both = format!("{p}{q}");
        assert_eq!(patch_similarity(&both, p), 0.5);
    }
}
