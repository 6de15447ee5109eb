// The projection concept: a read model with a compile-time event list and an `on` handler per event.
#pragma once

#include <concepts>
#include <exception>
#include <string>
#include <type_traits>

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

// A projection (read model): default-constructible, movable, declares `using events =
// annal::events<...>` and handles each with `on`. It must not react: replays and rebuilds run
// projections, and a type with `react` members would send its side effects again.
template <class P>
concept projection = std::is_object_v<P> && std::default_initializable<P> && std::movable<P> &&
                     detail::valid_event_list_of<P> && detail::handles_all_v<P, typename P::events> &&
                     !detail::reacts_to_any_v<P, typename P::events>;

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
template <class Projection>
struct projection_is_not_default_constructible_and_movable;
}  // namespace diagnostic

namespace detail {
template <class P, class E>
constexpr bool check_projection_event() {
  if constexpr (!event<E>) {
    static_assert(always_false<P, E>,
                  "annal: every type in a projection's `events` list must be an event; declare it "
                  "with ANNAL_EVENT(type, \"stored.name\", version)");
    return sizeof(diagnostic::projection_lists_a_type_that_is_not_an_event<P, E>) > 0;
  } else if constexpr (!handles<P, E>) {
    // An error here: the projection lists this event but has no handler for it. Write a member
    //   void on(const Event&, const annal::envelope_header&)   or   void on(const Event&).
    static_assert(always_false<P, E>,
                  "annal: the projection has no handler for an event in its `events` list; write a "
                  "member `void on(const Event&, const annal::envelope_header&)` or "
                  "`void on(const Event&)`");
    return sizeof(diagnostic::projection_has_no_on_handler_for_event<P, E>) > 0;
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
    static_assert(always_false<P>,
                  "annal: a projection must declare the events it handles: add "
                  "`using events = annal::events<your_event, ...>;` to it");
    return sizeof(diagnostic::projection_declares_no_events_list<P>) > 0;
  } else if constexpr (reacts_to_any_v<P, typename P::events> && !handles_all_v<P, typename P::events>) {
    // An error here: a reactor was given where a projection belongs (a projector, a rebuild).
    static_assert(always_false<P>,
                  "annal: this type reacts (it has `react` members): it is a reactor, and "
                  "projectors, replays and rebuilds never run reactors; run it with "
                  "annal::reactor_runner, and keep read models in projections with `on` handlers");
    return sizeof(diagnostic::a_reactor_is_never_replayed_or_rebuilt<P>) > 0;
  } else if constexpr (!check_projection_events<P, typename P::events>::value) {
    return false;
  } else if constexpr (!valid_event_list_of<P>) {
    static_assert(always_false<P>,
                  "annal: a projection's `events` list names an event twice, or two events share "
                  "one stored name");
    return sizeof(diagnostic::projection_lists_an_event_twice_or_two_events_with_one_stored_name<P>) > 0;
  } else if constexpr (reacts_to_any_v<P, typename P::events>) {
    // An error here: replays and rebuilds run projections; side effects belong in a reactor.
    static_assert(always_false<P>,
                  "annal: a projection must not have `react` members; move side effects into a "
                  "separate reactor type, which replays and rebuilds never run");
    return sizeof(diagnostic::projection_has_react_members_so_it_would_fire_side_effects_on_replay<P>) > 0;
  } else if constexpr (!std::default_initializable<P> || !std::movable<P>) {
    static_assert(always_false<P>,
                  "annal: a projection must be default-constructible (the empty read model) and "
                  "movable (rebuilds swap it in)");
    return sizeof(diagnostic::projection_is_not_default_constructible_and_movable<P>) > 0;
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
    std::throw_with_nested(error(errc::handler_failed, std::string(kind) + " handler failed at " +
                                                           describe_position(h, type, schema_version) +
                                                           ": " + e.what()));
  } catch (...) {
    std::throw_with_nested(error(errc::handler_failed, std::string(kind) + " handler failed at " +
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
