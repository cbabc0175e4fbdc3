//! `format`: the DeepSeek-R1 format reward.
//!
//! Checks that a completion is a `<think>…</think>` block followed by an `<answer>…</answer>`
//! block, each exactly once. Tags and strictness are configurable:
//! - `strict`: the open-r1 shape, `<think>\n…\n</think>\n<answer>\n…\n</answer>` and nothing else;
//! - `standard` (default): the two blocks in order, separated and surrounded only by whitespace;
//! - `lenient`: the two blocks in order, other text around them allowed.
//!
//! The reward is 1 when every check of the chosen strictness passes and 0 otherwise, or with
//! `"partial": true` the fraction of checks that pass. Each check is also a component.
#![deny(missing_docs)]

use gavel_plugin::{Outcome, Sample, Score};

/// How much of the R1 shape a completion must follow.
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Strictness {
    /// Exactly `<think>\n…\n</think>\n<answer>\n…\n</answer>`.
    Strict,
    /// Both blocks in order, only whitespace outside them.
    #[default]
    Standard,
    /// Both blocks in order, anything outside them.
    Lenient,
}

/// The plugin's config.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Name of the reasoning tag (default `think`).
    pub think_tag: String,
    /// Name of the answer tag (default `answer`).
    pub answer_tag: String,
    /// How strictly the shape is checked (default `standard`).
    pub strictness: Strictness,
    /// Reward the fraction of checks passed instead of all-or-nothing (default false).
    pub partial: bool,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            think_tag: "think".into(),
            answer_tag: "answer".into(),
            strictness: Strictness::Standard,
            partial: false,
        }
    }
}

/// A tag pair found once: the byte offsets of its opening and closing tags.
struct Block {
    open: usize,
    inner: std::ops::Range<usize>,
    end: usize,
}

/// Finds the single `<tag>…</tag>` block; `None` unless each tag occurs exactly once, in order.
fn single_block(text: &str, tag: &str) -> Option<Block> {
    let (open_tag, close_tag) = (format!("<{tag}>"), format!("</{tag}>"));
    if text.matches(&open_tag).count() != 1 || text.matches(&close_tag).count() != 1 {
        return None;
    }
    let open = text.find(&open_tag)?;
    let close = text.find(&close_tag)?;
    (close >= open + open_tag.len()).then(|| Block {
        open,
        inner: open + open_tag.len()..close,
        end: close + close_tag.len(),
    })
}

/// Scores one completion's format.
pub fn reward(sample: &Sample, config: &Config) -> Outcome {
    if config.think_tag.is_empty() || config.answer_tag.is_empty() {
        return Outcome::invalid("config: tags must not be empty");
    }
    let text = sample.completion.as_str();
    let think = single_block(text, &config.think_tag);
    let answer = single_block(text, &config.answer_tag);
    let has_think = think.is_some();
    let has_answer = answer.as_ref().is_some_and(|a| !text[a.inner.clone()].trim().is_empty());
    let ordered = matches!((&think, &answer), (Some(t), Some(a)) if t.end <= a.open);
    let clean = match (&think, &answer, config.strictness) {
        (_, _, Strictness::Lenient) => ordered,
        (Some(t), Some(a), Strictness::Standard) => {
            ordered
                && text[..t.open].trim().is_empty()
                && text[t.end..a.open].trim().is_empty()
                && text[a.end..].trim().is_empty()
        }
        (Some(t), Some(a), Strictness::Strict) => {
            ordered
                && t.open == 0
                && a.end == text.len()
                && &text[t.end..a.open] == "\n"
                && text[t.inner.clone()].starts_with('\n')
                && text[t.inner.clone()].ends_with('\n')
                && text[a.inner.clone()].starts_with('\n')
                && text[a.inner.clone()].ends_with('\n')
        }
        _ => false,
    };
    let checks = [has_think, has_answer, ordered, clean];
    let passed = checks.iter().filter(|&&c| c).count();
    let value = if passed == checks.len() {
        1.0
    } else if config.partial {
        passed as f64 / checks.len() as f64
    } else {
        0.0
    };
    let flag = |b: bool| f64::from(u8::from(b));
    Score::new(value)
        .with("think", flag(has_think))
        .with("answer", flag(has_answer))
        .with("ordered", flag(ordered))
        .with("clean", flag(clean))
        .into()
}

gavel_plugin::export!(
    reward,
    name = "format",
    config_schema = r#"{"type":"object","additionalProperties":false,"properties":{"think_tag":{"type":"string","default":"think"},"answer_tag":{"type":"string","default":"answer"},"strictness":{"enum":["strict","standard","lenient"],"default":"standard"},"partial":{"type":"boolean","default":false}}}"#,
    reference_schema = r#"{"description":"unused"}"#,
);

#[cfg(test)]
mod tests {
    use super::*;

    fn score(completion: &str, config: &Config) -> f64 {
        let sample = Sample::new(completion, gavel_plugin::serde_json::Value::Null);
        match reward(&sample, config) {
            Outcome::Scored(s) => s.value,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn standard_accepts_whitespace_only_outside_the_blocks() {
        let c = Config::default();
        assert_eq!(score("<think>hm</think> <answer>42</answer>\n", &c), 1.0);
        assert_eq!(score("so <think>hm</think><answer>42</answer>", &c), 0.0);
        assert_eq!(score("<answer>42</answer><think>hm</think>", &c), 0.0);
        assert_eq!(score("<think>a</think><think>b</think><answer>42</answer>", &c), 0.0);
        assert_eq!(score("<think>hm</think><answer>  </answer>", &c), 0.0);
    }

    #[test]
    fn strict_is_the_open_r1_shape() {
        let c = Config { strictness: Strictness::Strict, ..Config::default() };
        assert_eq!(score("<think>\nhm\n</think>\n<answer>\n42\n</answer>", &c), 1.0);
        assert_eq!(score("<think>hm</think>\n<answer>42</answer>", &c), 0.0);
    }

    #[test]
    fn lenient_and_partial() {
        let lenient = Config { strictness: Strictness::Lenient, ..Config::default() };
        assert_eq!(score("ok <think>hm</think> so <answer>42</answer> done", &lenient), 1.0);
        let partial = Config { partial: true, ..Config::default() };
        assert_eq!(score("<answer>42</answer>", &partial), 0.25);
    }

    #[test]
    fn custom_tags() {
        let c = Config {
            think_tag: "reasoning".into(),
            answer_tag: "final".into(),
            ..Config::default()
        };
        assert_eq!(score("<reasoning>x</reasoning><final>1</final>", &c), 1.0);
    }
}
