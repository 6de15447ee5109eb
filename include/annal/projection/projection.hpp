// The projection concept: a read model with a compile-time event list and an `on` handler per
// event.
#pragma once

#include <concepts>
#include <exception>
#include <string>
#include <type_traits>
#include <utility>

#include <annal/core/aggregate.hpp>
#include <annal/core/envelope.hpp>
#include <annal/core/error.hpp>
#include <annal/core/event.hpp>
#include <annal/core/event_list.hpp>
#include <annal/detail/validate.hpp>

namespace annal {

// Projection `P` handles event `E`: a member `void on(const E&, const annal::envelope_header&)`,
// or `void on(const E&)` when the envelope (stream id, version, position, time) is not needed.
template <class P, class E>
concept handles = requires(P& p, const E& e, const envelope_header& h) { p.on(e, h); } ||
                  requires(P& p, const E& e) { p.on(e); };

// Reactor `R` reacts to event `E`: a member `void react(const E&, const annal::envelope_header&)`
// or `void react(const E&)`. A different name on purpose: side effects are never a projection.
template <class R, class E>
concept reacts_to = requires(R& r, const E& e, const envelope_header& h) { r.react(e, h); } ||
                    requires(R& r, const E& e) { r.react(e); };

namespace detail {
template <class P, class L>
inline constexpr bool handles_all_v = false;
template <class P, class... E>
inline constexpr bool handles_all_v<P, events<E...>> = (handles<P, E> && ...);

template <class R, class L>
inline constexpr bool reacts_to_any_v = false;
template <class R, class... E>
inline constexpr bool reacts_to_any_v<R, events<E...>> = (reacts_to<R, E> || ...);

template <class P>
concept valid_event_list_of = has_event_list<P> && list_traits<typename P::events>::all_events &&
                              list_traits<typename P::events>::types_unique() &&
                              list_traits<typename P::events>::names_unique();
}  // namespace detail

namespace detail {
// Handlers for events a type does not list are never called: readers deliver only listed events.
// C++ cannot list a type's overloads, but it can ask overload resolution: this probe converts to
// any event the list does not name, so a call `x.on(probe)` finds exactly the handlers for such
// events. A fallback taking anything (worse than any conversion) tells "none" from "one"; two or
// more make the call ambiguous, which is "some" as well.
template <class List>
struct unlisted_event_probe {
  template <class E>
    requires(event<E> && !list_traits<List>::template contains<E>)
  operator const E&() const;  // never defined: used in unevaluated calls only
};
struct no_unlisted_handler {};
struct convertible_to_nothing {};

// A type deriving from the user's, whose fallback loses to every handler the probe can reach.
template <class P>
struct on_probe_host : P {
  using P::on;
  no_unlisted_handler on(...);
};
template <class R>
struct react_probe_host : R {
  using R::react;
  no_unlisted_handler react(...);
};
// Calls of one handler name, for the checks below (declared only: unevaluated use).
struct call_on {
  template <class T, class... A>
  auto operator()(T& t, A&&... a) const -> decltype(t.on(std::forward<A>(a)...));
};
struct call_react {
  template <class T, class... A>
  auto operator()(T& t, A&&... a) const -> decltype(t.react(std::forward<A>(a)...));
};

template <class T, class Call, class... A>
concept callable_with = requires(T& t, A&&... a) { Call{}(t, std::forward<A>(a)...); };

// True when the probe (alone, or with an envelope header) reaches a handler rather than the
// fallback: one handler picked, or several, which makes the call ambiguous.
template <class Host, class Call, class Probe, class... Header>
constexpr bool probe_finds_handler() {
  if constexpr (callable_with<Host, Call, Probe, Header...>)
    return !std::is_same_v<std::invoke_result_t<Call, Host&, Probe, Header...>,
                           no_unlisted_handler>;
  else
    return true;
}

// True when T has a handler (`on` or `react`, by Call) for an event that T::events does not name.
// A handler template that takes anything is the user's own dispatch and is left alone, as is a
// final class.
template <class T, class Host, class Call>
constexpr bool has_unlisted_handler() {
  if constexpr (std::is_final_v<T> || callable_with<T, Call, const convertible_to_nothing&> ||
                callable_with<T, Call, const convertible_to_nothing&, const envelope_header&>) {
    return false;
  } else {
    using probe = unlisted_event_probe<typename T::events>;
    return probe_finds_handler<Host, Call, probe>() ||
           probe_finds_handler<Host, Call, probe, const envelope_header&>();
  }
}
template <class P>
constexpr bool has_unlisted_on_handler() {
  return has_unlisted_handler<P, on_probe_host<P>, call_on>();
}
template <class R>
constexpr bool has_unlisted_react_handler() {
  return has_unlisted_handler<R, react_probe_host<R>, call_react>();
}

}  // namespace detail

// A projection (read model): default-constructible, movable, declares `using events =
// annal::events<...>` and handles each with `on`. It must not react: replays and rebuilds run
// projections, and a type with `react` members would send its side effects again. Nor may it have
// an `on` for an event it does not list: readers deliver listed events only.
template <class P>
concept projection =
    std::is_object_v<P> && std::default_initializable<P> && std::movable<P> &&
    detail::valid_event_list_of<P> && detail::handles_all_v<P, typename P::events> &&
    !detail::reacts_to_any_v<P, typename P::events> && !detail::has_unlisted_on_handler<P>();

template <projection P>
using projection_events_t = typename P::events;

// Calls the projection's handler for one event.
template <class P, class E>
  requires handles<P, E>
void project_event(P& p, const E& e, const envelope_header& h) {
  if constexpr (requires { p.on(e, h); })
    p.on(e, h);
  else
    p.on(e);
}

namespace diagnostic {
// Never defined: when one of these appears in an error, its template arguments name the culprit.
template <class Projection>
struct projection_declares_no_events_list;
template <class Projection, class Type>
struct projection_lists_a_type_that_is_not_an_event;
template <class Projection, class Event>
struct projection_has_no_on_handler_for_event;
template <class Projection>
struct projection_lists_an_event_twice_or_two_events_with_one_stored_name;
template <class Projection>
struct projection_has_react_members_so_it_would_fire_side_effects_on_replay;
template <class Reactor>
struct a_reactor_is_never_replayed_or_rebuilt;
template <class ProcessManager>
struct a_process_manager_is_never_replayed_or_rebuilt;
template <class Projection>
struct projection_is_not_default_constructible_and_movable;
template <class Handler>
struct has_a_handler_for_an_event_its_events_list_does_not_name;
}  // namespace diagnostic

namespace detail {
template <class P, class E>
constexpr bool check_projection_event() {
  if constexpr (!event<E>) {
    (void)sizeof(diagnostic::projection_lists_a_type_that_is_not_an_event<P, E>);
    static_assert(always_false<P, E>,
                  "annal: every type in a projection's `events` list must be an event; declare it "
                  "with ANNAL_EVENT(type, \"stored.name\", version)");
    return false;
  } else if constexpr (!handles<P, E>) {
    // An error here: the projection lists this event but has no handler for it. Write a member
    //   void on(const Event&, const annal::envelope_header&)   or   void on(const Event&).
    (void)sizeof(diagnostic::projection_has_no_on_handler_for_event<P, E>);
    static_assert(always_false<P, E>,
                  "annal: the projection has no handler for an event in its `events` list; write a "
                  "member `void on(const Event&, const annal::envelope_header&)` or "
                  "`void on(const Event&)`");
    return false;
  } else {
    return true;
  }
}

template <class P, class L>
struct check_projection_events;
template <class P, class... E>
struct check_projection_events<P, events<E...>> {
  static constexpr bool value = (check_projection_event<P, E>() && ...);
};

template <class P>
constexpr bool check_projection() {
  if constexpr (!has_event_list<P>) {
    (void)sizeof(diagnostic::projection_declares_no_events_list<P>);
    static_assert(always_false<P>,
                  "annal: a projection must declare the events it handles: add "
                  "`using events = annal::events<your_event, ...>;` to it");
    return false;
  } else if constexpr (requires {
                         typename P::state_events;
                         typename P::commands;
                       }) {
    // An error here: a process manager (annal/process) was given where a projection belongs. Its
    // handlers send commands; a replay or rebuild would send them again.
    (void)sizeof(diagnostic::a_process_manager_is_never_replayed_or_rebuilt<P>);
    static_assert(always_false<P>,
                  "annal: this type declares `state_events` and `commands`: it is a process "
                  "manager, and projectors, replays and rebuilds never run one (its commands would "
                  "be sent again); run it with annal::process_runner");
    return false;
  } else if constexpr (reacts_to_any_v<P, typename P::events> &&
                       !handles_all_v<P, typename P::events>) {
    // An error here: a reactor was given where a projection belongs (a projector, a rebuild).
    (void)sizeof(diagnostic::a_reactor_is_never_replayed_or_rebuilt<P>);
    static_assert(always_false<P>,
                  "annal: this type reacts (it has `react` members): it is a reactor, and "
                  "projectors, replays and rebuilds never run reactors; run it with "
                  "annal::reactor_runner, and keep read models in projections with `on` handlers");
    return false;
  } else if constexpr (!check_projection_events<P, typename P::events>::value) {
    return false;
  } else if constexpr (!valid_event_list_of<P>) {
    (void)sizeof(diagnostic::projection_lists_an_event_twice_or_two_events_with_one_stored_name<P>);
    static_assert(always_false<P>,
                  "annal: a projection's `events` list names an event twice, or two events share "
                  "one stored name");
    return false;
  } else if constexpr (reacts_to_any_v<P, typename P::events>) {
    // An error here: replays and rebuilds run projections; side effects belong in a reactor.
    (void)sizeof(
        diagnostic::projection_has_react_members_so_it_would_fire_side_effects_on_replay<P>);
    static_assert(always_false<P>,
                  "annal: a projection must not have `react` members; move side effects into a "
                  "separate reactor type, which replays and rebuilds never run");
    return false;
  } else if constexpr (!std::default_initializable<P> || !std::movable<P>) {
    (void)sizeof(diagnostic::projection_is_not_default_constructible_and_movable<P>);
    static_assert(always_false<P>,
                  "annal: a projection must be default-constructible (the empty read model) and "
                  "movable (rebuilds swap it in)");
    return false;
  } else if constexpr (has_unlisted_on_handler<P>()) {
    // An error here: an `on` handler of this projection takes an event that its `events` list
    // does not name (or an old version, which upcasting turns into the current one). Readers
    // deliver only listed events, so that handler would never be called: list the event.
    (void)sizeof(diagnostic::has_a_handler_for_an_event_its_events_list_does_not_name<P>);
    static_assert(always_false<P>,
                  "annal: the projection has an `on` handler for an event that its `events` list "
                  "does not name, so it would never be called; add the event to `using events = "
                  "annal::events<...>` (for an old version, handle the current event instead)");
    return false;
  } else {
    return true;
  }
}

// Describes where a handler failed: stream, version, position and stored event type.
inline std::string describe_position(const envelope_header& h, std::string_view type,
                                     std::uint32_t schema_version) {
  return "stream " + quoted_prefix(h.stream_id) + " version " + std::to_string(h.stream_version) +
         " position " + std::to_string(h.position) + " (event type '" + std::string(type) + "' v" +
         std::to_string(schema_version) + ")";
}

// Runs one handler; an exception from it becomes errc::handler_failed naming the event, with the
// original nested inside (std::rethrow_if_nested reaches it).
template <class F>
void invoke_handler(const char* kind, const envelope_header& h, std::string_view type,
                    std::uint32_t schema_version, F&& handler) {
  try {
    handler();
  } catch (const std::exception& e) {
    std::throw_with_nested(error(errc::handler_failed,
                                 std::string(kind) + " handler failed at " +
                                     describe_position(h, type, schema_version) + ": " + e.what()));
  } catch (...) {
    std::throw_with_nested(
        error(errc::handler_failed, std::string(kind) + " handler failed at " +
                                        describe_position(h, type, schema_version) +
                                        ": a non-standard exception"));
  }
}
}  // namespace detail

// True for a valid projection; for an invalid one, stops compilation with a sentence saying what to
// write. Every projection entry point asserts it.
template <class P>
constexpr bool check_projection() {
  return detail::check_projection<P>();
}

}  // namespace annal
