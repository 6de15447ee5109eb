// The given/when/then fixture for process managers: given an instance's state events, when an event
// (or a deadline falling due), then these commands, state events, deadlines and ending.
#pragma once

#include <cstddef>
#include <optional>
#include <sstream>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include <annal/process/process_manager.hpp>
#include <annal/testing/equal.hpp>
#include <annal/testing/given_when_then.hpp>
#include <annal/testing/print.hpp>

namespace annal::testing {

// One command a test expects a step to send: `annal::testing::command("job-7", dispatch{7})`.
template <class C>
struct expected_command {
  std::string stream_id;
  C command;
};
template <class C>
expected_command<std::remove_cvref_t<C>> command(std::string stream_id, C&& c) {
  return {std::move(stream_id), std::forward<C>(c)};
}

namespace diagnostic {
template <class ProcessManager, class Type>
struct expected_type_is_not_in_the_process_managers_lists;
}  // namespace diagnostic

namespace detail {
template <class M, class List, class T>
constexpr bool check_listed() {
  if constexpr (annal::detail::command_list_traits<List>::template contains<T>) {
    return true;
  } else {
    // An error here: the expectation names a type the manager does not list there (its
    // state_events for given/then_records, commands for then_sends, deadlines for when_deadline
    // and then_schedules), so no step of it can hold one.
    (void)sizeof(diagnostic::expected_type_is_not_in_the_process_managers_lists<M, T>);
    static_assert(annal::detail::always_false<M, T>,
                  "annal::testing: an expected type is not in the process manager's list for it "
                  "(state_events, commands or deadlines)");
    return false;
  }
}

template <class V>
inline constexpr bool is_sent_command_v = false;
template <class M>
inline constexpr bool is_sent_command_v<sent_command<M>> = true;

// A command with its stream as `stream <- command`; anything else as print() shows it.
template <class V>
void print_item(std::ostringstream& os, const V& item) {
  if constexpr (is_sent_command_v<V>) {
    os << item.stream_id << " <- ";
    print(os, item.command);
  } else {
    print(os, item);
  }
}
template <class V>
bool same_item(const V& a, const V& b) {
  if constexpr (is_sent_command_v<V>)
    return a.stream_id == b.stream_id && equal(a.command, b.command);
  else
    return equal(a, b);
}

template <class V>
void print_all(std::ostringstream& os, const std::vector<V>& items) {
  os << '[';
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (i) os << ", ";
    print_item(os, items[i]);
  }
  os << ']';
}
}  // namespace detail

// What a process manager did with one event: the `then` half of a process_scenario.
template <class M>
class process_outcome {
 public:
  process_outcome(M before, std::optional<process_step<M>> step, site where)
      : before_(std::move(before)), step_(std::move(step)), where_(where) {}

  // False when the event did not reach the instance (not started by it, or ended).
  bool handled() const noexcept { return step_.has_value(); }
  const process_step<M>& step() const { return step_.value(); }

  // The instance's state after the step's state events.
  M state() const {
    M out = before_;
    if (step_)
      for (const auto& r : step_->recorded()) std::visit([&](const auto& e) { out.apply(e); }, r);
    return out;
  }

  // Exactly these commands, in this order, each to its stream.
  template <class... C>
  const process_outcome& then_sends(const expected_command<C>&... expected) const {
    static_assert((detail::check_listed<M, typename M::commands, C>() && ...));
    std::vector<sent_command<M>> want{sent_command<M>{expected.stream_id, expected.command}...};
    report(compare("sends", "send", want, step_ ? step_->sent() : std::vector<sent_command<M>>{}),
           where_);
    return *this;
  }

  // Exactly these state events, in this order.
  template <class... E>
  const process_outcome& then_records(const E&... expected) const {
    static_assert((detail::check_listed<M, typename M::state_events, E>() && ...));
    using state_event = typename process_step<M>::state_event;
    std::vector<state_event> want{state_event(expected)...};
    report(
        compare("records", "record", want, step_ ? step_->recorded() : std::vector<state_event>{}),
        where_);
    return *this;
  }

  // Schedules this deadline (any due time, or exactly `due`).
  template <class D>
  const process_outcome& then_schedules(const D& deadline,
                                        std::optional<time_point> due = std::nullopt) const {
    static_assert(detail::check_listed<M, annal::detail::deadlines_t<M>, D>());
    std::ostringstream os;
    bool found = false;
    if (step_)
      for (const auto& s : step_->scheduled())
        if (const D* d = std::get_if<D>(&s.deadline))
          found = found || (equal(*d, deadline) && (!due || s.due == *due));
    os << (found ? "schedules " : "expected the step to schedule ");
    print(os, deadline);
    if (!found) describe_step(os);
    report({found, os.str()}, where_);
    return *this;
  }

  // Cancels the pending deadline of type D.
  template <class D>
  const process_outcome& then_cancels() const {
    static_assert(detail::check_listed<M, annal::detail::deadlines_t<M>, D>());
    bool found = false;
    if (step_)
      for (const auto& name : step_->cancelled()) found = found || name == event_name_of<D>;
    std::ostringstream os;
    os << (found ? "cancels " : "expected the step to cancel ") << event_name_of<D>;
    if (!found) describe_step(os);
    report({found, os.str()}, where_);
    return *this;
  }

  const process_outcome& then_ends() const {
    const bool ends = step_ && step_->ends();
    std::ostringstream os;
    os << (ends ? "ends the instance" : "expected the step to end the instance");
    if (!ends) describe_step(os);
    report({ends, os.str()}, where_);
    return *this;
  }

  // The event reached the instance, and its step holds nothing.
  const process_outcome& then_nothing() const {
    const bool nothing = step_ && step_->empty();
    std::ostringstream os;
    os << (nothing ? "does nothing" : "expected a step that does nothing");
    if (!nothing) describe_step(os);
    report({nothing, os.str()}, where_);
    return *this;
  }

  // The event did not reach the instance: it is not started by such an event, or it ended.
  const process_outcome& then_not_handled() const {
    std::ostringstream os;
    os << (step_ ? "expected the event not to reach the instance" : "not handled");
    if (step_) describe_step(os);
    report({!step_, os.str()}, where_);
    return *this;
  }

  // Calls check(state()): a check returning bool is one assertion; a void one asserts itself.
  template <class F>
    requires std::invocable<F&, const M&>
  const process_outcome& then_state(F check) const {
    const M after = state();
    if constexpr (std::is_same_v<std::invoke_result_t<F&, const M&>, void>)
      check(after);
    else
      report(check_state(after, check), where_);
    return *this;
  }

 private:
  void describe_step(std::ostringstream& os) const {
    if (!step_) {
      os << "; the event did not reach the instance";
      return;
    }
    os << "; the step records ";
    detail::print_all(os, step_->recorded());
    os << ", sends ";
    detail::print_all(os, step_->sent());
    os << (step_->ends() ? ", and ends it" : "");
  }

  // `what`: the verb in the third person ("sends"); `verb`: in the infinitive ("send").
  template <class V>
  static verdict compare(const char* what, const char* verb, const std::vector<V>& want,
                         const std::vector<V>& got) {
    bool same = want.size() == got.size();
    for (std::size_t i = 0; same && i < want.size(); ++i) same = detail::same_item(want[i], got[i]);
    std::ostringstream os;
    if (same) {
      os << "as expected, " << what << ' ';
      detail::print_all(os, got);
    } else {
      os << "expected the step to " << verb << ' ';
      detail::print_all(os, want);
      os << "\nit " << what << ' ';
      detail::print_all(os, got);
    }
    return {same, os.str()};
  }

  M before_;
  std::optional<process_step<M>> step_;
  site where_;
};

// process_scenario<M>().given(state events...).when(event).then_sends(...): a manager's handler
// tested without a store; when_deadline(...) for a deadline, when_rejected(...) for a compensation.
// given() starts the instance (with no arguments too); without it, only an event of `starts_with`
// reaches the instance, as under the runner.
template <class M>
class process_scenario {
  static_assert(check_process_manager<M>());

 public:
  template <class... E>
  process_scenario& given(const E&... events) & {
    static_assert((detail::check_listed<M, typename M::state_events, E>() && ...));
    started_ = true;
    (state_.apply(events), ...);
    return *this;
  }
  template <class... E>
  process_scenario given(const E&... events) && {
    given(events...);
    return std::move(*this);
  }
  // The instance ended: no event reaches it any more.
  process_scenario& given_ended() & {
    started_ = ended_ = true;
    return *this;
  }
  process_scenario given_ended() && {
    given_ended();
    return std::move(*this);
  }

  // An event, with an envelope (stream "stream-1" unless `header` says otherwise).
  template <class E>
  process_outcome<M> when(const E& event, envelope_header header = default_header(),
                          const char* file = __builtin_FILE(),
                          std::size_t line = __builtin_LINE()) const {
    static_assert(annal::detail::list_traits<typename M::events>::template contains<E>,
                  "annal::testing: when(...) takes an event of the manager's `events` list");
    std::optional<process_step<M>> step;
    const bool starts = annal::detail::list_traits<typename M::starts_with>::template contains<E>;
    if (!ended_ && (started_ || starts))
      step = annal::detail::handle_in_process(state_, event, header);
    return process_outcome<M>(state_, std::move(step), site{file, line});
  }

  // A deadline falling due for instance `instance`.
  template <class D>
  process_outcome<M> when_deadline(const D& deadline, deadline_info info = {"instance-1", {}},
                                   const char* file = __builtin_FILE(),
                                   std::size_t line = __builtin_LINE()) const {
    static_assert(detail::check_listed<M, annal::detail::deadlines_t<M>, D>());
    std::optional<process_step<M>> step;
    if (started_ && !ended_) step = annal::detail::handle_deadline(state_, deadline, info);
    return process_outcome<M>(state_, std::move(step), site{file, line});
  }

  // A command the manager sent refused: its `rejected` (the compensation) runs on the state.
  template <class C>
  process_outcome<M> when_rejected(const C& command, command_rejected why,
                                   const char* file = __builtin_FILE(),
                                   std::size_t line = __builtin_LINE()) const {
    static_assert(detail::check_listed<M, typename M::commands, C>());
    static_assert(compensates<M, C>,
                  "annal::testing: when_rejected(...) takes a command the manager has a "
                  "`rejected(const Command&, const annal::command_rejected&)` for");
    std::optional<process_step<M>> step;
    if (started_ && !ended_) step = state_.rejected(command, why);
    return process_outcome<M>(state_, std::move(step), site{file, line});
  }

  const M& state() const noexcept { return state_; }

 private:
  static envelope_header default_header() {
    envelope_header h;
    h.stream_id = "stream-1";
    h.stream_version = 1;
    h.position = 1;
    return h;
  }

  M state_{};
  bool started_ = false;
  bool ended_ = false;
};

}  // namespace annal::testing
