// The given/when/then fixture on Catch2: given past events, when a command, then these events.
#pragma once

#include <annal/codec/upcast.hpp>
#include <annal/core/decider.hpp>
#include <annal/testing/check.hpp>
#include <catch2/catch.hpp>
#include <concepts>
#include <cstddef>
#include <type_traits>
#include <utility>
#include <vector>

namespace annal::testing {

// Where a scenario was written, so that a failure points at the user's test and not at this header.
struct site {
  const char* file;
  std::size_t line;
};

// Records a verdict as one Catch2 assertion that, like CHECK, lets the test continue on failure.
// A passing verdict counts as an assertion too, so a scenario alone is a complete test.
inline void report(const verdict& v, const site& where) {
  Catch::AssertionHandler handler("annal::testing::scenario",
                                  Catch::SourceLineInfo(where.file, where.line), Catch::StringRef(),
                                  Catch::ResultDisposition::ContinueOnFailure);
  handler.handleMessage(v.passed ? Catch::ResultWas::Ok : Catch::ResultWas::ExplicitFailure,
                        v.message);
  handler.complete();
}

// What a command did to a state: the `then` half of a scenario. Each then_* call is one check.
template <class A>
class outcome {
 public:
  outcome(A before, decision<A> result, site where)
      : before_(std::move(before)), result_(std::move(result)), where_(where) {}

  // The state folded from the given events, before the command.
  const A& given_state() const { return before_; }
  const decision<A>& result() const { return result_; }

  // The state after the command: the given state with the new events applied (if accepted).
  A state() const {
    if (result_.rejected()) return before_;
    return fold(before_, result_.events());
  }

  // Exactly these new events, in order. then() with no events is then_nothing().
  template <class... E>
  const outcome& then(const E&... expected) const {
    report(check_then(result_, expected...), where_);
    return *this;
  }

  // Rejected, with a rejection equal to `expected`, or one the predicate `expected` accepts.
  template <class R>
  const outcome& then_rejected(const R& expected) const {
    report(check_rejected(result_, expected), where_);
    return *this;
  }
  // Rejected, for any reason.
  const outcome& then_rejected() const {
    report(check_rejected(result_), where_);
    return *this;
  }

  // Accepted, with no new events.
  const outcome& then_nothing() const {
    report(check_nothing(result_), where_);
    return *this;
  }

  // Calls check(state()): a check returning bool is one assertion; a void one asserts itself.
  template <class F>
    requires std::invocable<F&, const A&>
  const outcome& then_state(F check) const {
    const A after = state();
    if constexpr (std::is_same_v<std::invoke_result_t<F&, const A&>, void>)
      check(after);
    else
      report(check_state(after, check), where_);
    return *this;
  }

 private:
  A before_;
  decision<A> result_;
  site where_;
};

// given(events...).when(command).then(events...): a command tested against the events it emits.
template <class A>
class scenario {
  static_assert(check_aggregate<A>());

 public:
  using event_type = aggregate_event_t<A>;

  // Past events, folded in order into the state the command sees. Adds to earlier given() calls.
  // An old version or retired event is upcast first, as a load from a store would: what it turns
  // into is folded, so a test can state that old records still give the right state.
  template <class... E>
  scenario& given(const E&... events) & {
    static_assert((detail::check_given_event<A, E>() && ...));
    (add(events), ...);
    return *this;
  }
  template <class... E>
  scenario given(const E&... events) && {  // on a temporary: returns a value, never a dangling ref
    given(events...);
    return std::move(*this);
  }

  // Runs the command against the hydrated state. The default arguments record the caller's line.
  template <class C>
  outcome<A> when(const C& command, const char* file = __builtin_FILE(),
                  std::size_t line = __builtin_LINE()) const {
    A state = hydrate<A>(history_);
    decision<A> result = decide_command(state, command);
    return outcome<A>(std::move(state), std::move(result), site{file, line});
  }

  const std::vector<event_type>& history() const { return history_; }

 private:
  template <class E>
  void add(const E& e) {
    if constexpr (list_contains_v<aggregate_events_t<A>, E> || std::is_same_v<E, event_type>)
      history_.emplace_back(e);
    else
      upcast_to<aggregate_events_t<A>>(
          e, [&](const auto& current) { history_.emplace_back(current); });
  }

  std::vector<event_type> history_;
};

}  // namespace annal::testing
