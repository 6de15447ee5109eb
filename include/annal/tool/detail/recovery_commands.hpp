// The annal tool's commands that write: copy (migration between stores, verified by digest),
// replicate (log shipping to a standby, once or following), backup and restore, over the library's
// replicator, backup and restore calls.
#pragma once

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <exception>
#include <filesystem>
#include <functional>
#include <optional>
#include <ostream>
#include <span>
#include <stop_token>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <variant>
#include <vector>

#include <boost/json.hpp>

#include <annal/core/error.hpp>
#include <annal/file/backup.hpp>
#include <annal/file/restore.hpp>
#include <annal/store/event_store.hpp>
#include <annal/store/recovery.hpp>
#include <annal/store/replication.hpp>

#ifdef ANNAL_TOOL_WITH_SQLITE
#include <sqlite3.h>

#include <annal/sqlite/backup.hpp>
#endif

#include <annal/tool/detail/commands.hpp>
#include <annal/tool/detail/open_store.hpp>
#include <annal/tool/detail/sha1.hpp>
#include <annal/tool/detail/store_url.hpp>

namespace annal::tool::detail {

// ---- times -----------------------------------------------------------------------------------

// Parses an ISO-8601 UTC time, "2026-12-07T10:00:00Z", with an optional fraction of a second
// (".5", ".123456789"). Throws errc::invalid_argument naming `option` and what it was given.
inline time_point parse_utc_time(std::string_view text, std::string_view option) {
  const auto refuse = [&](const std::string& why) -> time_point {
    throw error(errc::invalid_argument, std::string(option) + " '" + std::string(text) +
                                            "' is not a UTC time such as 2026-12-07T10:00:00Z (" +
                                            why + ")");
  };
  std::size_t at = 0;
  const auto number = [&](std::size_t digits, const char* what) -> std::int64_t {
    std::int64_t v = 0;
    for (std::size_t i = 0; i < digits; ++i, ++at) {
      if (at >= text.size() || text[at] < '0' || text[at] > '9')
        refuse(std::string("expected ") + std::to_string(digits) + " digits of the " + what);
      v = v * 10 + (text[at] - '0');
    }
    return v;
  };
  const auto expect = [&](char c, const char* where) {
    if (at >= text.size() || text[at] != c) refuse(std::string("expected '") + c + "' " + where);
    ++at;
  };
  const std::int64_t year = number(4, "year");
  expect('-', "after the year");
  const std::int64_t month = number(2, "month");
  expect('-', "after the month");
  const std::int64_t day = number(2, "day");
  expect('T', "between the date and the time");
  const std::int64_t hour = number(2, "hour");
  expect(':', "after the hour");
  const std::int64_t minute = number(2, "minutes");
  expect(':', "after the minutes");
  const std::int64_t second = number(2, "seconds");
  std::int64_t nanos = 0;
  if (at < text.size() && text[at] == '.') {
    ++at;
    std::size_t digits = 0;
    for (; at < text.size() && text[at] >= '0' && text[at] <= '9'; ++at, ++digits)
      if (digits < 9) nanos = nanos * 10 + (text[at] - '0');
    if (digits == 0) refuse("expected digits after the '.'");
    for (std::size_t d = digits; d < 9; ++d) nanos *= 10;
  }
  if (at >= text.size() || text[at] != 'Z') refuse("expected 'Z' at the end: the time is UTC");
  if (at + 1 != text.size()) refuse("nothing may follow the 'Z'");
  const bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  const int month_days[] = {31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (month < 1 || month > 12) refuse("no month " + std::to_string(month));
  if (day < 1 || day > month_days[month - 1])
    refuse("no day " + std::to_string(day) + " in month " + std::to_string(month));
  if (hour > 23 || minute > 59 || second > 59) refuse("no such time of day");
  // Days since 1970-01-01 (H. Hinnant's days_from_civil).
  const std::int64_t y = year - (month <= 2);
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const std::int64_t yoe = y - era * 400;
  const std::int64_t doy = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1;
  const std::int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  const std::int64_t days = era * 146097 + doe - 719468;
  const std::chrono::nanoseconds since_epoch =
      std::chrono::seconds(days * 86400 + hour * 3600 + minute * 60 + second) +
      std::chrono::nanoseconds(nanos);
  return time_point(std::chrono::duration_cast<clock::duration>(since_epoch));
}

// ---- progress --------------------------------------------------------------------------------

// Progress on stderr: on a terminal one line written over in place, from the first report on;
// otherwise plain lines, the first after a second (a short run leaves a log quiet). At most one a
// second unless a caller says a line must go out now.
class progress_line {
 public:
  explicit progress_line(std::ostream& out, bool terminal = ::isatty(2) == 1)
      : out_(out), terminal_(terminal), last_(std::chrono::steady_clock::now()) {}
  progress_line(const progress_line&) = delete;
  progress_line& operator=(const progress_line&) = delete;
  ~progress_line() { end(); }

  void show(const std::string& text, bool now = false) {
    const auto t = std::chrono::steady_clock::now();
    if (!now && (!terminal_ || open_) && t - last_ < std::chrono::seconds(1)) return;
    last_ = t;
    if (terminal_) {
      out_ << '\r' << text << "\x1b[K" << std::flush;
      open_ = true;
    } else {
      out_ << text << '\n' << std::flush;
    }
  }

  // Ends a line written over in place, so that what follows starts on its own.
  void end() {
    if (!open_) return;
    out_ << '\n' << std::flush;
    open_ = false;
  }

 private:
  std::ostream& out_;
  bool terminal_;
  bool open_ = false;
  std::chrono::steady_clock::time_point last_;
};

inline std::string percent(std::uint64_t part, std::uint64_t whole) {
  char buf[16];
  std::snprintf(
      buf, sizeof buf, "%.1f%%",
      whole == 0 ? 100.0 : 100.0 * static_cast<double>(part) / static_cast<double>(whole));
  return buf;
}

inline std::string seconds_text(std::chrono::nanoseconds d) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3f s", std::chrono::duration<double>(d).count());
  return buf;
}

// ---- digest ----------------------------------------------------------------------------------

// A SHA-1 digest of events in position order: every field a copy must keep (position, stream,
// version, id, type, schema version, payload, correlation and causation ids, metadata, recorded
// time). Strings go in with their lengths, so no two different events feed the same bytes. Times
// go in at microseconds when `micros` (PostgreSQL keeps no finer), else at nanoseconds.
class event_digest {
 public:
  explicit event_digest(bool micros) : micros_(micros) {}

  // `e`: a recorded_event or a recorded_event_view.
  template <class Event>
  void add(const Event& e) {
    number(e.position);
    text(e.stream_id);
    number(e.stream_version);
    fixed<sizeof e.id.data>(e.id.data);
    text(e.type);
    number(e.schema_version);
    text(e.payload);
    fixed<sizeof e.correlation_id.data>(e.correlation_id.data);
    fixed<sizeof e.causation_id.data>(e.causation_id.data);
    std::uint64_t entries = 0;
    for (const auto& [k, v] : e.meta) {
      text(k);
      text(v);
      ++entries;
    }
    number(entries);
    const auto since = e.recorded_at.time_since_epoch();
    const std::int64_t t =
        micros_ ? std::chrono::floor<std::chrono::microseconds>(since).count()
                : std::chrono::duration_cast<std::chrono::nanoseconds>(since).count();
    number(static_cast<std::uint64_t>(t));
  }

  // The digest as 40 hex digits.
  std::string hex() {
    sha_.update(pending_, used_);
    used_ = 0;
    std::string out;
    for (const unsigned char byte : sha_.finish()) {
      out += impl::hex_digits[byte >> 4];
      out += impl::hex_digits[byte & 0xf];
    }
    return out;
  }

 private:
  // The fields are gathered here and hashed in whole blocks, many at a time: fed to SHA-1 one by
  // one (~15 calls an event, each copying into its block and hashing one block) they cost as much
  // again as the hashing (the digests are the same).
  static constexpr std::size_t block = 64;

  void number(std::uint64_t v) {
    unsigned char b[8];
    for (int i = 0; i < 8; ++i) b[i] = static_cast<unsigned char>(v >> (8 * i));
    fixed<8>(b);
  }
  // A field of a size known here, copied inline (a call to memcpy per field cost more than it).
  template <std::size_t n>
  void fixed(const void* p) {
    static_assert(n <= block);
    if (sizeof pending_ - used_ < n) flush();  // leaves fewer than `block` bytes
    std::memcpy(pending_ + used_, p, n);
    used_ += n;
  }
  void text(std::string_view s) {
    number(s.size());
    bytes(s.data(), s.size());
  }
  void bytes(const void* p, std::size_t n) {
    if (n > sizeof pending_ - used_) {
      flush();
      if (n > sizeof pending_ - used_) {
        sha_.update(pending_, used_);  // fewer than `block` bytes, then `p` whole
        used_ = 0;
        sha_.update(p, n);
        return;
      }
    }
    std::memcpy(pending_ + used_, p, n);
    used_ += n;
  }
  // Hashes the whole blocks gathered; the rest moves to the front.
  void flush() {
    const std::size_t whole = used_ / block * block;
    sha_.update(pending_, whole);
    std::memmove(pending_, pending_ + whole, used_ - whole);
    used_ -= whole;
  }

  sha1 sha_;
  bool micros_;
  std::size_t used_ = 0;
  unsigned char pending_[64 * block];
};

struct store_digest {
  std::uint64_t events = 0;
  std::uint64_t last_position = 0;  // of the last event read
  std::string sha1;
};

// The digest of `store`'s events at positions 1 to `through`, taken while a copy is still writing
// them: it reads what is there and waits for the rest, until `stop` (the copy failed).
template <event_store Store>
store_digest digest_following(const Store& store, std::uint64_t through, bool micros,
                              std::stop_token stop) {
  // Reads go in chunks: one that chased the copy event by event would cost a read call (and the
  // store's read buffer) per append.
  constexpr std::uint64_t chunk = 4096;
  event_digest digest(micros);
  store_digest out;
  std::uint64_t next = 1;
  while (next <= through && !stop.stop_requested()) {
    const std::uint64_t want = std::min(through, next + chunk - 1);
    if (store.last_position() < want) {
      // A sleep, not wait_for_append: a file log wakes its waiters on every append, so a waiter for
      // a whole chunk cost the copy a futex wake (and this thread a wake-up) per append.
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
      continue;
    }
    read_all_events(
        store, next,
        [&](const auto& e) {
          // Positions are gapless: one missing is damage to report, never to step over.
          if (e.position != next)
            throw error(errc::corrupt_log, "position " + std::to_string(next) +
                                               " is missing: the next event read holds position " +
                                               std::to_string(e.position));
          digest.add(e);
          ++out.events;
          out.last_position = e.position;
          ++next;
        },
        static_cast<std::size_t>(want - next + 1));
  }
  out.sha1 = digest.hex();
  return out;
}

// ---- copy and replicate ------------------------------------------------------------------------

struct copy_report {
  std::string from, to;           // URLs, passwords masked
  bool created = false;           // the target was made by this run
  std::uint64_t held_before = 0;  // the target's last position before the run
  std::uint64_t copied = 0;
  std::uint64_t through = 0;  // the source's last position when the copy began
  bool micros = false;        // times compared at microseconds (PostgreSQL on a side)
  store_digest source, target;

  bool verified() const noexcept {
    return source.events == target.events && source.sha1 == target.sha1 &&
           target.last_position == through;
  }
};

inline std::string lag_text(const replication_lag& lag) {
  return "lag: primary at position " + std::to_string(lag.primary_position) + ", standby at " +
         std::to_string(lag.standby_position) + ": " + std::to_string(lag.positions_behind) +
         (lag.positions_behind == 1 ? " position, " : " positions, ") +
         seconds_text(lag.time_behind) + " behind";
}

// Copies every event `from` holds now into `to` (resuming where `to` stands, refusing a `to` whose
// history differs), and digests both up to the source's last position. The digests are taken on
// threads of their own while the copy runs, the target's following it as it is written: one pass
// over the data on the copy's time instead of three. The copy is the replicator's step without its
// sync per step (replica_writer, with every check it makes on each append): a copy is made durable
// by one sync at its end, where a sync every 4,096 events cost ~50 waits on the disk for 200k.
template <event_store Source, event_store Target>
void copy_events(const Source& from, Target& to, copy_report& r, progress_line& progress) {
  r.through = from.last_position();
  r.held_before = to.last_position();
  replica_writer<Target> writer(to);
  // Before anything is written; a source without events still shows whether the target continues
  // it (an empty one does).
  writer.check_continues(from);
  std::exception_ptr source_failure, target_failure;
  const auto digesting = [&](store_digest& out, const auto& store, std::exception_ptr& failure) {
    return std::jthread([&out, &store, &failure, &r](std::stop_token stop) {
      try {
        out = digest_following(store, r.through, r.micros, stop);
      } catch (...) {
        failure = std::current_exception();
      }
    });
  };
  std::jthread source_digest = digesting(r.source, from, source_failure);
  std::jthread target_digest = digesting(r.target, to, target_failure);
  // Read into events reused from chunk to chunk: no allocation per event once they have grown.
  const std::size_t chunk = replication_options{}.batch_events;
  std::vector<recorded_event> events;
  std::uint64_t next = writer.next_position();
  while (next <= r.through) {
    std::size_t count = 0;
    from.read_all(
        next,
        [&](const recorded_event& e) {
          if (e.position > r.through) return false;
          if (count < events.size())
            events[count] = e;
          else
            events.push_back(e);
          ++count;
          return true;
        },
        chunk);
    const std::size_t n =
        count == 0 ? 0 : writer.write(std::span<const recorded_event>(events).first(count));
    if (n == 0)
      throw error(errc::invalid_argument,
                  "the source ends at position " + std::to_string(r.through) +
                      " but read no event at the target's next position " + std::to_string(next) +
                      " (positions below its first, as after archiving, cannot be copied)");
    r.copied += n;
    next = writer.next_position();
    progress.show("copy: position " + std::to_string(next - 1) + " of " +
                  std::to_string(r.through) + " (" + percent(next - 1, r.through) + ")");
  }
  // The target was written without a sync per append: one now makes the whole copy durable.
  if constexpr (requires { to.sync(); }) to.sync();
  progress.end();
  source_digest.join();
  target_digest.join();
  for (const std::exception_ptr& failure : {source_failure, target_failure})
    if (failure) std::rethrow_exception(failure);
}

inline void print_copy(const copy_report& r, bool json, std::ostream& out) {
  if (json) {
    boost::json::object o;
    o["verified"] = r.verified();
    o["from"] = r.from;
    o["to"] = r.to;
    o["created"] = r.created;
    o["copied"] = r.copied;
    o["first_copied_position"] = r.copied ? boost::json::value(r.held_before + 1) : nullptr;
    o["last_position"] = r.through;
    o["times_compared_at"] = r.micros ? "microseconds" : "nanoseconds";
    const auto side = [](const store_digest& d) {
      boost::json::object s;
      s["events"] = d.events;
      s["last_position"] = d.last_position;
      s["sha1"] = d.sha1;
      return s;
    };
    o["source"] = side(r.source);
    o["target"] = side(r.target);
    out << boost::json::serialize(o) << '\n';
    return;
  }
  out << "copied " << r.copied << (r.copied == 1 ? " event" : " events");
  if (r.copied) out << " (positions " << r.held_before + 1 << " to " << r.through << ")";
  out << " from " << r.from << " to " << r.to;
  if (r.created)
    out << " (created)";
  else if (r.held_before)
    out << " (it held positions 1 to " << r.held_before << " already)";
  out << '\n';
  out << "source: " << r.source.events << " events, sha1 " << r.source.sha1 << '\n'
      << "target: " << r.target.events << " events, sha1 " << r.target.sha1 << '\n';
  const char* times = r.micros ? " (times at microseconds: PostgreSQL keeps no finer)" : "";
  if (r.verified())
    out << "verified: the target holds the source's " << r.source.events << " events" << times
        << '\n';
  else
    out << "MISMATCH: the target's events up to position " << r.through
        << " differ from the source's" << times << '\n';
}

struct replicate_report {
  std::string primary, standby;
  bool created = false;
  std::uint64_t copied = 0;
  replication_lag lag;
  bool followed = false;
};

inline void print_replicate(const replicate_report& r, bool json, std::ostream& out) {
  if (json) {
    boost::json::object o;
    o["primary"] = r.primary;
    o["standby"] = r.standby;
    o["created"] = r.created;
    o["copied"] = r.copied;
    o["primary_position"] = r.lag.primary_position;
    o["standby_position"] = r.lag.standby_position;
    o["positions_behind"] = r.lag.positions_behind;
    o["seconds_behind"] = std::chrono::duration<double>(r.lag.time_behind).count();
    o["followed"] = r.followed;
    out << boost::json::serialize(o) << '\n';
    return;
  }
  out << "replicated " << r.copied << (r.copied == 1 ? " event" : " events") << " from "
      << r.primary << " to " << r.standby << (r.created ? " (created)" : "") << '\n'
      << "standby at position " << r.lag.standby_position << ", primary at "
      << r.lag.primary_position << ": "
      << (r.lag.caught_up() ? std::string("caught up")
                            : std::to_string(r.lag.positions_behind) + " positions, " +
                                  seconds_text(r.lag.time_behind) + " behind")
      << '\n';
}

// Copies what the standby lacks; following, goes on until `stop()` says so, looking at it between
// batches (every append is whole: the standby is a consistent store whenever it stops). Lag lines
// go to `progress` after copying, at most one a second while behind and one when caught up.
template <event_store Source, event_store Target, class Stop>
void replicate_events(const Source& primary, Target& standby, bool follow, Stop stop,
                      replicate_report& r, progress_line& progress) {
  replication_options options;
  options.poll_interval = std::chrono::milliseconds(100);
  replicator<Source, Target> shipper(primary, standby, options);
  if (!follow) {
    // What the primary holds now, batch by batch: a signal (promote's) ends it between two.
    const std::uint64_t through = primary.last_position();
    // step(0) copies nothing but checks that the standby continues the primary, which a standby
    // already as long as the primary would otherwise never be (it would be reported caught up).
    r.copied = shipper.step(0);
    for (std::uint64_t at = standby.last_position(); at < through && !stop();
         at = standby.last_position())
      r.copied += shipper.catch_up(std::min(through, at + options.batch_events));
    r.lag = shipper.lag();
    return;
  }
  r.followed = true;
  progress.show("replicating " + r.primary + " to " + r.standby + " until SIGINT or SIGTERM; " +
                    lag_text(shipper.lag()),
                true);
  bool unreported = false;  // copied since the last lag line
  auto last_line = std::chrono::steady_clock::now();
  while (!stop()) {
    const std::size_t n = shipper.step();
    r.copied += n;
    unreported = unreported || n != 0;
    const bool behind = n != 0;
    if (unreported &&
        (!behind || std::chrono::steady_clock::now() - last_line >= std::chrono::seconds(1))) {
      progress.show(lag_text(shipper.lag()), true);
      last_line = std::chrono::steady_clock::now();
      unreported = false;
    }
    if (!behind) shipper.wait(standby.last_position());
  }
  progress.end();
  r.lag = shipper.lag();
}

// ---- backup and restore ------------------------------------------------------------------------

// A path argument that may be written as a URL of `kind` (file:<dir>, sqlite:<file>).
inline std::string path_argument(const std::string& arg, store_kind kind, std::string_view what) {
  if (!arg.starts_with("file:") && !arg.starts_with("sqlite:") && !arg.starts_with("postgres"))
    return arg;
  const store_url url = parse_store_url(arg);
  if (url.kind != kind)
    throw error(errc::invalid_argument,
                std::string(what) + " '" + url.shown + "' is a " + std::string(name_of(url.kind)) +
                    " URL, but the store is a " + std::string(name_of(kind)) +
                    ": backup and restore keep a store's kind (annal copy moves it to another)");
  return url.location;
}

inline void print_backup(const std::string& from, const std::string& destination,
                         const backup_result& r, bool json, std::ostream& out) {
  if (json) {
    boost::json::object o;
    o["from"] = from;
    o["backup"] = destination;
    o["events"] = r.events;
    o["last_position"] = r.last_position;
    o["bytes"] = r.bytes;
    o["incremental"] = r.incremental;
    o["new_events"] = r.new_events;
    o["copied_bytes"] = r.copied_bytes;
    o["linked_files"] = r.linked_files;
    o["last_event_at"] = r.events ? boost::json::value(iso_time(r.last_recorded_at)) : nullptr;
    out << boost::json::serialize(o) << '\n';
    return;
  }
  out << "backed up " << from << " into " << destination << ": positions 1 to " << r.last_position
      << " (" << r.events << " events, " << r.bytes << " bytes), last event at "
      << iso_time(r.last_recorded_at) << '\n';
  if (r.incremental)
    out << "incremental: " << r.new_events << " new events, " << r.copied_bytes
        << " bytes copied\n";
  else
    out << "full: " << r.copied_bytes << " bytes copied"
        << (r.linked_files ? ", " + std::to_string(r.linked_files) + " segments hard-linked" : "")
        << '\n';
}

inline void print_restore(const std::string& from, const std::string& target,
                          const restore_result& r, bool json, std::ostream& out) {
  if (json) {
    boost::json::object o;
    o["from"] = from;
    o["target"] = target;
    o["events"] = r.events;
    o["last_position"] = r.last_position;
    o["left_out"] = r.left_out;
    o["last_event_at"] = r.events ? boost::json::value(iso_time(r.last_recorded_at)) : nullptr;
    out << boost::json::serialize(o) << '\n';
    return;
  }
  out << "restored " << from << " into " << target << ": positions 1 to " << r.last_position << " ("
      << r.events << " events";
  if (r.left_out) out << "; " << r.left_out << " later events left out";
  out << "), last event at " << iso_time(r.last_recorded_at) << '\n';
}

// What `restore` reads: a file log backup directory or a live log, a SQLite backup file or a live
// SQLite store, given as a path or a file:/sqlite: URL.
struct restore_source {
  store_kind kind = store_kind::file;
  std::string path;
  bool is_backup = false;  // a backup, not a live store
};

inline restore_source find_restore_source(const std::string& arg) {
  namespace fs = std::filesystem;
  restore_source s;
  std::error_code ec;
  if (arg.starts_with("file:") || arg.starts_with("sqlite:") || arg.starts_with("postgres")) {
    const store_url url = parse_store_url(arg);
    if (url.kind == store_kind::postgres)
      throw error(errc::invalid_argument,
                  "restore reads a file log or SQLite backup, not '" + url.shown +
                      "': PostgreSQL keeps its own backups (pg_basebackup, docs/postgres.md)");
    s.kind = url.kind;
    s.path = url.location;
  } else {
    s.path = arg;
    s.kind = fs::is_directory(arg, ec) ? store_kind::file : store_kind::sqlite;
  }
  if (!fs::exists(s.path, ec))
    throw error(errc::invalid_argument, "backup '" + s.path + "' does not exist");
  if (s.kind == store_kind::file) {
    if (!fs::is_directory(s.path, ec))
      throw error(errc::invalid_argument,
                  "backup '" + s.path + "' is not a directory: a file log backup is one");
    s.is_backup = fs::exists(fs::path(s.path) / "BACKUP", ec);
    bool log = false;
    for (const auto& entry : fs::directory_iterator(s.path, ec))
      log = log || impl::is_segment_name(entry.path().filename().string());
    if (!s.is_backup && !log)
      throw error(errc::invalid_argument, "'" + s.path +
                                              "' holds neither an annal backup (no BACKUP file) "
                                              "nor a file log (no segment such as 00000001.log)");
    return s;
  }
#ifdef ANNAL_TOOL_WITH_SQLITE
  // A SQLite backup is an annal store with an annal_backup table; a live store has none.
  sqlite3* db = nullptr;
  const int rc = sqlite3_open_v2(s.path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr);
  const std::unique_ptr<sqlite3, decltype(&sqlite3_close)> owned(db, &sqlite3_close);
  sqlite3_stmt* stmt = nullptr;
  if (rc != SQLITE_OK ||
      sqlite3_prepare_v2(db,
                         "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = "
                         "'annal_backup'",
                         -1, &stmt, nullptr) != SQLITE_OK)
    throw error(errc::invalid_argument, "'" + s.path +
                                            "' is neither a file log backup directory nor a "
                                            "SQLite database");
  const std::unique_ptr<sqlite3_stmt, decltype(&sqlite3_finalize)> finalizing(stmt,
                                                                              &sqlite3_finalize);
  s.is_backup = sqlite3_step(stmt) == SQLITE_ROW && sqlite3_column_int64(stmt, 0) > 0;
  return s;
#else
  throw error(errc::invalid_argument,
              "cannot restore '" + s.path + "': this annal was built without sqlite");
#endif
}

}  // namespace annal::tool::detail
