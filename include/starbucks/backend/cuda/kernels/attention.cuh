// SPDX-License-Identifier: Apache-2.0
// Private to backend/cuda: fused multi-head attention (flash-style). The forward streams key
// tiles through shared memory with an online softmax, so no (T, T) score ever reaches device
// memory, and keeps each row's log-sum-exp for the backward. The backward recomputes the
// probabilities from it in two passes, keys-major for dk and dv, queries-major for dq, so every
// gradient element has one owner thread and the result does not depend on scheduling (no
// atomics: a resumed run stays bitwise the straight one).
#pragma once

#include "common.cuh"

STARBUCKS_NAMESPACE_BEGIN
namespace backend::cuda_detail {

/// Keys per tile: one per lane of a warp.
constexpr unsigned attention_keys = 32;
/// Warps per block of the row-major kernels (forward, dq) and threads of the key-major one.
constexpr unsigned attention_warps = 4;
constexpr unsigned attention_threads = attention_warps * 32;

/// Query rows per warp: fewer for wide heads, so a block's tiles fit 48 KiB of static shared
/// memory (DMAX = 128: q and dout rows 2 × 8 × 129 floats, k and v tiles 2 × 32 × 129).
template <unsigned DMAX>
constexpr unsigned attention_rows_per_warp = DMAX <= 64 ? 4 : 2;
template <unsigned DMAX>
constexpr unsigned attention_rows = attention_warps * attention_rows_per_warp<DMAX>;

/// The scalars of one attention: q, k, v, out and their gradients are (B, T, H·D) row-major.
struct attention_shape {
    std::size_t batch, tokens, heads, head_size;
    float scale, dropout_p, keep_scale;
    rng_stream rng;

    __device__ std::size_t width() const { return heads * head_size; }
    /// Offset of head h of token t of sample b.
    __device__ std::size_t at(std::size_t b, std::size_t t, std::size_t h) const { return (b * tokens + t) * width() + h * head_size; }
    /// The dropout factor of probability (bh, i, j): the word of element ((bh·T + i)·T + j) of
    /// the (B, H, T, T) probabilities, as backend dropout draws it over the whole tensor.
    __device__ float keep(std::size_t bh, std::size_t i, std::size_t j) const {
        if (dropout_p == 0.0f) return 1.0f;
        return rng_stream::to_uniform(rng.bits((bh * tokens + i) * tokens + j)) >= dropout_p ? keep_scale : 0.0f;
    }
};

/// What one block works on: head h of sample b (flat bh = b·H + h) and its rows (or keys)
/// [first, first + rows). Blocks of one head are consecutive.
struct attention_block {
    std::size_t bh, b, h, first;
    __device__ attention_block(const attention_shape& a, unsigned rows) {
        const std::size_t blocks = (a.tokens + rows - 1) / rows;
        bh = blockIdx.x / blocks;
        b = bh / a.heads;
        h = bh % a.heads;
        first = blockIdx.x % blocks * rows;
    }
};

__device__ inline float warp_sum(float v) {
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}
__device__ inline float warp_max(float v) {
    for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
    return v;
}

/// Rows [r0, r0 + rows) of head h of sample b into a shared tile; rows past T are zero.
template <unsigned DMAX>
__device__ void load_head_rows(const float* x, const attention_shape& a, std::size_t b, std::size_t h, std::size_t r0, unsigned rows,
                               float (*tile)[DMAX + 1]) {
    for (unsigned e = threadIdx.x; e < rows * a.head_size; e += blockDim.x) {
        const unsigned r = e / static_cast<unsigned>(a.head_size), d = e % static_cast<unsigned>(a.head_size);
        tile[r][d] = r0 + r < a.tokens ? x[a.at(b, r0 + r, h) + d] : 0.0f;
    }
}

/// Streams the 32-key tiles of the block's head through shared memory: `each_tile(j0)` runs once
/// both tiles of keys [j0, j0 + 32) are loaded, and no thread loads the next before all are done.
template <unsigned DMAX, class F>
__device__ void over_key_tiles(const attention_shape& a, const attention_block& blk, const float* k, const float* v, float (*ks)[DMAX + 1],
                               float (*vs)[DMAX + 1], F&& each_tile) {
    for (std::size_t j0 = 0; j0 < a.tokens; j0 += attention_keys) {
        __syncthreads(); // the previous tile is consumed (and, the first time, the rows are loaded)
        load_head_rows<DMAX>(k, a, blk.b, blk.h, j0, attention_keys, ks);
        load_head_rows<DMAX>(v, a, blk.b, blk.h, j0, attention_keys, vs);
        __syncthreads();
        each_tile(j0);
    }
}

__device__ inline float dot_rows(const float* x, const float* y, std::size_t n) {
    float s = 0.0f;
    for (std::size_t d = 0; d < n; ++d) s += x[d] * y[d];
    return s;
}

/// scale · q_i·k_j + mask_j, the masked score; -inf for a key past T.
template <unsigned DMAX>
__device__ float attention_score(const attention_shape& a, const float* q_row, const float* k_row, const float* mask, std::size_t b,
                                 std::size_t j) {
    if (j >= a.tokens) return -INFINITY;
    const float s = a.scale * dot_rows(q_row, k_row, a.head_size);
    return mask ? s + mask[b * a.tokens + j] : s;
}

/// One block per (B·H, block of rows), row blocks fastest; each warp owns rows, each lane a key of the tile and the output
/// dimensions lane, lane + 32, ....
template <unsigned DMAX>
__global__ void attention_forward_kernel(attention_shape a, const float* q, const float* k, const float* v, const float* mask, float* out,
                                         float* lse) {
    constexpr unsigned R = attention_rows_per_warp<DMAX>, DR = DMAX / 32;
    __shared__ float qs[attention_rows<DMAX>][DMAX + 1];
    __shared__ float ks[attention_keys][DMAX + 1];
    __shared__ float vs[attention_keys][DMAX + 1];
    __shared__ float ps[attention_warps][attention_keys];
    const attention_block blk(a, attention_rows<DMAX>);
    const std::size_t bh = blk.bh, b = blk.b, h = blk.h, i0 = blk.first;
    const unsigned lane = threadIdx.x & 31u, warp = threadIdx.x >> 5;
    load_head_rows<DMAX>(q, a, b, h, i0, attention_rows<DMAX>, qs);
    float m[R], l[R], acc[R][DR];
    STARBUCKS_UNROLL
    for (unsigned r = 0; r < R; ++r) {
        m[r] = -INFINITY;
        l[r] = 0.0f;
        STARBUCKS_UNROLL
        for (unsigned c = 0; c < DR; ++c) acc[r][c] = 0.0f;
    }
    over_key_tiles<DMAX>(a, blk, k, v, ks, vs, [&](std::size_t j0) {
        const std::size_t j = j0 + lane;
        STARBUCKS_UNROLL
        for (unsigned r = 0; r < R; ++r) {
            const unsigned row = warp * R + r;
            const std::size_t i = i0 + row;
            const float s = attention_score<DMAX>(a, qs[row], ks[lane], mask, b, j);
            const float m_new = fmaxf(m[r], warp_max(s));
            // A row masked by -inf so far has nothing to rescale and nothing to add.
            const float p = m_new == -INFINITY ? 0.0f : expf(s - m_new);
            const float corr = m_new == -INFINITY ? 1.0f : expf(m[r] - m_new);
            l[r] = l[r] * corr + warp_sum(p);
            m[r] = m_new;
            __syncwarp(); // every lane has read the previous row's probabilities
            ps[warp][lane] = j < a.tokens && i < a.tokens ? p * a.keep(bh, i, j) : 0.0f;
            __syncwarp();
            STARBUCKS_UNROLL
            for (unsigned c = 0; c < DR; ++c) { // no early exit: a fixed trip count keeps acc in registers
                const unsigned d = lane + 32 * c;
                float s_pv = 0.0f;
                if (d < a.head_size)
                    for (unsigned jj = 0; jj < attention_keys; ++jj) s_pv += ps[warp][jj] * vs[jj][d];
                acc[r][c] = acc[r][c] * corr + s_pv;
            }
        }
    });
    STARBUCKS_UNROLL
    for (unsigned r = 0; r < R; ++r) {
        const std::size_t i = i0 + warp * R + r;
        if (i >= a.tokens) continue;
        // l = 0 only for a row whose every key is -inf: the reference softmax gives it zeros.
        const float inv = l[r] > 0.0f ? 1.0f / l[r] : 0.0f;
        STARBUCKS_UNROLL
        for (unsigned c = 0; c < DR; ++c) {
            const unsigned d = lane + 32 * c;
            if (d < a.head_size) out[a.at(b, i, h) + d] = acc[r][c] * inv;
        }
        if (lane == 0) lse[bh * a.tokens + i] = l[r] > 0.0f ? m[r] + logf(l[r]) : -INFINITY;
    }
}

/// delta_i = dout_i · out_i per (B·H·T) row: softmax's backward term Σ_j p_ij·dp_ij, dropout
/// included, since out_i = Σ_j p_ij z_ij v_j. One warp per row.
__global__ void attention_delta_kernel(attention_shape a, const float* out, const float* dout, float* delta) {
    const std::size_t rows = a.batch * a.heads * a.tokens;
    const unsigned lane = threadIdx.x & 31u;
    for (std::size_t row = (std::size_t{blockIdx.x} * blockDim.x + threadIdx.x) / 32; row < rows;
         row += std::size_t{gridDim.x} * blockDim.x / 32) {
        const std::size_t bh = row / a.tokens, i = row % a.tokens, base = a.at(bh / a.heads, i, bh % a.heads);
        float s = 0.0f;
        for (std::size_t d = lane; d < a.head_size; d += 32) s += dout[base + d] * out[base + d];
        s = warp_sum(s);
        if (lane == 0) delta[row] = s;
    }
}

/// The probability p_ij from the kept log-sum-exp (0 for a row of -inf scores, or a key past T).
__device__ inline float attention_probability(float s, float lse) { return lse == -INFINITY || s == -INFINITY ? 0.0f : expf(s - lse); }

/// dq += scale · Σ_j ds_ij k_j with ds_ij = p_ij (z_ij · dout_i·v_j - delta_i). Grid and
/// threads as the forward.
template <unsigned DMAX>
__global__ void attention_dq_kernel(attention_shape a, const float* q, const float* k, const float* v, const float* mask, const float* dout,
                                    const float* lse, const float* delta, float* dq) {
    constexpr unsigned R = attention_rows_per_warp<DMAX>, DR = DMAX / 32;
    __shared__ float qs[attention_rows<DMAX>][DMAX + 1];
    __shared__ float gs[attention_rows<DMAX>][DMAX + 1];
    __shared__ float ks[attention_keys][DMAX + 1];
    __shared__ float vs[attention_keys][DMAX + 1];
    __shared__ float ds[attention_warps][attention_keys];
    const attention_block blk(a, attention_rows<DMAX>);
    const std::size_t bh = blk.bh, b = blk.b, h = blk.h, i0 = blk.first;
    const unsigned lane = threadIdx.x & 31u, warp = threadIdx.x >> 5;
    load_head_rows<DMAX>(q, a, b, h, i0, attention_rows<DMAX>, qs);
    load_head_rows<DMAX>(dout, a, b, h, i0, attention_rows<DMAX>, gs);
    float row_lse[R], row_delta[R], acc[R][DR];
    STARBUCKS_UNROLL
    for (unsigned r = 0; r < R; ++r) {
        const std::size_t i = i0 + warp * R + r;
        row_lse[r] = i < a.tokens ? lse[bh * a.tokens + i] : -INFINITY;
        row_delta[r] = i < a.tokens ? delta[bh * a.tokens + i] : 0.0f;
        STARBUCKS_UNROLL
        for (unsigned c = 0; c < DR; ++c) acc[r][c] = 0.0f;
    }
    over_key_tiles<DMAX>(a, blk, k, v, ks, vs, [&](std::size_t j0) {
        const std::size_t j = j0 + lane;
        STARBUCKS_UNROLL
        for (unsigned r = 0; r < R; ++r) {
            const unsigned row = warp * R + r;
            const std::size_t i = i0 + row;
            const float p = attention_probability(attention_score<DMAX>(a, qs[row], ks[lane], mask, b, j), row_lse[r]);
            const float dp = dot_rows(gs[row], vs[lane], a.head_size);
            __syncwarp();
            ds[warp][lane] = j < a.tokens && i < a.tokens ? p * (a.keep(bh, i, j) * dp - row_delta[r]) : 0.0f;
            __syncwarp();
            STARBUCKS_UNROLL
            for (unsigned c = 0; c < DR; ++c) {
                const unsigned d = lane + 32 * c;
                if (d < a.head_size)
                    for (unsigned jj = 0; jj < attention_keys; ++jj) acc[r][c] += ds[warp][jj] * ks[jj][d];
            }
        }
    });
    STARBUCKS_UNROLL
    for (unsigned r = 0; r < R; ++r) {
        const std::size_t i = i0 + warp * R + r;
        if (i >= a.tokens) continue;
        STARBUCKS_UNROLL
        for (unsigned c = 0; c < DR; ++c) {
            const unsigned d = lane + 32 * c;
            if (d < a.head_size) dq[a.at(b, i, h) + d] += a.scale * acc[r][c];
        }
    }
}

/// dk += scale · Σ_i ds_ij q_i and dv += Σ_i p_ij z_ij dout_i for one tile of 32 keys, one
/// block per (B·H, key tile); thread t owns key t % 32 and the dimensions t / 32, t / 32 + 4, ....
/// Query rows come through shared memory a chunk at a time.
template <unsigned DMAX>
__global__ void attention_dkv_kernel(attention_shape a, const float* q, const float* k, const float* v, const float* mask, const float* dout,
                                     const float* lse, const float* delta, float* dk, float* dv) {
    constexpr unsigned QC = DMAX <= 64 ? 16 : 8, DG = attention_threads / 32, DC = DMAX / DG;
    __shared__ float ks[attention_keys][DMAX + 1];
    __shared__ float vs[attention_keys][DMAX + 1];
    __shared__ float qs[QC][DMAX + 1];
    __shared__ float gs[QC][DMAX + 1];
    __shared__ float pz[QC][attention_keys];
    __shared__ float ds[QC][attention_keys];
    __shared__ float row_lse[QC], row_delta[QC];
    const attention_block blk(a, attention_keys);
    const std::size_t bh = blk.bh, b = blk.b, h = blk.h, j0 = blk.first;
    const unsigned key = threadIdx.x & 31u, group = threadIdx.x >> 5;
    const std::size_t j = j0 + key;
    load_head_rows<DMAX>(k, a, b, h, j0, attention_keys, ks);
    load_head_rows<DMAX>(v, a, b, h, j0, attention_keys, vs);
    float dk_acc[DC], dv_acc[DC];
    STARBUCKS_UNROLL
    for (unsigned c = 0; c < DC; ++c) dk_acc[c] = dv_acc[c] = 0.0f;
    for (std::size_t i0 = 0; i0 < a.tokens; i0 += QC) {
        __syncthreads(); // the previous chunk is consumed (and, the first time, k and v are loaded)
        load_head_rows<DMAX>(q, a, b, h, i0, QC, qs);
        load_head_rows<DMAX>(dout, a, b, h, i0, QC, gs);
        for (unsigned r = threadIdx.x; r < QC; r += blockDim.x) {
            const bool in = i0 + r < a.tokens;
            row_lse[r] = in ? lse[bh * a.tokens + i0 + r] : -INFINITY;
            row_delta[r] = in ? delta[bh * a.tokens + i0 + r] : 0.0f;
        }
        __syncthreads();
        for (unsigned r = group; r < QC; r += DG) {
            const std::size_t i = i0 + r;
            const float p = attention_probability(attention_score<DMAX>(a, qs[r], ks[key], mask, b, j), row_lse[r]);
            const bool live = i < a.tokens && j < a.tokens;
            const float z = live ? a.keep(bh, i, j) : 0.0f;
            const float dp = dot_rows(gs[r], vs[key], a.head_size);
            pz[r][key] = live ? p * z : 0.0f;
            ds[r][key] = live ? p * (z * dp - row_delta[r]) : 0.0f;
        }
        __syncthreads();
        for (unsigned r = 0; r < QC; ++r) {
            const float pr = pz[r][key], dr = ds[r][key];
            STARBUCKS_UNROLL
            for (unsigned c = 0; c < DC; ++c) {
                const unsigned d = group + DG * c;
                if (d < a.head_size) {
                    dv_acc[c] += pr * gs[r][d];
                    dk_acc[c] += dr * qs[r][d];
                }
            }
        }
    }
    if (j >= a.tokens) return;
    STARBUCKS_UNROLL
    for (unsigned c = 0; c < DC; ++c) {
        const unsigned d = group + DG * c;
        if (d >= a.head_size) continue;
        if (dk) dk[a.at(b, j, h) + d] += a.scale * dk_acc[c];
        if (dv) dv[a.at(b, j, h) + d] += dv_acc[c];
    }
}

inline attention_shape make_attention_shape(const fused_attention_args<float>& g) {
    return {g.batch, g.tokens, g.heads, g.head_size, g.scale, g.dropout_p, g.dropout_p < 1.0f ? 1.0f / (1.0f - g.dropout_p) : 0.0f, g.rng};
}

/// Blocks of a launch over B·H heads times the tiles of `rows` tokens. A grid's x extent holds
/// 2³¹ - 1 blocks (some 20 million texts of BERT-base in one call); a larger call is refused.
inline unsigned blocks_for(const fused_attention_args<float>& g, unsigned rows) {
    const std::size_t n = g.batch * g.heads * ((g.tokens + rows - 1) / rows);
    if (n > 0x7fffffffu) throw unsupported_error("starbucks::backend::cuda::attention", std::to_string(n) + " blocks exceed one grid; split the batch");
    return static_cast<unsigned>(n);
}

/// Runs `launch.template operator()<DMAX>()` for the smallest instantiated DMAX >= head size.
template <class F>
void with_head_bound(std::size_t head_size, F&& launch) {
    if (head_size <= 64) launch.template operator()<64>();
    else launch.template operator()<128>();
}

template <class T>
void attention_forward(device_state& s, const fused_attention_args<T>& g, T* out, T* lse) {
    if (!g.batch || !g.tokens || !g.heads || !g.head_size) return;
    const attention_shape a = make_attention_shape(g);
    with_head_bound(g.head_size, [&]<unsigned DMAX>() {
        const unsigned grid = blocks_for(g, attention_rows<DMAX>);
        STARBUCKS_CUDA_LAUNCH(grid, attention_threads, s.stream(), attention_forward_kernel<DMAX>)(a, g.q, g.k, g.v, g.mask, out, lse);
    });
    check_launch("attention_forward");
}

template <class T>
void attention_backward(device_state& s, const fused_attention_args<T>& g, const T* out, const T* lse, const T* dout, T* dq, T* dk, T* dv) {
    if (!g.batch || !g.tokens || !g.heads || !g.head_size || (!dq && !dk && !dv)) return;
    const attention_shape a = make_attention_shape(g);
    const std::size_t rows = g.batch * g.heads * g.tokens;
    device_state::scratch delta(s, rows * sizeof(float));
    auto* d = static_cast<float*>(delta.p);
    STARBUCKS_CUDA_LAUNCH(grid_for(rows * 32), block_threads, s.stream(), attention_delta_kernel)(a, out, dout, d);
    check_launch("attention_delta");
    with_head_bound(g.head_size, [&]<unsigned DMAX>() {
        if (dq) {
            STARBUCKS_CUDA_LAUNCH(blocks_for(g, attention_rows<DMAX>), attention_threads, s.stream(), attention_dq_kernel<DMAX>)(a, g.q, g.k, g.v, g.mask, dout, lse, d, dq);
            check_launch("attention_dq");
        }
        if (dk || dv) {
            STARBUCKS_CUDA_LAUNCH(blocks_for(g, attention_keys), attention_threads, s.stream(), attention_dkv_kernel<DMAX>)(a, g.q, g.k, g.v, g.mask, dout, lse, d, dk, dv);
            check_launch("attention_dkv");
        }
    });
}

template void attention_forward<float>(device_state&, const fused_attention_args<float>&, float*, float*);
template void attention_backward<float>(device_state&, const fused_attention_args<float>&, const float*, const float*, const float*, float*,
                                        float*, float*);

} // namespace backend::cuda_detail
STARBUCKS_NAMESPACE_END
