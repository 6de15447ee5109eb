// Archiving: events below a horizon leave the hot store for an archive that stays readable and
// checked. The vocabulary every store's archiving shares, and the archiving of a store that keeps
// each stream's last event (the SQL stores) into any other store, a file log typically.
#pragma once

#include <algorithm>
#include <chrono>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <annal/core/detail/chrono.hpp>
#include <annal/core/detail/event_id.hpp>
#include <annal/core/error.hpp>
#include <annal/core/record.hpp>
#include <annal/detail/validate.hpp>
#include <annal/runtime/log.hpp>
#include <annal/store/event_store.hpp>
#include <annal/store/recovery.hpp>
#include <annal/store/replication.hpp>

namespace annal {

// Below which point events leave the hot store: every event up to a position, or every event
// recorded before an instant (or longer ago than an age). A file log moves only whole sealed
// segments, so its horizon is the end of the last segment wholly below this one; a SQL store's is
// the last event below it.
class archive_horizon {
 public:
  static archive_horizon position(std::uint64_t p) noexcept { return {false, p, {}}; }
  static archive_horizon older_than(time_point t) noexcept { return {true, 0, t}; }
  template <class Rep, class Period>
  static archive_horizon age(std::chrono::duration<Rep, Period> d) {
    return older_than(clock::now() - std::chrono::duration_cast<clock::duration>(d));
  }

  bool by_time() const noexcept { return by_time_; }
  std::uint64_t max_position() const noexcept { return position_; }
  time_point before() const noexcept { return time_; }

 private:
  archive_horizon(bool by_time, std::uint64_t p, time_point t) noexcept
      : by_time_(by_time), position_(p), time_(t) {}
  bool by_time_;
  std::uint64_t position_;
  time_point time_;
};

struct archive_options {
  // The lowest checkpoint among the projections that must still rebuild from the hot log alone
  // (0: none given). A horizon at or above it is archived all the same, with a warning in the
  // result and on annal's log: those projections then rebuild through annal::with_archive.
  std::uint64_t lowest_checkpoint = 0;
  std::function<void(const backup_progress&)> on_progress{};  // as backup_options::on_progress
  std::chrono::milliseconds progress_interval{250};
  // SQL stores: how the store names its archive, in archived() and in every errc::archived it
  // throws. Empty: the archive store's directory() (a file log) or path() (SQLite), made absolute.
  std::string archive_name{};
  // SQL stores: events read from the hot store and appended to the archive at once.
  std::size_t batch_events = 4096;
};

struct archive_result {
  std::uint64_t horizon = 0;         // positions 1..horizon are in the archive now
  std::uint32_t segments = 0;        // file log: segments 1..segments are in the archive now
  std::uint32_t new_segments = 0;    // file log: moved by this call
  std::uint64_t new_events = 0;      // events copied into the archive by this call
  std::uint64_t moved_bytes = 0;     // bytes moved (file log: the hot log is that much smaller;
                                     // SQL stores: payload and metadata bytes copied)
  std::uint64_t kept_heads = 0;      // SQL stores: events below the horizon the hot store keeps,
                                     // each the last of its stream (so versions go on)
  time_point horizon_recorded_at{};  // of the event at the horizon
  std::string warning;               // set when the horizon passed options.lowest_checkpoint
  std::chrono::nanoseconds elapsed{};
};

// What a SQL store records of its archive: positions 1..horizon were copied into `archive`, whose
// event at `horizon` has id `last_id`. Below the horizon the store keeps only each stream's last
// event, so stream versions, expected-version checks and tombstones work as before; idempotency
// by event id holds only above the horizon (a retry of an archived event is a new event).
struct archive_state {
  std::uint64_t horizon = 0;  // 0: nothing archived
  event_id last_id{};
  std::string archive;  // as archive_options::archive_name said
  time_point archived_at{};
};

namespace detail {

// The one way into a SQL store's drop_archived: only annal::archive deletes archived rows, after
// the archive holds them durably.
struct archive_access {
  template <class S>
  static std::uint64_t drop(S& store, std::uint64_t expected_horizon, const archive_state& next) {
    return store.drop_archived(expected_horizon, next);
  }
};

inline void warn_below_checkpoint(archive_result& result, const archive_options& options) {
  if (options.lowest_checkpoint == 0 || result.horizon < options.lowest_checkpoint) return;
  result.warning = "archive horizon " + std::to_string(result.horizon) +
                   " is at or above the lowest projection checkpoint " +
                   std::to_string(options.lowest_checkpoint) +
                   ": such a projection cannot rebuild from the hot store alone; rebuild it "
                   "through annal::with_archive";
  annal::log(log_level::warning, result.warning);
}

inline void check_archive_options(archive_horizon horizon, const archive_options& options) {
  if (!horizon.by_time() && horizon.max_position() == 0)
    throw error(errc::invalid_argument,
                "archive horizon position 0 archives nothing; positions start at 1");
  if (options.progress_interval.count() < 0)
    throw error(errc::invalid_argument, "archive_options::progress_interval must not be negative");
}

// What a SQL store throws when its rows, read in key order (positions, or one stream's versions),
// skip `key`: errc::archived naming the archive when annal::archive deleted it, errc::corrupt_log
// otherwise (a row deleted behind the store's back). Either way the read stops before the gap.
[[noreturn]] inline void throw_missing(const std::string& store, const archive_state& archived,
                                       std::optional<std::string_view> stream, std::uint64_t key) {
  const std::string asked =
      stream ? "version " + std::to_string(key) + " of stream " + detail::quoted_prefix(*stream)
             : "position " + std::to_string(key);
  if (archived.horizon != 0 && (stream || key <= archived.horizon))
    throw error(errc::archived,
                asked + " of " + store + " was archived: positions 1 to " +
                    std::to_string(archived.horizon) + " are in the archive '" + archived.archive +
                    "' (the store keeps only each stream's last event below that); read them "
                    "through annal::with_archive with that archive");
  throw error(errc::corrupt_log,
              store + ": " + asked + " is missing, though later ones are stored");
}

template <class S>
std::string archive_name_of(const S& archive_store, const archive_options& options) {
  if (!options.archive_name.empty()) return options.archive_name;
  std::error_code ec;
  if constexpr (requires { archive_store.directory(); })
    return std::filesystem::absolute(archive_store.directory(), ec).lexically_normal().string();
  else if constexpr (requires { archive_store.path(); })
    return std::filesystem::absolute(archive_store.path(), ec).lexically_normal().string();
  else
    throw error(errc::invalid_argument,
                "archive_options::archive_name must say where the archive is: the store it is "
                "archived into has no directory() or path() to name it by");
}

}  // namespace detail

// A store that archives by keeping each stream's last event and deleting the rest below a
// horizon, recorded in the store (SQLite, PostgreSQL). archived() says where that stands.
template <class S>
concept archivable_store = event_store<S> && requires(const S& s) {
  { s.archived() } -> std::same_as<archive_state>;
};

// Copies the events below `horizon` from `hot` into `into` (at the same positions, with the same
// ids, stream versions and recorded times, as a standby gets them), makes them durable there, and
// only then deletes them from `hot`, keeping each stream's last event, in one transaction that
// also records the new horizon. Online: appends go on meanwhile. Archiving again goes on into the
// same archive, after checking that it holds what the store says was archived into it.
//
// A run stopped at any point (kill -9, a lost connection) loses nothing: events are deleted only
// once the archive holds them, and the next run checks what the archive holds and finishes. Reads
// below the horizon from `hot` then throw errc::archived naming the archive; annal::with_archive
// reads both in one pass.
template <archivable_store Hot, event_store Archive>
archive_result archive(Hot& hot, Archive& into, archive_horizon horizon,
                       archive_options options = {}) {
  const auto started = std::chrono::steady_clock::now();
  detail::check_archive_options(horizon, options);
  if (options.batch_events == 0)
    throw error(errc::invalid_argument, "archive_options::batch_events must be at least 1");
  if constexpr (std::same_as<Hot, Archive>)
    if (&hot == &into)
      throw error(errc::invalid_argument, "a store cannot be archived into itself");
  const std::string name = detail::archive_name_of(into, options);
  const archive_state before = hot.archived();
  if (before.horizon != 0 && before.archive != name)
    throw error(errc::invalid_argument,
                "the store's positions 1 to " + std::to_string(before.horizon) +
                    " were archived into '" + before.archive + "', not '" + name +
                    "': an archive goes on in the same place (set archive_options::archive_name "
                    "if it moved)");

  // What the archive holds must be what the store says went there, and may go further: a run
  // stopped after copying, before deleting, is finished by this one.
  const std::uint64_t held = into.last_position();
  const std::string where = "the archive '" + name + "'";
  if (held < before.horizon)
    throw error(errc::diverged, where + " holds positions up to " + std::to_string(held) +
                                    " but the store archived positions 1 to " +
                                    std::to_string(before.horizon) +
                                    " into it: is this another archive, or did it lose events?");
  if (before.horizon != 0) {
    const auto at = detail::event_at(into, before.horizon);
    if (!at || at->id != before.last_id)
      throw error(
          errc::diverged,
          where + " holds " + (at ? detail::describe_stored(*at) : std::string("no event")) +
              " at position " + std::to_string(before.horizon) + " but the store archived event " +
              detail::id_text(before.last_id) + " there: it is another store's archive");
  }
  const std::uint64_t hot_last = hot.last_position();
  if (held > before.horizon) {
    const auto mine = detail::event_at(into, held);
    const auto theirs = held <= hot_last ? detail::event_at(hot, held) : std::nullopt;
    if (!mine || !theirs || mine->id != theirs->id)
      throw error(errc::diverged,
                  where + " holds " +
                      (mine ? detail::describe_stored(*mine) : std::string("no event")) +
                      " at position " + std::to_string(held) + " but the store holds " +
                      (theirs ? detail::describe_stored(*theirs) : std::string("no event")) +
                      " there: it is another store's archive");
  }

  archive_result result;
  result.horizon = before.horizon;
  const std::uint64_t through =
      horizon.by_time() ? hot_last : std::min(horizon.max_position(), hot_last);
  backup_options reporting;
  reporting.on_progress = options.on_progress;
  reporting.progress_interval = options.progress_interval;
  detail::backup_reporter report(reporting, 0, through);

  // Copy what the archive lacks, up to the horizon.
  replica_writer<Archive> writer(into);
  std::vector<recorded_event> page;
  std::uint64_t next = held + 1;
  bool reached = next > through;
  while (!reached) {
    std::size_t count = 0;
    hot.read_all(
        next,
        [&](const recorded_event& e) {
          if (e.position > through || (horizon.by_time() && e.recorded_at >= horizon.before())) {
            reached = true;
            return false;
          }
          if (count < page.size())
            page[count] = e;
          else
            page.push_back(e);
          ++count;
          return true;
        },
        options.batch_events);
    if (count == 0) break;
    const std::span<const recorded_event> run(page.data(), count);
    result.new_events += writer.write(run);
    for (const recorded_event& e : run) {
      result.moved_bytes += e.payload.size();
      for (const auto& [k, v] : e.meta) result.moved_bytes += k.size() + v.size();
    }
    next = run.back().position + 1;
    report.at(result.moved_bytes, result.new_events, run.back().position);
  }
  // Durable in the archive before anything leaves the hot store.
  if constexpr (requires { into.sync(); })
    if (result.new_events != 0) into.sync();

  const std::uint64_t reached_horizon = into.last_position();
  if (reached_horizon > before.horizon) {
    const auto last = detail::event_at(into, reached_horizon);
    if (!last)
      throw error(errc::corrupt_log, where + " says it ends at position " +
                                         std::to_string(reached_horizon) +
                                         " but reads no event there");
    archive_state next_state{reached_horizon, last->id, name, clock::now()};
    result.kept_heads = detail::archive_access::drop(hot, before.horizon, next_state);
    result.horizon = reached_horizon;
    result.horizon_recorded_at = last->recorded_at;
  } else if (before.horizon != 0) {
    result.horizon_recorded_at = detail::event_at(into, before.horizon)->recorded_at;
  }
  report.finish();
  detail::warn_below_checkpoint(result, options);
  result.elapsed = std::chrono::steady_clock::now() - started;
  return result;
}

}  // namespace annal
