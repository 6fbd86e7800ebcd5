// SPDX-License-Identifier: Apache-2.0
// Fused multi-head self-attention: softmax(q·kᵀ·scale + mask), dropout, times v. On a backend
// with a fused kernel (backend/fused_attention.hpp), one pass over key tiles with an online
// softmax; elsewhere GEMMs and a softmax a few samples at a time, so the (heads, T, T) scores
// never reach memory as whole-batch tensors. Either backward recomputes the probabilities (and
// the dropout mask, from its counter-based stream) tile by tile.
#pragma once

#include <algorithm>
#include <optional>
#include <string>
#include <utility>

#include "../backend/fused_attention.hpp"
#include "../core/rng.hpp"
#include "attention_path.hpp"
#include "elementwise.hpp"
#include "gemm.hpp"

STARBUCKS_NAMESPACE_BEGIN

/// @brief What one multi-head attention computes besides q, k and v: the number of heads, the
/// score scale (1/sqrt(head size) in BERT) and dropout on the probabilities (p = 0: none).
/// Element i of the (B, H, T, T) probabilities draws word i of `rng`, as one dropout pass over
/// the whole probability tensor would.
template <class T>
struct attention_options {
    std::size_t heads = 1;
    T scale = 1;
    T dropout_p = 0;
    rng_stream rng{};
};

namespace detail {

/// @brief The fused kernel's view of one attention: row-major (B, T, C) q, k, v with C = H·D,
/// an additive (B, T) key mask or none, and the options.
///
/// Samples are processed in chunks whose score tiles, (n, H, T, T), fit a scratch. Two ways:
/// - in place (host backends): each sample's products are strided GEMMs over its heads (head h
///   of sample b starts at b·T·C + h·D, rows C apart), so no head is ever copied, and a chunk's
///   scores stay in a cache-sized scratch;
/// - head-major (device backends): a chunk's q, k, v are first copied to (n·H, T, D), so each
///   product is one GEMM batched over every sample and head of the chunk, and the chunk is as
///   large as a device scratch allows. A launch per sample would otherwise dominate a GPU step.
/// Both compute every element with the same operations in the same order (bitwise the same on
/// the reference backend, tests/ops/test_attention.cpp).
template <class T, class B>
class attention_kernel {
public:
    attention_kernel(std::size_t batch, std::size_t tokens, std::size_t width, const T* q, const T* k, const T* v, const T* mask,
                     const attention_options<T>& o, bool head_major = !B::host_accessible, std::size_t scratch = 0)
        : batch_(batch), tokens_(tokens), width_(width), heads_(o.heads), head_size_(width / o.heads), q_(q), k_(k), v_(v),
          mask_(mask), o_(o), head_major_(head_major) {
        const std::size_t tile = std::max<std::size_t>(1, heads_ * tokens_ * tokens_);
        if (scratch == 0) scratch = head_major_ ? device_scratch_elements : scratch_elements;
        chunk_ = std::clamp<std::size_t>(scratch / tile, 1, std::max<std::size_t>(batch_, 1));
    }

    /// out (B, T, C) = attention; every element written.
    void forward(T* out) const {
        const std::size_t tile = heads_ * tokens_ * tokens_;
        tensor<T, dextents<1>, B> scores(dextents<1>(chunk_ * tile), uninitialized), probs(dextents<1>(chunk_ * tile), uninitialized);
        tensor<T, dextents<1>, B> keep(dextents<1>(dropping() ? chunk_ * tile : 0), uninitialized);
        heads_copy h(*this, 4);
        for (std::size_t b0 = 0; b0 < batch_; b0 += chunk_) {
            const std::size_t n = std::min(chunk_, batch_ - b0);
            if (head_major_) {
                h.gather(0, q_, b0, n);
                h.gather(1, k_, b0, n);
                h.gather(2, v_, b0, n);
            }
            probabilities(b0, n, h, scores.data(), probs.data());
            if (dropping()) B::dropout(B::default_context(), n * tile, o_.dropout_p, o_.rng.advanced(b0 * tile), probs.data(), probs.data(), keep.data());
            if (head_major_) { // out = P v, then back to (B, T, C)
                gemm(n * heads_, false, false, tokens_, head_size_, tokens_, probs.data(), tiles(), h[2], packed(), h[3], packed(), T(1), T(0));
                h.scatter(3, out, b0, n, false);
                continue;
            }
            for (std::size_t b = b0; b < b0 + n; ++b) // out_b = P_b v_b
                gemm(heads_, false, false, tokens_, head_size_, tokens_, probs.data() + (b - b0) * tile, tiles(), v_ + offset(b), heads_rows(),
                     out + offset(b), heads_rows(), T(1), T(0));
        }
    }

    /// dq, dk, dv (B, T, C) += the gradients for dout (B, T, C); a null one is skipped.
    void backward(const T* dout, T* dq, T* dk, T* dv) const {
        const std::size_t tile = heads_ * tokens_ * tokens_, elems = chunk_ * tile;
        tensor<T, dextents<1>, B> scores(dextents<1>(elems), uninitialized), probs(dextents<1>(elems), uninitialized);
        tensor<T, dextents<1>, B> grad(dextents<1>(elems), uninitialized), keep(dextents<1>(dropping() ? elems : 0), uninitialized);
        auto& ctx = B::default_context();
        heads_copy h(*this, 5); // q, k, v, dout, and a product on its way back
        for (std::size_t b0 = 0; b0 < batch_; b0 += chunk_) {
            const std::size_t n = std::min(chunk_, batch_ - b0), m = n * tile;
            if (head_major_) {
                h.gather(0, q_, b0, n);
                h.gather(1, k_, b0, n);
                h.gather(2, v_, b0, n);
                h.gather(3, dout, b0, n);
            }
            probabilities(b0, n, h, scores.data(), probs.data());
            // The probabilities as the forward pass multiplied them into v: P, or P·mask in `grad`.
            const T* used = probs.data();
            if (dropping()) {
                B::dropout(ctx, m, o_.dropout_p, o_.rng.advanced(b0 * tile), probs.data(), grad.data(), keep.data());
                used = grad.data();
            }
            // grad = scale · dout vᵀ: the gradient of the (dropped-out) probabilities, with the
            // scores' scale taken now (softmax's backward is linear in it), so that the
            // accumulating products below have alpha = 1 (oneDNN runs alpha != 1 together with
            // beta = 1 on a strided C on its slow reference kernel).
            if (head_major_) {
                if (dv) { // dv += Pᵀ dout
                    gemm(n * heads_, true, false, tokens_, head_size_, tokens_, used, tiles(), h[3], packed(), h[4], packed(), T(1), T(0));
                    h.scatter(4, dv, b0, n, true);
                }
                gemm(n * heads_, false, true, tokens_, tokens_, head_size_, h[3], packed(), h[2], packed(), grad.data(), tiles(), o_.scale, T(0));
            } else {
                for (std::size_t b = b0; b < b0 + n; ++b) {
                    const std::size_t t = (b - b0) * tile;
                    if (dv) // dv_b += P_bᵀ dout_b
                        gemm(heads_, true, false, tokens_, head_size_, tokens_, used + t, tiles(), dout + offset(b), heads_rows(), dv + offset(b),
                             heads_rows(), T(1), T(1));
                    gemm(heads_, false, true, tokens_, tokens_, head_size_, dout + offset(b), heads_rows(), v_ + offset(b), heads_rows(),
                         grad.data() + t, tiles(), o_.scale, T(0));
                }
            }
            if (dropping()) {
                const backend::strided<T> g{grad.data(), layout::contiguous(shape{m})};
                const backend::strided<const T> gc{grad.data(), g.lay}, kc{keep.data(), g.lay};
                B::binary(ctx, backend::binary_op::mul, g, gc, kc);
            }
            // scores := scale · the gradient of the masked scores (softmax's backward accumulates).
            B::fill(ctx, m, T(0), scores.data());
            B::softmax_backward(ctx, n * heads_ * tokens_, tokens_, probs.data(), grad.data(), scores.data(), false);
            if (head_major_) {
                if (dq) { // dq += scale · dS k
                    gemm(n * heads_, false, false, tokens_, head_size_, tokens_, scores.data(), tiles(), h[1], packed(), h[4], packed(), T(1), T(0));
                    h.scatter(4, dq, b0, n, true);
                }
                if (dk) { // dk += scale · dSᵀ q
                    gemm(n * heads_, true, false, tokens_, head_size_, tokens_, scores.data(), tiles(), h[0], packed(), h[4], packed(), T(1), T(0));
                    h.scatter(4, dk, b0, n, true);
                }
                continue;
            }
            for (std::size_t b = b0; b < b0 + n; ++b) {
                const T* ds = scores.data() + (b - b0) * tile;
                if (dq) // dq_b += scale · dS_b k_b
                    gemm(heads_, false, false, tokens_, head_size_, tokens_, ds, tiles(), k_ + offset(b), heads_rows(), dq + offset(b), heads_rows(),
                         T(1), T(1));
                if (dk) // dk_b += scale · dS_bᵀ q_b
                    gemm(heads_, true, false, tokens_, head_size_, tokens_, ds, tiles(), q_ + offset(b), heads_rows(), dk + offset(b), heads_rows(),
                         T(1), T(1));
            }
        }
    }

    /// Scores (B·H·T·T elements) of one chunk kept in scratch at a time unless `scratch` says
    /// otherwise: in place, a CPU cache; head-major, device memory (128 MiB of floats per buffer:
    /// BERT-base's 64 texts of 128 tokens in one chunk).
    static constexpr std::size_t scratch_elements = std::size_t{1} << 16;
    static constexpr std::size_t device_scratch_elements = std::size_t{1} << 25;

private:
    using strides_t = std::pair<std::ptrdiff_t, std::ptrdiff_t>;

    /// Head-major copies of a chunk's (n, T, C) operands: slot i holds (n·H, T, D) contiguous.
    class heads_copy {
    public:
        heads_copy(const attention_kernel& a, std::size_t slots)
            : a_(a), store_(dextents<1>(a.head_major_ ? slots * a.chunk_ * a.tokens_ * a.width_ : 0), uninitialized) {}
        T* operator[](std::size_t i) const { return const_cast<T*>(store_.data()) + i * a_.chunk_ * a_.tokens_ * a_.width_; }
        /// slot i = x[b0, b0 + n) by heads.
        void gather(std::size_t i, const T* x, std::size_t b0, std::size_t n) const {
            B::copy(B::default_context(), backend::strided<T>{(*this)[i], layout::contiguous(by_heads(n).dims)},
                    backend::strided<const T>{x + a_.offset(b0), by_heads(n)});
        }
        /// y[b0, b0 + n) = (or +=, with `add`) slot i, back in (n, T, C).
        void scatter(std::size_t i, T* y, std::size_t b0, std::size_t n, bool add) const {
            const backend::strided<T> dst{y + a_.offset(b0), by_heads(n)};
            const backend::strided<const T> src{(*this)[i], layout::contiguous(by_heads(n).dims)};
            if (add) B::accumulate(B::default_context(), dst, src, T(1));
            else B::copy(B::default_context(), dst, src);
        }

    private:
        /// (n, T, C) seen as (n, H, T, D).
        layout by_heads(std::size_t n) const {
            layout l;
            l.dims = shape{n, a_.heads_, a_.tokens_, a_.head_size_};
            const auto c = static_cast<std::ptrdiff_t>(a_.width_), d = static_cast<std::ptrdiff_t>(a_.head_size_);
            l.strides[0] = static_cast<std::ptrdiff_t>(a_.tokens_) * c;
            l.strides[1] = d;
            l.strides[2] = c;
            l.strides[3] = 1;
            return l;
        }
        const attention_kernel& a_;
        tensor<T, dextents<1>, B> store_;
    };

    bool dropping() const noexcept { return o_.dropout_p != T(0); }
    std::ptrdiff_t offset(std::size_t b) const noexcept { return static_cast<std::ptrdiff_t>(b * tokens_ * width_); }
    /// Strides of a per-head operand in place: rows C apart, heads D apart.
    strides_t heads_rows() const noexcept { return {static_cast<std::ptrdiff_t>(width_), static_cast<std::ptrdiff_t>(head_size_)}; }
    /// Strides of a head-major operand: rows D apart, (sample, head) T·D apart.
    strides_t packed() const noexcept {
        return {static_cast<std::ptrdiff_t>(head_size_), static_cast<std::ptrdiff_t>(tokens_ * head_size_)};
    }
    /// Strides of a score tile: rows T apart, heads T·T apart.
    strides_t tiles() const noexcept { return {static_cast<std::ptrdiff_t>(tokens_), static_cast<std::ptrdiff_t>(tokens_ * tokens_)}; }

    /// probs = softmax(scale · q kᵀ + mask) for samples [b0, b0 + n); `scores` is scratch. Head-
    /// major, the mask is first broadcast into `probs` (free until the softmax) and added as the
    /// GEMM's residual: the same two roundings as the in-place bias (scale · qkᵀ, then + mask).
    void probabilities(std::size_t b0, std::size_t n, const heads_copy& h, T* scores, T* probs) const {
        const std::size_t tile = heads_ * tokens_ * tokens_;
        if (head_major_) {
            if (mask_) {
                layout keys;
                keys.dims = shape{n, heads_, tokens_, tokens_};
                keys.strides[0] = static_cast<std::ptrdiff_t>(tokens_);
                keys.strides[3] = 1;
                B::copy(B::default_context(), backend::strided<T>{probs, layout::contiguous(keys.dims)},
                        backend::strided<const T>{mask_ + b0 * tokens_, keys});
            }
            gemm(n * heads_, false, true, tokens_, tokens_, head_size_, h[0], packed(), h[1], packed(), scores, tiles(), o_.scale, T(0), nullptr,
                 mask_ ? probs : nullptr);
        } else {
            for (std::size_t b = b0; b < b0 + n; ++b)
                gemm(heads_, false, true, tokens_, tokens_, head_size_, q_ + offset(b), heads_rows(), k_ + offset(b), heads_rows(),
                     scores + (b - b0) * tile, tiles(), o_.scale, T(0), mask_ ? mask_ + b * tokens_ : nullptr);
        }
        B::softmax(B::default_context(), n * heads_ * tokens_, tokens_, scores, probs, false);
    }

    /// c_i = alpha · op(a_i) op(b_i) + beta · c_i (+ bias) (+ residual_i) for i < batch, each
    /// operand given with its (row, batch) strides: one batched GEMM.
    void gemm(std::size_t batch, bool ta, bool tb, std::size_t m, std::size_t n, std::size_t k, const T* a, strides_t sa, const T* b,
              strides_t sb, T* c, strides_t sc, T alpha, T beta, const T* bias = nullptr, const T* residual = nullptr) const {
        backend::gemm_args<T> g;
        g.batch = batch;
        g.m = m;
        g.n = n;
        g.k = k;
        g.trans_a = ta;
        g.trans_b = tb;
        g.a = a;
        g.lda = sa.first;
        g.stride_a = sa.second;
        g.b = b;
        g.ldb = sb.first;
        g.stride_b = sb.second;
        g.c = c;
        g.ldc = sc.first;
        g.stride_c = sc.second;
        g.alpha = alpha;
        g.beta = beta;
        g.epilogue.bias = bias;
        g.epilogue.residual = residual;
        // f32 even under matmul_precision::bf16: these per-head products are a few percent of a
        // step's FLOPs, and rounding their strided operands on every call cost more than bf16
        // saved (the bf16 step measured 1.6x slower in attention, docs/performance.md).
        B::gemm(B::default_context(), g);
    }

    std::size_t batch_, tokens_, width_, heads_, head_size_, chunk_ = 1;
    const T *q_, *k_, *v_, *mask_;
    attention_options<T> o_;
    bool head_major_;
};

/// Checks q, k, v (B, T, C), the heads and the mask ((B, T) or (B, 1, 1, T), or empty) for
/// `op`, naming the offending shape.
inline void check_attention(const char* op, const shape& q, const shape& k, const shape& v, const shape* mask, std::size_t heads) {
    if (q.rank != 3) throw shape_error(op, "q must be (batch, tokens, width), not " + to_string(q));
    if (!(k == q) || !(v == q)) throw shape_error(op, "q " + to_string(q) + ", k " + to_string(k) + " and v " + to_string(v) + " differ");
    if (heads == 0 || q.dims[2] % heads != 0)
        throw shape_error(op, "width " + std::to_string(q.dims[2]) + " is not a multiple of " + std::to_string(heads) + " heads");
    if (!mask) return;
    const bool plain = mask->rank == 2 && mask->dims[0] == q.dims[0] && mask->dims[1] == q.dims[1];
    const bool broadcast = mask->rank == 4 && mask->dims[0] == q.dims[0] && mask->dims[1] == 1 && mask->dims[2] == 1 &&
                           mask->dims[3] == q.dims[1];
    if (!plain && !broadcast)
        throw shape_error(op, "mask " + to_string(*mask) + " must be (batch, tokens) or (batch, 1, 1, tokens) for q " + to_string(q));
}

} // namespace detail

namespace detail {
/// The backend's fused-kernel arguments for this attention, or nothing: when backend B has no
/// fused attention for T, does not support these sizes, or the thread's path is composed (a
/// backward whose forward ran fused passes `forward_was_fused`, whatever the path is now).
template <class T, class B>
std::optional<backend::fused_attention_args<T>> fused_attention_for(std::size_t batch, std::size_t tokens, std::size_t width, const T* q,
                                                                     const T* k, const T* v, const T* mask, const attention_options<T>& o,
                                                                     bool forward_was_fused = false) {
    if constexpr (backend::has_fused_attention<B, T>) {
        if (!forward_was_fused && current_attention_path() != attention_path::fused) return std::nullopt;
        const backend::fused_attention_args<T> a{.batch = batch, .tokens = tokens, .heads = o.heads, .head_size = width / o.heads, .q = q,
                                                 .k = k, .v = v, .mask = mask, .scale = o.scale, .dropout_p = o.dropout_p, .rng = o.rng};
        if (B::fused_attention_supports(a)) return a;
    }
    return std::nullopt;
}

/// An attention's output, and what a fused backward needs of its forward: the (B·H·T) row
/// log-sum-exps, empty when the composed path ran.
template <class T, class B>
struct attention_forward_result {
    tensor<T, dextents<3>, B> out;
    tensor<T, dextents<1>, B> lse;
    bool fused = false;
};

/// The body of both attention overloads; `mask` is null or a (B, T) / (B, 1, 1, T) tensor.
template <class Q, class K, class V, class VM>
auto attention_impl(const Q& q, const K& k, const V& v, const VM* mask, const attention_options<value_type_t<Q>>& o) {
    using T = value_type_t<Q>;
    using Be = backend_t<Q>;
    auto vq = as_const_view(q);
    auto vk = as_const_view(k);
    auto vv = as_const_view(v);
    const shape ms = mask ? mask->dims() : shape{};
    check_attention("starbucks::attention", vq.dims(), vk.dims(), vv.dims(), mask ? &ms : nullptr, o.heads);
    const contiguous_input cq(vq), ck(vk), cv(vv);
    std::optional<contiguous_input<T, typename VM::extents_type, Be>> cm;
    if (mask) cm.emplace(*mask);
    const std::size_t batch = vq.extent(0), tokens = vq.extent(1), width = vq.extent(2);
    attention_forward_result<T, Be> r{tensor<T, dextents<3>, Be>(dextents<3>(batch, tokens, width), uninitialized), {}, false};
    const T* mp = cm ? cm->data() : nullptr;
    if constexpr (backend::has_fused_attention<Be, T>) {
        if (auto f = fused_attention_for<T, Be>(batch, tokens, width, cq.data(), ck.data(), cv.data(), mp, o)) {
            r.lse = tensor<T, dextents<1>, Be>(dextents<1>(batch * o.heads * tokens), uninitialized);
            Be::attention_forward(Be::default_context(), *f, r.out.data(), r.lse.data());
            r.fused = true;
            return r;
        }
    }
    attention_kernel<T, Be>(batch, tokens, width, cq.data(), ck.data(), cv.data(), mp, o).forward(r.out.data());
    return r;
}
} // namespace detail

/// @brief Multi-head self-attention of (B, T, C) q, k, v split into `o.heads` heads of width
/// D = C / H: per head, dropout(softmax(q kᵀ · o.scale + mask)) v, returned as (B, T, C) with
/// the heads side by side (as BERT concatenates them). `mask` is additive over the keys, (B, T)
/// or (B, 1, 1, T).
/// @throws shape_error naming the shapes when q, k, v, the heads or the mask disagree.
template <tensor_like Q, tensor_like K, tensor_like V, tensor_like M>
    requires real<value_type_t<Q>> && detail::same_kind<Q, K> && detail::same_kind<Q, V> && detail::same_kind<Q, M>
auto attention(const Q& q, const K& k, const V& v, const M& mask, const attention_options<value_type_t<Q>>& o) {
    const auto vm = as_const_view(mask);
    return std::move(detail::attention_impl(q, k, v, &vm, o).out);
}

/// The same without a mask: every key is attended to.
template <tensor_like Q, tensor_like K, tensor_like V>
    requires real<value_type_t<Q>> && detail::same_kind<Q, K> && detail::same_kind<Q, V>
auto attention(const Q& q, const K& k, const V& v, const attention_options<value_type_t<Q>>& o) {
    return std::move(
        detail::attention_impl(q, k, v, static_cast<const tensor_view<const value_type_t<Q>, dextents<2>, backend_t<Q>>*>(nullptr), o).out);
}

STARBUCKS_NAMESPACE_END
