// Typed upcasting: old event versions are types, upcast() functions link them, the chain is checked at compile time.
#pragma once

#include <cstdint>
#include <optional>
#include <tuple>
#include <type_traits>
#include <utility>
#include <variant>

#include <annal/codec/detail/reflect.hpp>
#include <annal/codec/detail/unsupported.hpp>
#include <annal/core/event.hpp>
#include <annal/core/event_list.hpp>

namespace annal {

// What an upcast returns for an event that no longer exists: the stored record yields no event.
struct retired_t {
  explicit constexpr retired_t() = default;
};

// What an upcast returns to split one old event into several current ones, delivered in order:
//   annal::upcast_result<opened, deposited> upcast(const opened_v1& e) { return {opened{...}, deposited{...}}; }
template <class... E>
struct upcast_result {
  std::tuple<E...> events;
  constexpr upcast_result(E... e) : events(std::move(e)...) {}
};
template <class... E>
upcast_result(E...) -> upcast_result<E...>;

// The earlier versions of event E that may still be stored. Declare them in E:
//   struct deposited { using previous_versions = annal::events<deposited_v1>; ... };
// or specialize this trait for a type you cannot change. Old versions may declare their own
// previous versions in turn; the registry follows them all.
template <class E>
struct previous_versions_of {
  using type = events<>;
};
template <class E>
  requires requires { typename E::previous_versions; }
struct previous_versions_of<E> {
  using type = typename E::previous_versions;
};
template <class E>
using previous_versions_of_t = typename previous_versions_of<E>::type;

// Events that may still be stored but that a list no longer has. Specialize for the list:
//   template <> struct annal::retired_events_of<bank::account_events> {
//     using type = annal::events<bank::fee_charged>; };
// A retired event with an upcast() follows it; one without is skipped without decoding its payload.
template <class List>
struct retired_events_of {
  using type = events<>;
};
template <class List>
using retired_events_of_t = typename retired_events_of<List>::type;

// Declared, never defined: an error mentioning this type names an old event version (and its
// stored schema version) that no chain of upcast() functions turns into events of the list, and
// the type where the chain stops. Write `upcast(const DeadEnd&)` in DeadEnd's namespace returning a
// newer version, a current event, annal::upcast_result<...> or annal::retired_t.
template <class OldEvent, std::uint32_t Version, class DeadEnd>
struct no_upcast_path_from_old_event_version;

namespace detail::upcasting {

// Poison pill: only upcast() functions found by argument-dependent lookup count.
void upcast() = delete;

template <class T>
concept has_upcast = requires(const T& e) { upcast(e); };

// A class rather than an alias, so that the call is looked up only when T is known.
template <class T>
struct upcast_type {
  using type = std::remove_cvref_t<decltype(upcast(std::declval<const T&>()))>;
};
template <class T>
using upcast_t = typename upcast_type<T>::type;

template <class T>
constexpr decltype(auto) call_upcast(const T& e) {
  return upcast(e);
}

// Longer chains than this are taken to be cycles (v1 -> v2 -> v1).
inline constexpr int max_chain_length = 32;

// Results made of several parts: each part continues on its own.
template <class T>
struct parts {
  static constexpr bool value = false;
};
template <class... X>
struct parts<upcast_result<X...>> {
  static constexpr bool value = true;
  using list = events<X...>;
};
template <class... X>
struct parts<std::tuple<X...>> {
  static constexpr bool value = true;
  using list = events<X...>;
};
template <class... X>
struct parts<std::variant<X...>> {
  static constexpr bool value = true;
  using list = events<X...>;
};

template <class List, class T, int Depth>
consteval auto dead_end();

template <class List, int Depth>
consteval auto first_dead_end(events<>) {
  return std::type_identity<void>{};
}
template <class List, int Depth, class H, class... R>
consteval auto first_dead_end(events<H, R...>) {
  using head = typename decltype(dead_end<List, H, Depth>())::type;
  if constexpr (!std::is_void_v<head>)
    return std::type_identity<head>{};
  else
    return first_dead_end<List, Depth>(events<R...>{});
}

// std::type_identity<void> when every path from T ends in events of List or in retired_t;
// otherwise std::type_identity<X> for the type X where a path stops.
template <class List, class T, int Depth>
consteval auto dead_end() {
  if constexpr (std::is_same_v<T, retired_t> || list_contains_v<List, T>) {
    return std::type_identity<void>{};
  } else if constexpr (parts<T>::value) {
    return first_dead_end<List, Depth>(typename parts<T>::list{});
  } else if constexpr (is_optional_v<T>) {
    return dead_end<List, typename T::value_type, Depth>();
  } else if constexpr (Depth < max_chain_length && has_upcast<T>) {
    return dead_end<List, upcast_t<T>, Depth + 1>();
  } else {
    return std::type_identity<T>{};
  }
}

// Checks that an old version reaches the list; the error names it and where its chain stops.
template <class List, class Old>
consteval bool check_path() {
  using stop = typename decltype(dead_end<List, Old, 0>())::type;
  if constexpr (!std::is_void_v<stop>) {
    static_assert(always_false_v<Old>,
                  "an old event version has no upcast() chain to an event of the list; the error "
                  "names the old type, its version and the type where the chain stops: write "
                  "upcast(const Stop&) in its namespace (see docs/upcasting.md)");
    (void)sizeof(no_upcast_path_from_old_event_version<Old, event_version_of<Old>, stop>);
    return false;
  } else {
    return true;
  }
}

// Applies the chain to `value` and calls f(const E&) for each current event E it ends in.
template <class List, class T, class F>
constexpr void deliver(T&& value, F& f) {
  using V = std::remove_cvref_t<T>;
  if constexpr (list_contains_v<List, V>) {
    f(std::as_const(value));
  } else if constexpr (std::is_same_v<V, retired_t>) {
  } else if constexpr (parts<V>::value && !is_variant_v<V>) {
    auto& tuple = [&]() -> auto& {
      if constexpr (requires { value.events; })
        return value.events;
      else
        return value;
    }();
    std::apply([&](auto&... part) { (deliver<List>(std::move(part), f), ...); }, tuple);
  } else if constexpr (parts<V>::value) {
    std::visit([&](auto& alternative) { deliver<List>(std::move(alternative), f); }, value);
  } else if constexpr (is_optional_v<V>) {
    if (value) deliver<List>(std::move(*value), f);
  } else {
    deliver<List>(call_upcast(std::as_const(value)), f);
  }
}

}  // namespace detail::upcasting

// True when upcast() chains turn every T into events of List (or into nothing, by retired_t).
template <class T, class List>
concept upcastable_to =
    event_list<List> && std::is_void_v<typename decltype(detail::upcasting::dead_end<List, T, 0>())::type>;

// Runs the upcast chain on an old event and calls on_event(const E&) for each current event of List
// it turns into: one, several (a split) or none (retired).
template <event_list List, class Old, class F>
  requires upcastable_to<Old, List>
constexpr void upcast_to(const Old& old, F&& on_event) {
  detail::upcasting::deliver<List>(old, on_event);
}

}  // namespace annal
