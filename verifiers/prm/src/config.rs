//! A checkpoint's `config.json`, read into what the forward pass needs; anything it cannot run
//! exactly is refused with the field named.

use serde::Deserialize;

use crate::PrmError;

/// How step scores are read from the model's last hidden states.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Readout {
    /// Qwen2.5-Math-PRM: `score.0` (h→h) → ReLU → `score.2` (h→2); P(good) = softmax[1].
    TwoClass,
    /// Skywork-o1-Open-PRM: `v_head.summary` (h→1); P(good) = sigmoid.
    ValueHead,
    /// Math-Shepherd / RLHFlow: the LM head's logits of a good and a bad token; P(good) =
    /// softmax over the two, the good one's share.
    LmTokens {
        /// The good token's id (Math-Shepherd: `+`).
        good: u32,
        /// The bad token's id (Math-Shepherd: `-`).
        bad: u32,
    },
}

/// The decoder family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    /// Qwen2: q/k/v projections with bias.
    Qwen2,
    /// Llama (and Mistral without sliding windows): no projection biases by default.
    Llama,
}

/// What the forward pass needs from `config.json`.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelConfig {
    /// Qwen2 or Llama.
    pub family: Family,
    /// Vocabulary size.
    pub vocab_size: usize,
    /// Residual width.
    pub hidden_size: usize,
    /// MLP width.
    pub intermediate_size: usize,
    /// Decoder layers.
    pub num_layers: usize,
    /// Query heads.
    pub num_heads: usize,
    /// Key/value heads (grouped-query attention when fewer than query heads).
    pub num_kv_heads: usize,
    /// Width of one head.
    pub head_dim: usize,
    /// RMSNorm epsilon.
    pub rms_norm_eps: f64,
    /// RoPE base.
    pub rope_theta: f64,
    /// q/k/v projections carry a bias.
    pub qkv_bias: bool,
    /// The LM head is the embedding matrix.
    pub tie_word_embeddings: bool,
    /// Longest sequence the checkpoint was built for.
    pub max_positions: usize,
}

#[derive(Deserialize)]
struct Raw {
    model_type: Option<String>,
    #[serde(default)]
    architectures: Vec<String>,
    vocab_size: usize,
    hidden_size: usize,
    intermediate_size: usize,
    num_hidden_layers: usize,
    num_attention_heads: usize,
    num_key_value_heads: Option<usize>,
    head_dim: Option<usize>,
    rms_norm_eps: f64,
    rope_theta: Option<f64>,
    rope_parameters: Option<serde_json::Value>,
    rope_scaling: Option<serde_json::Value>,
    attention_bias: Option<bool>,
    mlp_bias: Option<bool>,
    #[serde(default)]
    tie_word_embeddings: bool,
    max_position_embeddings: Option<usize>,
    use_sliding_window: Option<bool>,
    hidden_act: Option<String>,
    gavel_prm: Option<GavelPrm>,
}

/// gavel's own key in `config.json`, for checkpoints whose readout the architecture name does
/// not say: `{"gavel_prm": {"readout": "lm_tokens", "good_token_id": 648, "bad_token_id": 387}}`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct GavelPrm {
    readout: String,
    good_token_id: Option<u32>,
    bad_token_id: Option<u32>,
}

fn bad(field: &str, why: impl std::fmt::Display) -> PrmError {
    PrmError::Config(format!("`{field}`: {why}"))
}

impl ModelConfig {
    /// Reads `config.json` text; `has_value_head` says whether the weights hold `v_head.*`.
    pub fn parse(text: &str, has_value_head: bool) -> Result<(Self, Readout), PrmError> {
        let raw: Raw = serde_json::from_str(text).map_err(|e| PrmError::Config(e.to_string()))?;
        let arch = raw.architectures.first().cloned().unwrap_or_default();
        let family = match raw.model_type.as_deref() {
            Some("qwen2") => Family::Qwen2,
            Some("llama" | "mistral") => Family::Llama,
            Some(other) => {
                return Err(bad(
                    "model_type",
                    format!("{other:?} is not supported (qwen2, llama, mistral)"),
                ));
            }
            None => return Err(bad("model_type", "missing")),
        };
        if raw.use_sliding_window == Some(true) {
            return Err(bad("use_sliding_window", "sliding-window attention is not supported"));
        }
        if let Some(act) = raw.hidden_act.as_deref().filter(|a| *a != "silu") {
            return Err(bad("hidden_act", format!("{act:?} is not supported (silu)")));
        }
        if raw.mlp_bias == Some(true) {
            return Err(bad("mlp_bias", "MLP biases are not supported"));
        }
        if raw.rope_scaling.as_ref().is_some_and(|v| !v.is_null()) {
            return Err(bad(
                "rope_scaling",
                "scaled RoPE (llama3, yarn, linear) is not supported yet",
            ));
        }
        let rope_theta = match (&raw.rope_parameters, raw.rope_theta) {
            (Some(params), _) if params.get("rope_theta").is_some() => {
                if params.get("rope_type").and_then(|t| t.as_str()).is_some_and(|t| t != "default")
                {
                    return Err(bad(
                        "rope_parameters.rope_type",
                        "only the default RoPE is supported",
                    ));
                }
                params["rope_theta"]
                    .as_f64()
                    .ok_or_else(|| bad("rope_parameters.rope_theta", "not a number"))?
            }
            (_, Some(theta)) => theta,
            _ => 10_000.0,
        };
        let heads = raw.num_attention_heads;
        let kv = raw.num_key_value_heads.unwrap_or(heads);
        if heads == 0 || kv == 0 || !heads.is_multiple_of(kv) {
            return Err(bad(
                "num_key_value_heads",
                format!("{kv} does not divide num_attention_heads {heads}"),
            ));
        }
        let head_dim = raw.head_dim.unwrap_or(raw.hidden_size / heads);
        if head_dim == 0 || !head_dim.is_multiple_of(2) {
            return Err(bad("head_dim", format!("{head_dim} must be even (RoPE rotates halves)")));
        }
        let qkv_bias = match family {
            Family::Qwen2 => true,
            Family::Llama => raw.attention_bias.unwrap_or(false),
        };
        let config = ModelConfig {
            family,
            vocab_size: raw.vocab_size,
            hidden_size: raw.hidden_size,
            intermediate_size: raw.intermediate_size,
            num_layers: raw.num_hidden_layers,
            num_heads: heads,
            num_kv_heads: kv,
            head_dim,
            rms_norm_eps: raw.rms_norm_eps,
            rope_theta,
            qkv_bias,
            tie_word_embeddings: raw.tie_word_embeddings,
            max_positions: raw.max_position_embeddings.unwrap_or(32_768),
        };
        let readout = match raw.gavel_prm {
            Some(g) if g.readout == "lm_tokens" => match (g.good_token_id, g.bad_token_id) {
                (Some(good), Some(bad_id)) => Readout::LmTokens { good, bad: bad_id },
                _ => {
                    return Err(bad("gavel_prm", "lm_tokens needs good_token_id and bad_token_id"));
                }
            },
            Some(g) if g.readout == "two_class" => Readout::TwoClass,
            Some(g) if g.readout == "value_head" => Readout::ValueHead,
            Some(g) => {
                return Err(bad(
                    "gavel_prm.readout",
                    format!("{:?} is not one of two_class, value_head, lm_tokens", g.readout),
                ));
            }
            None if arch.ends_with("ForProcessRewardModel") => Readout::TwoClass,
            None if has_value_head => Readout::ValueHead,
            None => {
                return Err(bad(
                    "architectures",
                    format!(
                        "{arch:?} has no PRM head gavel knows; for an LM-token readout add \"gavel_prm\": {{\"readout\": \"lm_tokens\", \"good_token_id\": N, \"bad_token_id\": M}}"
                    ),
                ));
            }
        };
        Ok((config, readout))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const QWEN: &str = r#"{"model_type": "qwen2", "architectures": ["Qwen2ForProcessRewardModel"],
        "vocab_size": 10, "hidden_size": 8, "intermediate_size": 16, "num_hidden_layers": 1,
        "num_attention_heads": 2, "num_key_value_heads": 1, "rms_norm_eps": 1e-6, "rope_theta": 1000.0}"#;

    #[test]
    fn both_rope_theta_layouts() {
        let (c, r) = ModelConfig::parse(QWEN, false).unwrap();
        assert_eq!((c.rope_theta, c.head_dim, r), (1000.0, 4, Readout::TwoClass));
        let v5 = QWEN.replace(
            r#""rope_theta": 1000.0"#,
            r#""rope_parameters": {"rope_theta": 5e5, "rope_type": "default"}"#,
        );
        assert_eq!(ModelConfig::parse(&v5, false).unwrap().0.rope_theta, 5e5);
    }

    #[test]
    fn unsupported_configs_name_the_field() {
        let cases = [
            (QWEN.replace("qwen2\"", "gpt2\""), "model_type"),
            (
                QWEN.replace(r#""num_key_value_heads": 1"#, r#""num_key_value_heads": 3"#),
                "num_key_value_heads",
            ),
            (
                QWEN.replace(
                    r#""rope_theta": 1000.0"#,
                    r#""rope_scaling": {"rope_type": "llama3"}"#,
                ),
                "rope_scaling",
            ),
            (QWEN.replace("Qwen2ForProcessRewardModel", "Qwen2ForCausalLM"), "architectures"),
        ];
        for (text, field) in cases {
            let err = ModelConfig::parse(&text, false).unwrap_err().to_string();
            assert!(err.contains(field), "{field}: {err}");
        }
    }
}
