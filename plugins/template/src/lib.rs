//! A template gavel plugin. Build it with
//! `cargo build --release --target wasm32-wasip2` and score with
//! `gavel score --plugin target/wasm32-wasip2/release/gavel_plugin_template.wasm --input …`.

use gavel_plugin::{Outcome, Sample, Score};

/// The plugin's options. `deny_unknown_fields` turns a misspelt option into an `invalid`
/// outcome instead of a silent default.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Compare case-sensitively.
    pub case_sensitive: bool,
}

/// Rewards 1 when the completion contains `reference.answer`, 0 when it does not, and is
/// not applicable when the sample has no answer to look for: never a 0 for a sample it
/// cannot judge.
pub fn reward(sample: &Sample, config: &Config) -> Outcome {
    let Some(answer) = sample.reference_str("answer") else {
        return Outcome::not_applicable("no reference.answer");
    };
    let found = if config.case_sensitive {
        sample.completion.contains(&answer)
    } else {
        sample.completion.to_lowercase().contains(&answer.to_lowercase())
    };
    let value = f64::from(u8::from(found));
    Score::new(value).with("found", value).into()
}

gavel_plugin::export!(reward, name = "template");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_answer() {
        let sample = Sample::new(
            "The answer is PARIS.",
            gavel_plugin::serde_json::json!({"answer": "Paris"}),
        );
        assert_eq!(
            reward(&sample, &Config::default()),
            Outcome::Scored(Score::new(1.0).with("found", 1.0))
        );
        let strict = Config { case_sensitive: true };
        assert_eq!(reward(&sample, &strict), Outcome::Scored(Score::new(0.0).with("found", 0.0)));
    }
}
