// gavel-prm's CUDA kernels, compiled at run time by NVRTC (no toolkit headers: bf16 is carried
// as its raw 16 bits). Everything between the cuBLAS GEMMs of a Qwen2/Llama decoder layer.
//
// Layouts: the batch is packed, ΣT tokens with no padding. The residual stream is f32; GEMM
// inputs and outputs are bf16; q/k/v are written head-major ([heads][ΣT][d]). For the fused
// attention kernel k and v are stored once per KV head; for attention through cuBLAS they are
// repeated for every query head, so attention is one strided-batched GEMM per sequence.
//
// GAVEL_HEAD_DIM (set by the host at compile time) is the head size the fused attention kernel
// is built for.

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
// angle pos · inv_freq[i] in f32) → head-major q, k, v with k and v written `group` times each
// (1 for the fused attention kernel, query heads per KV head for the GEMM path). One block per
// token.
extern "C" __global__ void rope_split(const bf16* qkv, const float* bias, const unsigned* pos,
                                      const float* inv_freq, bf16* q, bf16* k, bf16* v, int tokens,
                                      int nh, int nkv, int d, int group) {
    int t = blockIdx.x, half = d / 2;
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

// Fused causal attention over a packed batch (FlashAttention-2's scheme on bf16 tensor cores,
// mma.sync m16n8k16): the scores never leave the chip. Block (tile, head): 64 query rows of one
// sequence, 16 per warp; K and V pass through shared memory 64 keys at a time, each warp keeps
// its rows' running max and sum and rescales its f32 output as it goes. P is rounded to bf16
// for P·V, as the GEMM path rounds its probabilities. Tile `b` is
// tiles[3b..3b+3] = (first token of its sequence, sequence length, first query row); out is
// token-major [ΣT][nh·d]. scale_log2 = log2(e)/√d.
#ifndef GAVEL_HEAD_DIM
#define GAVEL_HEAD_DIM 16
#endif
#define FA_D GAVEL_HEAD_DIM
#define FA_ROWS 64
#define FA_KEYS 64
#define FA_STRIDE (FA_D + 8)  // shared rows padded: fragment loads hit distinct banks

__device__ __forceinline__ unsigned pack2(float lo, float hi) {
    return (unsigned)f2bf(lo) | ((unsigned)f2bf(hi) << 16);
}

// c += a·b on one 16×8 tile (a 16×16 row-major, b 16×8 column-major), f32 accumulators.
__device__ __forceinline__ void mma16816(float* c, const unsigned* a, unsigned b0, unsigned b1) {
    asm volatile(
        "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 "
        "{%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
        : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}

extern "C" __global__ void __launch_bounds__(128)
    flash_attention(const bf16* q, const bf16* k, const bf16* v, bf16* out,
                    const unsigned* tiles, int tokens, int nh, int nkv, float scale_log2) {
    __shared__ __align__(16) bf16 ks[FA_KEYS][FA_STRIDE];
    __shared__ __align__(16) bf16 vs[FA_KEYS][FA_STRIDE];
    const int start = tiles[3 * blockIdx.x], len = tiles[3 * blockIdx.x + 1];
    const int q0 = tiles[3 * blockIdx.x + 2];
    const int h = blockIdx.y, kvh = h / (nh / nkv);
    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
    const int g = lane >> 2, tg = lane & 3;  // the mma fragments' row group and column pair
    const int row_a = q0 + warp * 16 + g, row_b = row_a + 8;
    const bf16* qh = q + ((size_t)h * tokens + start) * FA_D;
    const bf16* kh = k + ((size_t)kvh * tokens + start) * FA_D;
    const bf16* vh = v + ((size_t)kvh * tokens + start) * FA_D;

    // This warp's 16 query rows as A fragments, kept in registers (rows past the end: zeros).
    unsigned qf[FA_D / 16][4];
#pragma unroll
    for (int kk = 0; kk < FA_D / 16; kk++) {
        const int c = kk * 16 + tg * 2;
        const unsigned* ra = (const unsigned*)(qh + (size_t)row_a * FA_D + c);
        const unsigned* rb = (const unsigned*)(qh + (size_t)row_b * FA_D + c);
        qf[kk][0] = row_a < len ? ra[0] : 0u;
        qf[kk][1] = row_b < len ? rb[0] : 0u;
        qf[kk][2] = row_a < len ? ra[4] : 0u;
        qf[kk][3] = row_b < len ? rb[4] : 0u;
    }
    float o[FA_D / 8][4];
#pragma unroll
    for (int n = 0; n < FA_D / 8; n++) o[n][0] = o[n][1] = o[n][2] = o[n][3] = 0.0f;
    float m_a = NEG_INF, m_b = NEG_INF, l_a = 0.0f, l_b = 0.0f;

    const int keys = min(q0 + FA_ROWS, len);  // the last query row of the tile sees these
    for (int k0 = 0; k0 < keys; k0 += FA_KEYS) {
        __syncthreads();  // every warp is done with the previous keys
        for (int e = threadIdx.x; e < FA_KEYS * (FA_D / 8); e += blockDim.x) {
            const int r = e / (FA_D / 8), c = (e % (FA_D / 8)) * 8;
            uint4 kx = make_uint4(0u, 0u, 0u, 0u), vx = kx;
            if (k0 + r < len) {
                kx = *(const uint4*)(kh + (size_t)(k0 + r) * FA_D + c);
                vx = *(const uint4*)(vh + (size_t)(k0 + r) * FA_D + c);
            }
            *(uint4*)&ks[r][c] = kx;
            *(uint4*)&vs[r][c] = vx;
        }
        __syncthreads();

        // S = Q·Kᵀ for 16 rows × 64 keys, then the causal mask, in log2 units.
        float s[FA_KEYS / 8][4];
#pragma unroll
        for (int n = 0; n < FA_KEYS / 8; n++) {
            s[n][0] = s[n][1] = s[n][2] = s[n][3] = 0.0f;
#pragma unroll
            for (int kk = 0; kk < FA_D / 16; kk++) {
                const bf16* kr = &ks[n * 8 + g][kk * 16 + tg * 2];
                mma16816(s[n], qf[kk], *(const unsigned*)kr, *(const unsigned*)(kr + 8));
            }
        }
        float mx_a = m_a, mx_b = m_b;
#pragma unroll
        for (int n = 0; n < FA_KEYS / 8; n++) {
#pragma unroll
            for (int i = 0; i < 2; i++) {
                const int key = k0 + n * 8 + tg * 2 + i;
                s[n][i] = key <= row_a ? s[n][i] * scale_log2 : NEG_INF;
                s[n][2 + i] = key <= row_b ? s[n][2 + i] * scale_log2 : NEG_INF;
                mx_a = fmaxf(mx_a, s[n][i]);
                mx_b = fmaxf(mx_b, s[n][2 + i]);
            }
        }
        // A row's four lanes share its max. Key k0 ≤ every row of the tile, so it is finite.
#pragma unroll
        for (int x = 1; x < 4; x <<= 1) {
            mx_a = fmaxf(mx_a, __shfl_xor_sync(0xffffffffu, mx_a, x));
            mx_b = fmaxf(mx_b, __shfl_xor_sync(0xffffffffu, mx_b, x));
        }
        const float fa = exp2f(m_a - mx_a), fb = exp2f(m_b - mx_b);
        m_a = mx_a;
        m_b = mx_b;
        float sum_a = 0.0f, sum_b = 0.0f;
#pragma unroll
        for (int n = 0; n < FA_KEYS / 8; n++) {
            s[n][0] = exp2f(s[n][0] - m_a);
            s[n][1] = exp2f(s[n][1] - m_a);
            s[n][2] = exp2f(s[n][2] - m_b);
            s[n][3] = exp2f(s[n][3] - m_b);
            sum_a += s[n][0] + s[n][1];
            sum_b += s[n][2] + s[n][3];
        }
        l_a = l_a * fa + sum_a;  // this lane's share; the four are added at the end
        l_b = l_b * fb + sum_b;
#pragma unroll
        for (int n = 0; n < FA_D / 8; n++) {
            o[n][0] *= fa;
            o[n][1] *= fa;
            o[n][2] *= fb;
            o[n][3] *= fb;
        }
        // O += P·V: two score tiles' accumulators are exactly one A fragment of P.
#pragma unroll
        for (int kk = 0; kk < FA_KEYS / 16; kk++) {
            const unsigned pa[4] = {pack2(s[2 * kk][0], s[2 * kk][1]),
                                    pack2(s[2 * kk][2], s[2 * kk][3]),
                                    pack2(s[2 * kk + 1][0], s[2 * kk + 1][1]),
                                    pack2(s[2 * kk + 1][2], s[2 * kk + 1][3])};
            const int key = kk * 16 + tg * 2;
#pragma unroll
            for (int n = 0; n < FA_D / 8; n++) {
                const int c = n * 8 + g;
                const unsigned b0 = (unsigned)vs[key][c] | ((unsigned)vs[key + 1][c] << 16);
                const unsigned b1 = (unsigned)vs[key + 8][c] | ((unsigned)vs[key + 9][c] << 16);
                mma16816(o[n], pa, b0, b1);
            }
        }
    }
#pragma unroll
    for (int x = 1; x < 4; x <<= 1) {
        l_a += __shfl_xor_sync(0xffffffffu, l_a, x);
        l_b += __shfl_xor_sync(0xffffffffu, l_b, x);
    }
    const float ia = 1.0f / l_a, ib = 1.0f / l_b;
    const size_t width = (size_t)nh * FA_D;
#pragma unroll
    for (int n = 0; n < FA_D / 8; n++) {
        const int c = h * FA_D + n * 8 + tg * 2;
        if (row_a < len)
            *(unsigned*)(out + (size_t)(start + row_a) * width + c) =
                pack2(o[n][0] * ia, o[n][1] * ia);
        if (row_b < len)
            *(unsigned*)(out + (size_t)(start + row_b) * width + c) =
                pack2(o[n][2] * ib, o[n][3] * ib);
    }
}

// silu(g) · u, in f32: the one definition both SwiGLU kernels use.
__device__ __forceinline__ float silu_mul(float g, float u) { return g / (1.0f + __expf(-g)) * u; }

// act = silu(gate) ⊙ up, from rows [gate | up] of width 2·i. Grid: (columns / 256, tokens).
extern "C" __global__ void swiglu(const bf16* gate_up, bf16* act, int i) {
    const bf16* gate = gate_up + (size_t)blockIdx.y * 2 * i;
    const bf16* up = gate + i;
    bf16* out = act + (size_t)blockIdx.y * i;
    for (int c = blockIdx.x * blockDim.x + threadIdx.x; c < i; c += gridDim.x * blockDim.x)
        out[c] = f2bf(silu_mul(bf2f(gate[c]), bf2f(up[c])));
}

// silu_mul on two bf16 pairs packed in 32 bits each.
__device__ __forceinline__ unsigned silu_mul2(unsigned gate, unsigned up) {
    return pack2(silu_mul(bf2f((bf16)(gate & 0xffffu)), bf2f((bf16)(up & 0xffffu))),
                 silu_mul(bf2f((bf16)(gate >> 16)), bf2f((bf16)(up >> 16))));
}

// The same, 8 columns per thread with 16-byte loads and stores (i a multiple of 8).
// Grid: (i / 8 / 256, tokens).
extern "C" __global__ void swiglu8(const bf16* gate_up, bf16* act, int i) {
    const int c = (blockIdx.x * blockDim.x + threadIdx.x) * 8;
    if (c >= i) return;
    const bf16* gate = gate_up + (size_t)blockIdx.y * 2 * i + c;
    const uint4 gx = *(const uint4*)gate, ux = *(const uint4*)(gate + i);
    *(uint4*)(act + (size_t)blockIdx.y * i + c) =
        make_uint4(silu_mul2(gx.x, ux.x), silu_mul2(gx.y, ux.y), silu_mul2(gx.z, ux.z),
                   silu_mul2(gx.w, ux.w));
}

// y[r] += b (then ReLU when relu != 0), f32.
extern "C" __global__ void bias_act(float* y, const float* b, int rows, int n, int relu) {
    int total = rows * n;
    for (int e = blockIdx.x * blockDim.x + threadIdx.x; e < total; e += gridDim.x * blockDim.x) {
        float v = y[e] + (b ? b[e % n] : 0.0f);
        y[e] = relu ? fmaxf(v, 0.0f) : v;
    }
}
