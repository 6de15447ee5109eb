// The process manager kind: handles events from any streams, keeps each instance's state
// event-sourced in a stream of its own, and answers each event with commands for aggregates and
// changes of its state (process_step).
#pragma once

#include <concepts>
#include <cstddef>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include <annal/core/aggregate.hpp>
#include <annal/core/envelope.hpp>
#include <annal/core/event.hpp>
#include <annal/core/event_list.hpp>
#include <annal/projection/projection.hpp>

namespace annal {

// The commands a process manager sends: `using commands = annal::commands<start_transcode, ...>`.
// Plain structs, each taken by one aggregate's `decide` (command_router finds which).
template <class... C>
struct commands {
  static constexpr std::size_t size = sizeof...(C);
};

namespace detail {
template <class L>
struct command_list_traits;
template <class... C>
struct command_list_traits<commands<C...>> {
  // One alternative per command; an empty list still makes a (never used) variant.
  using variant = std::variant<std::monostate, C...>;
  template <class T>
  static constexpr bool contains = (std::is_same_v<T, C> || ...);
};
// The same for deadlines, which are events: an empty list is allowed.
template <class... D>
struct command_list_traits<events<D...>> {
  using variant = std::variant<std::monostate, D...>;
  template <class T>
  static constexpr bool contains = (std::is_same_v<T, D> || ...);
};
template <class M>
concept has_command_list = requires { typename M::commands; } && requires {
  typename command_list_traits<typename M::commands>::variant;
};
// A manager's deadlines: `using deadlines = annal::events<...>`, none when it declares none.
template <class M>
struct deadlines_of {
  using type = events<>;
};
template <class M>
  requires requires { typename M::deadlines; }
struct deadlines_of<M> {
  using type = typename M::deadlines;
};
template <class M>
using deadlines_t = typename deadlines_of<M>::type;

template <class M>
concept has_state_event_list =
    requires { typename M::state_events; } && event_list<typename M::state_events>;
// A list of distinct events with distinct stored names.
template <class L>
concept valid_list = event_list<L> && list_traits<L>::all_events &&
                     list_traits<L>::types_unique() && list_traits<L>::names_unique();
}  // namespace detail

// A command a process manager sends: the stream of the aggregate that takes it, and the command.
template <class M>
struct sent_command {
  std::string stream_id;
  typename detail::command_list_traits<typename M::commands>::variant command;
};

// A deadline a step schedules: the deadline event, delivered to the instance at `due`.
template <class M>
struct scheduled_deadline {
  typename detail::command_list_traits<detail::deadlines_t<M>>::variant deadline;
  time_point due;
};

// What a deadline's handler is told besides the deadline itself.
struct deadline_info {
  std::string instance;
  time_point due;
};

namespace diagnostic {
// Never defined: when one of these appears in an error, its template arguments name the culprit.
template <class ProcessManager, class Type>
struct process_step_records_an_event_its_state_events_list_does_not_name;
template <class ProcessManager, class Command>
struct process_step_sends_a_command_its_commands_list_does_not_name;
template <class ProcessManager, class Deadline>
struct process_step_schedules_a_deadline_its_deadlines_list_does_not_name;
}  // namespace diagnostic

// What a process manager's handler decides for one event: state events to record in the
// instance's stream, commands to send, and whether the instance ends. Built by chaining:
//   return annal::process_step<pipeline>{}.record(attempt_started{1}).send(id, transcode{id});
// Handlers are pure (state and event in, step out): an event delivered again after a crash must
// give the same step, so that its commands, whose ids derive from the event's, are duplicates.
template <class M>
class process_step {
 public:
  using state_event = event_variant_t<typename M::state_events>;

  template <class E>
  process_step& record(E&& e) & {
    add_record(std::forward<E>(e));
    return *this;
  }
  template <class E>
  process_step&& record(E&& e) && {
    add_record(std::forward<E>(e));
    return std::move(*this);
  }

  template <class C>
  process_step& send(std::string stream_id, C&& command) & {
    add_command(std::move(stream_id), std::forward<C>(command));
    return *this;
  }
  template <class C>
  process_step&& send(std::string stream_id, C&& command) && {
    add_command(std::move(stream_id), std::forward<C>(command));
    return std::move(*this);
  }

  // Delivers `deadline` to this instance at `due` (at once when that has passed), unless cancelled
  // first; a deadline of the same type scheduled before is replaced. Its handler is
  // `handle(const Deadline&)` (or with a `const annal::deadline_info&`).
  template <class D>
  process_step& schedule(D&& deadline, time_point due) & {
    add_deadline(std::forward<D>(deadline), due);
    return *this;
  }
  template <class D>
  process_step&& schedule(D&& deadline, time_point due) && {
    add_deadline(std::forward<D>(deadline), due);
    return std::move(*this);
  }
  // Cancels the instance's pending deadline of type D, if any.
  template <class D>
  process_step& cancel() & {
    check_deadline<D>();
    cancelled_.push_back(std::string(event_name_of<D>));
    return *this;
  }
  template <class D>
  process_step&& cancel() && {
    check_deadline<D>();
    cancelled_.push_back(std::string(event_name_of<D>));
    return std::move(*this);
  }

  // The instance ends after this step: later events for it are not handled.
  process_step& end() & {
    ends_ = true;
    return *this;
  }
  process_step&& end() && {
    ends_ = true;
    return std::move(*this);
  }

  const std::vector<state_event>& recorded() const noexcept { return recorded_; }
  const std::vector<sent_command<M>>& sent() const noexcept { return sent_; }
  const std::vector<scheduled_deadline<M>>& scheduled() const noexcept { return scheduled_; }
  // The stored names of the deadline types cancelled.
  const std::vector<std::string>& cancelled() const noexcept { return cancelled_; }
  bool ends() const noexcept { return ends_; }
  bool empty() const noexcept {
    return recorded_.empty() && sent_.empty() && scheduled_.empty() && cancelled_.empty() && !ends_;
  }

  // Appends another step's records, commands and deadlines after this one's (compensation).
  void merge(process_step other) {
    for (auto& r : other.recorded_) recorded_.push_back(std::move(r));
    for (auto& s : other.sent_) sent_.push_back(std::move(s));
    for (auto& c : other.cancelled_) cancelled_.push_back(std::move(c));
    for (auto& d : other.scheduled_) scheduled_.push_back(std::move(d));
    ends_ = ends_ || other.ends_;
  }
  // Appends another step's records, deadlines and ending, but not its commands (sent already).
  void merge_effects(const process_step& other) {
    for (const auto& r : other.recorded_) recorded_.push_back(r);
    for (const auto& c : other.cancelled_) cancelled_.push_back(c);
    for (const auto& d : other.scheduled_) scheduled_.push_back(d);
    ends_ = ends_ || other.ends_;
  }

 private:
  template <class E>
  void add_record(E&& e) {
    using event_type = std::remove_cvref_t<E>;
    if constexpr (!detail::list_traits<typename M::state_events>::template contains<event_type>) {
      // An error here: record(...) takes the manager's own state events only. Add the event to
      // `using state_events = annal::events<...>` (and an apply for it).
      (void)sizeof(diagnostic::process_step_records_an_event_its_state_events_list_does_not_name<
                   M, event_type>);
      static_assert(detail::always_false<M, event_type>,
                    "annal: process_step::record takes an event of the manager's "
                    "`state_events` list; add it there, with an apply(const Event&) for it");
    } else {
      recorded_.emplace_back(std::forward<E>(e));
    }
  }

  template <class C>
  void add_command(std::string stream_id, C&& command) {
    using command_type = std::remove_cvref_t<C>;
    if constexpr (!detail::command_list_traits<typename M::commands>::template contains<
                      command_type>) {
      // An error here: send(...) takes the commands the manager lists. Add the command to
      // `using commands = annal::commands<...>`.
      (void)sizeof(
          diagnostic::process_step_sends_a_command_its_commands_list_does_not_name<M,
                                                                                   command_type>);
      static_assert(detail::always_false<M, command_type>,
                    "annal: process_step::send takes a command of the manager's `commands` list; "
                    "add it to `using commands = annal::commands<...>`");
    } else {
      sent_.push_back(sent_command<M>{std::move(stream_id), std::forward<C>(command)});
    }
  }

  template <class D>
  static constexpr bool check_deadline() {
    if constexpr (!detail::command_list_traits<detail::deadlines_t<M>>::template contains<D>) {
      // An error here: schedule(...) and cancel<...>() take the manager's deadlines only. Add
      // `using deadlines = annal::events<...>` with it, and a handle(const Deadline&) for it.
      (void)sizeof(
          diagnostic::process_step_schedules_a_deadline_its_deadlines_list_does_not_name<M, D>);
      static_assert(detail::always_false<M, D>,
                    "annal: process_step::schedule and cancel take a deadline of the manager's "
                    "`deadlines` list; add it to `using deadlines = annal::events<...>`, with a "
                    "handle(const Deadline&) for it");
      return false;
    } else {
      return true;
    }
  }

  template <class D>
  void add_deadline(D&& deadline, time_point due) {
    if constexpr (check_deadline<std::remove_cvref_t<D>>())
      scheduled_.push_back(scheduled_deadline<M>{std::forward<D>(deadline), due});
  }

  std::vector<state_event> recorded_;
  std::vector<sent_command<M>> sent_;
  std::vector<scheduled_deadline<M>> scheduled_;
  std::vector<std::string> cancelled_;
  bool ends_ = false;
};

// Why a command a process manager sent was not carried out: the aggregate rejected it (a business
// rejection; `reason` is its rejection's text), or its stream is deleted.
struct command_rejected {
  std::string stream_id;
  std::string reason;
  bool stream_deleted = false;
};

// Manager `M` handles event `E`: `process_step<M> handle(const E&, const envelope_header&) const`
// or `handle(const E&) const`.
template <class M, class E>
concept handles_in_process = requires(const M& m, const E& e, const envelope_header& h) {
  { m.handle(e, h) } -> std::convertible_to<process_step<M>>;
} || requires(const M& m, const E& e) {
  { m.handle(e) } -> std::convertible_to<process_step<M>>;
};

// Manager `M` handles its deadline `D`: `process_step<M> handle(const D&) const`, or
// `handle(const D&, const annal::deadline_info&) const`.
template <class M, class D>
concept handles_deadline = requires(const M& m, const D& d, const deadline_info& i) {
  { m.handle(d, i) } -> std::convertible_to<process_step<M>>;
} || requires(const M& m, const D& d) {
  { m.handle(d) } -> std::convertible_to<process_step<M>>;
};

// Manager `M` finds the instance of `E`: `static std::string instance_of(const E&)` or
// `instance_of(const E&, const envelope_header&)`.
template <class M, class E>
concept finds_instance_of = requires(const E& e, const envelope_header& h) {
  { M::instance_of(e, h) } -> std::convertible_to<std::string>;
} || requires(const E& e) {
  { M::instance_of(e) } -> std::convertible_to<std::string>;
};

// Manager `M` applies its state event `E`: `void apply(const E&)`.
template <class M, class E>
concept applies_state_event = requires(M& m, const E& e) { m.apply(e); };

// Manager `M` compensates for a rejected command `C`:
// `process_step<M> rejected(const C&, const command_rejected&) const`.
template <class M, class C>
concept compensates = requires(const M& m, const C& c, const command_rejected& r) {
  { m.rejected(c, r) } -> std::convertible_to<process_step<M>>;
};

namespace detail {
// The unlisted-handler probe of projections and reactors (projection.hpp), for `handle`.
template <class M>
struct handle_probe_host : M {
  using M::handle;
  no_unlisted_handler handle(...) const;
};
struct call_handle {
  template <class T, class... A>
  auto operator()(T& t, A&&... a) const -> decltype(t.handle(std::forward<A>(a)...));
};
template <class L1, class L2>
struct joined_lists;
template <class... A, class... B>
struct joined_lists<events<A...>, events<B...>> {
  using type = events<A..., B...>;
};
// A `handle` for a type that is neither a listed event nor a deadline (see has_unlisted_handler).
template <class M>
constexpr bool has_unlisted_handle() {
  using host = handle_probe_host<M>;
  if constexpr (std::is_final_v<M> ||
                callable_with<M, call_handle, const convertible_to_nothing&> ||
                callable_with<M, call_handle, const convertible_to_nothing&,
                              const envelope_header&>) {
    return false;
  } else {
    using probe =
        unlisted_event_probe<typename joined_lists<typename M::events, deadlines_t<M>>::type>;
    return probe_finds_handler<host, call_handle, probe>() ||
           probe_finds_handler<host, call_handle, probe, const envelope_header&>() ||
           probe_finds_handler<host, call_handle, probe, const deadline_info&>();
  }
}

template <class M, class L>
inline constexpr bool process_handles_all_v = false;
template <class M, class... E>
inline constexpr bool process_handles_all_v<M, events<E...>> =
    ((handles_in_process<M, E> && finds_instance_of<M, E>)&&...);
template <class M, class L>
inline constexpr bool handles_deadlines_v = false;
template <class M, class... D>
inline constexpr bool handles_deadlines_v<M, events<D...>> = (handles_deadline<M, D> && ...);
template <class M, class L>
inline constexpr bool applies_all_v = false;
template <class M, class... E>
inline constexpr bool applies_all_v<M, events<E...>> = (applies_state_event<M, E> && ...);
}  // namespace detail

// A process manager: a default-constructible state type with
//   static constexpr std::string_view name      its instances' streams are "<name>-<instance>";
//   using events = annal::events<...>           what it handles, from any streams;
//   using starts_with = annal::events<...>      which of them start an instance;
//   using state_events = annal::events<...>     its own events, applied to its state;
//   using commands = annal::commands<...>       what it sends;
// a `handle` and an `instance_of` for each event, and an `apply` for each state event.
template <class M>
concept process_manager =
    std::is_object_v<M> && std::default_initializable<M> && std::movable<M> &&
    requires {
      { M::name } -> std::convertible_to<std::string_view>;
    } && detail::has_event_list<M> && detail::valid_list<typename M::events> &&
    requires { typename M::starts_with; } && event_list<typename M::starts_with> &&
    detail::has_state_event_list<M> && detail::valid_list<typename M::state_events> &&
    detail::has_command_list<M> && detail::process_handles_all_v<M, typename M::events> &&
    detail::applies_all_v<M, typename M::state_events> &&
    detail::valid_list<detail::deadlines_t<M>> &&
    detail::handles_deadlines_v<M, detail::deadlines_t<M>> && !detail::has_unlisted_handle<M>();

namespace diagnostic {
template <class ProcessManager>
struct process_manager_declares_no_name;
template <class ProcessManager>
struct process_manager_declares_no_events_list;
template <class ProcessManager>
struct process_manager_declares_no_starts_with_list;
template <class ProcessManager, class Event>
struct process_manager_starts_with_an_event_its_events_list_does_not_name;
template <class ProcessManager>
struct process_manager_declares_no_state_events_list;
template <class ProcessManager>
struct process_manager_declares_no_commands_list;
template <class ProcessManager, class Event>
struct process_manager_has_no_handle_for_event;
template <class ProcessManager, class Event>
struct process_manager_cannot_find_the_instance_of_event;
template <class ProcessManager, class StateEvent>
struct process_manager_has_no_apply_for_state_event;
template <class ProcessManager>
struct process_manager_is_not_default_constructible_and_movable;
template <class ProcessManager, class Deadline>
struct process_manager_has_no_handle_for_deadline;
template <class ProcessManager>
struct process_manager_lists_a_deadline_twice_or_one_that_is_not_an_event;
}  // namespace diagnostic

namespace detail {
template <class M, class E>
constexpr bool check_process_event() {
  if constexpr (!handles_in_process<M, E>) {
    // An error here: the manager lists this event but has no handler for it. Write
    //   annal::process_step<Manager> handle(const Event&, const annal::envelope_header&) const
    (void)sizeof(diagnostic::process_manager_has_no_handle_for_event<M, E>);
    static_assert(always_false<M, E>,
                  "annal: the process manager has no handler for an event in its `events` list; "
                  "write `annal::process_step<Manager> handle(const Event&, const "
                  "annal::envelope_header&) const` or `handle(const Event&) const`");
    return false;
  } else if constexpr (!finds_instance_of<M, E>) {
    // An error here: nothing says which instance an event belongs to. Write
    //   static std::string instance_of(const Event&)   (e.g. the video id it carries)
    (void)sizeof(diagnostic::process_manager_cannot_find_the_instance_of_event<M, E>);
    static_assert(always_false<M, E>,
                  "annal: the process manager cannot find the instance an event in its `events` "
                  "list belongs to; write `static std::string instance_of(const Event&)` (or with "
                  "a second `const annal::envelope_header&` parameter)");
    return false;
  } else {
    return true;
  }
}

template <class M, class E>
constexpr bool check_process_start() {
  if constexpr (!list_traits<typename M::events>::template contains<E>) {
    (void)sizeof(
        diagnostic::process_manager_starts_with_an_event_its_events_list_does_not_name<M, E>);
    static_assert(always_false<M, E>,
                  "annal: `starts_with` names an event the process manager's `events` list does "
                  "not; every starting event must also be listed (and handled)");
    return false;
  } else {
    return true;
  }
}

template <class M, class E>
constexpr bool check_state_event() {
  if constexpr (!event<E>) {
    return true;  // valid_state_events reports it
  } else if constexpr (!applies_state_event<M, E>) {
    // An error here: write `void apply(const StateEvent&)` on the manager.
    (void)sizeof(diagnostic::process_manager_has_no_apply_for_state_event<M, E>);
    static_assert(always_false<M, E>,
                  "annal: the process manager has no apply for an event of its `state_events` "
                  "list; write a member `void apply(const StateEvent&)`");
    return false;
  } else {
    return true;
  }
}

template <class M, class D>
constexpr bool check_deadline_handler() {
  if constexpr (!handles_deadline<M, D>) {
    // An error here: write `annal::process_step<Manager> handle(const Deadline&) const`.
    (void)sizeof(diagnostic::process_manager_has_no_handle_for_deadline<M, D>);
    static_assert(always_false<M, D>,
                  "annal: the process manager has no handler for a deadline in its `deadlines` "
                  "list; write `annal::process_step<Manager> handle(const Deadline&) const` (or "
                  "with a second `const annal::deadline_info&` parameter)");
    return false;
  } else {
    return true;
  }
}
template <class M, class L>
struct check_deadline_handlers;
template <class M, class... D>
struct check_deadline_handlers<M, events<D...>> {
  static constexpr bool value = (check_deadline_handler<M, D>() && ...);
};

template <class M, class L>
struct check_process_lists;
template <class M, class... E>
struct check_process_lists<M, events<E...>> {
  static constexpr bool handlers = (check_process_event<M, E>() && ...);
};
template <class M, class L>
struct check_starts;
template <class M, class... E>
struct check_starts<M, events<E...>> {
  static constexpr bool value = (check_process_start<M, E>() && ...);
};
template <class M, class L>
struct check_applies;
template <class M, class... E>
struct check_applies<M, events<E...>> {
  static constexpr bool value = (check_state_event<M, E>() && ...);
};

template <class M>
constexpr bool check_process_manager() {
  if constexpr (!requires {
                  { M::name } -> std::convertible_to<std::string_view>;
                }) {
    (void)sizeof(diagnostic::process_manager_declares_no_name<M>);
    static_assert(always_false<M>,
                  "annal: a process manager must name itself (its instances' streams are "
                  "\"<name>-<instance>\"): add `static constexpr std::string_view name = "
                  "\"video-pipeline\";`");
    return false;
  } else if constexpr (!has_event_list<M> || !valid_list<typename M::events>) {
    (void)sizeof(diagnostic::process_manager_declares_no_events_list<M>);
    static_assert(always_false<M>,
                  "annal: a process manager must declare the events it handles: add `using events "
                  "= annal::events<your_event, ...>;` (events declared with ANNAL_EVENT, each "
                  "once)");
    return false;
  } else if constexpr (!requires { typename M::starts_with; } ||
                       !event_list<typename M::starts_with>) {
    (void)sizeof(diagnostic::process_manager_declares_no_starts_with_list<M>);
    static_assert(always_false<M>,
                  "annal: a process manager must say which events start an instance: add `using "
                  "starts_with = annal::events<...>;` (events of its `events` list)");
    return false;
  } else if constexpr (!has_state_event_list<M> || !valid_list<typename M::state_events>) {
    (void)sizeof(diagnostic::process_manager_declares_no_state_events_list<M>);
    static_assert(always_false<M>,
                  "annal: a process manager must declare the events of its own state: add `using "
                  "state_events = annal::events<...>;` (events declared with ANNAL_EVENT, each "
                  "once)");
    return false;
  } else if constexpr (!has_command_list<M>) {
    (void)sizeof(diagnostic::process_manager_declares_no_commands_list<M>);
    static_assert(always_false<M>,
                  "annal: a process manager must declare the commands it sends: add `using "
                  "commands = annal::commands<...>;` (annal::commands<> for none)");
    return false;
  } else if constexpr (!std::default_initializable<M> || !std::movable<M>) {
    (void)sizeof(diagnostic::process_manager_is_not_default_constructible_and_movable<M>);
    static_assert(always_false<M>,
                  "annal: a process manager's state must be default-constructible and movable: "
                  "each instance starts from `Manager{}`");
    return false;
  } else if constexpr (!valid_list<deadlines_t<M>>) {
    (void)sizeof(diagnostic::process_manager_lists_a_deadline_twice_or_one_that_is_not_an_event<M>);
    static_assert(always_false<M>,
                  "annal: a process manager's `deadlines` are events (declared with ANNAL_EVENT, "
                  "so that they can be stored), each listed once");
    return false;
  } else if constexpr (!check_deadline_handlers<M, deadlines_t<M>>::value) {
    return false;
  } else if constexpr (!check_process_lists<M, typename M::events>::handlers ||
                       !check_starts<M, typename M::starts_with>::value ||
                       !check_applies<M, typename M::state_events>::value) {
    return false;
  } else if constexpr (has_unlisted_handle<M>()) {
    // An error here: a `handle` of this manager takes an event its `events` list does not name;
    // the runner delivers listed events only, so it would never be called. List the event.
    (void)sizeof(diagnostic::has_a_handler_for_an_event_its_events_list_does_not_name<M>);
    static_assert(always_false<M>,
                  "annal: the process manager has a `handle` for an event that its `events` list "
                  "does not name, so it would never be called; add the event to `using events = "
                  "annal::events<...>`");
    return false;
  } else {
    return true;
  }
}

// Calls the manager's handler for a deadline.
template <class M, class D>
process_step<M> handle_deadline(const M& m, const D& d, const deadline_info& i) {
  if constexpr (requires { m.handle(d, i); })
    return m.handle(d, i);
  else
    return m.handle(d);
}

// Calls the manager's handler for one event.
template <class M, class E>
process_step<M> handle_in_process(const M& m, const E& e, const envelope_header& h) {
  if constexpr (requires { m.handle(e, h); })
    return m.handle(e, h);
  else
    return m.handle(e);
}

template <class M, class E>
std::string instance_of_event(const E& e, const envelope_header& h) {
  if constexpr (requires { M::instance_of(e, h); })
    return std::string(M::instance_of(e, h));
  else
    return std::string(M::instance_of(e));
}
}  // namespace detail

// True for a valid process manager; for an invalid one, stops compilation with a sentence saying
// what to write. Every process manager entry point asserts it.
template <class M>
constexpr bool check_process_manager() {
  return detail::check_process_manager<M>();
}

}  // namespace annal
