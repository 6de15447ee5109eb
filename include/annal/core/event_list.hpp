// Compile-time event lists: plain type packs with pack-expansion algorithms (no recursion).
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>

#include <annal/core/event.hpp>

namespace annal {

// The list of events an aggregate, projection or registry knows: `annal::events<opened,
// deposited>`.
template <class... E>
struct events {
  static constexpr std::size_t size = sizeof...(E);
};

template <class L>
inline constexpr bool is_event_list_v = false;
template <class... E>
inline constexpr bool is_event_list_v<events<E...>> = true;

template <class L>
concept event_list = is_event_list_v<L>;

namespace detail {
template <class T, class... Ts>
consteval std::size_t index_in() {
  constexpr bool matches[] = {std::is_same_v<T, Ts>..., false};
  for (std::size_t i = 0; i < sizeof...(Ts); ++i)
    if (matches[i]) return i;
  return sizeof...(Ts);
}

template <std::size_t I, class T>
struct indexed_type {};
template <class Is, class... T>
struct type_index;
template <std::size_t... I, class... T>
struct type_index<std::index_sequence<I...>, T...> : indexed_type<I, T>... {};
template <class T, std::size_t I>
void select_by_type(const indexed_type<I, T>&);  // never defined

template <class L>
struct list_traits;
template <class... E>
struct list_traits<events<E...>> {
  using variant = std::variant<E...>;
  template <class T>
  static constexpr bool contains = (std::is_same_v<T, E> || ...);
  template <class T>
  static constexpr std::size_t index_of = index_in<T, E...>();
  static constexpr bool all_events = (event<E> && ...);

  // Each type must pick exactly one base of the index: a type listed twice makes the deduction
  // ambiguous. One overload resolution per type, no template instantiated per pair of types.
  static consteval bool types_unique() {
    return (requires(const type_index<std::index_sequence_for<E...>, E...>& all) {
      select_by_type<E>(all);
    } && ...);
  }

  // Sorting first keeps the check O(n log n): lists of hundreds of events stay cheap to compile.
  static consteval bool names_unique() {
    if constexpr (sizeof...(E) < 2 || !all_events) {
      return true;
    } else {
      std::array<std::string_view, sizeof...(E)> names{event_name_of<E>...};
      std::sort(names.begin(), names.end());
      return std::adjacent_find(names.begin(), names.end()) == names.end();
    }
  }

  template <class F>
  static constexpr void for_each(F&& f) {
    (f(std::type_identity<E>{}), ...);
  }
};
}  // namespace detail

// std::variant over a list's events, the in-memory form of "one of this aggregate's events".
template <event_list L>
using event_variant_t = typename detail::list_traits<L>::variant;

template <event_list L, class E>
inline constexpr bool list_contains_v = detail::list_traits<L>::template contains<E>;

template <event_list L, class E>
inline constexpr std::size_t list_index_v = detail::list_traits<L>::template index_of<E>;

// Calls f(std::type_identity<E>{}) for each event E in the list, in order.
template <event_list L, class F>
constexpr void for_each_event_type(F&& f) {
  detail::list_traits<L>::for_each(std::forward<F>(f));
}

}  // namespace annal
