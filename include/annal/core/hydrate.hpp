// Hydration: state as a left fold of events, dispatched by a switch, with no allocation per event.
#pragma once

#include <cstddef>
#include <cstdint>
#include <iterator>
#include <new>
#include <optional>
#include <type_traits>
#include <utility>
#include <variant>

#include <annal/core/aggregate.hpp>

namespace annal {

// Envelopes are folded too (their event is applied), but hydration needs no envelope header: its
// <chrono> and UUID includes would weigh on every translation unit that hydrates.
struct envelope_header;

namespace detail {
// What a fold iterates: anything with begin/end. Spelled with <iterator> rather than <ranges>,
// whose header alone costs a third of a second in every translation unit that hydrates.
template <class R>
concept iterable = requires(R& r) {
  std::begin(r) != std::end(r);
  *std::begin(r);
};
template <class R>
using element_t = std::remove_cvref_t<decltype(*std::begin(std::declval<R&>()))>;
}  // namespace detail

namespace detail {
template <class T>
struct is_variant : std::false_type {};
template <class... T>
struct is_variant<std::variant<T...>> : std::true_type {};

#if defined(__GNUC__) || defined(__clang__)
#define ANNAL_DETAIL_ALWAYS_INLINE [[gnu::always_inline]] inline
#else
#define ANNAL_DETAIL_ALWAYS_INLINE inline
#endif

// The alternative at index I of a variant, reached without std::get_if<I>. libstdc++'s get_if
// recurses three alternatives at a time through class templates that each carry the rest of the
// pack (_Nth_type, _Variadic_union, __get_n), so reaching all n alternatives instantiates O(n^2)
// templates of O(n) arguments: 16 of the 27 CPU seconds of a 256-event aggregate's file. Here the
// type comes from one overload resolution against a class with one base per alternative, and the
// object from the variant's address: libstdc++, libc++ and MSVC's STL all keep the alternatives in
// a union at offset 0 of the variant, so the alternative that holds the value is there, and
// std::launder makes a pointer to it (its bytes all lie inside the variant). That layout is not
// promised by the standard: other libraries take std::get_if below, and tests/core/hydrate.cpp
// checks the address of every alternative of several variants (sizes, alignments, empty types)
// on the library each CI stage builds with, under AddressSanitizer and UBSan too.
template <std::size_t I, class T>
struct indexed_alternative {
  using type = T;
};
template <class Is, class... T>
struct alternatives_by_index;
template <std::size_t... I, class... T>
struct alternatives_by_index<std::index_sequence<I...>, T...> : indexed_alternative<I, T>... {};
template <std::size_t I, class T>
indexed_alternative<I, T> select_alternative(const indexed_alternative<I, T>&);  // never defined

template <class V>
struct variant_alternatives;
template <class... T>
struct variant_alternatives<std::variant<T...>> {
  using type = alternatives_by_index<std::index_sequence_for<T...>, T...>;
};
template <std::size_t I, class V>
using alternative_t = typename decltype(select_alternative<I>(
    std::declval<const typename variant_alternatives<V>::type&>()))::type;

#if defined(__GLIBCXX__) || defined(_LIBCPP_VERSION) || defined(_MSVC_STL_VERSION)
#define ANNAL_DETAIL_VARIANT_STORAGE_AT_OFFSET_0 1
#else
#define ANNAL_DETAIL_VARIANT_STORAGE_AT_OFFSET_0 0
#endif

// A constant expression cannot cast from the variant's address, so there it takes std::get_if,
// whose cost is small for a few alternatives. Hydrating a variant of more events than this in a
// constant expression stops at a call to this function (it is not constexpr, on purpose).
inline constexpr std::size_t constant_evaluation_max_alternatives = 16;
inline void hydrating_a_variant_of_more_than_16_events_cannot_be_a_constant_expression() {}

template <std::size_t I, class V>
ANNAL_DETAIL_ALWAYS_INLINE constexpr const alternative_t<I, V>& alternative(const V& v) {
#if ANNAL_DETAIL_VARIANT_STORAGE_AT_OFFSET_0
  if (!std::is_constant_evaluated())
    return *std::launder(reinterpret_cast<const alternative_t<I, V>*>(&v));
  if constexpr (std::variant_size_v<V> <= constant_evaluation_max_alternatives) {
    return *std::get_if<I>(&v);
  } else {
    hydrating_a_variant_of_more_than_16_events_cannot_be_a_constant_expression();
    return *std::launder(reinterpret_cast<const alternative_t<I, V>*>(&v));
  }
#else
  return *std::get_if<I>(&v);
#endif
}

// A switch on the variant's index, sixteen cases at a time: g++ compiles it exactly as it does a
// hand-written switch on an enum (a jump table or a balanced tree). A chain of `index == I` tests
// costs one branch per earlier alternative: 1.45x the hand-written switch on a stream of the last
// of 4 types. Cases past the variant's size are empty and fold into the default.
// Always inlined, with apply_any: together they are the loop body of a fold, and g++ would
// otherwise make a call per event once the switch passes its inlining limit (at 16 alternatives).
template <std::size_t Base, class A, class V>
ANNAL_DETAIL_ALWAYS_INLINE constexpr void apply_alternative(A& state, const V& v,
                                                            std::size_t index) {
  constexpr std::size_t size = std::variant_size_v<V>;
// One case a macro, laid out by hand.
// clang-format off
#define ANNAL_DETAIL_APPLY_CASE(i)                                                \
  case i:                                                                         \
    if constexpr (Base + i < size) apply_event(state, alternative<Base + i>(v));  \
    return;
  switch (index - Base) {
    ANNAL_DETAIL_APPLY_CASE(0) ANNAL_DETAIL_APPLY_CASE(1) ANNAL_DETAIL_APPLY_CASE(2)
    ANNAL_DETAIL_APPLY_CASE(3) ANNAL_DETAIL_APPLY_CASE(4) ANNAL_DETAIL_APPLY_CASE(5)
    ANNAL_DETAIL_APPLY_CASE(6) ANNAL_DETAIL_APPLY_CASE(7) ANNAL_DETAIL_APPLY_CASE(8)
    ANNAL_DETAIL_APPLY_CASE(9) ANNAL_DETAIL_APPLY_CASE(10) ANNAL_DETAIL_APPLY_CASE(11)
    ANNAL_DETAIL_APPLY_CASE(12) ANNAL_DETAIL_APPLY_CASE(13) ANNAL_DETAIL_APPLY_CASE(14)
    ANNAL_DETAIL_APPLY_CASE(15)
    default:
      // Past this block of sixteen, or valueless (index is variant_npos): nothing to apply here.
      if constexpr (Base + 16 < size) apply_alternative<Base + 16>(state, v, index);
      return;
  }
#undef ANNAL_DETAIL_APPLY_CASE
  // clang-format on
}
}  // namespace detail

// Applies one event, a variant of events, or an envelope holding either.
template <class A, class E>
ANNAL_DETAIL_ALWAYS_INLINE constexpr void apply_any(A& state, const E& e) {
  if constexpr (detail::is_variant<E>::value) {
    detail::apply_alternative<0>(state, e, e.index());
  } else if constexpr (std::is_base_of_v<envelope_header, E> && requires { e.event; }) {
    apply_any(state, e.event);
  } else {
    static_assert(applies_to<A, E>,
                  "annal: hydrate(events) needs events the aggregate applies, variants of them, or "
                  "envelopes holding them");
    apply_event(state, e);
  }
}

#undef ANNAL_DETAIL_ALWAYS_INLINE
#undef ANNAL_DETAIL_VARIANT_STORAGE_AT_OFFSET_0

// Folds `events` into `state`, in order, and returns it.
template <class A, detail::iterable R>
constexpr A fold(A state, R&& events) {
  static_assert(check_aggregate<A>());
  for (const auto& e : events) apply_any(state, e);
  return state;
}

// State from the beginning: the aggregate's default value folded with `events`.
template <class A, detail::iterable R>
constexpr A hydrate(R&& events) {
  return fold(A{}, std::forward<R>(events));
}

}  // namespace annal
