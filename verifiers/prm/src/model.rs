//! The f32 CPU forward pass of a Qwen2 or Llama decoder, with HF transformers' conventions
//! (RMSNorm in f32, RoPE on rotated halves, grouped-query attention with a causal mask,
//! SwiGLU MLP), and the PRM readouts evaluated only at step positions.

use crate::PrmError;
use rayon::prelude::*;

use crate::config::{ModelConfig, Readout};
use crate::weights::Weights;

/// One decoder layer. q/k/v are one GEMM (rows `[q | k | v]`) and so are gate/up (rows
/// `[gate | up]`): fewer, larger GEMMs pack the activations once instead of three times.
pub(crate) struct Layer {
    pub(crate) input_norm: Vec<f32>,
    pub(crate) qkv: Linear,
    pub(crate) o: Linear,
    pub(crate) post_norm: Vec<f32>,
    pub(crate) gate_up: Linear,
    pub(crate) down: Linear,
}

/// `y = x·Wᵀ (+ b)` with `W` row-major `[out, in]`, as `nn.Linear` stores it.
pub(crate) struct Linear {
    pub(crate) weight: Vec<f32>,
    pub(crate) bias: Option<Vec<f32>>,
    pub(crate) out: usize,
    pub(crate) inp: usize,
}

impl Linear {
    fn load(
        w: &mut Weights,
        name: &str,
        out: usize,
        inp: usize,
        bias: bool,
    ) -> Result<Self, PrmError> {
        let weight = w.take(&format!("{name}.weight"), &[out, inp])?.data;
        let bias = if bias { Some(w.take(&format!("{name}.bias"), &[out])?.data) } else { None };
        Ok(Self { weight, bias, out, inp })
    }

    /// The linears' outputs side by side: one `[Σ out, inp]` weight.
    fn concat(parts: Vec<Linear>) -> Self {
        let inp = parts[0].inp;
        let out = parts.iter().map(|p| p.out).sum();
        let bias = parts
            .iter()
            .all(|p| p.bias.is_some())
            .then(|| parts.iter().flat_map(|p| p.bias.clone().unwrap_or_default()).collect());
        let weight = parts.into_iter().flat_map(|p| p.weight).collect();
        Self { weight, bias, out, inp }
    }

    /// `x` is `[rows, inp]`; returns `[rows, out]`. The rows are split across the thread
    /// pool, each block one single-threaded GEMM (at a PRM's sizes that beats threading
    /// inside one GEMM, which mostly waits on its threads).
    fn forward(&self, x: &[f32], rows: usize) -> Vec<f32> {
        let mut y = vec![0.0f32; rows * self.out];
        if let Some(bias) = &self.bias {
            for row in y.chunks_exact_mut(self.out) {
                row.copy_from_slice(bias);
            }
        }
        let block = row_block(rows);
        y.par_chunks_mut(block * self.out).zip(x.par_chunks(block * self.inp)).for_each(
            |(y, x)| {
                self.gemm(x, x.len() / self.inp, y);
            },
        );
        y
    }

    fn gemm(&self, x: &[f32], rows: usize, y: &mut [f32]) {
        let beta = if self.bias.is_some() { 1.0 } else { 0.0 };
        // SAFETY: x holds rows×inp values, the weight out×inp, y rows×out, and the strides
        // below describe those row-major layouts (Wᵀ read through W's strides).
        unsafe {
            matrixmultiply::sgemm(
                rows,
                self.inp,
                self.out,
                1.0,
                x.as_ptr(),
                self.inp as isize,
                1,
                self.weight.as_ptr(),
                1,
                self.inp as isize,
                beta,
                y.as_mut_ptr(),
                self.out as isize,
                1,
            );
        }
    }
}

/// A loaded PRM.
pub struct Model {
    config: ModelConfig,
    readout: Readout,
    pub(crate) embed: Vec<f32>,
    pub(crate) layers: Vec<Layer>,
    pub(crate) norm: Vec<f32>,
    pub(crate) head: Head,
}

pub(crate) enum Head {
    /// `score.0` → ReLU → `score.2`.
    TwoClass { hidden: Linear, out: Linear },
    /// `v_head.summary`.
    Value(Linear),
    /// The two rows of the LM head (or tied embedding) for the good and bad tokens.
    LmTokens { good: Vec<f32>, bad: Vec<f32> },
}

impl Model {
    /// Builds the model from its config and weights; a missing or misshapen tensor is named.
    pub fn new(config: ModelConfig, readout: Readout, mut w: Weights) -> Result<Self, PrmError> {
        let (h, i) = (config.hidden_size, config.intermediate_size);
        let (qd, kvd) = (config.num_heads * config.head_dim, config.num_kv_heads * config.head_dim);
        let bias = config.qkv_bias;
        let embed = w.take("model.embed_tokens.weight", &[config.vocab_size, h])?.data;
        let mut layers = Vec::with_capacity(config.num_layers);
        for l in 0..config.num_layers {
            let p = format!("model.layers.{l}");
            let a = format!("{p}.self_attn");
            layers.push(Layer {
                input_norm: w.take(&format!("{p}.input_layernorm.weight"), &[h])?.data,
                qkv: Linear::concat(vec![
                    Linear::load(&mut w, &format!("{a}.q_proj"), qd, h, bias)?,
                    Linear::load(&mut w, &format!("{a}.k_proj"), kvd, h, bias)?,
                    Linear::load(&mut w, &format!("{a}.v_proj"), kvd, h, bias)?,
                ]),
                o: Linear::load(&mut w, &format!("{a}.o_proj"), h, qd, false)?,
                post_norm: w.take(&format!("{p}.post_attention_layernorm.weight"), &[h])?.data,
                gate_up: Linear::concat(vec![
                    Linear::load(&mut w, &format!("{p}.mlp.gate_proj"), i, h, false)?,
                    Linear::load(&mut w, &format!("{p}.mlp.up_proj"), i, h, false)?,
                ]),
                down: Linear::load(&mut w, &format!("{p}.mlp.down_proj"), h, i, false)?,
            });
        }
        let norm = w.take("model.norm.weight", &[h])?.data;
        let head = match readout {
            Readout::TwoClass => Head::TwoClass {
                hidden: Linear::load(&mut w, "score.0", h, h, true)?,
                out: Linear::load(&mut w, "score.2", 2, h, true)?,
            },
            Readout::ValueHead => Head::Value(Linear::load(&mut w, "v_head.summary", 1, h, true)?),
            Readout::LmTokens { good, bad } => {
                // Only two rows are kept: the tied embedding is read in place, not copied.
                let lm_head = if config.tie_word_embeddings || !w.has("lm_head.weight") {
                    None
                } else {
                    Some(w.take("lm_head.weight", &[config.vocab_size, h])?)
                };
                let matrix = lm_head.as_ref().map_or(embed.as_slice(), |t| t.data.as_slice());
                let row = |id: u32| -> Result<Vec<f32>, PrmError> {
                    let id = id as usize;
                    if id >= config.vocab_size {
                        return Err(PrmError::Config(format!(
                            "readout token id {id} is outside the vocabulary"
                        )));
                    }
                    Ok(matrix[id * h..(id + 1) * h].to_vec())
                };
                Head::LmTokens { good: row(good)?, bad: row(bad)? }
            }
        };
        Ok(Self { config, readout, embed, layers, norm, head })
    }

    /// The config.
    pub fn config(&self) -> &ModelConfig {
        &self.config
    }

    /// The readout.
    pub fn readout(&self) -> Readout {
        self.readout
    }

    /// P(step good) at each position whose token is `step_token`, in order.
    pub fn step_scores(&self, ids: &[u32], step_token: u32) -> Result<Vec<f64>, PrmError> {
        let Some((ids, positions)) = scored_prefix(ids, step_token) else {
            return Ok(Vec::new());
        };
        let hidden = self.forward(ids)?;
        let h = self.config.hidden_size;
        let rows: Vec<f32> =
            positions.iter().flat_map(|&p| hidden[p * h..(p + 1) * h].iter().copied()).collect();
        Ok(self.read(&rows, positions.len()))
    }

    fn read(&self, rows: &[f32], n: usize) -> Vec<f64> {
        let h = self.config.hidden_size;
        match &self.head {
            Head::TwoClass { hidden, out } => {
                let mut z = hidden.forward(rows, n);
                z.iter_mut().for_each(|x| *x = x.max(0.0));
                let logits = out.forward(&z, n);
                logits.chunks_exact(2).map(|l| sigmoid(f64::from(l[1]) - f64::from(l[0]))).collect()
            }
            Head::Value(v) => v.forward(rows, n).iter().map(|x| sigmoid(f64::from(*x))).collect(),
            Head::LmTokens { good, bad } => rows
                .chunks_exact(h)
                .map(|x| sigmoid(f64::from(dot(x, good)) - f64::from(dot(x, bad))))
                .collect(),
        }
    }

    /// The last hidden states (after the final norm), `[T, hidden]`.
    pub fn forward(&self, ids: &[u32]) -> Result<Vec<f32>, PrmError> {
        let c = &self.config;
        let (h, t) = (c.hidden_size, ids.len());
        check_ids(ids, c)?;
        let mut x = Vec::with_capacity(t * h);
        for &id in ids {
            let id = id as usize;
            x.extend_from_slice(&self.embed[id * h..(id + 1) * h]);
        }
        let (cos, sin) = rope_table(t, c.head_dim, c.rope_theta);
        let (qd, kvd, i) =
            (c.num_heads * c.head_dim, c.num_kv_heads * c.head_dim, c.intermediate_size);
        let mut act = vec![0.0f32; t * i];
        for layer in &self.layers {
            let n = rms_norm(&x, &layer.input_norm, c.rms_norm_eps);
            // Rows of [q | k | v]; RoPE rotates the q and k heads in place.
            let mut qkv = layer.qkv.forward(&n, t);
            rope(&mut qkv, qd + 2 * kvd, c.num_heads + c.num_kv_heads, c.head_dim, &cos, &sin);
            let attn = attention(&qkv, t, c);
            add(&mut x, &layer.o.forward(&attn, t));
            let n = rms_norm(&x, &layer.post_norm, c.rms_norm_eps);
            let gate_up = layer.gate_up.forward(&n, t);
            for (row, out) in gate_up.chunks_exact(2 * i).zip(act.chunks_exact_mut(i)) {
                let (gate, up) = row.split_at(i);
                for ((o, g), u) in out.iter_mut().zip(gate).zip(up) {
                    *o = g / (1.0 + exp(-g)) * u;
                }
            }
            add(&mut x, &layer.down.forward(&act, t));
        }
        Ok(rms_norm(&x, &self.norm, c.rms_norm_eps))
    }
}

/// Refuses a sequence longer than the model's positions or with an id outside its vocabulary.
pub(crate) fn check_ids(ids: &[u32], c: &ModelConfig) -> Result<(), PrmError> {
    if ids.len() > c.max_positions {
        return Err(PrmError::Input(format!(
            "{} tokens, more than the model's {} positions",
            ids.len(),
            c.max_positions
        )));
    }
    if let Some(id) = ids.iter().find(|&&id| id as usize >= c.vocab_size) {
        return Err(PrmError::Input(format!(
            "token id {id} is outside the vocabulary ({})",
            c.vocab_size
        )));
    }
    Ok(())
}

/// The part of `ids` a forward pass needs, up to the last `step_token`, and the positions of
/// the step tokens in it; `None` when there is no step. Tokens after the last step cannot
/// change earlier positions (causal attention), so they are never computed.
pub(crate) fn scored_prefix(ids: &[u32], step_token: u32) -> Option<(&[u32], Vec<usize>)> {
    let positions: Vec<usize> =
        ids.iter().enumerate().filter(|(_, t)| **t == step_token).map(|(i, _)| i).collect();
    let last = *positions.last()?;
    Some((&ids[..last + 1], positions))
}

/// Rows per parallel block: the rows split evenly over the pool, at least 16 to a block.
fn row_block(rows: usize) -> usize {
    rows.div_ceil(rayon::current_num_threads()).max(16)
}

pub(crate) fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

/// `e^x` in f32 within about 1 ulp, by Cephes' `expf` scheme (`x = n·ln 2 + r`, a degree-7
/// polynomial in `r`, `2^n` put straight into the exponent bits). It has no branch and no
/// call, so loops over it vectorise, where `f32::exp` is one libm call per value (attention's
/// softmax and SiLU spent most of the CPU path's time there). Inputs are clamped to [-87, 88]:
/// the result is never subnormal or infinite, which neither caller needs.
#[inline(always)]
#[allow(clippy::excessive_precision)] // Cephes' published constants
fn exp(x: f32) -> f32 {
    // Adding 1.5·2²³ rounds to an integer and leaves it in the low bits of the sum.
    const SHIFT: f32 = 12_582_912.0;
    let x = x.clamp(-87.0, 88.0);
    let t = x * std::f32::consts::LOG2_E + SHIFT;
    let n = t - SHIFT;
    // ln 2 in two parts (Cody and Waite): n·0.693359375 is exact.
    let r = x - n * 0.693_359_375 + n * 2.121_944_40e-4;
    let p = ((((1.987_569_150_0e-4 * r + 1.398_199_950_7e-3) * r + 8.333_451_907_3e-3) * r
        + 4.166_579_589_4e-2)
        * r
        + 1.666_666_545_9e-1)
        * r
        + 5.000_000_120_1e-1;
    let two_n = f32::from_bits(t.to_bits().wrapping_sub(SHIFT.to_bits()).wrapping_add(127) << 23);
    (p * (r * r) + r + 1.0) * two_n
}

/// Softmax in place, in f32: the max, the exponentials, their sum and the scaling each one
/// pass over the row, the reductions in eight lanes so that they vectorise too.
fn softmax(row: &mut [f32]) {
    let max = reduce_in_lanes(row, f32::NEG_INFINITY, f32::max);
    row.iter_mut().for_each(|x| *x = exp(*x - max));
    let inv = 1.0 / reduce_in_lanes(row, 0.0, |a, b| a + b);
    row.iter_mut().for_each(|x| *x *= inv);
}

/// `row` folded with `op` from `init`, in eight independent lanes (which the compiler keeps in
/// one vector register) and then across them: a different order from a plain fold, which only
/// an associative `op` (max; a sum, up to rounding) allows.
#[inline(always)]
fn reduce_in_lanes(row: &[f32], init: f32, op: impl Fn(f32, f32) -> f32) -> f32 {
    let mut lanes = [init; 8];
    let mut chunks = row.chunks_exact(8);
    for c in chunks.by_ref() {
        for (lane, x) in lanes.iter_mut().zip(c) {
            *lane = op(*lane, *x);
        }
    }
    let across = lanes.into_iter().fold(init, &op);
    chunks.remainder().iter().fold(across, |a, x| op(a, *x))
}

fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

fn add(x: &mut [f32], y: &[f32]) {
    x.iter_mut().zip(y).for_each(|(a, b)| *a += b);
}

/// `w ⊙ x / sqrt(mean(x²) + eps)` per row, the variance in f32 as transformers computes it.
fn rms_norm(x: &[f32], w: &[f32], eps: f64) -> Vec<f32> {
    let h = w.len();
    let mut out = Vec::with_capacity(x.len());
    for row in x.chunks_exact(h) {
        let var = row.iter().map(|v| v * v).sum::<f32>() / h as f32;
        let inv = 1.0 / (var + eps as f32).sqrt();
        out.extend(row.iter().zip(w).map(|(v, w)| w * (v * inv)));
    }
    out
}

/// cos and sin of `pos · θ^(−2i/d)` for each position and `i < d/2`, in f32 as transformers
/// computes them (inverse frequencies in f32, then the product in f32).
fn rope_table(t: usize, d: usize, theta: f64) -> (Vec<f32>, Vec<f32>) {
    let half = d / 2;
    let inv = inv_freq(d, theta);
    let mut cos = Vec::with_capacity(t * half);
    let mut sin = Vec::with_capacity(t * half);
    for pos in 0..t {
        for f in &inv {
            let angle = pos as f32 * f;
            cos.push(angle.cos());
            sin.push(angle.sin());
        }
    }
    (cos, sin)
}

/// RoPE's inverse frequencies `θ^(−2i/d)`, `i < d/2`, in f32 as transformers computes them.
pub(crate) fn inv_freq(d: usize, theta: f64) -> Vec<f32> {
    (0..d / 2).map(|i| 1.0 / (theta as f32).powf((2 * i) as f32 / d as f32)).collect()
}

/// Rotates halves: `(a, b) → (a cos − b sin, b cos + a sin)` for `a = x[i]`, `b = x[i + d/2]`,
/// in the first `heads` heads of each row of `stride` values (the q and k heads of a qkv row).
fn rope(x: &mut [f32], stride: usize, heads: usize, d: usize, cos: &[f32], sin: &[f32]) {
    let half = d / 2;
    for (pos, row) in x.chunks_exact_mut(stride).enumerate() {
        let (c, s) = (&cos[pos * half..(pos + 1) * half], &sin[pos * half..(pos + 1) * half]);
        for head in row[..heads * d].chunks_exact_mut(d) {
            for i in 0..half {
                let (a, b) = (head[i], head[i + half]);
                head[i] = a * c[i] - b * s[i];
                head[i + half] = b * c[i] + a * s[i];
            }
        }
    }
}

/// Causal grouped-query attention: query head `h` reads key/value head `h / (nh / nkv)`.
/// Blocks of query rows run in parallel; per head, scores and the weighted sum are two GEMMs
/// read through strides (no transposes), the softmax in f32 over each row's causal prefix.
fn attention(qkv: &[f32], t: usize, c: &ModelConfig) -> Vec<f32> {
    let (d, nh) = (c.head_dim, c.num_heads);
    let mut out = vec![0.0f32; t * nh * d];
    let block = row_block(t);
    out.par_chunks_mut(block * nh * d).enumerate().for_each(|(b, out)| {
        attention_rows(qkv, b * block, out.len() / (nh * d), c, out);
    });
    out
}

/// Attention output for the query rows `first..first + rows` (which see keys `..first + rows`).
fn attention_rows(qkv: &[f32], first: usize, rows: usize, c: &ModelConfig, out: &mut [f32]) {
    let (d, nh, nkv) = (c.head_dim, c.num_heads, c.num_kv_heads);
    let group = nh / nkv;
    let stride = (nh + 2 * nkv) * d;
    let keys = first + rows;
    let scale = 1.0 / (d as f32).sqrt();
    let q = qkv[first * stride..].as_ptr();
    let (k, v) = (qkv[nh * d..].as_ptr(), qkv[(nh + nkv) * d..].as_ptr());
    let mut scores = vec![0.0f32; rows * keys];
    for head in 0..nh {
        let kv = head / group;
        // SAFETY: every pointer, offset and stride below stays inside its buffer: qkv is
        // [t, (nh + 2·nkv)·d] with q, k, v at column offsets 0, nh·d, (nh + nkv)·d and
        // first + rows ≤ t; scores is [rows, keys]; out is [rows, nh·d]; head < nh, kv < nkv.
        unsafe {
            matrixmultiply::sgemm(
                rows,
                d,
                keys,
                scale,
                q.add(head * d),
                stride as isize,
                1,
                k.add(kv * d),
                1,
                stride as isize,
                0.0,
                scores.as_mut_ptr(),
                keys as isize,
                1,
            );
        }
        for (r, row) in scores.chunks_exact_mut(keys).enumerate() {
            let (visible, masked) = row.split_at_mut(first + r + 1);
            softmax(visible);
            masked.fill(0.0);
        }
        // SAFETY: as above.
        unsafe {
            matrixmultiply::sgemm(
                rows,
                keys,
                d,
                1.0,
                scores.as_ptr(),
                keys as isize,
                1,
                v.add(kv * d),
                stride as isize,
                1,
                0.0,
                out.as_mut_ptr().add(head * d),
                (nh * d) as isize,
                1,
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exp_is_within_two_ulp_of_the_true_value_over_its_whole_range() {
        let mut worst = 0.0f64;
        let mut x = -87.0f32;
        while x <= 88.0 {
            let want = f64::from(x).exp();
            worst = worst.max(((f64::from(exp(x)) - want) / want).abs());
            x += 1.0e-3;
        }
        assert!(worst < 2.4e-7, "relative error {worst:e}");
        assert_eq!(exp(0.0), 1.0);
        assert_eq!(exp(-1000.0), exp(-87.0), "clamped below, never subnormal");
        assert!(exp(1000.0).is_finite(), "clamped above, never infinite");
        assert!(exp(f32::NAN).is_nan());
    }

    #[test]
    fn softmax_matches_the_f64_definition_and_sums_to_one() {
        for len in [1usize, 7, 8, 9, 100, 257] {
            let row: Vec<f32> = (0..len).map(|i| ((i * 37 % 23) as f32 - 11.0) * 0.7).collect();
            let mut got = row.clone();
            softmax(&mut got);
            let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
            let e: Vec<f64> = row.iter().map(|x| f64::from(x - max).exp()).collect();
            let total: f64 = e.iter().sum();
            for (g, e) in got.iter().zip(&e) {
                assert!((f64::from(*g) - e / total).abs() < 1e-6, "len {len}");
            }
            assert!((got.iter().map(|x| f64::from(*x)).sum::<f64>() - 1.0).abs() < 1e-5);
        }
    }
}
