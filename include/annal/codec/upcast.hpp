// Typed upcasting: old event versions are types, upcast() functions link them, the chain is checked
// at compile time.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
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
//   annal::upcast_result<opened, deposited> upcast(const opened_v1& e) { return {opened{...},
//   deposited{...}}; }
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

// Declared, never defined: `Source` (an old version, a retired event, or a step of a chain) turns
// into `Event` through upcast(), but `Event` does not declare it among its previous_versions. Add
// it there (directly, or through a previous version that declares it), so that every reader that
// lists `Event` reads `Source`, whatever else its list holds.
template <class Source, std::uint32_t Version, class Event>
struct upcasts_into_an_event_that_does_not_declare_it;

// Declared, never defined: `Event` declares `Old` among its previous_versions, but no upcast()
// chain from `Old` ever yields `Event`.
template <class Event, class Old>
struct declares_a_previous_version_that_never_becomes_it;

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

// ---- the history a list declares ----------------------------------------------------------------

// Every type reachable from a list through previous_versions, each once, current events first.
template <class Acc, class... T>
struct collect;
template <class Acc, class Previous, class... Rest>
struct collect_expand;

template <class... A>
struct collect<events<A...>> {
  using type = events<A...>;
};
template <class... A, class H, class... R>
struct collect<events<A...>, H, R...> {
  using type = typename std::conditional_t<
      (std::is_same_v<A, H> || ...), collect<events<A...>, R...>,
      collect_expand<events<A..., H>, previous_versions_of_t<H>, R...>>::type;
};
template <class Acc, class... P, class... R>
struct collect_expand<Acc, events<P...>, R...> : collect<Acc, R..., P...> {};

template <class List>
struct closure;
template <class... E>
struct closure<events<E...>> : collect<events<>, E...> {};
template <class List>
using closure_t = typename closure<List>::type;

// Whether any type of `Known` is stored under `name`.
template <class... K>
consteval bool name_known(events<K...>, std::string_view name) {
  return ((event_name_of<K> == name) || ...);
}

// An event that a chain yields but that the list neither holds nor knows by name: an event of some
// other reader's list (a split's part this reader did not ask for). It is passed over.
template <class Known, class T>
consteval bool is_foreign_event() {
  if constexpr (event<T>)
    return !name_known(Known{}, event_name_of<T>);
  else
    return false;
}

// ---- what can be wrong with a chain, found at compile time ------------------------------------

struct no_problem {};
template <class Stop>
struct dead_end_at {};
template <class Source, class Event>
struct undeclared_source {};

template <class Event>
consteval auto first_undeclared(events<>) {
  return std::type_identity<no_problem>{};
}
// Every type on the way to Event must be in Event's declared history.
template <class Event, class P, class... R>
consteval auto first_undeclared(events<P, R...>) {
  if constexpr (!list_contains_v<closure_t<events<Event>>, P>)
    return std::type_identity<undeclared_source<P, Event>>{};
  else
    return first_undeclared<Event>(events<R...>{});
}

template <class List, class Known, class Path, class T, int Depth>
consteval auto find_problem();

template <class List, class Known, class Path, int Depth>
consteval auto first_problem(events<>) {
  return std::type_identity<no_problem>{};
}
template <class List, class Known, class Path, int Depth, class H, class... R>
consteval auto first_problem(events<H, R...>) {
  using head = typename decltype(find_problem<List, Known, Path, H, Depth>())::type;
  if constexpr (!std::is_same_v<head, no_problem>)
    return std::type_identity<head>{};
  else
    return first_problem<List, Known, Path, Depth>(events<R...>{});
}

template <class Path, class T>
struct path_with;
template <class... P, class T>
struct path_with<events<P...>, T> {
  using type = std::conditional_t<event<T>, events<P..., T>, events<P...>>;
};

// Follows every path from T (reached through the types of Path) and returns the first problem:
// a chain that stops at a type that is neither an event of List, retired_t, nor a foreign event
// (dead_end_at), or a step whose result does not declare it (undeclared_source).
template <class List, class Known, class Path, class T, int Depth>
consteval auto find_problem() {
  if constexpr (std::is_same_v<T, retired_t>) {
    return std::type_identity<no_problem>{};
  } else if constexpr (list_contains_v<List, T>) {
    return first_undeclared<T>(Path{});
  } else if constexpr (parts<T>::value) {
    return first_problem<List, Known, Path, Depth>(typename parts<T>::list{});
  } else if constexpr (is_optional_v<T>) {
    return find_problem<List, Known, Path, typename T::value_type, Depth>();
  } else if constexpr (Depth < max_chain_length && has_upcast<T>) {
    return find_problem<List, Known, typename path_with<Path, T>::type, upcast_t<T>, Depth + 1>();
  } else if constexpr (is_foreign_event<Known, T>()) {
    return first_undeclared<T>(Path{});
  } else {
    return std::type_identity<dead_end_at<T>>{};
  }
}

// Whether some path from T yields an event of List (or retired_t, for a chain that ends in
// nothing).
template <class List, class T, int Depth>
consteval bool may_reach() {
  if constexpr (list_contains_v<List, T> || std::is_same_v<T, retired_t>) {
    return true;
  } else if constexpr (parts<T>::value) {
    return []<class... X>(events<X...>) {
      return (may_reach<List, X, Depth>() || ...);
    }(typename parts<T>::list{});
  } else if constexpr (is_optional_v<T>) {
    return may_reach<List, typename T::value_type, Depth>();
  } else if constexpr (Depth < max_chain_length && has_upcast<T>) {
    return may_reach<List, upcast_t<T>, Depth + 1>();
  } else {
    return false;
  }
}

template <class Old, class Stop>
consteval bool report(std::type_identity<Old>, dead_end_at<Stop>) {
  (void)sizeof(no_upcast_path_from_old_event_version<Old, event_version_of<Old>, Stop>);
  static_assert(always_false_v<Old>,
                "an old event version has no upcast() chain to an event of the list; the error "
                "names the old type, its version and the type where the chain stops: write "
                "upcast(const Stop&) in its namespace (see docs/upcasting.md)");
  return false;
}
template <class Old, class Source, class Event>
consteval bool report(std::type_identity<Old>, undeclared_source<Source, Event>) {
  (void)sizeof(
      upcasts_into_an_event_that_does_not_declare_it<Source, event_version_of<Source>, Event>);
  static_assert(always_false_v<Source>,
                "a stored type upcasts into an event that does not declare it: add it to the "
                "event's `using previous_versions = annal::events<...>` (the error names the type, "
                "its version and the event), so every reader of the event reads it (see "
                "docs/upcasting.md)");
  return false;
}

// Checks the chain of an old or retired type Old read for List (Known: every type the reader
// stores); the error names the type and what to write.
template <class List, class Known, class Old>
consteval bool check_path() {
  using problem = typename decltype(find_problem<List, Known, events<>, Old, 0>())::type;
  if constexpr (std::is_same_v<problem, no_problem>)
    return true;
  else
    return report(std::type_identity<Old>{}, problem{});
}

// Checks that each previous version an event declares can become it.
template <class Event>
consteval bool check_declared_versions() {
  return []<class... Old>(events<Old...>) {
    return ([]<class O>(std::type_identity<O>) {
      if constexpr (may_reach<events<Event>, O, 0>()) {
        return true;
      } else {
        (void)sizeof(declares_a_previous_version_that_never_becomes_it<Event, O>);
        static_assert(always_false_v<O>,
                      "an event declares a previous version whose upcast() chain never yields it; "
                      "the error names both: write upcast(const Old&) towards the event, or take "
                      "the type out of its previous_versions");
        return false;
      }
    }(std::type_identity<Old>{}) &&
            ...);
  }(previous_versions_of_t<Event>{});
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
  } else if constexpr (has_upcast<V>) {
    deliver<List>(call_upcast(std::as_const(value)), f);
  }
  // Otherwise an event of another reader's list (checked by find_problem): this reader takes none.
}

}  // namespace detail::upcasting

// True when upcast() chains may turn T into events of List (or into nothing, by retired_t), every
// chain ends in events of List, events the list does not know by name (parts for other readers) or
// retired_t, and every event reached declares each type on the way in its previous_versions.
template <class T, class List>
concept upcastable_to =
    event_list<List> && detail::upcasting::may_reach<List, T, 0>() &&
    std::is_same_v<
        typename decltype(detail::upcasting::find_problem<List, detail::upcasting::closure_t<List>,
                                                          events<>, T, 0>())::type,
        detail::upcasting::no_problem>;

// Runs the upcast chain on an old event and calls on_event(const E&) for each current event of List
// it turns into: one, several (a split), or none (retired, or only parts List does not hold).
template <event_list List, class Old, class F>
  requires upcastable_to<Old, List>
constexpr void upcast_to(const Old& old, F&& on_event) {
  detail::upcasting::deliver<List>(old, on_event);
}

}  // namespace annal
