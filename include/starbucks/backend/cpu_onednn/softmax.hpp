// SPDX-License-Identifier: Apache-2.0
// cpu_onednn: row softmax on oneDNN's vectorised softmax primitive; log-softmax, the backward
// passes and layer norm stay on cpu_common's row kernels.
#pragma once

#include <string>
#include <type_traits>

#include "../cpu_common/parallel.hpp"
#include "../cpu_common/rows.hpp"
#include "context.hpp"

STARBUCKS_NAMESPACE_BEGIN
namespace backend::detail {

struct onednn_softmax : cpu_rows {
    /// Below this many elements the row kernel is cheaper than a primitive call.
    static constexpr std::size_t onednn_from = 4096;

    template <class C, class T>
    static void softmax(C& ctx, std::size_t rows, std::size_t cols, const T* x, T* y, bool log) {
        if constexpr (std::is_same_v<T, float>) {
            if (!log && rows * cols >= onednn_from) {
                softmax_rows(ctx, rows, cols, x, y);
                // A row oneDNN does not normalise as the row kernel does (all -inf: NaN; a NaN
                // input: NaN there and zeros elsewhere) has an output outside [0, 1] and gets the
                // row kernel's answer: zeros for an all -inf row, all NaN for a row holding a NaN.
                parallel_chunks(rows, 64, [&](std::size_t r0, std::size_t r1) {
                    for (std::size_t r = r0; r < r1; ++r) {
                        bool valid = true;
                        for (std::size_t c = 0; c < cols; ++c) valid &= y[r * cols + c] >= 0.0f && y[r * cols + c] <= 1.0f;
                        if (!valid) cpu_rows::softmax(ctx, 1, cols, x + r * cols, y + r * cols, false);
                    }
                });
                return;
            }
        }
        cpu_rows::softmax(ctx, rows, cols, x, y, log);
    }

private:
    template <class C>
    static void softmax_rows(C& ctx, std::size_t rows, std::size_t cols, const float* x, float* y) {
        auto& oc = ctx.onednn;
        const dnnl::memory::desc md({static_cast<dnnl::memory::dim>(rows), static_cast<dnnl::memory::dim>(cols)}, dnnl::memory::data_type::f32,
                                    dnnl::memory::format_tag::ab);
        const std::string key = "softmax:" + std::to_string(rows) + ":" + std::to_string(cols);
        auto& prim = onednn_call("softmax", [&]() -> dnnl::primitive& {
            return oc.primitive(key, [&] {
#if DNNL_VERSION_MAJOR >= 3
                dnnl::softmax_forward::primitive_desc pd(oc.engine(), dnnl::prop_kind::forward_training, dnnl::algorithm::softmax_accurate, md, md, 1);
#else
                dnnl::softmax_forward::primitive_desc pd({dnnl::prop_kind::forward_training, md, 1}, oc.engine());
#endif
                return dnnl::primitive(dnnl::softmax_forward(pd));
            });
        });
        dnnl::memory src(md, oc.engine(), const_cast<float*>(x));
        dnnl::memory dst(md, oc.engine(), y);
        onednn_call("softmax", [&] {
            prim.execute(oc.stream(), {{DNNL_ARG_SRC, src}, {DNNL_ARG_DST, dst}});
            oc.stream().wait();
        });
    }
};

} // namespace backend::detail
STARBUCKS_NAMESPACE_END
