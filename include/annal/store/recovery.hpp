// Backup and restore vocabulary shared by the embedded stores: options, progress, results, and the
// point a restore stops at.
#pragma once

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <string>

#include <annal/core/detail/chrono.hpp>
#include <annal/core/envelope.hpp>
#include <annal/core/error.hpp>

namespace annal {

// Where a backup, a verify or a restore stands, reported through backup_options::on_progress. The
// shape of rebuild_progress, counted in bytes as well as events.
struct backup_progress {
  std::uint64_t bytes = 0;         // bytes copied and checked so far
  std::uint64_t target_bytes = 0;  // bytes this run copies and checks in all
  std::uint64_t events = 0;        // events checked so far
  std::uint64_t position = 0;      // last position checked (0 while the store copies pages)
  std::uint64_t target = 0;        // the position the run goes to
  double bytes_per_second = 0;
  double events_per_second = 0;
  std::chrono::duration<double> elapsed{};
  std::chrono::duration<double> eta{};  // at the current byte rate
  bool done = false;                    // the last report of the run

  double fraction() const noexcept {
    return target_bytes == 0 ? 1.0 : static_cast<double>(bytes) / static_cast<double>(target_bytes);
  }
};

struct backup_options {
  // File log: hard-link sealed segments into the destination when it is on the same file system,
  // instead of copying them. Fast and small, but the backup then shares those files' blocks with
  // the source: a disk fault (or a repair that cuts a sealed segment) reaches both. Off by default.
  bool hard_link = false;
  // SQLite: database pages copied per step of SQLite's online backup. Writers are never blocked
  // (the store runs in WAL mode); a smaller step only reports progress more often.
  int pages_per_step = 1024;
  std::function<void(const backup_progress&)> on_progress{};  // called on the calling thread
  std::chrono::milliseconds progress_interval{250};           // at most one report per interval
};

// What a backup holds after the run, and what the run did.
struct backup_result {
  std::uint64_t events = 0;         // events in the backup
  std::uint64_t bytes = 0;          // bytes in the backup's data files
  std::uint64_t last_position = 0;  // the backup holds positions 1 to this
  std::uint64_t copied_bytes = 0;   // bytes this run copied (less than `bytes` when incremental)
  std::uint64_t new_events = 0;     // events this run added
  std::uint64_t linked_files = 0;   // segments hard-linked instead of copied
  bool incremental = false;         // it went on from an earlier backup in the destination
  time_point last_recorded_at{};    // of the event at last_position
  std::chrono::nanoseconds elapsed{};
};

// What verify_backup found: the backup is good and holds this.
struct verified_backup {
  std::uint64_t events = 0;
  std::uint64_t bytes = 0;
  std::uint64_t last_position = 0;
  std::uint64_t streams = 0;
  time_point last_recorded_at{};
  time_point taken_at{};  // when the backup's consistent cut was made
};

// How far a restore goes: everything up to a global position, or up to an instant (events
// recorded at or before it), or everything the source holds.
class restore_point {
 public:
  enum class kind : std::uint8_t { position, time, latest };

  static restore_point at_position(std::uint64_t position) noexcept {
    return restore_point(kind::position, position, {});
  }
  static restore_point at_time(time_point t) noexcept { return restore_point(kind::time, 0, t); }
  static restore_point latest() noexcept { return restore_point(kind::latest, 0, {}); }

  kind what() const noexcept { return kind_; }
  std::uint64_t position() const noexcept { return position_; }
  time_point time() const noexcept { return time_; }

 private:
  restore_point(kind k, std::uint64_t p, time_point t) noexcept
      : kind_(k), position_(p), time_(t) {}
  kind kind_;
  std::uint64_t position_;
  time_point time_;
};

struct restore_result {
  std::uint64_t events = 0;         // events in the restored store
  std::uint64_t last_position = 0;  // it holds positions 1 to this
  std::uint64_t left_out = 0;       // events of the source after the point
  time_point last_recorded_at{};    // of the event at last_position
  std::chrono::nanoseconds elapsed{};
};

namespace detail {

// An instant as text for error messages: UTC, to the microsecond. The date is computed by hand
// (days to civil date, H. Hinnant's algorithm): <chrono>'s calendar would cost every includer.
inline std::string describe_time(time_point t) {
  const std::int64_t us =
      std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()).count();
  constexpr std::int64_t us_per_day = 86400000000;
  std::int64_t days = us / us_per_day, rest = us % us_per_day;
  if (rest < 0) {
    rest += us_per_day;
    --days;
  }
  const std::int64_t z = days + 719468, era = (z >= 0 ? z : z - 146096) / 146097;
  const std::int64_t doe = z - era * 146097;
  const std::int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const std::int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100), mp = (5 * doy + 2) / 153;
  const std::int64_t day = doy - (153 * mp + 2) / 5 + 1, month = mp < 10 ? mp + 3 : mp - 9;
  const std::int64_t year = yoe + era * 400 + (month <= 2);
  char text[64];
  std::snprintf(
      text, sizeof text, "%04lld-%02lld-%02lldT%02lld:%02lld:%02lld.%06lldZ",
      static_cast<long long>(year), static_cast<long long>(month), static_cast<long long>(day),
      static_cast<long long>(rest / 3600000000), static_cast<long long>(rest / 60000000 % 60),
      static_cast<long long>(rest / 1000000 % 60), static_cast<long long>(rest % 1000000));
  return text;
}

// A restore writes a new store and never overwrites one: a target that exists (a file, a
// directory, even a dangling link) is refused before anything is read.
inline void refuse_existing_restore_target(const std::filesystem::path& target) {
  std::error_code ec;
  if (std::filesystem::symlink_status(target, ec).type() != std::filesystem::file_type::not_found)
    throw error(errc::invalid_argument,
                "restore target '" + target.string() +
                    "' exists: a restore writes a new store and never overwrites one; remove it "
                    "or choose another");
}

inline void check_backup_options(const backup_options& o) {
  if (o.pages_per_step <= 0)
    throw error(errc::invalid_argument, "backup_options::pages_per_step must be at least 1, not " +
                                            std::to_string(o.pages_per_step));
  if (o.progress_interval.count() < 0)
    throw error(errc::invalid_argument,
                "backup_options::progress_interval must not be negative, "
                "not " +
                    std::to_string(o.progress_interval.count()) + " ms");
}

// Turns byte and event counts into backup_progress reports, at most one per progress_interval.
class backup_reporter {
 public:
  backup_reporter(const backup_options& options, std::uint64_t target_bytes, std::uint64_t target)
      : options_(&options), started_(std::chrono::steady_clock::now()), last_(started_) {
    p_.target_bytes = target_bytes;
    p_.target = target;
  }

  // Where the run stands: bytes and events so far, and the last position checked (0: none yet).
  void at(std::uint64_t bytes, std::uint64_t events, std::uint64_t position) {
    p_.bytes = bytes;
    p_.events = events;
    if (position != 0) p_.position = position;
    report(false);
  }
  void set_bytes(std::uint64_t bytes, std::uint64_t target_bytes) {
    p_.bytes = bytes;
    p_.target_bytes = target_bytes;
    report(false);
  }
  void finish() { report(true); }
  std::uint64_t bytes() const noexcept { return p_.bytes; }
  std::chrono::nanoseconds elapsed() const { return std::chrono::steady_clock::now() - started_; }

 private:
  void report(bool done) {
    if (!options_->on_progress) return;
    const auto now = std::chrono::steady_clock::now();
    if (!done && now - last_ < options_->progress_interval) return;
    last_ = now;
    p_.elapsed = now - started_;
    const double s = p_.elapsed.count();
    p_.bytes_per_second = s > 0 ? static_cast<double>(p_.bytes) / s : 0;
    p_.events_per_second = s > 0 ? static_cast<double>(p_.events) / s : 0;
    p_.eta = std::chrono::duration<double>(p_.bytes_per_second > 0 && p_.target_bytes > p_.bytes
                                               ? static_cast<double>(p_.target_bytes - p_.bytes) /
                                                     p_.bytes_per_second
                                               : 0.0);
    p_.done = done;
    options_->on_progress(p_);
  }

  const backup_options* options_;
  std::chrono::steady_clock::time_point started_, last_;
  backup_progress p_;
};

}  // namespace detail
}  // namespace annal
