//! gavel's learned verifier: a process reward model (PRM) scores each reasoning step of a
//! completion, in process.
//!
//! ```text
//! checkpoint dir ─> config.json ─> ModelConfig + Readout (two-class head, value head, LM tokens)
//!                ─> *.safetensors (bf16 / f16 / f32) ─> Weights (f32) ─> Model
//! text (prompt, steps) ─> template + tokenizer.json ─> ids with a step token after each step
//! ids ─> Model::forward (f32, multi-threaded GEMMs) ─> readout at step positions ─> P(good) per step
//!     └─> or, on a GPU, CudaModel (bf16, cuBLAS + NVRTC kernels, the batch packed without padding)
//! ```
//!
//! The CPU path matches transformers' f32 outputs to 1e-4 on the fixture checkpoints of every
//! family (`fixtures/`, made by `fixtures/make_fixtures.py`). With the `cuda` feature (on by
//! default; nothing CUDA is needed to build) a GPU is used when one is found, else the CPU, and
//! the load logs which ([`Device`]).
#![deny(missing_docs)]

pub mod config;
#[cfg(feature = "cuda")]
mod cuda;
pub mod demo;
pub mod golden;
pub mod model;
mod source;
pub mod weights;

use std::path::Path;

use rayon::prelude::*;

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
    /// The GPU could not be used (no device, a CUDA library missing, a CUDA call failed).
    #[error("cuda: {0}")]
    Device(String),
}

/// Where a PRM runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Device {
    /// The GPU when one is usable, else the CPU (the reason logged).
    #[default]
    Auto,
    /// The f32 CPU path.
    Cpu,
    /// The GPU, or an error saying why not.
    Cuda,
}

impl std::str::FromStr for Device {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "auto" => Ok(Self::Auto),
            "cpu" => Ok(Self::Cpu),
            "cuda" => Ok(Self::Cuda),
            other => Err(format!("unknown device {other:?} (auto, cpu, cuda)")),
        }
    }
}

impl Device {
    /// `GAVEL_PRM_DEVICE` (`auto`, `cpu` or `cuda`), else [`Device::Auto`].
    pub fn from_env() -> Result<Self, PrmError> {
        match std::env::var("GAVEL_PRM_DEVICE") {
            Ok(v) => v.parse().map_err(|e| PrmError::Config(format!("GAVEL_PRM_DEVICE: {e}"))),
            Err(_) => Ok(Self::Auto),
        }
    }
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

/// A PRM checkpoint with its tokenizer, on the CPU or a GPU.
pub struct Prm {
    backend: Backend,
    tokenizer: Option<tokenizers::Tokenizer>,
    step_token: Option<u32>,
}

// One per loaded PRM, never moved on a hot path: the size difference costs nothing.
#[allow(clippy::large_enum_variant)]
enum Backend {
    Cpu(Model),
    #[cfg(feature = "cuda")]
    Cuda(cuda::CudaModel),
}

/// The step separator of Qwen2.5-Math-PRM, appended after every step.
pub const QWEN_STEP_TOKEN: &str = "<extra_0>";

impl Prm {
    /// Loads the checkpoint in `dir` (`config.json`, its safetensors shards and, optionally,
    /// `tokenizer.json`) onto the device `GAVEL_PRM_DEVICE` names, by default the GPU if there
    /// is one.
    pub fn load(dir: &Path) -> Result<Self, PrmError> {
        Self::load_with(dir, &weights::Weights::files(dir)?, Device::from_env()?)
    }

    /// Loads `dir`'s config and tokenizer with the given weight files onto `device`.
    pub fn load_with(
        dir: &Path,
        files: &[std::path::PathBuf],
        device: Device,
    ) -> Result<Self, PrmError> {
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
        let backend = Self::place(model, device)?;
        let prm = Self { backend, tokenizer, step_token };
        tracing::info!(dir = %dir.display(), ?readout, backend = %prm.backend(), "PRM loaded");
        Ok(prm)
    }

    #[cfg(feature = "cuda")]
    fn place(model: Model, device: Device) -> Result<Backend, PrmError> {
        if device == Device::Cpu {
            return Ok(Backend::Cpu(model));
        }
        match cuda::CudaModel::new(&model) {
            Ok(gpu) => Ok(Backend::Cuda(gpu)),
            Err(e) if device == Device::Auto => {
                tracing::info!("PRM on the CPU: no usable GPU ({e})");
                Ok(Backend::Cpu(model))
            }
            Err(e) => Err(e),
        }
    }

    #[cfg(not(feature = "cuda"))]
    fn place(model: Model, device: Device) -> Result<Backend, PrmError> {
        if device == Device::Cuda {
            return Err(PrmError::Device("this build has no CUDA backend (feature `cuda`)".into()));
        }
        Ok(Backend::Cpu(model))
    }

    /// Where the model runs, in words: `cpu (f32)` or `cuda: <device> (bf16)`.
    pub fn backend(&self) -> String {
        match &self.backend {
            Backend::Cpu(_) => "cpu (f32)".into(),
            #[cfg(feature = "cuda")]
            Backend::Cuda(gpu) => format!("cuda: {} (bf16)", gpu.device()),
        }
    }

    /// The model's config.
    pub fn config(&self) -> &ModelConfig {
        match &self.backend {
            Backend::Cpu(m) => m.config(),
            #[cfg(feature = "cuda")]
            Backend::Cuda(gpu) => gpu.config(),
        }
    }

    /// Scores raw ids: one score per occurrence of `step_token`.
    pub fn score_ids(&self, ids: &[u32], step_token: u32) -> Result<StepScores, PrmError> {
        self.score_batch(&[(ids, step_token)]).pop().expect("one result per input")
    }

    /// Scores many sequences at once, one result per input: on the CPU in parallel, on a GPU
    /// packed into as few forward passes as fit. A bad sequence fails alone.
    pub fn score_batch(&self, inputs: &[(&[u32], u32)]) -> Vec<Result<StepScores, PrmError>> {
        match &self.backend {
            Backend::Cpu(model) => inputs
                .par_iter()
                .map(|(ids, step)| Ok(StepScores::new(model.step_scores(ids, *step)?)))
                .collect(),
            #[cfg(feature = "cuda")]
            Backend::Cuda(gpu) => score_on_gpu(gpu, inputs),
        }
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

/// The valid sequences with steps go to the GPU in one call; the rest are answered here.
#[cfg(feature = "cuda")]
fn score_on_gpu(
    gpu: &cuda::CudaModel,
    inputs: &[(&[u32], u32)],
) -> Vec<Result<StepScores, PrmError>> {
    let mut out: Vec<Option<Result<StepScores, PrmError>>> = Vec::with_capacity(inputs.len());
    let mut work: Vec<(&[u32], Vec<usize>)> = Vec::new();
    for (ids, step) in inputs {
        let Some((ids, positions)) = model::scored_prefix(ids, *step) else {
            out.push(Some(Ok(StepScores::new(Vec::new()))));
            continue;
        };
        match model::check_ids(ids, gpu.config()) {
            Ok(()) => {
                work.push((ids, positions));
                out.push(None);
            }
            Err(e) => out.push(Some(Err(e))),
        }
    }
    let mut scored = match gpu.step_scores(&work) {
        Ok(scores) => scores.into_iter().map(|s| Ok(StepScores::new(s))).collect::<Vec<_>>(),
        Err(e) => {
            let why = match e {
                PrmError::Device(why) => why,
                other => other.to_string(),
            };
            work.iter().map(|_| Err(PrmError::Device(why.clone()))).collect()
        }
    }
    .into_iter();
    out.into_iter()
        .map(|r| r.unwrap_or_else(|| scored.next().expect("one score per sequence sent")))
        .collect()
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

    fn cpu(name: &str) -> Prm {
        let dir = fixture(name);
        Prm::load_with(&dir, &weights::Weights::files(&dir).unwrap(), Device::Cpu)
            .unwrap_or_else(|e| panic!("{name}: {e}"))
    }

    /// The fixture families, each with golden outputs from transformers.
    const FAMILIES: [&str; 6] = [
        "qwen2_prm",
        "qwen2_prm_mha",
        "qwen2_prm_gqa4",
        "qwen2_prm_odd",
        "qwen2_value_head",
        "llama_lm_head",
    ];

    fn check(prm: &Prm, name: &str, key: &str, tolerance: f64) -> f64 {
        let golden = golden::Golden::load(&fixture(name), key).unwrap();
        let worst = golden.worst_difference(prm).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(worst <= tolerance, "{name} {key}: worst difference {worst:e} > {tolerance:e}");
        worst
    }

    #[test]
    fn cpu_matches_transformers_f32_on_every_family() {
        for name in FAMILIES {
            let prm = cpu(name);
            let worst = check(&prm, name, "cases", 1e-4);
            eprintln!("{name}: worst |Δp| {worst:e}");
        }
    }

    #[test]
    fn bf16_weights_load_and_match_within_bf16_tolerance() {
        let dir = fixture("qwen2_prm");
        let prm = Prm::load_with(&dir, &[dir.join("model.bf16.safetensors")], Device::Cpu).unwrap();
        check(&prm, "qwen2_prm", "bf16_cases", 2e-2);
    }

    /// With a GPU (`GAVEL_REQUIRE_CUDA=1` makes one required), the CUDA path matches
    /// transformers' f32 outputs within bf16 tolerance on every family; without one, asking
    /// for it is an error that says why, and `auto` falls back to the CPU.
    #[test]
    fn cuda_matches_transformers_within_bf16_tolerance_or_auto_falls_back() {
        let dir = fixture("qwen2_prm");
        let files = weights::Weights::files(&dir).unwrap();
        match Prm::load_with(&dir, &files, Device::Cuda) {
            Ok(_) => {
                for name in FAMILIES {
                    let dir = fixture(name);
                    let files = weights::Weights::files(&dir).unwrap();
                    let gpu = Prm::load_with(&dir, &files, Device::Cuda).unwrap();
                    assert!(gpu.backend().starts_with("cuda"), "{}", gpu.backend());
                    let worst = check(&gpu, name, "cases", 2e-2);
                    eprintln!("{name} on {}: worst |Δp| {worst:e}", gpu.backend());
                }
            }
            Err(e) => {
                assert!(
                    std::env::var_os("GAVEL_REQUIRE_CUDA").is_none(),
                    "GAVEL_REQUIRE_CUDA is set but the GPU could not be used: {e}"
                );
                assert!(matches!(e, PrmError::Device(_)), "{e}");
                assert_eq!(
                    Prm::load_with(&dir, &files, Device::Auto).unwrap().backend(),
                    "cpu (f32)"
                );
            }
        }
    }

    #[test]
    fn text_input_uses_the_template_and_one_step_token_per_step() {
        let prm = cpu("qwen2_prm");
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
        let prm = cpu("qwen2_prm");
        let err = prm.score_ids(&[1, 99_999, 3], 3).unwrap_err();
        assert!(err.to_string().contains("outside the vocabulary"), "{err}");
        assert!(prm.score_ids(&[5, 6, 7], 3).unwrap().step_scores.is_empty());
    }

    #[test]
    fn devices_parse_and_unknown_ones_are_named() {
        assert_eq!("cuda".parse::<Device>(), Ok(Device::Cuda));
        assert_eq!("cpu".parse::<Device>(), Ok(Device::Cpu));
        assert!("gpu".parse::<Device>().unwrap_err().contains("\"gpu\""));
    }

    #[test]
    fn a_batch_scores_each_sequence_as_alone_and_a_bad_one_fails_alone() {
        let prm = cpu("qwen2_prm");
        let golden = golden::Golden::load(&fixture("qwen2_prm"), "cases").unwrap();
        let (ids, step) = (&golden.cases[0].0, golden.step_token);
        let bad = [1u32, 99_999, step];
        let results = prm.score_batch(&[(ids, step), (&bad, step), (&[5, 6], step)]);
        assert_eq!(results[0].as_ref().unwrap(), &prm.score_ids(ids, step).unwrap());
        assert!(results[1].as_ref().unwrap_err().to_string().contains("outside the vocabulary"));
        assert!(results[2].as_ref().unwrap().step_scores.is_empty());
    }

    #[test]
    fn aggregations() {
        let s = StepScores::new(vec![0.5, 0.25, 1.0]);
        assert_eq!((s.min, s.last, s.prod), (Some(0.25), Some(1.0), Some(0.125)));
        assert!((s.mean.unwrap() - 0.5833333333333334).abs() < 1e-12);
        assert_eq!(StepScores::new(vec![]).min, None);
    }
}
