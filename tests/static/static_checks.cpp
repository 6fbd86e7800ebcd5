// SPDX-License-Identifier: Apache-2.0
// Compile-only checks: extents arithmetic, constexpr bf16 and Philox, view types and op result extents.
#include <bit>
#include <cstdint>
#include <type_traits>
#include <utility>

#include <starbucks/starbucks.hpp>

namespace sb = starbucks;
using sb::dyn;
using sb::extents;

namespace starbucks_static_checks {

// ---- extents ----
static_assert(std::is_empty_v<extents<768, 3072>> && sizeof(extents<768, 3072>) == 1);
static_assert(sizeof(extents<dyn, 768>) == sizeof(std::size_t));
static_assert(extents<dyn, 768>::rank() == 2 && extents<dyn, 768>::rank_dynamic() == 1);
static_assert(extents<2, 3, 4>::static_size() == 24 && extents<dyn, 3>::static_size() == dyn);
static_assert(extents<dyn, 768>(32).size() == 24576);
static_assert(std::is_same_v<sb::dextents<2>, extents<dyn, dyn>>);
static_assert(std::is_same_v<sb::replace_extent_t<extents<dyn, 768>, 1, 32>, extents<dyn, 32>>);
static_assert(std::is_same_v<sb::drop_extent_t<extents<dyn, 12, 768>, 1>, extents<dyn, 768>>);
static_assert(std::is_same_v<sb::merge_extents_t<extents<dyn, 768>, extents<32, dyn>>, extents<32, 768>>);
static_assert(std::is_same_v<sb::broadcast_extents_t<extents<dyn, 1, 1, dyn>, extents<dyn, 12, dyn, dyn>>,
                             extents<dyn, 12, dyn, dyn>>);
static_assert(sb::extents_type<extents<>> && !sb::extents_type<int>);
static_assert(!std::is_constructible_v<extents<dyn, 768>, int, int, int>); // neither dynamic-only nor all values
static_assert(!std::is_convertible_v<int, extents<dyn>>);                  // construction is explicit

// ---- bf16, dtype, error ----
static_assert(sb::bf16(1.0f).bits == 0x3f80);
static_assert(sb::bf16(std::bit_cast<float>(0x3f818000u)).bits == 0x3f82);
static_assert(sb::bf16(std::bit_cast<float>(0x7f7fffffu)).bits == 0x7f80);
static_assert(float(sb::bf16::from_bits(0x3f80)) == 1.0f);
static_assert(sb::dtype_of<sb::bf16>() == sb::dtype::bf16 && sb::to_string(sb::dtype::bf16) == "BF16");
static_assert(sb::exit_code(sb::error_kind::usage) == 1 && sb::exit_code(sb::error_kind::resource) == 5);

// ---- Philox ----
static_assert(sb::philox4x32::generate({0, 0, 0, 0}, {0, 0}) ==
              sb::philox4x32::counter_type{0x6627e8d5u, 0xe169c58du, 0xbc57ac4cu, 0x9b00dbd8u});
static_assert(sb::rng_stream{1, 2}.bits(5) == sb::philox4x32::generate({1, 0, 2, 0}, {1, 0})[1]);

// ---- tensors and views ----
using T768 = sb::tensor<float, extents<dyn, 768>>;
using V768 = sb::tensor_view<float, extents<dyn, 768>>;
using CV768 = sb::tensor_view<const float, extents<dyn, 768>>;
static_assert(std::is_convertible_v<V768, CV768>);
static_assert(!std::is_convertible_v<CV768, V768>);
static_assert(std::is_convertible_v<T768&, V768> && std::is_convertible_v<const T768&, CV768>);
static_assert(std::is_same_v<decltype(std::declval<const T768&>().view()), CV768>);
static_assert(!std::is_copy_constructible_v<sb::buffer<float, sb::backend::reference>>);
static_assert(std::is_nothrow_move_constructible_v<T768>);
static_assert(sizeof(sb::tensor<float, extents<2, 3>>) == sizeof(sb::buffer<float, sb::backend::reference>));
static_assert(!std::is_constructible_v<T768, int, int, int>);

/// Whether prefix<K> accepts X (rvalue tensors are refused: the view would dangle).
template <class X>
concept can_prefix = requires(X&& x) { sb::prefix<2>(std::forward<X>(x)); };
static_assert(can_prefix<T768&> && can_prefix<const T768&> && can_prefix<V768>);
static_assert(!can_prefix<T768> && !can_prefix<T768&&>);

static_assert(std::is_same_v<decltype(sb::prefix<32>(std::declval<T768&>())), sb::tensor_view<float, extents<dyn, 32>>>);
static_assert(std::is_same_v<decltype(sb::prefix<32>(std::declval<const T768&>())),
                             sb::tensor_view<const float, extents<dyn, 32>>>);
static_assert(std::is_same_v<decltype(sb::prefix<4, 0>(std::declval<T768&>())), sb::tensor_view<float, extents<4, 768>>>);
static_assert(std::is_same_v<decltype(sb::prefix(std::declval<T768&>(), sb::constant<64>{})),
                             decltype(sb::prefix<64>(std::declval<T768&>()))>);
static_assert(std::is_same_v<decltype(sb::prefix(std::declval<T768&>(), 64)), sb::tensor_view<float, extents<dyn, dyn>>>);
static_assert(std::is_same_v<decltype(sb::prefix<16>(sb::prefix<32>(std::declval<T768&>()))),
                             decltype(sb::prefix<16>(std::declval<T768&>()))>);
static_assert(std::is_same_v<decltype(sb::transpose<0, 1>(std::declval<T768&>())), sb::tensor_view<float, extents<768, dyn>>>);
static_assert(std::is_same_v<decltype(sb::select<1>(std::declval<sb::tensor<float, extents<dyn, dyn, 768>>&>(), 0)),
                             sb::tensor_view<float, extents<dyn, 768>>>);

// ---- op result extents ----
template <class E>
using F = sb::tensor<float, E>;
template <class X>
const X& val() noexcept;

static_assert(std::is_same_v<decltype(sb::matmul(val<F<extents<dyn, 768>>>(), val<F<extents<768, 3072>>>())),
                             F<extents<dyn, 3072>>>);
static_assert(std::is_same_v<decltype(sb::matmul_nt(val<F<extents<dyn, 768>>>(), val<F<extents<3072, 768>>>())),
                             F<extents<dyn, 3072>>>);
static_assert(std::is_same_v<decltype(sb::add(val<F<extents<dyn, dyn, 768>>>(), val<F<extents<768>>>())),
                             F<extents<dyn, dyn, 768>>>);
static_assert(std::is_same_v<decltype(sb::sum<1>(val<F<extents<dyn, 768>>>())), F<extents<dyn>>>);
static_assert(std::is_same_v<decltype(sb::sum(val<F<extents<dyn, 768>>>())), F<extents<>>>);

} // namespace starbucks_static_checks
