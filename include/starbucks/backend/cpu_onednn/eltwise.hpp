// SPDX-License-Identifier: Apache-2.0
// cpu_onednn: GELU (erf form) forward and backward on oneDNN's vectorised eltwise primitives;
// the other element-wise functions stay on cpu_common's parallel scalar code.
#pragma once

#include <memory>
#include <string>
#include <type_traits>

#include "../concepts.hpp"
#include "../cpu_common/elementwise.hpp"
#include "../cpu_common/parallel.hpp"
#include "../host_pool.hpp"
#include "context.hpp"

STARBUCKS_NAMESPACE_BEGIN
namespace backend::detail {

struct onednn_eltwise : cpu_unary {
    /// Below this many elements the scalar loop is cheaper than a primitive call.
    static constexpr std::size_t onednn_from = 4096;

    template <class C, class T>
    static void unary(C& ctx, unary_op op, std::size_t n, const T* x, T* y, T param = T(1)) {
        if constexpr (std::is_same_v<T, float>) {
            if (op == unary_op::gelu && n >= onednn_from) return gelu(ctx, n, x, y, nullptr);
        }
        cpu_unary::unary(ctx, op, n, x, y, param);
    }

    /// dx += dy * f'(x). GELU: oneDNN writes dy * GELU'(x) to a scratch buffer, which is then added.
    template <class C, class T>
    static void unary_backward(C& ctx, unary_op op, std::size_t n, const T* x, const T* y, const T* dy, T* dx, T param = T(1)) {
        if constexpr (std::is_same_v<T, float>) {
            if (op == unary_op::gelu && n >= onednn_from) {
                // From the host pool, so the buffer is reused across steps and returned with it.
                const std::unique_ptr<float, pool_release> scratch(static_cast<float*>(host_pool::instance().allocate(n * sizeof(float))), pool_release{n * sizeof(float)});
                gelu(ctx, n, x, scratch.get(), dy);
                const float* g = scratch.get();
                parallel_chunks(n, chunk, [&](std::size_t b, std::size_t e) {
                    for (std::size_t i = b; i < e; ++i) dx[i] += g[i];
                });
                return;
            }
        }
        cpu_unary::unary_backward(ctx, op, n, x, y, dy, dx, param);
    }

private:
    struct pool_release {
        std::size_t bytes;
        void operator()(float* p) const noexcept { host_pool::instance().deallocate(p, bytes); }
    };

    /// out = GELU(x) when dy is null, else out = dy * GELU'(x).
    template <class C>
    static void gelu(C& ctx, std::size_t n, const float* x, float* out, const float* dy) {
        auto& oc = ctx.onednn;
        const dnnl::memory::desc md({static_cast<dnnl::memory::dim>(n)}, dnnl::memory::data_type::f32, dnnl::memory::format_tag::a);
        const auto algorithm = dnnl::algorithm::eltwise_gelu_erf;
        const auto forward_pd = [&] {
#if DNNL_VERSION_MAJOR >= 3
            return dnnl::eltwise_forward::primitive_desc(oc.engine(), dnnl::prop_kind::forward_training, algorithm, md, md, 0.0f, 0.0f);
#else
            return dnnl::eltwise_forward::primitive_desc({dnnl::prop_kind::forward_training, algorithm, md, 0.0f, 0.0f}, oc.engine());
#endif
        };
        const std::string key = std::string(dy ? "gelu_backward:" : "gelu_forward:") + std::to_string(n);
        auto& prim = onednn_call("eltwise", [&]() -> dnnl::primitive& {
            return oc.primitive(key, [&] {
                if (!dy) return dnnl::primitive(dnnl::eltwise_forward(forward_pd()));
#if DNNL_VERSION_MAJOR >= 3
                dnnl::eltwise_backward::primitive_desc pd(oc.engine(), algorithm, md, md, md, 0.0f, 0.0f, forward_pd());
#else
                dnnl::eltwise_backward::primitive_desc pd({algorithm, md, md, 0.0f, 0.0f}, oc.engine(), forward_pd());
#endif
                return dnnl::primitive(dnnl::eltwise_backward(pd));
            });
        });
        dnnl::memory src(md, oc.engine(), const_cast<float*>(x));
        dnnl::memory dst(md, oc.engine(), out);
        onednn_call("eltwise", [&] {
            if (dy) {
                dnnl::memory diff_dst(md, oc.engine(), const_cast<float*>(dy));
                prim.execute(oc.stream(), {{DNNL_ARG_SRC, src}, {DNNL_ARG_DIFF_DST, diff_dst}, {DNNL_ARG_DIFF_SRC, dst}});
            } else {
                prim.execute(oc.stream(), {{DNNL_ARG_SRC, src}, {DNNL_ARG_DST, dst}});
            }
            oc.stream().wait();
        });
    }
};

} // namespace backend::detail
STARBUCKS_NAMESPACE_END
