// What a command decides: new events, or a typed domain rejection (a value, never an exception).
#pragma once

#include <concepts>
#include <optional>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include <annal/core/aggregate.hpp>

namespace annal {

// The rejection an aggregate's commands return unless the aggregate names its own with
// `using rejection = ...;` (an enum, or a struct carrying details).
struct rejection {
  std::string reason;
  friend bool operator==(const rejection&, const rejection&) = default;
};

inline rejection reject(std::string reason) {
  return rejection{std::move(reason)};
}

namespace detail {
template <class A>
struct rejection_of {
  using type = rejection;
};
template <class A>
  requires requires { typename A::rejection; }
struct rejection_of<A> {
  using type = typename A::rejection;
};
}  // namespace detail

template <class A>
using rejection_t = typename detail::rejection_of<A>::type;

// Several events at once: `return annal::emit(opened{...}, deposited{...});`
template <class... E>
struct emitted {
  std::tuple<E...> events;
};

template <event... E>
emitted<std::decay_t<E>...> emit(E&&... e) {
  return {{std::forward<E>(e)...}};
}

// Checked in the body, not constrained: a member `decide` names decision<Self> inside Self's class,
// where Self is still incomplete and the aggregate concept could not be evaluated.
namespace detail {
// The events a decision holds. For a type that is not a valid aggregate, check_aggregate has said
// why; the decision stays a usable type so that the user's decide() adds no errors of its own.
template <class A>
struct decision_events {
  using type = events<>;
};
template <class A>
  requires has_event_list<A>
struct decision_events<A> {
  using type = typename A::events;
};
}  // namespace detail

template <class A>
class decision {
  static_assert(check_aggregate<A>());
  using events_list = typename detail::decision_events<A>::type;

 public:
  using event_type = event_variant_t<events_list>;
  using rejection_type = rejection_t<A>;

  // No events: the command is accepted and changes nothing (an idempotent command, say).
  decision() = default;

  template <class E>
    requires list_contains_v<events_list, std::decay_t<E>>
  decision(E&& e) {  // NOLINT: implicit by design
    events_.push_back(make_event<std::decay_t<E>>(std::forward<E>(e)));
  }

  template <class... E>
    requires(list_contains_v<events_list, E> && ...)
  decision(emitted<E...> e) {  // NOLINT: implicit by design
    events_.reserve(sizeof...(E));
    std::apply([&](auto&... each) { (events_.push_back(make_event<E>(std::move(each))), ...); },
               e.events);
  }

  decision(std::vector<event_type> events)  // NOLINT: implicit by design
      : events_(std::move(events)) {}

  decision(rejection_type r)  // NOLINT: implicit by design
      : rejection_(std::move(r)) {}

  bool rejected() const noexcept { return rejection_.has_value(); }
  // The rejection; only for a rejected decision (throws std::bad_optional_access otherwise).
  const rejection_type& rejection() const { return rejection_.value(); }
  // The events; empty for a rejected decision.
  const std::vector<event_type>& events() const noexcept { return events_; }
  std::vector<event_type>&& take_events() && noexcept { return std::move(events_); }

 private:
  // The variant built in place by index, then pushed: the vector's growth is instantiated once per
  // aggregate rather than once per event type (emplace_back<E>), and no converting constructor of
  // the variant is resolved.
  template <class T, class V>
  static event_type make_event(V&& v) {
    return event_type(std::in_place_index<detail::list_traits<events_list>::template index_of<T>>,
                      std::forward<V>(v));
  }

  // Two members, not a variant of the two: g++ 12 at -O2 warns that the variant's inactive vector
  // "may be used uninitialized" in code that copies a decision (-Wmaybe-uninitialized), a false
  // alarm that -Werror turns into a failed build of the user's program.
  std::vector<event_type> events_;
  std::optional<rejection_type> rejection_;
};

// `decide(state, command)`: a free function found by argument-dependent lookup, or a member
// `state.decide(command)`. It must be pure: state in, decision out.
template <class A, class C>
concept decider_for = aggregate<A> && (
                                          requires(const A& s, const C& c) {
                                            { decide(s, c) } -> std::convertible_to<decision<A>>;
                                          } ||
                                          requires(const A& s, const C& c) {
                                            { s.decide(c) } -> std::convertible_to<decision<A>>;
                                          });

namespace diagnostic {
template <class Aggregate, class Command>
struct aggregate_has_no_decide_for_command;
}

namespace detail {
template <class A, class C>
constexpr bool check_decider() {
  if constexpr (!aggregate<A>) {
    return true;  // check_aggregate reports it, once; a decider cannot be judged without one
  } else if constexpr (!decider_for<A, C>) {
    // An error here: no decide function takes this aggregate's state and this command.
    (void)sizeof(diagnostic::aggregate_has_no_decide_for_command<A, C>);
    static_assert(always_false<A, C>,
                  "annal: the command has no decide function for this aggregate; write "
                  "`annal::decision<Aggregate> decide(const Aggregate&, const Command&)`");
    return false;
  } else {
    return true;
  }
}
}  // namespace detail

// Runs the aggregate's decide function for a command.
template <class A, class C>
decision<A> decide_command(const A& state, const C& command) {
  static_assert(detail::check_decider<A, C>());
  if constexpr (requires { decide(state, command); })
    return decide(state, command);
  else
    return state.decide(command);
}

}  // namespace annal
