// Hydration: state as a left fold of events, with no virtual calls and no allocation per event.
#pragma once

#include <cstdint>
#include <optional>
#include <ranges>
#include <type_traits>
#include <utility>
#include <variant>

#include <annal/core/aggregate.hpp>
#include <annal/core/envelope.hpp>

namespace annal {

namespace detail {
template <class T>
struct is_variant : std::false_type {};
template <class... T>
struct is_variant<std::variant<T...>> : std::true_type {};

template <class A, class V, std::size_t... I>
constexpr void apply_alternative(A& state, const V& v, std::index_sequence<I...>) {
  // A switch-like chain the optimizer turns into a jump table, without std::visit's exception path.
  const std::size_t index = v.index();
  (void)((index == I ? (apply_event(state, *std::get_if<I>(&v)), true) : false) || ...);
}
}  // namespace detail

// Applies one event, a variant of events, or an envelope holding either.
template <class A, class E>
constexpr void apply_any(A& state, const E& e) {
  if constexpr (detail::is_variant<E>::value) {
    detail::apply_alternative(state, e, std::make_index_sequence<std::variant_size_v<E>>{});
  } else if constexpr (std::is_base_of_v<envelope_header, E> && requires { e.event; }) {
    apply_any(state, e.event);
  } else {
    static_assert(applies_to<A, E>,
                  "annal: hydrate(events) needs events the aggregate applies, variants of them, or "
                  "envelopes holding them");
    apply_event(state, e);
  }
}

// Folds `events` into `state`, in order, and returns it.
template <class A, std::ranges::input_range R>
constexpr A fold(A state, R&& events) {
  static_assert(check_aggregate<A>());
  for (const auto& e : events) apply_any(state, e);
  return state;
}

// State from the beginning: the aggregate's default value folded with `events`.
template <class A, std::ranges::input_range R>
constexpr A hydrate(R&& events) {
  return fold(A{}, std::forward<R>(events));
}

// Where to stop when loading: at a stream version, or at a recorded time ("state as of").
struct at_version {
  std::uint64_t version;
};
struct at_time {
  time_point time;
};

// Folds envelopes up to and including `stop`; later ones are left out.
template <class A, std::ranges::input_range R>
  requires std::is_base_of_v<envelope_header, std::ranges::range_value_t<R>>
constexpr A hydrate(R&& envelopes, at_version stop) {
  static_assert(check_aggregate<A>());
  A state{};
  for (const auto& e : envelopes) {
    if (e.stream_version > stop.version) break;
    apply_any(state, e);
  }
  return state;
}

template <class A, std::ranges::input_range R>
  requires std::is_base_of_v<envelope_header, std::ranges::range_value_t<R>>
constexpr A hydrate(R&& envelopes, at_time stop) {
  static_assert(check_aggregate<A>());
  A state{};
  for (const auto& e : envelopes) {
    if (e.recorded_at > stop.time) break;
    apply_any(state, e);
  }
  return state;
}

}  // namespace annal
