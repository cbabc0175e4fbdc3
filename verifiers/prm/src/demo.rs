//! The demo PRM's task: arithmetic chains with injected wrong steps, generated the way
//! `demo/train_arith_prm.py` trained it, and the AUROC that says how well step scores
//! separate good steps from wrong ones.

/// A chain: the prompt, its steps, and whether each step's own equation is right.
#[derive(Debug, Clone, PartialEq)]
pub struct Chain {
    /// "Start at 07, add 3, subtract 5."
    pub prompt: String,
    /// "07 + 3 = 10", "10 - 5 = 05"
    pub steps: Vec<String>,
    /// One per step.
    pub good: Vec<bool>,
}

/// A small deterministic generator (SplitMix64), so held-out chains are the same on every run.
pub struct Rng(u64);

impl Rng {
    /// A generator from a seed.
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `lo..=hi`.
    pub fn range(&mut self, lo: i64, hi: i64) -> i64 {
        lo + (self.next() % (hi - lo + 1) as u64) as i64
    }

    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// One chain of the demo task: a start in 1..=19, then 4 to 8 additions or subtractions of
/// 1..=9 staying in 0..=19; about a third of the steps state a wrong result (off by 1 to 3,
/// still in 0..=19), and the next step starts from the stated value.
pub fn arith_chain(rng: &mut Rng) -> Chain {
    let mut value = rng.range(1, 19);
    let start = value;
    let (mut words, mut steps, mut good) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..rng.range(4, 8) {
        let b = rng.range(1, 9);
        let add = value + b <= 19 && (value - b < 0 || rng.unit() < 0.5);
        let result = if add { value + b } else { value - b };
        let mut stated = result;
        if rng.unit() < 0.35 {
            let deltas: Vec<i64> = [-3, -2, -1, 1, 2, 3]
                .into_iter()
                .filter(|d| (0..=19).contains(&(result + d)))
                .collect();
            stated += deltas[rng.range(0, deltas.len() as i64 - 1) as usize];
        }
        words.push(format!("{} {b}", if add { "add" } else { "subtract" }));
        steps.push(format!("{value:02} {} {b} = {stated:02}", if add { '+' } else { '-' }));
        good.push(stated == result);
        value = stated;
    }
    Chain { prompt: format!("Start at {start:02}, {}.", words.join(", ")), steps, good }
}

/// The area under the ROC curve of `scores` for telling `positive` items from the rest: the
/// probability that a random positive scores above a random negative (ties count half).
pub fn auroc(scores: &[f64], positive: &[bool]) -> f64 {
    let (mut above, mut pairs) = (0.0, 0.0);
    for (s, p) in scores.iter().zip(positive) {
        if !p {
            continue;
        }
        for (t, q) in scores.iter().zip(positive) {
            if *q {
                continue;
            }
            pairs += 1.0;
            above += if s > t {
                1.0
            } else if s == t {
                0.5
            } else {
                0.0
            };
        }
    }
    if pairs == 0.0 { f64::NAN } else { above / pairs }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Device, Prm, weights::Weights};

    /// The committed demo PRM, on chains it never saw (this generator, not the training
    /// script's), tells right steps from wrong ones.
    #[test]
    fn the_demo_prm_separates_right_steps_from_wrong_ones() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("demo/arith-prm");
        let prm = Prm::load_with(&dir, &Weights::files(&dir).unwrap(), Device::Cpu).unwrap();
        let mut rng = Rng::new(2026);
        let chains: Vec<Chain> = (0..300).map(|_| arith_chain(&mut rng)).collect();
        let encoded: Vec<(Vec<u32>, u32)> =
            chains.iter().map(|c| prm.encode(&c.prompt, &c.steps).unwrap()).collect();
        let inputs: Vec<(&[u32], u32)> =
            encoded.iter().map(|(ids, step)| (ids.as_slice(), *step)).collect();
        let (mut scores, mut good) = (Vec::new(), Vec::new());
        for (result, chain) in prm.score_batch(&inputs).into_iter().zip(&chains) {
            scores.extend(result.unwrap().step_scores);
            good.extend(&chain.good);
        }
        assert_eq!(scores.len(), good.len());
        let auc = auroc(&scores, &good);
        eprintln!("demo PRM: AUROC {auc:.4} over {} held-out steps", scores.len());
        assert!(auc >= 0.95, "AUROC {auc}");
    }

    #[test]
    fn chains_follow_the_task() {
        let mut rng = Rng::new(1);
        for _ in 0..200 {
            let chain = arith_chain(&mut rng);
            assert!((4..=8).contains(&chain.steps.len()));
            for (step, good) in chain.steps.iter().zip(&chain.good) {
                let parts: Vec<&str> = step.split(' ').collect();
                let (a, b, c): (i64, i64, i64) = (
                    parts[0].parse().unwrap(),
                    parts[2].parse().unwrap(),
                    parts[4].parse().unwrap(),
                );
                let right = if parts[1] == "+" { a + b } else { a - b };
                assert_eq!(right == c, *good, "{step}");
            }
        }
    }

    #[test]
    fn auroc_of_perfect_random_and_inverted_scores() {
        let labels = [true, false, true, false];
        assert_eq!(auroc(&[0.9, 0.1, 0.8, 0.2], &labels), 1.0);
        assert_eq!(auroc(&[0.5; 4], &labels), 0.5);
        assert_eq!(auroc(&[0.1, 0.9, 0.2, 0.8], &labels), 0.0);
    }
}
