// The repository: loads an aggregate from a store, runs a command, appends with the expected
// version.
#pragma once

#include <concepts>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include <boost/uuid/name_generator_sha1.hpp>

#include <annal/codec/binary.hpp>
#include <annal/codec/decode.hpp>
#include <annal/codec/registry.hpp>
#include <annal/core/aggregate.hpp>
#include <annal/core/as_of.hpp>
#include <annal/core/decision.hpp>
#include <annal/core/detail/chrono.hpp>
#include <annal/core/error.hpp>
#include <annal/core/hydrate.hpp>
#include <annal/detail/validate.hpp>
#include <annal/runtime/log.hpp>
#include <annal/snapshot/policy.hpp>
#include <annal/store/event_store.hpp>
#include <annal/store/tombstone.hpp>

namespace annal {

struct repository_options {
  std::size_t max_conflict_retries = 3;  // reload-and-decide again this many times on a conflict
  unknown_event_policy unknown_events = unknown_event_policy::error;
};

template <class A>
struct loaded {
  A state{};
  std::uint64_t version = 0;           // 0: no such stream
  std::uint64_t snapshot_version = 0;  // the snapshot the load started from (0: none)
  std::uint64_t events_replayed = 0;   // events folded on top of it
};

// A repository without snapshots replays every stream from its first event. annal/snapshot provides
// the alternative, annal::snapshotter, which a repository calls as
//   restore(stream_id, max_version, max_time, A& state, bool& stale) -> version restored (0: none)
//   observe(stream_id, const A& state, const load_report&, event_time) -> newest snapshot version
// (event_time: a callable returning the recorded time of the event at the report's version).
struct no_snapshots {};

enum class command_status : std::uint8_t { accepted, rejected, conflict };

template <class A>
struct command_result {
  command_status status = command_status::accepted;
  A state{};                  // after the command when accepted; the state decided on otherwise
  std::uint64_t version = 0;  // stream version after the command; the actual version on conflict
  std::vector<aggregate_event_t<A>> events;  // what the command appended (accepted only)
  std::optional<rejection_t<A>> rejection;   // why it was rejected
  bool duplicate = false;    // the same command's events were stored before (see command_id)
  std::size_t attempts = 0;  // how many times it loaded and decided

  bool accepted() const noexcept { return status == command_status::accepted; }
  bool rejected() const noexcept { return status == command_status::rejected; }
  bool conflicted() const noexcept { return status == command_status::conflict; }
};

namespace detail {
// A deleted stream has no current state to load or decide on; its past states remain. A template
// for the separately compiled mode (see detail/validate.hpp).
template <class = void>
[[noreturn]] void throw_loading_deleted(const recorded_event& tombstone) {
  throw error(errc::stream_deleted,
              "stream " + quoted_prefix(tombstone.stream_id) + " is deleted: its version " +
                  std::to_string(tombstone.stream_version) + " is a tombstone (" +
                  std::string(tombstone_type) + "); load it at_version{" +
                  std::to_string(tombstone.stream_version - 1) +
                  "} for its last state, or read_stream for its history");
}

// The id of a command's `index`th event: the same on every retry of the command (name-based,
// SHA-1). A template for the separately compiled mode (see detail/validate.hpp).
template <class = void>
event_id derived_event_id(const event_id& command_id, std::size_t index) {
  boost::uuids::name_generator_sha1 generate(command_id);
  return generate(std::to_string(index));
}

#if defined(ANNAL_SEPARATE_COMPILATION)
extern template void throw_loading_deleted(const recorded_event&);
extern template event_id derived_event_id(const event_id&, std::size_t);
#endif

// What a repository does with one stored event and one new one, apart from its store: functions of
// the aggregate and the codec only, so that a program with two stores (say, the file log and the
// memory store in tests) instantiates and compiles decoding and encoding once per aggregate.

// Folds a stored event of the aggregate's stream into its state.
template <class A, class Codec>
void fold_record(A& state, const recorded_event& e, unknown_event_policy unknown) {
  decode_record<aggregate_events_t<A>, Codec>(e, unknown,
                                              [&](const auto& ev) { apply_event(state, ev); });
}

// Appends a stored event of the aggregate's stream, decoded, with its envelope.
template <class A, class Codec>
void decode_into(std::vector<envelope<aggregate_event_t<A>>>& out, const recorded_event& e,
                 unknown_event_policy unknown) {
  decode_record<aggregate_events_t<A>, Codec>(e, unknown, [&](const auto& ev) {
    out.push_back({static_cast<const envelope_header&>(e), aggregate_event_t<A>{ev}});
  });
}

// A command's new events as the store takes them: ids derived from the command's id when it has
// one (so that a repeat is a duplicate), new ones otherwise.
template <class Codec, class Event>
std::vector<event_data> encode_batch(const std::vector<Event>& events, const command_context& ctx) {
  std::vector<event_data> batch;
  batch.reserve(events.size());
  for (std::size_t i = 0; i < events.size(); ++i) {
    const event_id id =
        ctx.command_id.is_nil() ? new_event_id() : derived_event_id(ctx.command_id, i);
    std::visit([&](const auto& e) { batch.push_back(encode_event<Codec>(e, id, ctx)); }, events[i]);
  }
  return batch;
}

}  // namespace detail

template <class A, event_store S, class Codec = binary_codec, class Snapshots = no_snapshots>
class repository {
  static_assert(check_aggregate<A>());

 public:
  using event_type = aggregate_event_t<A>;
  using events_list = aggregate_events_t<A>;

  explicit repository(S& store, repository_options options = {})
    requires std::same_as<Snapshots, no_snapshots>
      : store_(&store), options_(options) {}

  repository(S& store, Snapshots& snapshots, repository_options options = {})
    requires(!std::same_as<Snapshots, no_snapshots>)
      : store_(&store), snapshots_(&snapshots), options_(options) {}

  S& store() const noexcept { return *store_; }

  // Current state; an unknown stream is the default state at version 0, not an error. A deleted
  // stream (one ending in a tombstone) throws errc::stream_deleted; so do handle() and loads at or
  // after the deletion, while loads of earlier versions and times work as before.
  loaded<A> load(std::string_view stream_id) const {
    load_report report;
    loaded<A> out = load_until(stream_id, report);
    if constexpr (has_snapshots) observe(stream_id, out.state, report);
    return out;
  }

  // State as it was after `stop.version` (time travel by version).
  loaded<A> load(std::string_view stream_id, at_version stop) const {
    if (stop.version == 0) return {};
    load_report report;
    return load_until(stream_id, report, stop.version);
  }

  // State as it was at `stop.time`: every event recorded at or before it.
  loaded<A> load(std::string_view stream_id, at_time stop) const {
    load_report report;
    return load_until(stream_id, report, unlimited, stop.time);
  }

  // Every event of the stream with its envelope, decoded and upcast; a tombstone is left out.
  std::vector<envelope<event_type>> history(std::string_view stream_id) const {
    std::vector<envelope<event_type>> out;
    store_->read_stream(stream_id, 1, [&](const recorded_event& e) {
      if (e.type == tombstone_type) return;  // not one of the aggregate's events
      detail::decode_into<A, Codec>(out, e, options_.unknown_events);
    });
    return out;
  }

  // Load, decide, append with the loaded version as the expectation; on a conflict, reload and
  // decide again up to options.max_conflict_retries times, then report the conflict.
  template <class C>
  command_result<A> handle(std::string_view stream_id, const C& command,
                           const command_context& ctx = {}) {
    static_assert(detail::check_decider<A, C>());
    return handle_with(
        stream_id,
        [](const A& state, const void* c) {
          return decide_command(state, *static_cast<const C*>(c));
        },
        &command, ctx);
  }

 private:
  static constexpr bool has_snapshots = !std::same_as<Snapshots, no_snapshots>;

  // handle()'s loop, once per repository type rather than once per command type: only `decide`
  // depends on the command (most of a program's repository code is this loop, times its commands).
  command_result<A> handle_with(std::string_view stream_id,
                                decision<A> (*decide)(const A&, const void*), const void* command,
                                const command_context& ctx) {
    detail::validate_stream_id(stream_id);
    command_result<A> result;
    for (;;) {
      ++result.attempts;
      load_report report;
      loaded<A> current = load_until(stream_id, report);
      if constexpr (has_snapshots)
        report.snapshot_version = observe(stream_id, current.state, report);
      decision<A> d = decide(current.state, command);
      if (d.rejected()) {
        result.status = command_status::rejected;
        result.rejection = d.rejection();
        result.state = std::move(current.state);
        result.version = current.version;
        return result;
      }
      std::vector<event_type> new_events = std::move(d).take_events();
      if (new_events.empty()) {
        result.status = command_status::accepted;
        result.state = std::move(current.state);
        result.version = current.version;
        return result;
      }
      const std::vector<event_data> batch = detail::encode_batch<Codec>(new_events, ctx);
      const expected_version expect = current.version == 0
                                          ? expected_version::no_stream()
                                          : expected_version::exact(current.version);
      const append_result appended = store_->append(stream_id, expect, batch);
      if (appended.ok()) {
        result.status = command_status::accepted;
        result.duplicate = appended.status == append_status::duplicate;
        result.version = appended.stream_version;
        if (result.duplicate) {
          // The events were stored by an earlier send of this command: report the stream as it is.
          result.state = load(stream_id).state;
        } else {
          for (const auto& e : new_events) apply_any(current.state, e);
          result.state = std::move(current.state);
          if constexpr (has_snapshots) {
            report.version = appended.stream_version;
            observe(stream_id, result.state, report,
                    [&] { return recorded_time(stream_id, report.version); });
          }
        }
        result.events = std::move(new_events);
        return result;
      }
      if (result.attempts > options_.max_conflict_retries) {
        result.status = command_status::conflict;
        result.state = std::move(current.state);
        result.version = appended.stream_version;
        return result;
      }
    }
  }

  // Folds the stream into state, starting from the newest usable snapshot within the bounds: up to
  // version `max_count`, and events recorded at or before `max_time`. One function for every kind
  // of load (not one per predicate), so a program instantiates the fold and its decoding once.
  loaded<A> load_until(std::string_view stream_id, load_report& report,
                       std::size_t max_count = unlimited,
                       time_point max_time = time_point::max()) const {
    loaded<A> out;
    const auto fold = [&](const recorded_event& e) {
      if (e.stream_version > max_count || e.recorded_at > max_time) return false;
      if (e.type == tombstone_type) detail::throw_loading_deleted(e);
      detail::fold_record<A, Codec>(out.state, e, options_.unknown_events);
      out.version = e.stream_version;
      ++out.events_replayed;
      report.event_time = e.recorded_at;
      return true;
    };
    if constexpr (!has_snapshots) {
      store_->read_stream(stream_id, 1, fold, max_count);
    } else {
      const auto started = std::chrono::steady_clock::now();
      // max_count bounds the version too: a bounded load reads from version 1.
      out.version = snapshots_->restore(stream_id, std::uint64_t{max_count}, max_time, out.state,
                                        report.stale_snapshot);
      out.snapshot_version = out.version;
      if (out.version == 0) {
        store_->read_stream(stream_id, 1, fold, max_count);
      } else {
        // Read the snapshot's own event again, only to prove the stream reaches that far.
        bool confirmed = false;
        store_->read_stream(
            stream_id, out.version,
            [&](const recorded_event& e) {
              if (!confirmed) return confirmed = true;
              return fold(e);
            },
            max_count == unlimited ? max_count : max_count - out.version + 1);
        if (!confirmed) {
          log(log_level::warning, "snapshot of stream " + detail::quoted_prefix(stream_id) +
                                      " covers version " + std::to_string(out.version) +
                                      " but the stream is shorter; the snapshot store does not "
                                      "belong to this event store, so the snapshot is ignored");
          out = loaded<A>{};
          store_->read_stream(stream_id, 1, fold, max_count);
        }
      }
      report.elapsed = std::chrono::steady_clock::now() - started;
    }
    report.version = out.version;
    report.snapshot_version = out.snapshot_version;
    report.events_replayed = out.events_replayed;
    return out;
  }

  // Gives the snapshot policy its say; returns the newest snapshot version of the stream.
  std::uint64_t observe(std::string_view stream_id, const A& state,
                        const load_report& report) const {
    const time_point event_time = report.event_time;
    return observe(stream_id, state, report, [&] {
      // A load that folded nothing started from a snapshot: its time is not needed again.
      return report.events_replayed != 0 ? event_time : recorded_time(stream_id, report.version);
    });
  }
  template <class EventTime>
  std::uint64_t observe(std::string_view stream_id, const A& state, const load_report& report,
                        EventTime&& event_time) const {
    return snapshots_->observe(stream_id, state, report, std::forward<EventTime>(event_time));
  }

  time_point recorded_time(std::string_view stream_id, std::uint64_t version) const {
    time_point at{};
    if (version != 0)
      store_->read_stream(
          stream_id, version, [&](const recorded_event& e) { at = e.recorded_at; }, 1);
    return at;
  }

  S* store_;
  Snapshots* snapshots_ = nullptr;
  repository_options options_;
};

// A repository that loads from snapshots: `annal::make_repository<account>(store, snap)`, where
// `snap` is an annal::snapshotter (annal/snapshot/snapshotter.hpp).
template <class A, class Codec = binary_codec, event_store S, class Snapshots>
repository<A, S, Codec, Snapshots> make_repository(S& store, Snapshots& snapshots,
                                                   repository_options options = {}) {
  return repository<A, S, Codec, Snapshots>(store, snapshots, options);
}

// Deletes a stream through a repository, with its store and codec (annal/store/tombstone.hpp).
template <class A, class S, class Codec, class Snapshots>
append_result delete_stream(const repository<A, S, Codec, Snapshots>& repo,
                            std::string_view stream_id, expected_version expect,
                            std::string reason = {}, const command_context& ctx = {}) {
  return delete_stream<Codec>(repo.store(), stream_id, expect, std::move(reason), ctx);
}

}  // namespace annal
