// The aggregate concept: state with a compile-time event list and an apply/evolve for each event.
#pragma once

#include <algorithm>
#include <array>
#include <concepts>
#include <cstddef>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>

#include <annal/core/event.hpp>
#include <annal/core/event_list.hpp>

namespace annal {

// State `A` can take event `E`: through a member `void apply(const E&)`, or through a free function
// `A evolve(A, const E&)` found by argument-dependent lookup (the functional, decider style).
namespace detail {
// Named, so that the overload resolution among the aggregate's apply() overloads runs once per
// event (a concept's satisfaction is cached) for the check and for apply_event below.
template <class A, class E>
concept has_member_apply = requires(A& state, const E& e) { state.apply(e); };
}  // namespace detail

template <class A, class E>
concept applies_to = detail::has_member_apply<A, E> || requires(A state, const E& e) {
  { evolve(std::move(state), e) } -> std::same_as<A>;
};

namespace detail {
template <class A, class L>
inline constexpr bool applies_to_all_v = false;
template <class A, class... E>
inline constexpr bool applies_to_all_v<A, events<E...>> = (applies_to<A, E> && ...);

template <class A>
concept has_event_list = requires { typename A::events; } && event_list<typename A::events>;
}  // namespace detail

// An aggregate: default-constructible state whose `events` list holds distinct events with distinct
// stored names, each of which the state applies.
template <class A>
concept aggregate =
    std::is_object_v<A> && std::default_initializable<A> && std::copy_constructible<A> &&
    detail::has_event_list<A> && detail::list_traits<typename A::events>::all_events &&
    detail::list_traits<typename A::events>::types_unique() &&
    detail::list_traits<typename A::events>::names_unique() &&
    detail::applies_to_all_v<A, typename A::events>;

template <aggregate A>
using aggregate_events_t = typename A::events;

template <aggregate A>
using aggregate_event_t = event_variant_t<typename A::events>;

// Applies one event to a state: the single place that picks apply() or evolve().
template <class A, class E>
  requires applies_to<A, E>
constexpr void apply_event(A& state, const E& e) {
  if constexpr (detail::has_member_apply<A, E>)
    state.apply(e);
  else
    state = evolve(std::move(state), e);
}

// --- Identity ------------------------------------------------------------------------------
// The name an aggregate keeps in storage: snapshots are keyed by it and the stream id, so two
// aggregates reading one stream never load each other's state. Declare it as a member
//   static constexpr std::string_view aggregate_name = "library.book";
// or, for a type you cannot change, specialize the trait:
//   template <> struct annal::aggregate_traits<their::thing> {
//     static constexpr std::string_view name = "their.thing"; };
// Without either, the name is the C++ type's name as the compiler spells it ("library::book"):
// renaming the type or its namespace makes its old snapshots unused, never wrong.
template <class A>
struct aggregate_traits {};

namespace detail {
// A const char* return keeps g++ from appending "[with ...; std::string_view = ...]" to the name.
template <class T>
constexpr const char* pretty_function_of() noexcept {
  return __PRETTY_FUNCTION__;
}

// T as spelled in "... [with T = library::book]" (g++) or "... [T = library::book]" (clang).
template <class T>
constexpr std::string_view type_spelling() noexcept {
  const std::string_view pretty = pretty_function_of<T>();
  const std::size_t start = pretty.find("T = ") + 4;
  return pretty.substr(start, pretty.rfind(']') - start);
}

// The spelling copied into an array of its own, so that the name is a constant of static storage.
template <class T>
struct type_name_storage {
  static constexpr std::array<char, type_spelling<T>().size()> chars = [] {
    std::array<char, type_spelling<T>().size()> out{};
    std::ranges::copy(type_spelling<T>(), out.begin());
    return out;
  }();
  static constexpr std::string_view value{chars.data(), chars.size()};
};

template <class A>
concept has_traits_aggregate_name = requires {
  { aggregate_traits<A>::name } -> std::convertible_to<std::string_view>;
};
template <class A>
concept has_member_aggregate_name = requires {
  { A::aggregate_name } -> std::convertible_to<std::string_view>;
};

template <class A>
consteval std::string_view find_aggregate_name() {
  if constexpr (has_traits_aggregate_name<A>)
    return aggregate_traits<A>::name;
  else if constexpr (has_member_aggregate_name<A>)
    return A::aggregate_name;
  else
    return type_name_storage<A>::value;
}
}  // namespace detail

// The aggregate's stored name: aggregate_traits<A>::name, else A::aggregate_name, else the C++
// type's name.
template <class A>
inline constexpr std::string_view aggregate_name_of = detail::find_aggregate_name<A>();

// --- Diagnostics -----------------------------------------------------------------------------
// Library entry points assert these so that a mistake reads as a sentence that names the user's
// types; `aggregate<A>` above is the same check as a constraint usable in requires-clauses.
// Every check across annal names its never-defined diagnostic type before its static_assert, so
// that the first error line, on g++ as on clang, names the user's types; then it returns false,
// so that callers that test the check stop there instead of adding errors of their own.
namespace diagnostic {
// Never defined: when one of these appears in an error, its template arguments name the culprit.
template <class Aggregate>
struct aggregate_declares_no_events_list;
template <class Aggregate, class Type>
struct aggregate_lists_a_type_that_is_not_an_event;
template <class Aggregate, class Event>
struct aggregate_has_no_apply_for_event;
template <class Aggregate, class Event>
struct aggregate_apply_takes_the_event_by_non_const_reference;
template <class Aggregate>
struct aggregate_lists_an_event_twice;
template <class Aggregate, class First, class Second, auto StoredName>
struct aggregate_lists_two_events_with_one_stored_name;
}  // namespace diagnostic

namespace detail {
// A stored name as a template argument, so that a diagnostic can show it.
template <std::size_t N>
struct name_in_diagnostic {
  char chars[N + 1]{};
  consteval explicit name_in_diagnostic(std::string_view s) {
    for (std::size_t i = 0; i < N; ++i) chars[i] = s[i];
  }
};

// The first two events of a list that share a stored name (only asked when some two do).
template <class... E>
consteval std::pair<std::size_t, std::size_t> first_shared_name(events<E...>) {
  constexpr std::array<std::string_view, sizeof...(E)> names{event_name_of<E>...};
  for (std::size_t i = 0; i < names.size(); ++i)
    for (std::size_t j = i + 1; j < names.size(); ++j)
      if (names[i] == names[j]) return {i, j};
  return {0, 0};
}

// The diagnostic type for a list with a shared name: the aggregate, both events and the name.
template <class A, class L>
struct shared_name_diagnostic;
template <class A, class... E>
struct shared_name_diagnostic<A, events<E...>> {
  static constexpr auto at = first_shared_name(events<E...>{});
  using first = std::tuple_element_t<at.first, std::tuple<E...>>;
  using second = std::tuple_element_t<at.second, std::tuple<E...>>;
  static constexpr std::string_view name = event_name_of<first>;
  using type = diagnostic::aggregate_lists_two_events_with_one_stored_name<
      A, first, second, name_in_diagnostic<name.size()>(name)>;
};
}  // namespace detail

namespace detail {
template <class...>
inline constexpr bool always_false = false;

template <class A, class E>
constexpr bool check_event_of() {
  if constexpr (!event<E>) {
    // An error here: a type in the aggregate's `events` list is not an event. Declare its stored
    // name and schema version with ANNAL_EVENT(type, "name", version) in its namespace.
    (void)sizeof(diagnostic::aggregate_lists_a_type_that_is_not_an_event<A, E>);
    static_assert(always_false<A, E>,
                  "annal: every type in an aggregate's `events` list must be an event; declare it "
                  "with ANNAL_EVENT(type, \"stored.name\", version)");
    return false;
  } else if constexpr (!applies_to<A, E> && requires(A& state, E& e) { state.apply(e); }) {
    (void)sizeof(diagnostic::aggregate_apply_takes_the_event_by_non_const_reference<A, E>);
    // An error here: apply(Event&) cannot take the events annal hands over, which are const.
    static_assert(always_false<A, E>,
                  "annal: the aggregate's apply function takes the event by non-const reference; "
                  "events are facts and reach apply as const: write `void apply(const Event&)`");
    return false;
  } else if constexpr (!applies_to<A, E>) {
    // An error here: the aggregate cannot apply this event. Write a member
    //   void apply(const Event&)   or a free function   Aggregate evolve(Aggregate, const Event&).
    (void)sizeof(diagnostic::aggregate_has_no_apply_for_event<A, E>);
    static_assert(always_false<A, E>,
                  "annal: the aggregate has no apply function for an event in its `events` list; "
                  "write a member `void apply(const Event&)` or a free function "
                  "`Aggregate evolve(Aggregate, const Event&)`");
    return false;
  } else {
    return true;
  }
}

template <class A, class L>
struct check_events;
template <class A, class... E>
struct check_events<A, events<E...>> {
  static constexpr bool value = (check_event_of<A, E>() && ...);
};

template <class A>
constexpr bool check_aggregate() {
  // A valid aggregate costs one (cached) concept check; the diagnosis below instantiates a function
  // per event and only runs for an invalid one.
  if constexpr (aggregate<A>) {
    return true;
  } else if constexpr (!has_event_list<A>) {
    (void)sizeof(diagnostic::aggregate_declares_no_events_list<A>);
    static_assert(always_false<A>,
                  "annal: an aggregate must declare its events: add "
                  "`using events = annal::events<your_event, ...>;` to it");
    return false;
  } else if constexpr (!check_events<A, typename A::events>::value) {
    return false;
  } else if constexpr (!list_traits<typename A::events>::types_unique()) {
    (void)sizeof(diagnostic::aggregate_lists_an_event_twice<A>);
    static_assert(always_false<A>,
                  "annal: an event type appears twice in the aggregate's `events` list");
    return false;
  } else if constexpr (!list_traits<typename A::events>::names_unique()) {
    (void)sizeof(typename shared_name_diagnostic<A, typename A::events>::type);
    static_assert(always_false<A>,
                  "annal: two events in the aggregate's `events` list share one stored name (the "
                  "error above names both and the name); give each its own name in ANNAL_EVENT");
    return false;
  } else if constexpr (!std::default_initializable<A> || !std::copy_constructible<A>) {
    static_assert(always_false<A>,
                  "annal: an aggregate must be default-constructible (its state before any event) "
                  "and copyable");
    return false;
  } else {
    return true;
  }
}
}  // namespace detail

// True for a valid aggregate; for an invalid one, stops compilation with a sentence saying what to
// write. Use it where an aggregate enters the library: static_assert(annal::check_aggregate<A>());
template <class A>
constexpr bool check_aggregate() {
  return detail::check_aggregate<A>();
}

}  // namespace annal
