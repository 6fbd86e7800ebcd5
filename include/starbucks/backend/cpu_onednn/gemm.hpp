// SPDX-License-Identifier: Apache-2.0
// cpu_onednn: batched strided matrix products through cached oneDNN matmul primitives.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <type_traits>
#include <unordered_map>

#include "../../core/dtype.hpp"
#include "../concepts.hpp"
#include "../cpu_common/bf16_rounding.hpp"
#include "../frozen_weights.hpp"
#include "../host_pool.hpp"
#include "../reference/gemm.hpp"
#include "context.hpp"

STARBUCKS_NAMESPACE_BEGIN
namespace backend::detail {

struct onednn_gemm {
    /// f32 and bf16 run on oneDNN (transposes and batch strides are memory-descriptor strides;
    /// alpha an eltwise_linear post-op, beta a sum post-op, the epilogue fused: bias, residual
    /// add and GELU as bias argument and post-ops). oneDNN has no f64 matmul: double
    /// runs the reference kernel.
    template <class C, class T, class TC>
    static void gemm(C& ctx, const gemm_args<T, TC>& g) {
        if constexpr (!std::is_same_v<TC, float>) {
            reference_gemm::gemm(ctx, g);
        } else {
            if constexpr (std::is_same_v<T, float>) {
                // Mixed precision: the operands rounded once into dense scratch, then oneDNN's
                // bf16 kernel where the CPU has bf16 dot products; elsewhere the rounded values
                // in f32 (oneDNN's emulated bf16 would be slower than f32).
                if (g.bf16_operands) {
                    if (cpu().avx512_bf16) gemm(ctx, round_operands<bf16>(g));
                    else gemm(ctx, round_operands<float>(g));
                    return;
                }
            }
            // f32 x f32 -> f32, or bf16 x bf16 -> f32 (AVX512-BF16 where the CPU has it; oneDNN
            // picks its own correct fallback where it does not).
            constexpr auto in_dt = std::is_same_v<T, bf16> ? dnnl::memory::data_type::bf16 : dnnl::memory::data_type::f32;
            if (g.batch == 0 || g.m == 0 || g.n == 0) return;
            if (g.k == 0) return reference_gemm::gemm(ctx, g); // an empty sum: oneDNN wants K > 0
            using dims = dnnl::memory::dims;
            using tag_dt = dnnl::memory::data_type;
            const auto d = [](auto v) { return static_cast<dnnl::memory::dim>(v); };
            // Logical (rows, cols) with strides, a transposed operand swapping its strides; a
            // batch axis only when there is one. A size-1 batch axis with stride 0 would send
            // oneDNN to its reference kernel, so broadcast operands get a real stride.
            const bool batched = g.batch > 1;
            auto desc = [&](std::size_t batch, std::size_t rows, std::size_t cols, std::ptrdiff_t ld, bool trans,
                            std::ptrdiff_t batch_stride) {
                dims shape{d(rows), d(cols)}, strides{trans ? 1 : d(ld), trans ? d(ld) : 1};
                if (batched) {
                    shape.insert(shape.begin(), d(batch_stride == 0 ? 1 : batch));
                    const auto dense = (trans ? d(cols) : d(rows)) * d(ld); // what a dense batch would stride
                    strides.insert(strides.begin(), batch_stride == 0 ? dense : d(batch_stride));
                }
                return std::pair{shape, strides};
            };
            const auto [a_dims, a_str] = desc(g.batch, g.m, g.k, g.lda, g.trans_a, g.stride_a);
            const auto [b_dims, b_str] = desc(g.batch, g.k, g.n, g.ldb, g.trans_b, g.stride_b);
            const auto [c_dims, c_str] = desc(g.batch, g.m, g.n, g.ldc, false, g.stride_c);
            const dnnl::memory::desc a_md(a_dims, in_dt, a_str), b_md(b_dims, in_dt, b_str), c_md(c_dims, tag_dt::f32, c_str);
            const dnnl::memory::desc b_any_md(b_dims, in_dt, dnnl::memory::format_tag::any); // the kernel's choice
            // The epilogue: a bias as oneDNN's bias argument, which it adds before any post-op,
            // so only when alpha is 1; otherwise (and for a residual) a binary add post-op.
            const auto& e = g.epilogue;
            const bool bias_argument = e.bias && g.alpha == 1.0f;
            dims bias_dims(c_dims.size(), 1), bias_str(c_dims.size(), d(g.n));
            bias_dims.back() = d(g.n);
            bias_str.back() = 1;
            const dnnl::memory::desc bias_md(bias_dims, tag_dt::f32, bias_str);
            // A weight B shared by the whole product runs reordered into the layout oneDNN's
            // kernel picks for it (blocked: measured 3-10 % faster than plain on the BERT
            // shapes): kept for a frozen-weights scope, else reordered per call where the
            // product is tall enough to pay for the reorder.
            const std::uint64_t frozen = frozen_weights_generation();
            const bool pack_b = g.b_is_weight && (!batched || g.stride_b == 0) && (frozen != 0 || g.batch * g.m >= pack_rows_from);
            auto& oc = ctx.onednn;
            std::string key = std::is_same_v<T, bf16> ? "matmul_bf16" : "matmul_f32";
            for (const auto& v : {a_dims, a_str, b_dims, b_str, c_dims, c_str})
                for (auto x : v) key.append(1, ':').append(std::to_string(x));
            key.append(1, ':').append(std::to_string(g.alpha)).append(1, ':').append(std::to_string(g.beta));
            key.append(bias_argument ? ":bias" : e.bias ? ":bias_post_op" : "").append(e.residual ? ":residual" : "");
            if (e.activation == gemm_activation::gelu) key.append(":gelu");
            if (pack_b) key.append(":packed_weights");
            auto& made = onednn_call("matmul", [&]() -> onednn_context::cached_primitive& {
                return oc.cached(key, [&] {
                    dnnl::post_ops po;
                    if (g.alpha != 1.0f) append_eltwise(po, dnnl::algorithm::eltwise_linear, g.alpha);
                    if (g.beta != 0.0f) po.append_sum(g.beta);
                    if (e.bias && !bias_argument) po.append_binary(dnnl::algorithm::binary_add, bias_md);
                    if (e.residual) po.append_binary(dnnl::algorithm::binary_add, c_md);
                    if (e.activation == gemm_activation::gelu) append_eltwise(po, dnnl::algorithm::eltwise_gelu_erf, 0.0f);
                    dnnl::primitive_attr attr;
                    attr.set_post_ops(po);
                    const dnnl::memory::desc no_bias;
                    const auto& w_md = pack_b ? b_any_md : b_md;
#if DNNL_VERSION_MAJOR >= 3
                    dnnl::matmul::primitive_desc pd(oc.engine(), a_md, w_md, bias_argument ? bias_md : no_bias, c_md, attr);
#else
                    const auto op_desc = bias_argument ? dnnl::matmul::desc(a_md, w_md, bias_md, c_md) : dnnl::matmul::desc(a_md, w_md, c_md);
                    dnnl::matmul::primitive_desc pd(op_desc, attr, oc.engine());
#endif
                    return onednn_context::cached_primitive{dnnl::matmul(pd), pd.weights_desc()};
                });
            });
            // The binary post-ops' positions in the chain above name their operands.
            const int binary_from = (g.alpha != 1.0f ? 1 : 0) + (g.beta != 0.0f ? 1 : 0);
            const int bias_post_op = binary_from, residual_post_op = binary_from + (e.bias && !bias_argument ? 1 : 0);
            dnnl::memory a_mem(a_md, oc.engine(), const_cast<T*>(g.a));
            dnnl::memory b_mem(b_md, oc.engine(), const_cast<T*>(g.b));
            dnnl::memory c_mem(c_md, oc.engine(), g.c);
            // The weights as the primitive wants them: B itself, or its packed copy.
            std::optional<scratch> packing;
            dnnl::memory w_mem = b_mem;
            if (pack_b && made.weights != b_md) {
                auto& to_packed = onednn_call("reorder", [&]() -> dnnl::primitive& {
                    return oc.primitive(key + ":reorder", [&] {
                        return dnnl::primitive(dnnl::reorder(dnnl::reorder::primitive_desc(oc.engine(), b_md, oc.engine(), made.weights)));
                    });
                });
                auto reorder_into = [&](dnnl::memory& packed) {
                    onednn_call("reorder", [&] {
                        to_packed.execute(oc.stream(), {{DNNL_ARG_FROM, b_mem}, {DNNL_ARG_TO, packed}});
                        oc.stream().wait();
                    });
                };
                if (frozen != 0) {
                    // Keyed by the weight's address as well: within the scope it names one weight.
                    const std::string weight_key = key + ":at:" + std::to_string(reinterpret_cast<std::uintptr_t>(g.b));
                    w_mem = oc.packed_weight(weight_key, frozen, made.weights, reorder_into);
                } else {
                    packing.emplace(made.weights.get_size());
                    w_mem = dnnl::memory(made.weights, oc.engine(), packing->data);
                    reorder_into(w_mem);
                }
            }
            std::unordered_map<int, dnnl::memory> args{{DNNL_ARG_SRC, a_mem}, {DNNL_ARG_WEIGHTS, w_mem}, {DNNL_ARG_DST, c_mem}};
            if (e.bias) {
                const int slot = bias_argument ? DNNL_ARG_BIAS : (DNNL_ARG_ATTR_MULTIPLE_POST_OP(bias_post_op) | DNNL_ARG_SRC_1);
                args.emplace(slot, dnnl::memory(bias_md, oc.engine(), const_cast<float*>(e.bias)));
            }
            if (e.residual)
                args.emplace(DNNL_ARG_ATTR_MULTIPLE_POST_OP(residual_post_op) | DNNL_ARG_SRC_1,
                             dnnl::memory(c_md, oc.engine(), const_cast<float*>(e.residual)));
            onednn_call("matmul", [&] {
                made.primitive.execute(oc.stream(), args);
                oc.stream().wait();
            });
        }
    }

    /// Rows of a product from which a weight is reordered per call outside a frozen-weights
    /// scope: at 8192 rows the reorder costs ~3 % of the product and saves 3-10 %; at 2048 it
    /// would cost about what it saves.
    static constexpr std::size_t pack_rows_from = 4096;

private:
    /// A per-call buffer from the host pool (reused across calls, returned on scope exit).
    struct scratch {
        explicit scratch(std::size_t n) : bytes(n), data(host_pool::instance().allocate(n)) {}
        ~scratch() { host_pool::instance().deallocate(data, bytes); }
        scratch(const scratch&) = delete;
        scratch& operator=(const scratch&) = delete;
        std::size_t bytes;
        void* data;
    };

    /// An eltwise post-op (alpha: eltwise_linear's factor; unused by GELU).
    static void append_eltwise(dnnl::post_ops& po, dnnl::algorithm algorithm, float alpha) {
#if DNNL_VERSION_MAJOR >= 3
        po.append_eltwise(algorithm, alpha, 0.0f);
#else
        po.append_eltwise(1.0f, algorithm, alpha, 0.0f);
#endif
    }
};

} // namespace backend::detail
STARBUCKS_NAMESPACE_END
