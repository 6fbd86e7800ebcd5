// SPDX-License-Identifier: Apache-2.0
// losses::kl_coordinates and losses::kl_scores: the two self-distillation KL terms of METHOD.md §2.
#pragma once

#include "../autograd/functions.hpp"

STARBUCKS_NAMESPACE_BEGIN
namespace losses {

/// @brief The STS-variant KL (METHOD.md §2.1): KL(softmax(teacher / t) || softmax(student / t)),
/// each softmax over the C coordinates of one text's raw pooled vector, summed over the
/// coordinates and averaged over the N texts ("batchmean").
///
/// teacher, student: (N, C), the same prefix width (e.g. f_12[:d] and f_n[:d]). The released
/// Starbucks code leaves the teacher attached, so by default both get gradients;
/// `detach_teacher` stops the teacher's. `temperature` t is 1 in Starbucks and 0.3 in ST's
/// Matryoshka2dLoss (which also multiplies the KL by t afterwards; that weight is the caller's).
/// Equals torch.nn.functional.kl_div(log_softmax(student / t), softmax(teacher / t),
/// reduction="batchmean"). Returns a rank-0 var. @throws shape_error when the shapes differ.
template <class T, class ET, class ES, class B>
auto kl_coordinates(const autograd::var<T, ET, B>& teacher, const autograd::var<T, ES, B>& student,
                    bool detach_teacher = false, T temperature = T(1)) {
    namespace ag = autograd;
    const ag::var<T, ET, B> t = detach_teacher ? ag::detach(teacher) : teacher;
    if (temperature == T(1)) return ag::kl_div(ag::log_softmax(student), ag::log_softmax(t));
    const T inv = T(1) / temperature;
    return ag::kl_div(ag::log_softmax(ag::scale(student, inv)), ag::log_softmax(ag::scale(t, inv)));
}

/// @brief The retrieval-variant KL (METHOD.md §2.2): KL(softmax(teacher_scores) ||
/// softmax(student_scores)) over each row of scores (one query against every passage),
/// averaged over the rows. The teacher is always detached.
///
/// teacher_scores, student_scores: (Q, P), e.g. s_{12,768} and s_{n,d}. Equals
/// torch.nn.functional.kl_div(log_softmax(student), softmax(teacher.detach()), "batchmean").
/// Returns a rank-0 var. @throws shape_error when the shapes differ.
template <class T, class ET, class ES, class B>
auto kl_scores(const autograd::var<T, ET, B>& teacher_scores, const autograd::var<T, ES, B>& student_scores) {
    namespace ag = autograd;
    return ag::kl_div(ag::log_softmax(student_scores), ag::log_softmax(ag::detach(teacher_scores)));
}

} // namespace losses
STARBUCKS_NAMESPACE_END
