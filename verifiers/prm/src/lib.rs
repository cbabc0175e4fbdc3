//! gavel's learned verifier: a process reward model (PRM) scores each reasoning step of a
//! completion, in process.
//!
//! ```text
//! checkpoint dir ─> config.json ─> ModelConfig + Readout (two-class head, value head, LM tokens)
//!                ─> *.safetensors (bf16 / f16 / f32) ─> Weights (f32) ─> Model
//! text (prompt, steps) ─> template + tokenizer.json ─> ids with a step token after each step
//! ids ─> Model::forward (f32, multi-threaded GEMMs) ─> readout at step positions ─> P(good) per step
//! ```
//!
//! The CPU path matches transformers' f32 outputs to 1e-4 on the fixture checkpoints of every
//! family (`fixtures/`, made by `fixtures/make_fixtures.py`). A CUDA path is not built yet.
#![deny(missing_docs)]

pub mod config;
pub mod demo;
pub mod model;
mod source;
pub mod weights;

use std::path::Path;

pub use config::{Family, ModelConfig, Readout};
pub use model::Model;
pub use source::register;

/// Why a PRM could not be loaded or run.
#[derive(Debug, thiserror::Error)]
pub enum PrmError {
    /// A file could not be read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The error.
        source: std::io::Error,
    },
    /// `config.json` is invalid or describes something not supported.
    #[error("config.json: {0}")]
    Config(String),
    /// The weights are missing, misshapen or of an unsupported type.
    #[error("weights: {0}")]
    Weights(String),
    /// The tokenizer could not be loaded or used.
    #[error("tokenizer: {0}")]
    Tokenizer(String),
    /// The input cannot be scored (ids outside the vocabulary, too long).
    #[error("input: {0}")]
    Input(String),
}

impl PrmError {
    pub(crate) fn io(path: &Path, source: std::io::Error) -> Self {
        Self::Io { path: path.display().to_string(), source }
    }
}

/// Step scores and their aggregations.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct StepScores {
    /// P(step correct), one per step.
    pub step_scores: Vec<f64>,
    /// The weakest step (Math-Shepherd).
    pub min: Option<f64>,
    /// The last step (ORM-like).
    pub last: Option<f64>,
    /// The product (Lightman et al.).
    pub prod: Option<f64>,
    /// The mean (RLHFlow).
    pub mean: Option<f64>,
}

impl StepScores {
    /// The aggregations of `scores` (all `None` when there is no step).
    pub fn new(step_scores: Vec<f64>) -> Self {
        let n = step_scores.len();
        let some = |x: f64| (n > 0).then_some(x);
        Self {
            min: some(step_scores.iter().copied().fold(f64::INFINITY, f64::min)),
            last: step_scores.last().copied(),
            prod: some(step_scores.iter().product()),
            mean: some(step_scores.iter().sum::<f64>() / n.max(1) as f64),
            step_scores,
        }
    }
}

/// A PRM checkpoint with its tokenizer.
pub struct Prm {
    model: Model,
    tokenizer: Option<tokenizers::Tokenizer>,
    step_token: Option<u32>,
}

/// The step separator of Qwen2.5-Math-PRM, appended after every step.
pub const QWEN_STEP_TOKEN: &str = "<extra_0>";

impl Prm {
    /// Loads the checkpoint in `dir`: `config.json`, its safetensors shards and (optionally)
    /// `tokenizer.json`.
    pub fn load(dir: &Path) -> Result<Self, PrmError> {
        Self::load_with(dir, &weights::Weights::files(dir)?)
    }

    /// Loads `dir`'s config and tokenizer with the given weight files.
    pub fn load_with(dir: &Path, files: &[std::path::PathBuf]) -> Result<Self, PrmError> {
        let config_path = dir.join("config.json");
        let text =
            std::fs::read_to_string(&config_path).map_err(|e| PrmError::io(&config_path, e))?;
        let weights = weights::Weights::load(files)?;
        let (config, readout) = ModelConfig::parse(&text, weights.has("v_head.summary.weight"))?;
        let model = Model::new(config, readout, weights)?;
        let tokenizer_path = dir.join("tokenizer.json");
        let tokenizer =
            if tokenizer_path.is_file() {
                Some(tokenizers::Tokenizer::from_file(&tokenizer_path).map_err(|e| {
                    PrmError::Tokenizer(format!("{}: {e}", tokenizer_path.display()))
                })?)
            } else {
                None
            };
        let step_token = tokenizer.as_ref().and_then(|t| t.token_to_id(QWEN_STEP_TOKEN));
        tracing::info!(dir = %dir.display(), ?readout, "PRM loaded on the CPU backend (f32)");
        Ok(Self { model, tokenizer, step_token })
    }

    /// The model.
    pub fn model(&self) -> &Model {
        &self.model
    }

    /// Scores raw ids: one score per occurrence of `step_token`.
    pub fn score_ids(&self, ids: &[u32], step_token: u32) -> Result<StepScores, PrmError> {
        Ok(StepScores::new(self.model.step_scores(ids, step_token)?))
    }

    /// Scores a prompt and its steps, rendered the way Qwen2.5-Math-PRM was trained: ChatML with
    /// the system prompt it expects, the steps joined by `<extra_0>` and one after the last.
    pub fn score_text(&self, prompt: &str, steps: &[String]) -> Result<StepScores, PrmError> {
        let (ids, step) = self.encode(prompt, steps)?;
        self.score_ids(&ids, step)
    }

    /// The ids [`Prm::score_text`] scores, and the step token's id.
    pub fn encode(&self, prompt: &str, steps: &[String]) -> Result<(Vec<u32>, u32), PrmError> {
        let (Some(tokenizer), Some(step)) = (&self.tokenizer, self.step_token) else {
            return Err(PrmError::Tokenizer(format!(
                "text input needs a tokenizer.json with the step token {QWEN_STEP_TOKEN}; give input_ids and step_token_id instead"
            )));
        };
        if steps.iter().any(|s| s.contains(QWEN_STEP_TOKEN)) {
            return Err(PrmError::Input(format!(
                "a step contains the step token {QWEN_STEP_TOKEN}"
            )));
        }
        let text = qwen_prm_chat(prompt, steps);
        let encoding =
            tokenizer.encode(text, false).map_err(|e| PrmError::Tokenizer(e.to_string()))?;
        let ids = encoding.get_ids();
        let found = ids.iter().filter(|&&t| t == step).count();
        if found != steps.len() {
            return Err(PrmError::Tokenizer(format!(
                "{QWEN_STEP_TOKEN} tokenised into {found} step tokens for {} steps",
                steps.len()
            )));
        }
        Ok((ids.to_vec(), step))
    }
}

/// Qwen2.5-Math-PRM's input: ChatML, its system prompt, the question, then the steps each
/// followed by `<extra_0>`.
pub fn qwen_prm_chat(prompt: &str, steps: &[String]) -> String {
    let system = "Please reason step by step, and put your final answer within \\boxed{}.";
    let mut answer = String::new();
    for step in steps {
        answer.push_str(step);
        answer.push_str(QWEN_STEP_TOKEN);
    }
    format!(
        "<|im_start|>system\n{system}<|im_end|>\n<|im_start|>user\n{prompt}<|im_end|>\n<|im_start|>assistant\n{answer}<|im_end|>\n"
    )
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;

    fn fixture(name: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures").join(name)
    }

    fn golden(name: &str) -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(fixture(name).join("golden.json")).unwrap())
            .unwrap()
    }

    fn check(prm: &Prm, golden: &serde_json::Value, key: &str, tolerance: f64) -> f64 {
        let step = golden["step_token_id"].as_u64().unwrap() as u32;
        let mut worst = 0.0f64;
        for case in golden[key].as_array().unwrap() {
            let ids: Vec<u32> = case["input_ids"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_u64().unwrap() as u32)
                .collect();
            let want: Vec<f64> = case["step_scores"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_f64().unwrap())
                .collect();
            let got = prm.score_ids(&ids, step).unwrap().step_scores;
            assert_eq!(got.len(), want.len());
            for (g, w) in got.iter().zip(&want) {
                worst = worst.max((g - w).abs());
            }
        }
        assert!(worst <= tolerance, "{key}: worst difference {worst:e} > {tolerance:e}");
        worst
    }

    #[test]
    fn cpu_matches_transformers_f32_on_every_family() {
        for name in [
            "qwen2_prm",
            "qwen2_prm_mha",
            "qwen2_prm_gqa4",
            "qwen2_prm_odd",
            "qwen2_value_head",
            "llama_lm_head",
        ] {
            let prm = Prm::load(&fixture(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
            let worst = check(&prm, &golden(name), "cases", 1e-4);
            eprintln!("{name}: worst |Δp| {worst:e}");
        }
    }

    #[test]
    fn bf16_weights_load_and_match_within_bf16_tolerance() {
        let dir = fixture("qwen2_prm");
        let prm = Prm::load_with(&dir, &[dir.join("model.bf16.safetensors")]).unwrap();
        check(&prm, &golden("qwen2_prm"), "bf16_cases", 2e-2);
    }

    #[test]
    fn text_input_uses_the_template_and_one_step_token_per_step() {
        let prm = Prm::load(&fixture("qwen2_prm")).unwrap();
        let steps = vec!["Step 1: 2 + 3 = 5.".to_owned(), "Step 2: 5 * 4 = 20.".to_owned()];
        let scores = prm.score_text("What is (2 + 3) * 4?", &steps).unwrap();
        assert_eq!(scores.step_scores.len(), 2);
        assert!(scores.step_scores.iter().all(|p| (0.0..=1.0).contains(p)));
        assert_eq!(scores.last, Some(scores.step_scores[1]));
        let err = prm.score_text("q", &["a <extra_0> b".to_owned()]).unwrap_err();
        assert!(err.to_string().contains("step token"), "{err}");
    }

    #[test]
    fn bad_inputs_are_errors_that_say_what() {
        let prm = Prm::load(&fixture("qwen2_prm")).unwrap();
        let err = prm.score_ids(&[1, 99_999, 3], 3).unwrap_err();
        assert!(err.to_string().contains("outside the vocabulary"), "{err}");
        assert!(prm.score_ids(&[5, 6, 7], 3).unwrap().step_scores.is_empty());
    }

    #[test]
    fn aggregations() {
        let s = StepScores::new(vec![0.5, 0.25, 1.0]);
        assert_eq!((s.min, s.last, s.prod), (Some(0.25), Some(1.0), Some(0.125)));
        assert!((s.mean.unwrap() - 0.5833333333333334).abs() < 1e-12);
        assert_eq!(StepScores::new(vec![]).min, None);
    }
}
