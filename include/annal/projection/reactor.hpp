// Reactors: side-effect handlers (send an email, call a service) that only ever see live events.
#pragma once

#include <algorithm>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <stop_token>
#include <type_traits>

#include <annal/codec/binary.hpp>
#include <annal/codec/decode.hpp>
#include <annal/core/detail/chrono.hpp>
#include <annal/core/error.hpp>
#include <annal/projection/detail/apply.hpp>
#include <annal/projection/projection.hpp>
#include <annal/store/checkpoint.hpp>
#include <annal/store/event_store.hpp>
#include <annal/store/filter.hpp>
#include <annal/store/subscription.hpp>

namespace annal {

namespace detail {
template <class R, class L>
inline constexpr bool reacts_to_all_v = false;
template <class R, class... E>
inline constexpr bool reacts_to_all_v<R, events<E...>> = (reacts_to<R, E> && ...);
}  // namespace detail

// A reactor declares `using events = annal::events<...>` and a `react` member for each. It is a
// different kind from a projection: rebuilds and replays take projections only, so a reactor can
// never fire during one. It runs under a reactor_runner with its own checkpoint.
template <class R>
concept reactor =
    std::is_object_v<R> && detail::valid_event_list_of<R> &&
    detail::reacts_to_all_v<R, typename R::events> && !detail::has_unlisted_react_handler<R>();

namespace diagnostic {
template <class Reactor, class Event>
struct reactor_has_no_react_handler_for_event;
template <class Reactor>
struct reactor_declares_no_events_list;
}  // namespace diagnostic

namespace detail {
template <class R, class L>
struct check_reactor_events;
template <class R, class... E>
struct check_reactor_events<R, events<E...>> {
  template <class Ev>
  static constexpr bool one() {
    if constexpr (!reacts_to<R, Ev>) {
      // An error here: write `void react(const Event&, const annal::envelope_header&)`.
      (void)sizeof(diagnostic::reactor_has_no_react_handler_for_event<R, Ev>);
      static_assert(always_false<R, Ev>,
                    "annal: the reactor has no handler for an event in its `events` list; write a "
                    "member `void react(const Event&, const annal::envelope_header&)` or "
                    "`void react(const Event&)`");
      return false;
    } else {
      return true;
    }
  }
  static constexpr bool value = (one<E>() && ...);
};

template <class R>
constexpr bool check_reactor() {
  if constexpr (!has_event_list<R>) {
    (void)sizeof(diagnostic::reactor_declares_no_events_list<R>);
    static_assert(always_false<R>,
                  "annal: a reactor must declare the events it reacts to: add "
                  "`using events = annal::events<your_event, ...>;` to it");
    return false;
  } else if constexpr (!check_reactor_events<R, typename R::events>::value) {
    return false;
  } else if constexpr (has_unlisted_react_handler<R>()) {
    // An error here: a `react` handler takes an event the reactor's `events` list does not name;
    // it would never be called. List the event (for an old version, react to the current one).
    (void)sizeof(diagnostic::has_a_handler_for_an_event_its_events_list_does_not_name<R>);
    static_assert(always_false<R>,
                  "annal: the reactor has a `react` handler for an event that its `events` list "
                  "does not name, so it would never be called; add the event to `using events = "
                  "annal::events<...>` (for an old version, react to the current event instead)");
    return false;
  } else {
    return true;
  }
}

// Hands one stored record to the reactor's handler for it (upcast first); false when the reactor
// does not list its type. Every runner of reactors delivers through here.
template <class R, class Codec>
bool react_to_record(R& reactor, const recorded_event& e) {
  bool reacted = false;
  decode_record<typename R::events, Codec>(e, unknown_event_policy::skip, [&](const auto& ev) {
    invoke_handler("reactor", e, e.type, e.schema_version, [&] {
      if constexpr (requires { reactor.react(ev, e); })
        reactor.react(ev, static_cast<const envelope_header&>(e));
      else
        reactor.react(ev);
    });
    reacted = true;
  });
  return reacted;
}

// One batch of a reactor runner: the filtered events after `position`, each given to handle(e)
// (which reacts, or passes over another partition's event), `position` moved past each one handled
// and past what the filter passed over. save(position, failed) records a position that moved:
// after the batch or, when a handler throws, before the failing event (the error is then
// rethrown). Returns how many events it read (0: caught up).
template <class S, class Handle, class Save>
std::size_t react_batch(const S& store, const event_filter& filter, std::uint64_t& position,
                        std::size_t batch_size, Handle&& handle, Save&& save) {
  const std::uint64_t before = position;
  std::size_t read = 0;
  try {
    const read_progress r = read_filtered(
        store, position + 1, filter,
        [&](const recorded_event& e) {
          position = e.position - 1;  // what the filter passed over before it is done
          handle(e);
          position = e.position;
        },
        batch_size);
    read = r.visited;
    position = std::max(position, r.next_position - 1);
  } catch (...) {
    // The events before the failing one are done: record that, then report the failure.
    if (position != before) save(position, true);
    throw;
  }
  if (position != before) save(position, false);
  return read;
}
}  // namespace detail

// Where a reactor without a saved checkpoint starts. `from_now` (the default) is what side effects
// want: a reactor added today must not email every customer about last year's events.
enum class reactor_start : std::uint8_t { from_now, from_beginning };

struct reactor_options {
  std::size_t batch_size = 256;
  reactor_start start = reactor_start::from_now;
  // Save the checkpoint after every event reacted to (a crash repeats at most one side effect)
  // instead of once per batch (a crash repeats at most one batch's). Costs a write per event.
  bool checkpoint_each_event = false;
  std::chrono::milliseconds stop_check_interval{50};  // see subscription_options
};

// Feeds live events to a reactor, saving the checkpoint after each batch (or each event, see
// reactor_options): delivery is at least once (a crash between a side effect and its checkpoint
// repeats it), so side effects should be idempotent, e.g. keyed by the event id. A throwing handler
// stops the runner with errc::handler_failed; the checkpoint stays before the event and the next
// run retries it.
template <event_store S, class R, checkpoint_store C, class Codec = binary_codec>
class reactor_runner {
  static_assert(detail::check_reactor<R>());

 public:
  reactor_runner(const S& store, R& reactor, C& checkpoint, reactor_options options = {})
      : reactor_(&reactor), store_(&store), checkpoint_(&checkpoint), options_(options) {
    if (options_.batch_size == 0)
      throw error(errc::invalid_argument, "reactor_options::batch_size must be at least 1, not 0");
    if (const auto saved = checkpoint_->load()) {
      position_ = *saved;
    } else {
      position_ = options_.start == reactor_start::from_now ? store_->last_position() : 0;
      checkpoint_->save(position_);
    }
  }

  // Handles at most one batch; returns how many events it read (0: caught up).
  std::size_t step() {
    return detail::react_batch(
        *store_, filter_, position_, options_.batch_size,
        [&](const recorded_event& e) { handle(e); },
        [&](std::uint64_t position, bool) { checkpoint_->save(position); });
  }

  // Handles everything stored up to now; returns how many events it read.
  std::uint64_t catch_up() {
    std::uint64_t total = 0;
    while (const std::size_t n = step()) total += n;
    return total;
  }

  // Catches up, then follows the log live until `stop` is requested.
  void run(std::stop_token stop)
    requires waitable_store<S>
  {
    while (!stop.stop_requested()) {
      if (step() == 0)
        store_->wait_for_append(position_, clock::now() + options_.stop_check_interval);
    }
  }

  std::uint64_t checkpoint() const noexcept { return position_; }

 private:
  void handle(const recorded_event& e) {
    const bool reacted = detail::react_to_record<R, Codec>(*reactor_, e);
    position_ = e.position;
    if (reacted && options_.checkpoint_each_event) checkpoint_->save(position_);
  }

  R* reactor_;
  const S* store_;
  C* checkpoint_;
  reactor_options options_;
  std::uint64_t position_ = 0;
  event_filter filter_ = detail::filter_of<typename R::events, Codec>();
};

}  // namespace annal
