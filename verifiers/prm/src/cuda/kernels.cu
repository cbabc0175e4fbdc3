// gavel-prm's CUDA kernels, compiled at run time by NVRTC (no toolkit headers: bf16 is carried
// as its raw 16 bits). Everything between the cuBLAS GEMMs of a Qwen2/Llama decoder layer.
//
// Layouts: the batch is packed, ΣT tokens with no padding. The residual stream is f32; GEMM
// inputs and outputs are bf16; q/k/v are written head-major ([heads][ΣT][d]) with k and v
// repeated for every query head, so attention is one strided-batched GEMM per sequence.

typedef unsigned short bf16;

#define NEG_INF __int_as_float(0xff800000)

__device__ __forceinline__ float bf2f(bf16 x) { return __uint_as_float(((unsigned)x) << 16); }

__device__ __forceinline__ bf16 f2bf(float f) {
    unsigned u = __float_as_uint(f);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (bf16)((u >> 16) | 0x40u);  // NaN stays NaN
    return (bf16)((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);                // round to nearest even
}

// Block-wide reductions (blockDim.x a multiple of 32, at most 1024); every thread gets the result.
__device__ float block_sum(float v) {
    __shared__ float partial[32];
    __shared__ float total;
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    if ((threadIdx.x & 31) == 0) partial[threadIdx.x >> 5] = v;
    __syncthreads();
    if (threadIdx.x < 32) {
        v = threadIdx.x < (blockDim.x >> 5) ? partial[threadIdx.x] : 0.0f;
        for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
        if (threadIdx.x == 0) total = v;
    }
    __syncthreads();
    float r = total;
    __syncthreads();
    return r;
}

__device__ float block_max(float v) {
    __shared__ float partial[32];
    __shared__ float total;
    for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
    if ((threadIdx.x & 31) == 0) partial[threadIdx.x >> 5] = v;
    __syncthreads();
    if (threadIdx.x < 32) {
        v = threadIdx.x < (blockDim.x >> 5) ? partial[threadIdx.x] : NEG_INF;
        for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
        if (threadIdx.x == 0) total = v;
    }
    __syncthreads();
    float r = total;
    __syncthreads();
    return r;
}

// x[t] = embedding[ids[t]] (f32). One block per token.
extern "C" __global__ void embed(const bf16* table, const unsigned* ids, float* x, int h) {
    const bf16* row = table + (size_t)ids[blockIdx.x] * h;
    float* out = x + (size_t)blockIdx.x * h;
    for (int c = threadIdx.x; c < h; c += blockDim.x) out[c] = bf2f(row[c]);
}

// out[t] = w ⊙ x[t] / sqrt(mean(x[t]²) + eps), to bf16. One block per token.
extern "C" __global__ void rms_norm(const float* x, const float* w, bf16* out, int h, float eps) {
    const float* row = x + (size_t)blockIdx.x * h;
    float ss = 0.0f;
    for (int c = threadIdx.x; c < h; c += blockDim.x) ss += row[c] * row[c];
    float inv = rsqrtf(block_sum(ss) / h + eps);
    bf16* o = out + (size_t)blockIdx.x * h;
    for (int c = threadIdx.x; c < h; c += blockDim.x) o[c] = f2bf(w[c] * (row[c] * inv));
}

// The final norm at the step positions only: out[r] = norm(x[rows[r]]), f32, for the head.
extern "C" __global__ void rms_norm_rows(const float* x, const unsigned* rows, const float* w,
                                         float* out, int h, float eps) {
    const float* row = x + (size_t)rows[blockIdx.x] * h;
    float ss = 0.0f;
    for (int c = threadIdx.x; c < h; c += blockDim.x) ss += row[c] * row[c];
    float inv = rsqrtf(block_sum(ss) / h + eps);
    float* o = out + (size_t)blockIdx.x * h;
    for (int c = threadIdx.x; c < h; c += blockDim.x) o[c] = w[c] * (row[c] * inv);
}

// qkv rows ([q heads | k heads | v heads], bf16) plus bias → RoPE on q and k (rotate-half, the
// angle pos · inv_freq[i] in f32) → head-major q, k, v with k and v repeated per query head.
// One block per token.
extern "C" __global__ void rope_split(const bf16* qkv, const float* bias, const unsigned* pos,
                                      const float* inv_freq, bf16* q, bf16* k, bf16* v, int tokens,
                                      int nh, int nkv, int d) {
    int t = blockIdx.x, half = d / 2, group = nh / nkv;
    const bf16* row = qkv + (size_t)t * (nh + 2 * nkv) * d;
    for (int j = threadIdx.x; j < (nh + 2 * nkv) * half; j += blockDim.x) {
        int head = j / half, i = j % half;
        int ca = head * d + i, cb = ca + half;
        float a = bf2f(row[ca]), b = bf2f(row[cb]);
        if (bias) {
            a += bias[ca];
            b += bias[cb];
        }
        if (head < nh + nkv) {
            float angle = (float)pos[t] * inv_freq[i];
            float c = cosf(angle), s = sinf(angle);
            float ra = a * c - b * s, rb = b * c + a * s;
            a = ra;
            b = rb;
        }
        bf16 ba = f2bf(a), bb = f2bf(b);
        if (head < nh) {
            size_t o = ((size_t)head * tokens + t) * d + i;
            q[o] = ba;
            q[o + half] = bb;
        } else {
            int kv = head < nh + nkv ? head - nh : head - nh - nkv;
            bf16* dst = head < nh + nkv ? k : v;
            for (int g = 0; g < group; g++) {
                size_t o = ((size_t)(kv * group + g) * tokens + t) * d + i;
                dst[o] = ba;
                dst[o + half] = bb;
            }
        }
    }
}

// Causal softmax over attention jobs: job j (blockIdx.y) is query rows q0..q0+nq[j] of one
// sequence against its first nk[j] = q0 + nq[j] keys, with f32 scores [nh][nq][nk] at s_off[j].
// p gets bf16 probabilities, zeros after each query's own position. One block per row.
extern "C" __global__ void causal_softmax(const float* scores, bf16* p,
                                          const unsigned long long* s_off, const unsigned* nq,
                                          const unsigned* nk, int nh) {
    int job = blockIdx.y, q = nq[job], n = nk[job], r = blockIdx.x;
    if (r >= nh * q) return;
    int visible = n - q + r % q + 1;
    const float* row = scores + s_off[job] + (size_t)r * n;
    bf16* out = p + s_off[job] + (size_t)r * n;
    float m = NEG_INF;
    for (int j = threadIdx.x; j < visible; j += blockDim.x) m = fmaxf(m, row[j]);
    m = block_max(m);
    float sum = 0.0f;
    for (int j = threadIdx.x; j < visible; j += blockDim.x) sum += __expf(row[j] - m);
    float inv = 1.0f / block_sum(sum);
    for (int j = threadIdx.x; j < n; j += blockDim.x)
        out[j] = j < visible ? f2bf(__expf(row[j] - m) * inv) : (bf16)0;
}

// act = silu(gate) ⊙ up, from rows [gate | up] of width 2·i. Grid: (columns / 256, tokens).
extern "C" __global__ void swiglu(const bf16* gate_up, bf16* act, int i) {
    const bf16* gate = gate_up + (size_t)blockIdx.y * 2 * i;
    const bf16* up = gate + i;
    bf16* out = act + (size_t)blockIdx.y * i;
    for (int c = blockIdx.x * blockDim.x + threadIdx.x; c < i; c += gridDim.x * blockDim.x) {
        float g = bf2f(gate[c]);
        out[c] = f2bf(g / (1.0f + __expf(-g)) * bf2f(up[c]));
    }
}

// y[r] += b (then ReLU when relu != 0), f32.
extern "C" __global__ void bias_act(float* y, const float* b, int rows, int n, int relu) {
    int total = rows * n;
    for (int e = blockIdx.x * blockDim.x + threadIdx.x; e < total; e += gridDim.x * blockDim.x) {
        float v = y[e] + (b ? b[e % n] : 0.0f);
        y[e] = relu ? fmaxf(v, 0.0f) : v;
    }
}
