//! The CUDA backend: the same forward pass as [`crate::Model`] on an NVIDIA GPU, bf16 weights
//! and GEMM inputs, an f32 residual stream, the sequences of a batch packed with no padding.
//!
//! Nothing CUDA is needed to build: cudarc loads the driver, NVRTC and cuBLAS when a model is
//! first put on the GPU, and the kernels (`kernels.cu`) are compiled by NVRTC for the device at
//! hand. [`CudaModel::new`] fails with the reason when any of that is missing, and the caller
//! falls back to the CPU.
//!
//! Per layer: RMSNorm → one q/k/v GEMM → bias + RoPE, written head-major → attention → o_proj
//! added into the residual (β = 1) → RMSNorm → one gate/up GEMM → SiLU·up → down_proj added into
//! the residual. After the last layer only the step positions are normalised and read out.
//!
//! Attention is one fused kernel (tensor cores, the scores never leave the chip) where the
//! head size allows; otherwise, or with `GAVEL_PRM_ATTENTION=gemm`, per sequence one
//! strided-batched GEMM for the scores of every head, one causal softmax over all rows of the
//! batch, one GEMM for the weighted values.

use std::ffi::c_void;
use std::sync::{Arc, Mutex};

use cudarc::cublas::{CudaBlas, result as blas, sys as blas_sys};
use cudarc::driver::{
    CudaContext, CudaFunction, CudaSlice, CudaStream, DevicePtr, DeviceRepr, LaunchConfig,
    PushKernelArg,
};
use cudarc::nvrtc::{CompileOptions, compile_ptx_with_opts};
use half::bf16;

use crate::PrmError;
use crate::config::ModelConfig;
use crate::model::{Head, Linear, Model, sigmoid};

const KERNELS: &str = include_str!("kernels.cu");

/// Tokens packed into one forward pass; longer batches are split.
const MAX_BATCH_TOKENS: usize = 16_384;
/// Attention-score elements (f32 scores + bf16 probabilities each) held at once; sequences
/// are cut into query chunks and waves to stay under it, so memory stays bounded at any length.
const MAX_SCORE_ELEMENTS: usize = 64 << 20;
/// Query rows per attention chunk: a chunk's scores stop at its last query, so cutting a
/// sequence skips most of the masked upper triangle (and its memory traffic), at the cost of
/// more, smaller GEMMs.
const ATTENTION_CHUNK: usize = 256;

/// How attention through cuBLAS is cut: query rows per chunk (0: whole sequences) and score
/// elements per wave. `GAVEL_PRM_ATTENTION_CHUNK` and `GAVEL_PRM_SCORE_ELEMENTS` override the defaults, so
/// the GPU check can force every path on the small fixtures.
#[derive(Debug, Clone, Copy)]
struct Tiling {
    chunk: usize,
    cap: usize,
}

impl Tiling {
    fn from_env() -> Result<Self, PrmError> {
        let read = |name: &str, default: usize| match std::env::var(name) {
            Ok(v) => {
                v.parse().map_err(|_| PrmError::Config(format!("{name}: {v:?} is not a number")))
            }
            Err(_) => Ok(default),
        };
        Ok(Self {
            chunk: read("GAVEL_PRM_ATTENTION_CHUNK", ATTENTION_CHUNK)?,
            cap: read("GAVEL_PRM_SCORE_ELEMENTS", MAX_SCORE_ELEMENTS)?.max(1),
        })
    }
}

/// Query rows per block of the fused attention kernel (`FA_ROWS` in kernels.cu).
const FUSED_ROWS: usize = 64;

/// How attention runs.
#[derive(Debug, Clone, Copy)]
enum Attention {
    /// One fused kernel (`flash_attention`): head sizes a multiple of 16 up to 128, on compute
    /// capability 8.0 or newer (bf16 tensor cores).
    Fused,
    /// Scores and weighted values through cuBLAS, a causal softmax between them.
    Gemm(Tiling),
}

impl Attention {
    /// The fused kernel where it applies, unless `GAVEL_PRM_ATTENTION` (`fused` or `gemm`)
    /// says otherwise; asking for `fused` where it does not apply is an error.
    fn choose(head_dim: usize, major: i32) -> Result<Self, PrmError> {
        let asked = std::env::var("GAVEL_PRM_ATTENTION").ok();
        Self::choose_from(asked.as_deref(), head_dim, major)
    }

    fn choose_from(asked: Option<&str>, head_dim: usize, major: i32) -> Result<Self, PrmError> {
        let fits = head_dim.is_multiple_of(16) && head_dim <= 128 && major >= 8;
        let gemm = || Ok(Self::Gemm(Tiling::from_env()?));
        match asked {
            None | Some("") if fits => Ok(Self::Fused),
            None | Some("") | Some("gemm") => gemm(),
            Some("fused") if fits => Ok(Self::Fused),
            Some("fused") => Err(PrmError::Config(format!(
                "GAVEL_PRM_ATTENTION=fused needs a head size that is a multiple of 16 up to 128 \
                 (this model's is {head_dim}) and compute capability 8.0 or newer (this GPU's \
                 is {major}.x)"
            ))),
            Some(other) => Err(PrmError::Config(format!(
                "GAVEL_PRM_ATTENTION: {other:?} is neither \"fused\" nor \"gemm\""
            ))),
        }
    }
}

fn gpu_err(what: &str, e: impl std::fmt::Display) -> PrmError {
    PrmError::Device(format!("{what}: {e}"))
}

/// Whether the CUDA libraries can be loaded (probing first: a missing library makes cudarc panic
/// on first use).
fn libraries_present() -> Result<(), PrmError> {
    // SAFETY: the probes only try to dlopen the libraries.
    let (driver, nvrtc, cublas) = unsafe {
        (
            cudarc::driver::sys::is_culib_present(),
            cudarc::nvrtc::sys::is_culib_present(),
            cudarc::cublas::sys::is_culib_present(),
        )
    };
    let missing: Vec<&str> =
        [("the CUDA driver (libcuda)", driver), ("NVRTC", nvrtc), ("cuBLAS", cublas)]
            .into_iter()
            .filter(|(_, present)| !present)
            .map(|(name, _)| name)
            .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(PrmError::Device(format!("{} not found", missing.join(", "))))
    }
}

/// A PRM on the GPU. Calls are serialised: one stream, one set of buffers.
pub(crate) struct CudaModel {
    config: ModelConfig,
    attention: Attention,
    device: String,
    head: HeadKind,
    gpu: Mutex<Gpu>,
}

/// How a step's logits become P(good).
#[derive(Clone, Copy)]
enum HeadKind {
    /// `sigmoid(l1 − l0)`: Qwen2.5-Math-PRM's two classes.
    SecondOverFirst,
    /// `sigmoid(l0)`: a value head.
    Sigmoid,
    /// `sigmoid(l0 − l1)`: the good token's row first, the bad one's second.
    FirstOverSecond,
}

struct Kernels {
    embed: CudaFunction,
    rms_norm: CudaFunction,
    rms_norm_rows: CudaFunction,
    rope_split: CudaFunction,
    causal_softmax: CudaFunction,
    flash_attention: CudaFunction,
    swiglu: CudaFunction,
    swiglu8: CudaFunction,
    bias_act: CudaFunction,
}

struct GpuLinear {
    weight: CudaSlice<u16>,
    bias: Option<CudaSlice<f32>>,
    out: usize,
    inp: usize,
}

struct GpuLayer {
    input_norm: CudaSlice<f32>,
    qkv: GpuLinear,
    o: GpuLinear,
    post_norm: CudaSlice<f32>,
    gate_up: GpuLinear,
    down: GpuLinear,
}

/// The head in f32: an optional hidden layer with ReLU, then `outputs` logits.
struct GpuHead {
    hidden: Option<(CudaSlice<f32>, CudaSlice<f32>)>,
    out: CudaSlice<f32>,
    out_bias: Option<CudaSlice<f32>>,
    outputs: usize,
}

struct Gpu {
    ctx: Arc<CudaContext>,
    stream: Arc<CudaStream>,
    blas: CudaBlas,
    k: Kernels,
    embed: CudaSlice<u16>,
    layers: Vec<GpuLayer>,
    norm: CudaSlice<f32>,
    inv_freq: CudaSlice<f32>,
    head: GpuHead,
}

// SAFETY: the context, stream, cuBLAS handle and device buffers are used by one thread at a
// time (behind the Mutex), and the context is bound to the calling thread before each use.
unsafe impl Send for Gpu {}

impl CudaModel {
    /// Puts `model` on GPU 0: weights to bf16 (the head stays f32), kernels compiled for the
    /// device. Fails with the reason when there is no usable GPU.
    pub(crate) fn new(model: &Model) -> Result<Self, PrmError> {
        libraries_present()?;
        let ctx = CudaContext::new(0).map_err(|e| gpu_err("no CUDA device", e))?;
        // One stream: cudarc's cross-stream event tracking would only add work.
        // SAFETY: called before any buffer of this context exists.
        unsafe { ctx.disable_event_tracking() };
        let stream = ctx.default_stream();
        let name = ctx.name().map_err(|e| gpu_err("device name", e))?;
        let (major, minor) =
            ctx.compute_capability().map_err(|e| gpu_err("compute capability", e))?;
        let config = model.config().clone();
        let attention = Attention::choose(config.head_dim, major)?;
        let mut options = vec![format!("--gpu-architecture=compute_{major}{minor}")];
        if let Attention::Fused = attention {
            options.push(format!("-DGAVEL_HEAD_DIM={}", config.head_dim));
        }
        let ptx = compile_ptx_with_opts(KERNELS, CompileOptions { options, ..Default::default() })
            .map_err(|e| gpu_err("compiling the kernels with NVRTC", e))?;
        let module = ctx.load_module(ptx).map_err(|e| gpu_err("loading the kernels", e))?;
        let f = |name: &str| module.load_function(name).map_err(|e| gpu_err(name, e));
        let k = Kernels {
            embed: f("embed")?,
            rms_norm: f("rms_norm")?,
            rms_norm_rows: f("rms_norm_rows")?,
            rope_split: f("rope_split")?,
            causal_softmax: f("causal_softmax")?,
            flash_attention: f("flash_attention")?,
            swiglu: f("swiglu")?,
            swiglu8: f("swiglu8")?,
            bias_act: f("bias_act")?,
        };
        let blas = CudaBlas::new(stream.clone()).map_err(|e| gpu_err("cuBLAS", e))?;
        let up = Upload(&stream);
        let layers = model
            .layers
            .iter()
            .map(|l| {
                Ok(GpuLayer {
                    input_norm: up.f32(&l.input_norm)?,
                    qkv: up.linear(&l.qkv)?,
                    o: up.linear(&l.o)?,
                    post_norm: up.f32(&l.post_norm)?,
                    gate_up: up.linear(&l.gate_up)?,
                    down: up.linear(&l.down)?,
                })
            })
            .collect::<Result<Vec<_>, PrmError>>()?;
        let (head, kind) = match &model.head {
            Head::TwoClass { hidden, out } => (
                GpuHead {
                    hidden: Some((up.f32(&hidden.weight)?, up.f32(bias(hidden))?)),
                    out: up.f32(&out.weight)?,
                    out_bias: Some(up.f32(bias(out))?),
                    outputs: 2,
                },
                HeadKind::SecondOverFirst,
            ),
            Head::Value(v) => (
                GpuHead {
                    hidden: None,
                    out: up.f32(&v.weight)?,
                    out_bias: Some(up.f32(bias(v))?),
                    outputs: 1,
                },
                HeadKind::Sigmoid,
            ),
            Head::LmTokens { good, bad } => {
                let rows: Vec<f32> = good.iter().chain(bad).copied().collect();
                (
                    GpuHead { hidden: None, out: up.f32(&rows)?, out_bias: None, outputs: 2 },
                    HeadKind::FirstOverSecond,
                )
            }
        };
        let gpu = Gpu {
            embed: up.bf16(&model.embed)?,
            norm: up.f32(&model.norm)?,
            inv_freq: up.f32(&crate::model::inv_freq(config.head_dim, config.rope_theta))?,
            layers,
            head,
            k,
            blas,
            stream,
            ctx,
        };
        let how = match attention {
            Attention::Fused => "fused attention",
            Attention::Gemm(_) => "attention through cuBLAS",
        };
        Ok(Self {
            config,
            attention,
            device: format!("{name} (sm_{major}{minor}, {how})"),
            head: kind,
            gpu: Mutex::new(gpu),
        })
    }

    /// The config.
    pub(crate) fn config(&self) -> &ModelConfig {
        &self.config
    }

    /// The device's name.
    pub(crate) fn device(&self) -> &str {
        &self.device
    }

    /// P(good) at the step positions of each sequence. The sequences are valid (ids checked,
    /// cut after their last step) and each has at least one step position.
    pub(crate) fn step_scores(
        &self,
        seqs: &[(&[u32], Vec<usize>)],
    ) -> Result<Vec<Vec<f64>>, PrmError> {
        let mut gpu = self.gpu.lock().unwrap_or_else(|e| e.into_inner());
        let mut out = Vec::with_capacity(seqs.len());
        for batch in batches(seqs) {
            let logits = gpu.forward(&self.config, self.attention, batch)?;
            let n = gpu.head.outputs;
            let mut rows = logits.chunks_exact(n);
            for (_, positions) in batch {
                out.push(
                    rows.by_ref()
                        .take(positions.len())
                        .map(|l| {
                            let l: Vec<f64> = l.iter().map(|x| f64::from(*x)).collect();
                            match self.head {
                                HeadKind::SecondOverFirst => sigmoid(l[1] - l[0]),
                                HeadKind::Sigmoid => sigmoid(l[0]),
                                HeadKind::FirstOverSecond => sigmoid(l[0] - l[1]),
                            }
                        })
                        .collect(),
                );
            }
        }
        Ok(out)
    }
}

fn bias(l: &Linear) -> &[f32] {
    l.bias.as_deref().unwrap_or_default()
}

/// Consecutive runs of sequences of at most [`MAX_BATCH_TOKENS`] tokens (a longer sequence runs
/// alone).
fn batches<'a>(seqs: &'a [(&'a [u32], Vec<usize>)]) -> Vec<&'a [(&'a [u32], Vec<usize>)]> {
    let mut out = Vec::new();
    let (mut start, mut tokens) = (0, 0);
    for (i, (ids, _)) in seqs.iter().enumerate() {
        if i > start && tokens + ids.len() > MAX_BATCH_TOKENS {
            out.push(&seqs[start..i]);
            (start, tokens) = (i, 0);
        }
        tokens += ids.len();
    }
    if start < seqs.len() {
        out.push(&seqs[start..]);
    }
    out
}

struct Upload<'a>(&'a Arc<CudaStream>);

impl Upload<'_> {
    fn f32(&self, v: &[f32]) -> Result<CudaSlice<f32>, PrmError> {
        self.0.clone_htod(v).map_err(|e| gpu_err("copying weights to the GPU", e))
    }

    /// bf16 values as their raw bits (the kernels read them so, and cuBLAS by type tag).
    fn bf16(&self, v: &[f32]) -> Result<CudaSlice<u16>, PrmError> {
        let v: Vec<u16> = v.iter().map(|x| bf16::from_f32(*x).to_bits()).collect();
        self.0.clone_htod(&v).map_err(|e| gpu_err("copying weights to the GPU", e))
    }

    fn linear(&self, l: &Linear) -> Result<GpuLinear, PrmError> {
        Ok(GpuLinear {
            weight: self.bf16(&l.weight)?,
            bias: l.bias.as_deref().map(|b| self.f32(b)).transpose()?,
            out: l.out,
            inp: l.inp,
        })
    }
}

/// A buffer's device address (one stream, no event tracking: nothing to wait for).
fn ptr<T>(s: &CudaSlice<T>, stream: &CudaStream) -> u64 {
    s.device_ptr(stream).0
}

/// One attention job: query rows `q0..q0 + nq` of the sequence at token `start`, against its
/// keys `..q0 + nq`, with scores at `s_off`.
struct Job {
    start: usize,
    q0: usize,
    nq: usize,
    s_off: usize,
}

impl Job {
    fn keys(&self) -> usize {
        self.q0 + self.nq
    }
}

/// Cuts every sequence into query chunks of at most `tiling.chunk` rows (0: no limit) whose
/// scores fit, then groups the chunks into waves of at most `tiling.cap` score elements (a
/// one-row chunk of a very long sequence may exceed it alone, in a wave of its own).
fn attention_waves(lens: &[(usize, usize)], nh: usize, tiling: Tiling) -> Vec<Vec<Job>> {
    let (mut waves, mut wave, mut used) = (Vec::new(), Vec::<Job>::new(), 0usize);
    for &(start, len) in lens {
        let limit = if tiling.chunk == 0 { len } else { tiling.chunk };
        let chunk = (tiling.cap / (nh * len)).clamp(1, len).min(limit);
        let mut q0 = 0;
        while q0 < len {
            let nq = chunk.min(len - q0);
            let size = nh * nq * (q0 + nq);
            if used + size > tiling.cap && !wave.is_empty() {
                waves.push(std::mem::take(&mut wave));
                used = 0;
            }
            wave.push(Job { start, q0, nq, s_off: used });
            used += size;
            q0 += nq;
        }
    }
    if !wave.is_empty() {
        waves.push(wave);
    }
    waves
}

fn blocks(n: usize) -> LaunchConfig {
    LaunchConfig { grid_dim: (n as u32, 1, 1), block_dim: (256, 1, 1), shared_mem_bytes: 0 }
}

fn elementwise(n: usize) -> LaunchConfig {
    let grid = n.div_ceil(256).clamp(1, 1 << 16) as u32;
    LaunchConfig { grid_dim: (grid, 1, 1), block_dim: (256, 1, 1), shared_mem_bytes: 0 }
}

const BF16: blas_sys::cudaDataType = blas_sys::cudaDataType::CUDA_R_16BF;
const F32: blas_sys::cudaDataType = blas_sys::cudaDataType::CUDA_R_32F;
const N: blas_sys::cublasOperation_t = blas_sys::cublasOperation_t::CUBLAS_OP_N;
const T: blas_sys::cublasOperation_t = blas_sys::cublasOperation_t::CUBLAS_OP_T;

/// A column-major GEMM `C = α·op(A)·op(B) + β·C`, batched with strides when `batch > 1`.
struct Gemm {
    ta: blas_sys::cublasOperation_t,
    tb: blas_sys::cublasOperation_t,
    m: usize,
    n: usize,
    k: usize,
    a: (u64, blas_sys::cudaDataType, usize, usize),
    b: (u64, blas_sys::cudaDataType, usize, usize),
    c: (u64, blas_sys::cudaDataType, usize, usize),
    alpha: f32,
    beta: f32,
    batch: usize,
}

impl Gpu {
    fn launch(
        &self,
        f: &CudaFunction,
        cfg: LaunchConfig,
        args: &[&dyn Arg],
    ) -> Result<(), PrmError> {
        let mut b = self.stream.launch_builder(f);
        for a in args {
            a.push(&mut b);
        }
        // SAFETY: every kernel's arguments are pushed in its signature's order and types, and
        // its buffers hold what the launch geometry addresses (see `forward`).
        unsafe { b.launch(cfg) }.map(|_| ()).map_err(|e| gpu_err("kernel launch", e))
    }

    fn gemm(&self, g: Gemm) -> Result<(), PrmError> {
        let h = *self.blas.handle();
        let (alpha, beta) =
            (&g.alpha as *const f32 as *const c_void, &g.beta as *const f32 as *const c_void);
        let i = |x: usize| x as i32;
        // SAFETY: the pointers address device buffers that hold the matrices the shapes,
        // leading dimensions and strides describe (see `forward`); α and β are host f32 under
        // the default pointer mode and outlive the (synchronous) call.
        unsafe {
            if g.batch == 1 {
                blas::gemm_ex(
                    h,
                    g.ta,
                    g.tb,
                    i(g.m),
                    i(g.n),
                    i(g.k),
                    alpha,
                    g.a.0 as *const c_void,
                    g.a.1,
                    i(g.a.2),
                    g.b.0 as *const c_void,
                    g.b.1,
                    i(g.b.2),
                    beta,
                    g.c.0 as *mut c_void,
                    g.c.1,
                    i(g.c.2),
                    blas_sys::cublasComputeType_t::CUBLAS_COMPUTE_32F,
                    blas_sys::cublasGemmAlgo_t::CUBLAS_GEMM_DEFAULT,
                )
            } else {
                blas::gemm_strided_batched_ex(
                    h,
                    g.ta,
                    g.tb,
                    i(g.m),
                    i(g.n),
                    i(g.k),
                    alpha,
                    g.a.0 as *const c_void,
                    g.a.1,
                    i(g.a.2),
                    g.a.3 as i64,
                    g.b.0 as *const c_void,
                    g.b.1,
                    i(g.b.2),
                    g.b.3 as i64,
                    beta,
                    g.c.0 as *mut c_void,
                    g.c.1,
                    i(g.c.2),
                    g.c.3 as i64,
                    i(g.batch),
                    blas_sys::cublasComputeType_t::CUBLAS_COMPUTE_32F,
                    blas_sys::cublasGemmAlgo_t::CUBLAS_GEMM_DEFAULT,
                )
            }
        }
        .map_err(|e| gpu_err("cuBLAS GEMM", e))
    }

    /// `y[rows, out] (+)= x[rows, inp] · Wᵀ`: bf16 x, into `y` of type `y_ty`, adding to it
    /// when `accumulate`.
    fn linear(
        &self,
        l: &GpuLinear,
        x: u64,
        rows: usize,
        y: u64,
        y_ty: blas_sys::cudaDataType,
        accumulate: bool,
    ) -> Result<(), PrmError> {
        self.gemm(Gemm {
            ta: T,
            tb: N,
            m: l.out,
            n: rows,
            k: l.inp,
            a: (ptr(&l.weight, &self.stream), BF16, l.inp, 0),
            b: (x, BF16, l.inp, 0),
            c: (y, y_ty, l.out, 0),
            alpha: 1.0,
            beta: if accumulate { 1.0 } else { 0.0 },
            batch: 1,
        })
    }

    fn alloc<T: DeviceRepr + cudarc::driver::ValidAsZeroBits>(
        &self,
        n: usize,
    ) -> Result<CudaSlice<T>, PrmError> {
        self.stream.alloc_zeros::<T>(n.max(1)).map_err(|e| gpu_err("GPU memory", e))
    }

    /// The head's logits at the step positions of a packed batch, `[steps, outputs]`.
    fn forward(
        &mut self,
        c: &ModelConfig,
        attention: Attention,
        seqs: &[(&[u32], Vec<usize>)],
    ) -> Result<Vec<f32>, PrmError> {
        self.ctx.bind_to_thread().map_err(|e| gpu_err("binding the CUDA context", e))?;
        let (h, d, nh, nkv, inter) =
            (c.hidden_size, c.head_dim, c.num_heads, c.num_kv_heads, c.intermediate_size);
        let s = &self.stream;
        // Packing: ids, positions within each sequence, and the rows read out.
        let (mut ids, mut pos, mut rows, mut lens) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for (seq, positions) in seqs {
            let start = ids.len();
            lens.push((start, seq.len()));
            ids.extend_from_slice(seq);
            pos.extend(0..seq.len() as u32);
            rows.extend(positions.iter().map(|p| (start + p) as u32));
        }
        let t = ids.len();
        let up = |v: &[u32]| s.clone_htod(v).map_err(|e| gpu_err("copying the batch", e));
        let (ids_d, pos_d, rows_d) = (up(&ids)?, up(&pos)?, up(&rows)?);
        let qkv_w = (nh + 2 * nkv) * d;
        // k and v once per KV head for the fused kernel, once per query head for cuBLAS.
        let kv_copies = match attention {
            Attention::Fused => 1,
            Attention::Gemm(_) => nh / nkv,
        };
        let x = self.alloc::<f32>(t * h)?;
        let hn = self.alloc::<u16>(t * h)?;
        let qkv = self.alloc::<u16>(t * qkv_w)?;
        let (q, k, v) = (
            self.alloc::<u16>(nh * t * d)?,
            self.alloc::<u16>(nkv * kv_copies * t * d)?,
            self.alloc::<u16>(nkv * kv_copies * t * d)?,
        );
        let attn = self.alloc::<u16>(t * nh * d)?;
        let gate_up = self.alloc::<u16>(t * 2 * inter)?;
        let act = self.alloc::<u16>(t * inter)?;
        // The fused kernel's query tiles: (first token, length, first row) per 64 rows.
        let tiles: Vec<u32> = lens
            .iter()
            .flat_map(|&(start, len)| {
                (0..len).step_by(FUSED_ROWS).flat_map(move |q0| [start, len, q0].map(|x| x as u32))
            })
            .collect();
        let tiles_d = up(&tiles)?;
        let waves = match attention {
            Attention::Fused => Vec::new(),
            Attention::Gemm(tiling) => attention_waves(&lens, nh, tiling),
        };
        let wave_size = waves
            .iter()
            .map(|w| w.iter().map(|j| nh * j.nq * j.keys()).sum::<usize>())
            .max()
            .unwrap_or(0);
        let scores = self.alloc::<f32>(wave_size)?;
        let probs = self.alloc::<u16>(wave_size)?;
        // Per wave, the softmax's job table: score offsets, query counts, key counts.
        let tables = waves
            .iter()
            .map(|w| {
                let offs: Vec<u64> = w.iter().map(|j| j.s_off as u64).collect();
                let nq: Vec<u32> = w.iter().map(|j| j.nq as u32).collect();
                let nk: Vec<u32> = w.iter().map(|j| j.keys() as u32).collect();
                Ok((
                    s.clone_htod(&offs).map_err(|e| gpu_err("copying the batch", e))?,
                    up(&nq)?,
                    up(&nk)?,
                    w.iter().map(|j| nh * j.nq).max().unwrap_or(0),
                ))
            })
            .collect::<Result<Vec<_>, PrmError>>()?;
        let p = |b: &dyn PtrOf| b.at(s);
        let eps = c.rms_norm_eps as f32;
        let (hi, di, nhi, nkvi, ti, inter_i, copies) =
            (h as i32, d as i32, nh as i32, nkv as i32, t as i32, inter as i32, kv_copies as i32);
        let scale_log2 = std::f32::consts::LOG2_E / (d as f32).sqrt();
        self.launch(&self.k.embed, blocks(t), &[&p(&self.embed), &p(&ids_d), &p(&x), &hi])?;
        let mut phases = Phases::new(s);
        for layer in &self.layers {
            self.launch(
                &self.k.rms_norm,
                blocks(t),
                &[&p(&x), &p(&layer.input_norm), &p(&hn), &hi, &eps],
            )?;
            phases.mark("norm")?;
            self.linear(&layer.qkv, p(&hn), t, p(&qkv), BF16, false)?;
            phases.mark("gemm")?;
            let bias = layer.qkv.bias.as_ref().map_or(0, |b| p(b));
            self.launch(
                &self.k.rope_split,
                blocks(t),
                &[
                    &p(&qkv),
                    &bias,
                    &p(&pos_d),
                    &p(&self.inv_freq),
                    &p(&q),
                    &p(&k),
                    &p(&v),
                    &ti,
                    &nhi,
                    &nkvi,
                    &di,
                    &copies,
                ],
            )?;
            phases.mark("rope")?;
            if let Attention::Fused = attention {
                let cfg = LaunchConfig {
                    grid_dim: ((tiles.len() / 3) as u32, nh as u32, 1),
                    block_dim: (128, 1, 1),
                    shared_mem_bytes: 0,
                };
                self.launch(
                    &self.k.flash_attention,
                    cfg,
                    &[
                        &p(&q),
                        &p(&k),
                        &p(&v),
                        &p(&attn),
                        &p(&tiles_d),
                        &ti,
                        &nhi,
                        &nkvi,
                        &scale_log2,
                    ],
                )?;
                phases.mark("attention")?;
            }
            for (wave, (offs, nq, nk, max_rows)) in waves.iter().zip(&tables) {
                self.attention_scores(wave, d, nh, t, p(&q), p(&k), p(&scores))?;
                phases.mark("attention gemm")?;
                let cfg = LaunchConfig {
                    grid_dim: (*max_rows as u32, wave.len() as u32, 1),
                    block_dim: (256, 1, 1),
                    shared_mem_bytes: 0,
                };
                self.launch(
                    &self.k.causal_softmax,
                    cfg,
                    &[&p(&scores), &p(&probs), &p(offs), &p(nq), &p(nk), &nhi],
                )?;
                phases.mark("softmax")?;
                self.attention_values(wave, d, nh, t, p(&probs), p(&v), p(&attn))?;
                phases.mark("attention gemm")?;
            }
            self.linear(&layer.o, p(&attn), t, p(&x), F32, true)?;
            phases.mark("gemm")?;
            self.launch(
                &self.k.rms_norm,
                blocks(t),
                &[&p(&x), &p(&layer.post_norm), &p(&hn), &hi, &eps],
            )?;
            phases.mark("norm")?;
            self.linear(&layer.gate_up, p(&hn), t, p(&gate_up), BF16, false)?;
            phases.mark("gemm")?;
            // Eight columns per thread where the rows allow 16-byte accesses.
            let (swiglu, per_thread) =
                if inter.is_multiple_of(8) { (&self.k.swiglu8, 8) } else { (&self.k.swiglu, 1) };
            let cfg = LaunchConfig {
                grid_dim: ((inter / per_thread).div_ceil(256) as u32, t as u32, 1),
                block_dim: (256, 1, 1),
                shared_mem_bytes: 0,
            };
            self.launch(swiglu, cfg, &[&p(&gate_up), &p(&act), &inter_i])?;
            phases.mark("swiglu")?;
            self.linear(&layer.down, p(&act), t, p(&x), F32, true)?;
            phases.mark("gemm")?;
        }
        phases.report(t);
        // The readout, at the step rows only, in f32.
        let n = rows.len();
        let xs = self.alloc::<f32>(n * h)?;
        self.launch(
            &self.k.rms_norm_rows,
            blocks(n),
            &[&p(&x), &p(&rows_d), &p(&self.norm), &p(&xs), &hi, &eps],
        )?;
        let head = &self.head;
        let mut input = p(&xs);
        let z = self.alloc::<f32>(n * h)?;
        if let Some((w, b)) = &head.hidden {
            self.head_gemm(input, p(w), h, n, p(&z))?;
            let (ni, hi, relu) = (n as i32, h as i32, 1i32);
            self.launch(&self.k.bias_act, elementwise(n * h), &[&p(&z), &p(b), &ni, &hi, &relu])?;
            input = p(&z);
        }
        let logits = self.alloc::<f32>(n * head.outputs)?;
        self.head_gemm(input, p(&head.out), head.outputs, n, p(&logits))?;
        let bias = head.out_bias.as_ref().map_or(0, |b| p(b));
        let (ni, oi, relu) = (n as i32, head.outputs as i32, 0i32);
        self.launch(
            &self.k.bias_act,
            elementwise(n * head.outputs),
            &[&p(&logits), &bias, &ni, &oi, &relu],
        )?;
        let mut out = s.clone_dtoh(&logits).map_err(|e| gpu_err("copying the logits back", e))?;
        out.truncate(n * head.outputs);
        Ok(out)
    }

    /// `y[rows, out] = x[rows, h] · Wᵀ` in f32 (the head).
    fn head_gemm(&self, x: u64, w: u64, out: usize, rows: usize, y: u64) -> Result<(), PrmError> {
        let h = self.norm.len();
        self.gemm(Gemm {
            ta: T,
            tb: N,
            m: out,
            n: rows,
            k: h,
            a: (w, F32, h, 0),
            b: (x, F32, h, 0),
            c: (y, F32, out, 0),
            alpha: 1.0,
            beta: 0.0,
            batch: 1,
        })
    }

    /// Per job, the scores of every head: `S[h] = Q_h · K_hᵀ / √d`, `[nq, keys]` row-major,
    /// one strided-batched GEMM over the heads (q and k head-major `[nh][T][d]`).
    #[allow(clippy::too_many_arguments)]
    fn attention_scores(
        &self,
        wave: &[Job],
        d: usize,
        nh: usize,
        t: usize,
        q: u64,
        k: u64,
        scores: u64,
    ) -> Result<(), PrmError> {
        let e = 2u64; // bytes per bf16
        for j in wave {
            self.gemm(Gemm {
                ta: T,
                tb: N,
                m: j.keys(),
                n: j.nq,
                k: d,
                a: (k + (j.start * d) as u64 * e, BF16, d, t * d),
                b: (q + ((j.start + j.q0) * d) as u64 * e, BF16, d, t * d),
                c: (scores + j.s_off as u64 * 4, F32, j.keys(), j.nq * j.keys()),
                alpha: 1.0 / (d as f32).sqrt(),
                beta: 0.0,
                batch: nh,
            })?;
        }
        Ok(())
    }

    /// Per job, `O_h = P_h · V_h` written token-major into `attn` `[T, nh·d]` (head h at
    /// columns `h·d..`), one strided-batched GEMM over the heads.
    #[allow(clippy::too_many_arguments)]
    fn attention_values(
        &self,
        wave: &[Job],
        d: usize,
        nh: usize,
        t: usize,
        probs: u64,
        v: u64,
        attn: u64,
    ) -> Result<(), PrmError> {
        let e = 2u64;
        for j in wave {
            self.gemm(Gemm {
                ta: N,
                tb: N,
                m: d,
                n: j.nq,
                k: j.keys(),
                a: (v + (j.start * d) as u64 * e, BF16, d, t * d),
                b: (probs + j.s_off as u64 * e, BF16, j.keys(), j.nq * j.keys()),
                c: (attn + ((j.start + j.q0) * nh * d) as u64 * e, BF16, nh * d, d),
                alpha: 1.0,
                beta: 0.0,
                batch: nh,
            })?;
        }
        Ok(())
    }
}

/// With `GAVEL_PRM_PROFILE` set, the time of each phase of a forward pass (the stream is
/// synchronised at every mark, so phases do not overlap: a developer's breakdown, not a speed).
struct Phases<'a> {
    stream: Option<&'a CudaStream>,
    last: std::time::Instant,
    spent: Vec<(&'static str, f64)>,
}

impl<'a> Phases<'a> {
    fn new(stream: &'a CudaStream) -> Self {
        let on = std::env::var_os("GAVEL_PRM_PROFILE").is_some();
        Self { stream: on.then_some(stream), last: std::time::Instant::now(), spent: Vec::new() }
    }

    fn mark(&mut self, phase: &'static str) -> Result<(), PrmError> {
        let Some(stream) = self.stream else { return Ok(()) };
        stream.synchronize().map_err(|e| gpu_err("synchronising", e))?;
        let now = std::time::Instant::now();
        let ms = (now - self.last).as_secs_f64() * 1e3;
        self.last = now;
        match self.spent.iter_mut().find(|(p, _)| *p == phase) {
            Some((_, total)) => *total += ms,
            None => self.spent.push((phase, ms)),
        }
        Ok(())
    }

    fn report(&self, tokens: usize) {
        if self.stream.is_some() {
            let phases: Vec<String> =
                self.spent.iter().map(|(p, ms)| format!("{p} {ms:.1} ms")).collect();
            tracing::info!(tokens, "PRM forward on CUDA: {}", phases.join(", "));
        }
    }
}

/// A kernel argument: a device address or a scalar.
trait Arg {
    fn push<'a>(&'a self, b: &mut cudarc::driver::LaunchArgs<'a>);
}

impl<T: DeviceRepr> Arg for T {
    fn push<'a>(&'a self, b: &mut cudarc::driver::LaunchArgs<'a>) {
        b.arg(self);
    }
}

/// A device buffer's address.
trait PtrOf {
    fn at(&self, s: &CudaStream) -> u64;
}

impl<T> PtrOf for CudaSlice<T> {
    fn at(&self, s: &CudaStream) -> u64 {
        ptr(self, s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waves_cover_every_query_once_and_stay_under_the_cap() {
        let nh = 12;
        let lens = [(0, 10), (10, 3000), (3010, 1), (3011, 40_000)];
        for chunk in [0, 256, 7] {
            let waves = attention_waves(&lens, nh, Tiling { chunk, cap: MAX_SCORE_ELEMENTS });
            for wave in &waves {
                let used: usize = wave.iter().map(|j| nh * j.nq * j.keys()).sum();
                assert!(used <= MAX_SCORE_ELEMENTS, "{used}");
                let mut off = 0;
                for j in wave {
                    assert_eq!(j.s_off, off);
                    assert!(chunk == 0 || j.nq <= chunk);
                    off += nh * j.nq * j.keys();
                }
            }
            for &(start, len) in &lens {
                let mut queries: Vec<(usize, usize)> = waves
                    .iter()
                    .flatten()
                    .filter(|j| j.start == start)
                    .map(|j| (j.q0, j.nq))
                    .collect();
                queries.sort();
                let mut next = 0;
                for (q0, nq) in queries {
                    assert_eq!(q0, next);
                    next += nq;
                }
                assert_eq!(next, len, "chunk {chunk}");
            }
        }
    }

    #[test]
    fn attention_is_fused_where_the_kernel_fits_unless_asked_otherwise() {
        let fused = |a| matches!(a, Ok(Attention::Fused));
        let gemm = |a| matches!(a, Ok(Attention::Gemm(_)));
        assert!(fused(Attention::choose_from(None, 128, 9)));
        assert!(fused(Attention::choose_from(Some(""), 16, 8)));
        assert!(fused(Attention::choose_from(Some("fused"), 64, 8)));
        assert!(gemm(Attention::choose_from(Some("gemm"), 128, 9)));
        assert!(gemm(Attention::choose_from(None, 9, 9)), "head size not a multiple of 16");
        assert!(gemm(Attention::choose_from(None, 256, 9)), "head size over 128");
        assert!(gemm(Attention::choose_from(None, 128, 7)), "no bf16 tensor cores");
        let err =
            |a: Result<Attention, PrmError>| a.err().map(|e| e.to_string()).unwrap_or_default();
        assert!(err(Attention::choose_from(Some("fused"), 9, 9)).contains("this model's is 9"));
        assert!(err(Attention::choose_from(Some("fused"), 128, 7)).contains("this GPU's is 7.x"));
        assert!(err(Attention::choose_from(Some("flash"), 128, 9)).contains("\"flash\""));
    }

    #[test]
    fn a_tiny_cap_puts_every_chunk_in_a_wave_of_its_own() {
        let waves = attention_waves(&[(0, 10), (10, 5)], 4, Tiling { chunk: 3, cap: 1 });
        assert_eq!(waves.len(), 10 + 5);
        assert!(waves.iter().all(|w| w.len() == 1 && w[0].s_off == 0 && w[0].nq == 1));
    }

    #[test]
    fn batches_hold_at_most_the_token_cap_unless_one_sequence_is_longer() {
        let a = vec![1u32; 10_000];
        let b = vec![1u32; 20_000];
        let seqs: Vec<(&[u32], Vec<usize>)> =
            vec![(&a, vec![0]), (&a, vec![0]), (&b, vec![0]), (&a, vec![0])];
        let sizes: Vec<usize> = batches(&seqs).iter().map(|b| b.len()).collect();
        assert_eq!(sizes, [1, 1, 1, 1]);
        let small = vec![1u32; 100];
        let seqs: Vec<(&[u32], Vec<usize>)> = (0..200).map(|_| (&small[..], vec![0])).collect();
        let sizes: Vec<usize> = batches(&seqs).iter().map(|b| b.len()).collect();
        assert_eq!(sizes, [163, 37]);
    }
}
