//! The plugin's `reward` over the labelled math corpus, natively (no sandbox), for profilers
//! that count instructions. On a shared VM wall-clock A/B tests of the plugin move by ±30%
//! between runs; an instruction count does not:
//!
//! ```sh
//! cargo build --release -p gavel-plugin-math --example corpus
//! valgrind --tool=callgrind target/release/examples/corpus 2   # passes over the corpus
//! ```
//!
//! Prints the agreement with the corpus labels, so a change that speeds the plugin up by
//! changing its verdicts shows.

use gavel_plugin::{Outcome, Sample};

fn main() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/corpus/math/pairs.jsonl");
    let text = std::fs::read_to_string(root).expect("the math corpus");
    let pairs: Vec<serde_json::Value> = text
        .lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| serde_json::from_str(line).expect("a corpus line is JSON"))
        .collect();
    let passes: usize = std::env::args().nth(1).map_or(1, |n| n.parse().expect("passes"));
    let config = gavel_plugin_math::Config::default();
    let mut agree = 0;
    for _ in 0..passes {
        for pair in &pairs {
            let completion = pair["completion"].as_str().expect("completion");
            let sample = Sample::new(completion, serde_json::json!({ "answer": pair["gold"] }));
            let outcome = gavel_plugin_math::reward(&sample, &config);
            let equal = matches!(outcome, Outcome::Scored(ref score) if score.value == 1.0);
            agree += usize::from(equal == pair["equal"].as_bool().expect("label"));
        }
    }
    println!(
        "{} samples, agreement with the labels {:.4}",
        passes * pairs.len(),
        agree as f64 / (passes * pairs.len()) as f64
    );
}
