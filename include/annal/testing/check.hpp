// Verdicts on a decision, without a test framework: exactly these events, this rejection, or none.
#pragma once

#include <annal/codec/upcast.hpp>
#include <annal/core/decision.hpp>
#include <annal/testing/equal.hpp>
#include <annal/testing/print.hpp>
#include <boost/hana/accessors.hpp>
#include <boost/hana/first.hpp>
#include <boost/hana/for_each.hpp>
#include <boost/hana/second.hpp>
#include <boost/hana/string.hpp>
#include <concepts>
#include <cstddef>
#include <ostream>
#include <sstream>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

namespace annal::testing {

// The result of one check: whether it passed, and a message that says what happened either way.
struct verdict {
  bool passed = false;
  std::string message;
};

namespace diagnostic {
// Never defined: when one of these appears in an error, its template arguments name the culprit.
template <class Aggregate, class Type>
struct expected_event_is_not_in_the_aggregates_events_list;
template <class Aggregate, class Type>
struct expected_rejection_is_neither_the_aggregates_rejection_nor_a_predicate;
}  // namespace diagnostic

namespace detail {
// An expected event must be one the aggregate can emit (or a variant of them).
template <class A, class E>
constexpr bool check_expected_event() {
  if constexpr (list_contains_v<aggregate_events_t<A>, E> ||
                std::is_same_v<E, aggregate_event_t<A>>) {
    return true;
  } else {
    // An error here: then(...) or given(...) names a type that is not in the aggregate's `events`
    // list, so no command of this aggregate can ever emit it.
    (void)sizeof(diagnostic::expected_event_is_not_in_the_aggregates_events_list<A, E>);
    static_assert(always_false<A, E>,
                  "annal::testing: an expected event is not in the aggregate's `events` list; "
                  "then(...) and given(...) take only events the aggregate lists");
    return false;
  }
}

// given(...) also takes a stored type that upcasts into the aggregate's events.
template <class A, class E>
constexpr bool check_given_event() {
  if constexpr (list_contains_v<aggregate_events_t<A>, E> ||
                std::is_same_v<E, aggregate_event_t<A>> ||
                upcastable_to<E, aggregate_events_t<A>>) {
    return true;
  } else {
    // An error here: given(...) names a type that is neither in the aggregate's `events` list nor
    // an old version or retired event whose upcast() chain reaches it.
    (void)sizeof(diagnostic::expected_event_is_not_in_the_aggregates_events_list<A, E>);
    static_assert(
        always_false<A, E>,
        "annal::testing: given(...) takes events the aggregate lists, or old versions and "
        "retired events whose upcast() chain reaches them");
    return false;
  }
}

template <class A, class R>
constexpr bool check_expected_rejection() {
  using rejection = rejection_t<A>;
  if constexpr (std::predicate<const R&, const rejection&> ||
                std::is_convertible_v<const R&, rejection>) {
    return true;
  } else {
    // An error here: then_rejected(x) takes the aggregate's rejection type (annal::rejection,
    // unless the aggregate declares `using rejection = ...;`) or a predicate on it.
    (void)sizeof(
        diagnostic::expected_rejection_is_neither_the_aggregates_rejection_nor_a_predicate<A, R>);
    static_assert(
        always_false<A, R>,
        "annal::testing: then_rejected(x) takes a value of the aggregate's rejection type "
        "or a predicate `bool(const rejection&)`");
    return false;
  }
}

inline std::string count_of_events(std::size_t n) {
  return std::to_string(n) + (n == 1 ? " event" : " events");
}

// `2 events:` and one line per event, or `no events`.
template <class V>
void print_event_list(std::ostream& os, const std::vector<V>& events) {
  if (events.empty()) {
    os << "no events";
    return;
  }
  os << count_of_events(events.size()) << ':';
  for (std::size_t i = 0; i < events.size(); ++i) {
    os << "\n  [" << i << "] ";
    print(os, events[i]);
  }
}

// A rejection prints through its operator<<, else its fields, else its `reason`.
template <class R>
void print_rejection(std::ostream& os, const R& r) {
  if constexpr (streamable<R>)
    os << r;
  else if constexpr (reflected<R>)
    print_fields(os, r);
  else if constexpr (requires { r.reason; })
    print(os, r.reason);
  else
    print(os, r);
}

// For two events of one reflected type, one line per field that differs.
template <class T>
void print_field_differences(std::ostream& os, const T& expected, const T& actual) {
  if constexpr (reflected<T>) {
    boost::hana::for_each(boost::hana::accessors<T>(), [&](const auto& field) {
      const auto& want = boost::hana::second(field)(expected);
      const auto& got = boost::hana::second(field)(actual);
      if (equal(want, got)) return;
      os << "\n  field " << boost::hana::to<const char*>(boost::hana::first(field))
         << ": expected ";
      print(os, want);
      os << ", actual ";
      print(os, got);
    });
  }
}

template <class V>
void print_difference(std::ostream& os, std::size_t index, const std::vector<V>& expected,
                      const std::vector<V>& actual) {
  os << "events differ at index " << index << "\n  expected: ";
  if (index < expected.size())
    print(os, expected[index]);
  else
    os << "no event";
  os << "\n  actual:   ";
  if (index < actual.size())
    print(os, actual[index]);
  else
    os << "no event";
  if (index < expected.size() && index < actual.size() &&
      expected[index].index() == actual[index].index()) {
    std::visit(
        [&](const auto& want) {
          print_field_differences(
              os, want, *std::get_if<std::remove_cvref_t<decltype(want)>>(&actual[index]));
        },
        expected[index]);
  }
}

template <class A>
std::string rejected_with(const decision<A>& actual) {
  std::ostringstream os;
  os << "the command was rejected with ";
  print_rejection(os, actual.rejection());
  return os.str();
}
}  // namespace detail

// Passes when the command was accepted and emitted exactly `expected`, in order. Events compare
// with operator== where they have one, else field by field.
template <class A, class... E>
verdict check_then(const decision<A>& actual, const E&... expected) {
  static_assert((detail::check_expected_event<A, E>() && ...));
  const std::vector<aggregate_event_t<A>> want{aggregate_event_t<A>(expected)...};
  std::ostringstream os;
  if (actual.rejected()) {
    os << detail::rejected_with(actual) << "\nexpected ";
    detail::print_event_list(os, want);
    return {false, os.str()};
  }
  const auto& got = actual.events();
  std::size_t differs = 0;
  while (differs < want.size() && differs < got.size() && equal(want[differs], got[differs]))
    ++differs;
  if (differs == want.size() && differs == got.size()) {
    os << "as expected, emitted ";
    detail::print_event_list(os, got);
    return {true, os.str()};
  }
  detail::print_difference(os, differs, want, got);
  os << "\nexpected ";
  detail::print_event_list(os, want);
  os << "\nemitted ";
  detail::print_event_list(os, got);
  return {false, os.str()};
}

// Passes when the command was accepted and emitted nothing.
template <class A>
verdict check_nothing(const decision<A>& actual) {
  std::ostringstream os;
  if (actual.rejected()) {
    os << "expected no events, but " << detail::rejected_with(actual);
    return {false, os.str()};
  }
  if (!actual.events().empty()) {
    os << "expected no events, but the command emitted ";
    detail::print_event_list(os, actual.events());
    return {false, os.str()};
  }
  return {true, "as expected, accepted with no events"};
}

// Passes when the command was rejected at all.
template <class A>
verdict check_rejected(const decision<A>& actual) {
  if (actual.rejected()) return {true, detail::rejected_with(actual)};
  std::ostringstream os;
  os << "expected a rejection, but the command was accepted and emitted ";
  detail::print_event_list(os, actual.events());
  return {false, os.str()};
}

// Passes when the command was rejected with a rejection equal to `expected`, or one that the
// predicate `expected` accepts.
template <class A, class R>
verdict check_rejected(const decision<A>& actual, const R& expected) {
  static_assert(detail::check_expected_rejection<A, R>());
  using rejection = rejection_t<A>;
  constexpr bool is_predicate = std::predicate<const R&, const rejection&>;
  std::ostringstream os;
  if (!actual.rejected()) {
    os << "expected a rejection";
    if constexpr (!is_predicate) {
      os << " with ";
      detail::print_rejection(os, rejection(expected));
    }
    os << ", but the command was accepted and emitted ";
    detail::print_event_list(os, actual.events());
    return {false, os.str()};
  }
  if constexpr (is_predicate) {
    if (expected(actual.rejection())) return {true, detail::rejected_with(actual)};
    os << detail::rejected_with(actual) << ", which the predicate does not accept";
    return {false, os.str()};
  } else {
    const rejection want(expected);
    if (equal(want, actual.rejection())) return {true, detail::rejected_with(actual)};
    os << "expected a rejection with ";
    detail::print_rejection(os, want);
    os << ", but " << detail::rejected_with(actual);
    return {false, os.str()};
  }
}

// Passes when `predicate(state)` is true; the message shows the state either way.
template <class A, class F>
  requires std::predicate<F&, const A&>
verdict check_state(const A& state, F&& predicate) {
  const bool passed = predicate(state);
  return {passed, (passed ? "the state satisfies the predicate: "
                          : "the state does not satisfy the predicate: ") +
                      to_text(state)};
}

}  // namespace annal::testing
