// Runs a process manager over the log: each event it lists goes to its instance, whose state is
// folded from the instance's own stream; the step's commands are sent through a command_router,
// then its state events appended to that stream, then the checkpoint saved.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <span>
#include <stop_token>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include <boost/hana/define_struct.hpp>
#include <boost/uuid/name_generator_sha1.hpp>

#include <annal/codec/binary.hpp>
#include <annal/codec/decode.hpp>
#include <annal/core/detail/chrono.hpp>
#include <annal/core/error.hpp>
#include <annal/core/record.hpp>
#include <annal/process/command_router.hpp>
#include <annal/process/process_manager.hpp>
#include <annal/projection/projection.hpp>
#include <annal/store/checkpoint.hpp>
#include <annal/store/event_store.hpp>
#include <annal/store/filter.hpp>
#include <annal/store/subscription.hpp>

namespace annal {

// The markers a runner writes in an instance's stream besides the manager's state events.
inline constexpr std::string_view process_started_type = "annal.process_started";
inline constexpr std::string_view process_ended_type = "annal.process_ended";
// The metadata key of the position of the event whose step appended an instance's events: an
// event at or below it was handled for that instance already.
inline constexpr std::string_view process_trigger_key = "annal.trigger";
// Deadlines: scheduled (the deadline event as payload, its type and due time in metadata),
// cancelled, being delivered (appended before its commands go out), and delivered.
inline constexpr std::string_view deadline_scheduled_type = "annal.deadline_scheduled";
inline constexpr std::string_view deadline_cancelled_type = "annal.deadline_cancelled";
inline constexpr std::string_view deadline_delivering_type = "annal.deadline_delivering";
inline constexpr std::string_view deadline_fired_type = "annal.deadline_fired";

// Where a manager without a saved checkpoint starts. `from_now` (the default), as for reactors: a
// manager deployed today does not act on last year's events.
enum class process_start : std::uint8_t { from_now, from_beginning };

struct process_options {
  std::size_t batch_size = 256;  // events read at once, and between checkpoint saves
  process_start start = process_start::from_now;
  std::chrono::milliseconds stop_check_interval{50};  // see subscription_options
  // How many rejections in a row (a compensating command rejected in turn) one event may meet.
  std::size_t max_compensations = 8;
  // The time deadlines are measured against; tests give their own, so that nothing sleeps. Empty:
  // annal::clock::now.
  std::function<time_point()> now;
};

// A deadline an instance is waiting for.
struct pending_deadline {
  time_point due;
  recorded_event scheduled;  // the marker that scheduled it (its id names the deadline)
};

// One instance as its stream holds it.
template <class M>
struct process_instance {
  M state{};
  std::uint64_t version = 0;  // its stream's version; 0: never started
  bool ended = false;
  std::uint64_t last_trigger = 0;  // the position of the last event handled for it
  // Its pending deadlines, by the deadline event's stored name.
  std::map<std::string, pending_deadline, std::less<>> deadlines;
  // A pending deadline whose delivery began and was not recorded as done (a crash in between):
  // the runner finishes it before anything else reaches the instance.
  std::optional<std::string> delivering;

  bool started() const noexcept { return version != 0; }
};

namespace diagnostic {
template <class ProcessManager, class Command>
struct no_repository_of_the_router_takes_command;
}

namespace detail {
template <class M, class Router, class L>
struct check_routes_of;
template <class M, class Router, class... C>
struct check_routes_of<M, Router, commands<C...>> {
  template <class Cmd>
  static constexpr bool one() {
    if constexpr (!Router::template takes<Cmd>) {
      // An error here: the manager lists a command that none of the router's repositories takes
      // (no aggregate has a `decide` for it). Give the router that aggregate's repository.
      (void)sizeof(diagnostic::no_repository_of_the_router_takes_command<M, Cmd>);
      static_assert(always_false<M, Cmd>,
                    "annal: a command in the process manager's `commands` list is taken by no "
                    "repository of the command_router; pass the repository of the aggregate "
                    "whose decide(const Aggregate&, const Command&) takes it");
      return false;
    } else {
      return true;
    }
  }
  static constexpr bool value = (one<C>() && ...);
};

// The ids a manager's step gives what it writes: the same every time the same event is handled,
// and different for each manager, each kind and each index.
template <class = void>
event_id process_derived_id(const event_id& trigger, std::string_view manager,
                            std::string_view kind, std::size_t index) {
  boost::uuids::name_generator_sha1 generate(trigger);
  return generate("annal.process/" + std::string(manager) + "/" + std::string(kind) + "/" +
                  std::to_string(index));
}
}  // namespace detail

// Delivery is at least once; the effect is once. Each command a step sends has an id derived from
// the triggering event's (or deadline's), so a repository stores a repeat as a duplicate; a step's
// state events carry that event's position (or the deadline's delivery), so an instance does not
// handle it twice; the checkpoint is saved after each batch. A crash anywhere repeats at most the
// last batch and the deadlines due, to no effect.
// Deadlines are delivered in time order with the log's events: one due before an event was
// recorded is delivered before that event is handled, and the rest once the runner has caught up.
// One runner per manager at a time: a second one's appends to an instance stream conflict, and it
// stops.
template <class M, event_store S, checkpoint_store C, class Router, class Codec = binary_codec>
class process_runner {
  static_assert(check_process_manager<M>());
  static_assert(detail::check_routes_of<M, Router, typename M::commands>::value);

 public:
  // With deadlines, the constructor reads the log up to the checkpoint once, to find those pending.
  process_runner(S& store, Router& router, C& checkpoint, process_options options = {})
      : store_(&store), router_(&router), checkpoint_(&checkpoint), options_(std::move(options)) {
    if (options_.batch_size == 0)
      throw error(errc::invalid_argument, "process_options::batch_size must be at least 1, not 0");
    if (const auto saved = checkpoint_->load()) {
      position_ = *saved;
    } else {
      position_ = options_.start == process_start::from_now ? store_->last_position() : 0;
      checkpoint_->save(position_);
    }
    if constexpr (has_deadlines) {
      // Only this manager's scheduled deadlines: the store passes over everything else.
      const event_filter scheduled{.types = {std::string(deadline_scheduled_type)},
                                   .stream_prefixes = {std::string(M::name) + "-"}};
      read_filtered(*store_, 1, scheduled, [&](const recorded_event& e) {
        if (e.position > position_) return false;
        index_deadline(e);
        return true;
      });
    }
  }

  // The stream that holds an instance's state.
  static std::string stream_of(std::string_view instance) {
    return std::string(M::name) + "-" + std::string(instance);
  }

  // Handles at most one batch, and the deadlines due; returns how many events it read (0: caught
  // up). A failure stops it before the failing event, with the events before it done and
  // checkpointed.
  std::size_t step() {
    batch_.clear();
    // The store hands out only the events the manager handles and the deadlines it schedules.
    const read_progress read = read_filtered(
        *store_, position_ + 1, filter_, [&](const recorded_event& e) { batch_.push_back(e); },
        options_.batch_size);
    const std::uint64_t before = position_;
    try {
      for (const recorded_event& e : batch_) {
        if constexpr (has_deadlines) fire_due_before(e.recorded_at);
        position_ = e.position - 1;  // what the filter passed over before it is done
        handle(e);
        if constexpr (has_deadlines) index_deadline(e);
      }
      position_ = std::max(position_, read.next_position - 1);
      if constexpr (has_deadlines)
        if (batch_.size() < options_.batch_size) fire_due_before(time_point::max());
    } catch (...) {
      if (position_ != before) checkpoint_->save(position_);
      throw;
    }
    if (position_ != before) checkpoint_->save(position_);
    return batch_.size();
  }

  std::uint64_t catch_up() {
    std::uint64_t total = 0;
    while (const std::size_t n = step()) total += n;
    return total;
  }

  // Catches up, then follows the log live until `stop` is requested, delivering deadlines as they
  // fall due (looked at every stop_check_interval).
  void run(std::stop_token stop)
    requires waitable_store<S>
  {
    while (!stop.stop_requested()) {
      if (step() == 0)
        store_->wait_for_append(position_, clock::now() + options_.stop_check_interval);
    }
  }

  std::uint64_t checkpoint() const noexcept { return position_; }
  // How many deadlines the runner holds in its time index (some may have been cancelled since).
  std::size_t deadlines_indexed() const noexcept { return index_.size(); }

  // An instance's state, folded from its stream. Reading sends nothing: a manager's state is
  // rebuilt from its own events, never by handling the events that caused them again.
  process_instance<M> load(std::string_view instance) const {
    process_instance<M> out;
    // The pending deadline a delivery marker names, if that schedule is still the pending one.
    const auto pending_of = [&](const recorded_event& marker) {
      const auto it = out.deadlines.find(deadline_name(marker));
      return it != out.deadlines.end() &&
                     meta_of(marker, "annal.schedule") == detail::id_text(it->second.scheduled.id)
                 ? it
                 : out.deadlines.end();
    };
    store_->read_stream(stream_of(instance), 1, [&](const recorded_event& e) {
      out.version = e.stream_version;
      if (const auto t = e.meta.find(process_trigger_key); t != e.meta.end())
        out.last_trigger = std::max<std::uint64_t>(out.last_trigger, std::stoull(t->second));
      if (e.type == process_ended_type) {
        out.ended = true;
      } else if (e.type == deadline_scheduled_type) {
        out.deadlines[deadline_name(e)] = pending_deadline{due_of(e), e};
      } else if (e.type == deadline_cancelled_type) {
        out.deadlines.erase(deadline_name(e));
      } else if (e.type == deadline_delivering_type) {
        if (const auto it = pending_of(e); it != out.deadlines.end()) out.delivering = it->first;
      } else if (e.type == deadline_fired_type) {
        if (const auto it = pending_of(e); it != out.deadlines.end()) {
          if (out.delivering == it->first) out.delivering.reset();
          out.deadlines.erase(it);
        }
      } else if (e.type != process_started_type) {
        detail::decode_record<typename M::state_events, Codec>(
            e, unknown_event_policy::error, [&](const auto& ev) { out.state.apply(ev); });
      }
    });
    return out;
  }

 private:
  using deadline_list = detail::deadlines_t<M>;
  static constexpr bool has_deadlines = deadline_list::size != 0;

  template <class E>
  static constexpr bool starts = detail::list_traits<typename M::starts_with>::template contains<E>;

  // The markers are events, encoded with the runner's codec like the manager's own, so that every
  // store takes them (a JSON codec's store wants a JSON object, not an empty payload); what the
  // runner reads back is in their metadata. Members of this template, so that a program pays for
  // their reflection only where it runs a manager.
  struct process_started {
    static constexpr std::string_view event_name = process_started_type;
    static constexpr std::uint32_t event_version = 1;
    BOOST_HANA_DEFINE_STRUCT(process_started, (std::string, manager));
  };
  struct process_ended {
    static constexpr std::string_view event_name = process_ended_type;
    static constexpr std::uint32_t event_version = 1;
    BOOST_HANA_DEFINE_STRUCT(process_ended, (std::string, manager));
  };
  struct deadline_cancelled {
    static constexpr std::string_view event_name = deadline_cancelled_type;
    static constexpr std::uint32_t event_version = 1;
    BOOST_HANA_DEFINE_STRUCT(deadline_cancelled, (std::string, deadline));
  };
  struct deadline_delivering {
    static constexpr std::string_view event_name = deadline_delivering_type;
    static constexpr std::uint32_t event_version = 1;
    BOOST_HANA_DEFINE_STRUCT(deadline_delivering, (std::string, deadline), (std::string, schedule));
  };
  struct deadline_fired {
    static constexpr std::string_view event_name = deadline_fired_type;
    static constexpr std::uint32_t event_version = 1;
    BOOST_HANA_DEFINE_STRUCT(deadline_fired, (std::string, deadline), (std::string, schedule));
  };

  // What caused a step: a log event, or a deadline's delivery (its scheduling marker).
  struct cause {
    const recorded_event* event;
    std::uint64_t trigger_position;  // 0 for a deadline
    std::string what;                // for errors
    event_id correlation() const {
      return event->correlation_id.is_nil() ? event->id : event->correlation_id;
    }
  };

  static std::string meta_of(const recorded_event& e, std::string_view key) {
    const auto it = e.meta.find(key);
    return it == e.meta.end() ? std::string() : it->second;
  }
  static std::string deadline_name(const recorded_event& e) { return meta_of(e, "annal.deadline"); }
  static time_point due_of(const recorded_event& e) {
    return time_point(std::chrono::duration_cast<time_point::duration>(
        std::chrono::nanoseconds(std::stoll(meta_of(e, "annal.due")))));
  }

  struct deadline_key {
    std::string instance;
    std::string name;
    event_id scheduled;
  };

  // A deadline scheduled in one of this manager's instance streams joins the time index.
  void index_deadline(const recorded_event& e) {
    if (e.type != deadline_scheduled_type) return;
    const std::string prefix = std::string(M::name) + "-";
    if (!e.stream_id.starts_with(prefix)) return;
    index_.emplace(due_of(e),
                   deadline_key{e.stream_id.substr(prefix.size()), deadline_name(e), e.id});
  }

  // Delivers every deadline due before `limit` and by now, in time order.
  void fire_due_before(time_point limit) {
    while (!index_.empty()) {
      const auto first = index_.begin();
      if (first->first >= limit || first->first > (options_.now ? options_.now() : clock::now()))
        return;
      const deadline_key key = first->second;
      fire(key);
      index_.erase(first);  // only once delivered: a failure leaves it for the next step
    }
  }

  void fire(const deadline_key& key) {
    process_instance<M> current = load_settled(key.instance);
    if (current.ended) return;
    const auto it = current.deadlines.find(key.name);
    if (it == current.deadlines.end() || it->second.scheduled.id != key.scheduled)
      return;  // cancelled, replaced, or delivered before a crash
    deliver(key.instance, current, key.name);
  }

  // The instance, with a delivery a crash interrupted finished first. Whether a deadline goes
  // before an event recorded at about its time depends on when the runner looked (it fires one
  // due by now once caught up); a run after a crash might decide the other way, after the first
  // had sent the deadline's commands. So a delivery is announced in the instance's stream before
  // its commands go out, and an announced one is completed before anything else is handled.
  process_instance<M> load_settled(const std::string& instance) {
    process_instance<M> current = load(instance);
    if (!current.delivering) return current;
    deliver(instance, current, *current.delivering);
    return load(instance);
  }

  // Delivers the pending deadline `name` of an instance: announces it (unless a crashed run did),
  // sends the handler's commands, then appends its state events with the delivery's marker.
  void deliver(const std::string& instance, process_instance<M>& current, const std::string& name) {
    // Appends move only the instance's version: its deadlines, and this reference, stay.
    const pending_deadline& pending = current.deadlines.find(name)->second;
    const recorded_event& scheduled = pending.scheduled;
    if (current.delivering != name) {
      event_data announced = deadline_marker<deadline_delivering>(scheduled);
      announced.id = detail::process_derived_id(scheduled.id, M::name, "delivering", 0);
      announced.causation_id = scheduled.id;
      append_instance(instance, current, std::span<const event_data>(&announced, 1));
      current.delivering = name;
    }
    recorded_event stored = scheduled;  // the deadline event, under its own name
    stored.type = name;
    stored.schema_version =
        static_cast<std::uint32_t>(std::stoul(meta_of(scheduled, "annal.version")));
    const cause why{&scheduled, 0, "deadline '" + name + "' of instance '" + instance + "'"};
    process_step<M> step;
    detail::decode_record<deadline_list, Codec>(
        stored, unknown_event_policy::error, [&](const auto& d) {
          detail::invoke_handler("process manager", scheduled, name, stored.schema_version, [&] {
            step = detail::handle_deadline(current.state, d, deadline_info{instance, pending.due});
          });
        });
    process_step<M> all;
    std::size_t sent = 0;
    send_step(why, instance, current.state, step, sent, 0, all);
    append_state(why, instance, current, all, deadline_marker<deadline_fired>(scheduled));
  }

  // A marker naming a deadline and the schedule it belongs to, in its payload and its metadata.
  template <class Marker>
  static event_data deadline_marker(const recorded_event& scheduled) {
    const std::string name = deadline_name(scheduled);
    const std::string schedule = detail::id_text(scheduled.id);
    event_data d = detail::encode_event<Codec>(Marker{name, schedule}, {}, {});
    d.meta.emplace("annal.deadline", name);
    d.meta.emplace("annal.schedule", schedule);
    return d;
  }

  void handle(const recorded_event& e) {
    detail::decode_record<typename M::events, Codec>(e, unknown_event_policy::skip,
                                                     [&](const auto& ev) { handle_event(e, ev); });
    position_ = e.position;
  }

  template <class E>
  void handle_event(const recorded_event& e, const E& ev) {
    const envelope_header& h = e;
    const std::string instance = detail::instance_of_event<M>(ev, h);
    if (instance.empty())
      throw error(errc::invalid_argument,
                  "process manager '" + std::string(M::name) +
                      "': instance_of gave an empty id "
                      "for " +
                      detail::describe_position(h, e.type, e.schema_version) +
                      "; the event is not handled and the checkpoint stays before it");
    process_instance<M> current = load_settled(instance);
    if (current.last_trigger >= e.position) return;  // handled before a crash, then read again
    if (current.ended) return;
    if (!current.started() && !starts<E>) return;  // no instance to deliver it to
    process_step<M> step;
    detail::invoke_handler("process manager", h, e.type, e.schema_version,
                           [&] { step = detail::handle_in_process(current.state, ev, h); });
    const cause why{&e, e.position, detail::describe_position(h, e.type, e.schema_version)};
    process_step<M> all;
    std::size_t sent = 0;
    send_step(why, instance, current.state, step, sent, 0, all);
    append_state(why, instance, current, all, std::nullopt);
  }

  // Sends the step's commands in order, a rejected one's compensation right after it, and
  // collects the rest of the step and its compensations into `into`. The state events are
  // appended after every command: a crash between sends the commands again, as duplicates, and
  // then appends.
  void send_step(const cause& why, const std::string& instance, const M& state,
                 const process_step<M>& step, std::size_t& sent, std::size_t depth,
                 process_step<M>& into) {
    into.merge_effects(step);
    for (const auto& command : step.sent()) {
      std::visit(
          [&](const auto& c) {
            if constexpr (!std::is_same_v<std::remove_cvref_t<decltype(c)>, std::monostate>)
              send_one(why, instance, state, command.stream_id, c, sent, depth, into);
          },
          command.command);
    }
  }

  // Sends one command; a rejection goes to the manager's `rejected`, whose step is sent at once.
  template <class Cmd>
  void send_one(const cause& why, const std::string& instance, const M& state,
                const std::string& stream, const Cmd& command, std::size_t& sent, std::size_t depth,
                process_step<M>& into) {
    command_context ctx;
    ctx.command_id = detail::process_derived_id(why.event->id, M::name, "command", sent++);
    ctx.causation_id = why.event->id;
    ctx.correlation_id = why.correlation();
    ctx.meta.emplace("annal.process", std::string(M::name));
    ctx.meta.emplace("annal.instance", instance);
    const routed_result r = router_->handle(stream, command, ctx);
    if (r.status == command_status::accepted) return;
    const std::string what = "process manager '" + std::string(M::name) + "', instance '" +
                             instance + "', handling " + why.what + ": ";
    if (r.status == command_status::conflict)
      throw error(errc::handler_failed,
                  what + "a command to stream " + detail::quoted_prefix(stream) +
                      " conflicted on every retry; it is handled again on the next run");
    if constexpr (!compensates<M, Cmd>) {
      throw error(errc::handler_failed,
                  what + "a command to stream " + detail::quoted_prefix(stream) +
                      " was rejected (" + r.reason +
                      ") and the manager has no `rejected(const Command&, const "
                      "annal::command_rejected&)` for it; it is handled again on the next run");
    } else {
      if (depth >= options_.max_compensations)
        throw error(errc::handler_failed,
                    what + "a command to stream " + detail::quoted_prefix(stream) +
                        " was rejected (" + r.reason + ") after " + std::to_string(depth) +
                        " compensations in a row for this event, the most "
                        "process_options::max_compensations allows; it is handled again on the "
                        "next run");
      process_step<M> compensation;
      detail::invoke_handler(
          "process manager", *why.event, why.event->type, why.event->schema_version, [&] {
            compensation =
                state.rejected(command, command_rejected{stream, r.reason, r.stream_deleted});
          });
      send_step(why, instance, state, compensation, sent, depth + 1, into);
    }
  }

  // One atomic append to the instance's stream: a start marker for a new instance, a deadline's
  // delivery marker, the state events, deadlines cancelled and scheduled, and the end marker.
  void append_state(const cause& why, const std::string& instance, process_instance<M>& current,
                    const process_step<M>& step, std::optional<event_data> fired) {
    std::vector<event_data> batch;
    const auto add = [&](event_data d) {
      d.id = detail::process_derived_id(why.event->id, M::name, "state", batch.size());
      d.causation_id = why.event->id;
      d.correlation_id = why.correlation();
      if (why.trigger_position != 0)
        d.meta.emplace(std::string(process_trigger_key), std::to_string(why.trigger_position));
      batch.push_back(std::move(d));
    };
    const command_context none;
    const std::string manager(M::name);
    if (!current.started()) add(detail::encode_event<Codec>(process_started{manager}, {}, none));
    if (fired) add(std::move(*fired));
    for (const auto& r : step.recorded())
      std::visit([&](const auto& ev) { add(detail::encode_event<Codec>(ev, {}, none)); }, r);
    for (const auto& name : step.cancelled()) {
      event_data d = detail::encode_event<Codec>(deadline_cancelled{name}, {}, none);
      d.meta.emplace("annal.deadline", name);
      add(std::move(d));
    }
    for (const auto& s : step.scheduled()) {
      std::visit(
          [&](const auto& d) {
            if constexpr (!std::is_same_v<std::remove_cvref_t<decltype(d)>, std::monostate>) {
              using deadline_type = std::remove_cvref_t<decltype(d)>;
              event_data marker = detail::encode_event<Codec>(d, {}, none);
              marker.type = std::string(deadline_scheduled_type);
              marker.schema_version = 1;
              marker.meta.emplace("annal.deadline", std::string(event_name_of<deadline_type>));
              marker.meta.emplace("annal.version", std::to_string(event_version_of<deadline_type>));
              marker.meta.emplace(
                  "annal.due", std::to_string(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                                  s.due.time_since_epoch())
                                                  .count()));
              add(std::move(marker));
            }
          },
          s.deadline);
    }
    if (step.ends()) add(detail::encode_event<Codec>(process_ended{manager}, {}, none));
    if (batch.empty()) return;
    append_instance(instance, current, batch);
  }

  // Appends to an instance's stream at the version it was read at; its version moves on.
  void append_instance(const std::string& instance, process_instance<M>& current,
                       std::span<const event_data> batch) {
    const expected_version expect = current.started() ? expected_version::exact(current.version)
                                                      : expected_version::no_stream();
    const append_result r = store_->append(stream_of(instance), expect, batch);
    if (!r.ok())
      throw error(errc::handler_failed,
                  "process manager '" + std::string(M::name) + "': instance stream " +
                      detail::quoted_prefix(stream_of(instance)) + " is at version " +
                      std::to_string(r.stream_version) + ", not " +
                      std::to_string(current.version) +
                      ": another runner of this manager wrote it (one runner per manager)");
    current.version = r.stream_version;
  }

  S* store_;
  Router* router_;
  C* checkpoint_;
  process_options options_;
  std::uint64_t position_ = 0;
  std::vector<recorded_event> batch_;
  std::multimap<time_point, deadline_key> index_;
  event_filter filter_ = [] {
    event_filter f{.types = event_registry<typename M::events, Codec>::stored_names()};
    if constexpr (has_deadlines) f.types.emplace_back(deadline_scheduled_type);
    return f;
  }();
};

// The runner of manager M, its other types deduced:
//   auto runner = annal::make_process_runner<pipeline>(store, router, checkpoint[, options]);
template <class M, class Codec = binary_codec, event_store S, checkpoint_store C, class Router>
process_runner<M, S, C, Router, Codec> make_process_runner(S& store, Router& router, C& checkpoint,
                                                           process_options options = {}) {
  return process_runner<M, S, C, Router, Codec>(store, router, checkpoint, std::move(options));
}

}  // namespace annal
