// Online backups of a SQLite store through SQLite's backup API, their verification, and
// point-in-time restore.
#pragma once

#include <sqlite3.h>

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>

#include <annal/core/error.hpp>
#include <annal/detail/atomic_file.hpp>
#include <annal/sqlite/detail/connection.hpp>
#include <annal/sqlite/store.hpp>
#include <annal/store/recovery.hpp>

namespace annal {
namespace detail::sqlite_backup {

// One connection of this header's own, closed at scope exit. Errors name the file and the step.
class handle {
 public:
  handle(const std::filesystem::path& file, int flags, std::string what, bool immutable = false)
      : what_(std::move(what)) {
    std::string name = file.string();
    if (immutable) {
      // A URI, so that SQLite reads the file as it is: no lock, no -wal or -shm file made.
      std::string uri = "file:";
      for (const char c : name) {
        if (c == '%' || c == '?' || c == '#') {
          char hex[4];
          std::snprintf(hex, sizeof hex, "%%%02X", static_cast<unsigned char>(c));
          uri += hex;
        } else {
          uri += c;
        }
      }
      name = uri + "?immutable=1";
      flags |= SQLITE_OPEN_URI;
    }
    const int rc = sqlite3_open_v2(name.c_str(), &db_, flags, nullptr);
    if (rc != SQLITE_OK) {
      const std::string msg = db_ ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
      sqlite3_close_v2(db_);
      db_ = nullptr;
      throw error(sql::sqlite_errc(rc), what_ + ": cannot open it: " + msg);
    }
    sqlite3_extended_result_codes(db_, 1);
    sqlite3_busy_timeout(db_, 10000);
  }
  handle(const handle&) = delete;
  handle& operator=(const handle&) = delete;
  ~handle() { close(); }
  void close() noexcept {
    sqlite3_close_v2(db_);
    db_ = nullptr;
  }

  sqlite3* get() const noexcept { return db_; }
  const std::string& what() const noexcept { return what_; }

  [[noreturn]] void fail(int rc, std::string_view step) const {
    throw error(sql::sqlite_errc(rc), what_ + ": " + std::string(step) +
                                          " failed: " + sqlite3_errmsg(db_) + " (SQLite code " +
                                          std::to_string(rc) + ")");
  }
  void exec(const std::string& sql, std::string_view step) {
    if (const int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, nullptr); rc != SQLITE_OK)
      fail(rc, step);
  }
  // Runs a query and hands each row's statement to on_row, which may return false to stop.
  template <class OnRow>
  void each(const std::string& sql, std::string_view step, OnRow&& on_row) {
    sqlite3_stmt* s = nullptr;
    if (const int rc = sqlite3_prepare_v2(db_, sql.c_str(), -1, &s, nullptr); rc != SQLITE_OK)
      fail(rc, step);
    struct finalizer {
      sqlite3_stmt* s;
      ~finalizer() { sqlite3_finalize(s); }
    } finalizing{s};
    for (;;) {
      const int rc = sqlite3_step(s);
      if (rc == SQLITE_DONE) return;
      if (rc != SQLITE_ROW) fail(rc, step);
      if (!on_row(s)) return;
    }
  }
  std::int64_t number(const std::string& sql, std::string_view step) {
    std::int64_t v = 0;
    each(sql, step, [&](sqlite3_stmt* s) {
      v = sqlite3_column_int64(s, 0);
      return false;
    });
    return v;
  }

 private:
  std::string what_;
  sqlite3* db_ = nullptr;
};

inline std::string text(sqlite3_stmt* s, int col) {
  const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(s, col));
  return std::string(p ? p : "", static_cast<std::size_t>(sqlite3_column_bytes(s, col)));
}

inline time_point from_ns(std::int64_t ns) {
  return time_point(std::chrono::duration_cast<clock::duration>(std::chrono::nanoseconds(ns)));
}
inline std::int64_t to_ns(time_point t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

// What a check found: the store's last position, its events' streams and last time.
struct checked_store {
  std::uint64_t events = 0;  // rows: fewer than last_position below an archive horizon
  std::uint64_t last_position = 0;
  std::uint64_t archive_horizon = 0;
  std::string archive;  // where positions 1..archive_horizon are (annal::archive)
  std::uint64_t streams = 0;
  std::int64_t last_recorded_at = 0;
};

// Where a store's archive stands (annal::archive): horizon 0 and no name if nothing is archived.
struct archive_point {
  std::uint64_t horizon = 0;
  std::string archive;
};
inline archive_point archive_of(handle& db) {
  archive_point out;
  if (db.number("PRAGMA user_version", "reading the schema version") < 2) return out;
  db.each("SELECT horizon, archive FROM annal_archive", "reading the archive horizon",
          [&](sqlite3_stmt* s) {
            out.horizon = static_cast<std::uint64_t>(sqlite3_column_int64(s, 0));
            out.archive = text(s, 1);
            return false;
          });
  return out;
}

// SQLite's integrity_check, then annal's own invariants: the schema version, positions 1..n with no
// gap, each stream's versions 1..m in the order of their positions, recorded times that never go
// back. A failure throws errc::corrupt_log naming what is wrong and where.
inline checked_store check_store(handle& db) {
  const auto corrupt = [&](const std::string& why) {
    throw error(errc::corrupt_log, db.what() + ": " + why);
  };
  std::string integrity;
  db.each("PRAGMA integrity_check", "PRAGMA integrity_check", [&](sqlite3_stmt* s) {
    integrity = text(s, 0);
    return false;
  });
  if (integrity != "ok") corrupt("SQLite's integrity_check says: " + integrity);
  const std::int64_t version = db.number("PRAGMA user_version", "reading the schema version");
  if (version < 1 || version > sqlite_schema_version)
    corrupt("schema version " + std::to_string(version) + ", not one of annal's (1 to " +
            std::to_string(sqlite_schema_version) + ")");
  checked_store out;
  // Below an archive horizon only each stream's last event is kept (annal::archive).
  const archive_point archived = archive_of(db);
  const auto horizon = static_cast<std::int64_t>(archived.horizon);
  out.archive_horizon = archived.horizon;
  out.archive = archived.archive;
  const std::string h = std::to_string(horizon);
  std::int64_t count = 0, low = 0, high = 0;
  db.each(
      "SELECT count(*), coalesce(min(position), 0), coalesce(max(position), 0), "
      "coalesce(max(recorded_at), 0), count(DISTINCT stream_id) FROM annal_events "
      "WHERE position > " +
          h,
      "counting events", [&](sqlite3_stmt* s) {
        count = sqlite3_column_int64(s, 0);
        low = sqlite3_column_int64(s, 1);
        high = sqlite3_column_int64(s, 2);
        out.last_recorded_at = sqlite3_column_int64(s, 3);
        return false;
      });
  if (count > 0 && (count != high - horizon || low != horizon + 1)) {
    const std::int64_t gap =
        low != horizon + 1
            ? horizon + 1
            : db.number("SELECT a.position + 1 FROM annal_events a WHERE a.position > " + h +
                            " AND NOT EXISTS "
                            "(SELECT 1 FROM annal_events b WHERE b.position = a.position + 1) "
                            "ORDER BY a.position LIMIT 1",
                        "finding a gap in the positions");
    corrupt("position " + std::to_string(gap) + " is missing: " + std::to_string(count) +
            " events hold positions " + std::to_string(horizon + 1) + " to " +
            std::to_string(high));
  }
  std::int64_t kept = 0;
  if (horizon > 0) {
    db.each("SELECT a.position, a.stream_id FROM annal_events a WHERE a.position <= " + h +
                " AND a.stream_version < (SELECT max(b.stream_version) FROM annal_events b "
                "WHERE b.stream_id = a.stream_id) LIMIT 1",
            "checking the events kept below the archive horizon", [&](sqlite3_stmt* s) {
              corrupt("position " + std::to_string(sqlite3_column_int64(s, 0)) + " of stream '" +
                      text(s, 1) + "' is below the archive horizon " + h +
                      " but is not its stream's last event");
              return false;
            });
    db.each(
        "SELECT count(*), coalesce(max(position), 0), coalesce(max(recorded_at), 0) "
        "FROM annal_events WHERE position <= " +
            h,
        "counting the events kept below the archive horizon", [&](sqlite3_stmt* s) {
          kept = sqlite3_column_int64(s, 0);
          if (count == 0) {
            high = sqlite3_column_int64(s, 1);
            out.last_recorded_at = sqlite3_column_int64(s, 2);
          }
          return false;
        });
  }
  out.events = static_cast<std::uint64_t>(count + kept);
  out.streams = static_cast<std::uint64_t>(
      db.number("SELECT count(DISTINCT stream_id) FROM annal_events", "counting streams"));
  out.last_position = static_cast<std::uint64_t>(high);
  // Each stream's versions run without a gap to its last; they start at 1 unless the first ones
  // were archived.
  db.each(
      "SELECT stream_id, count(*), min(stream_version), max(stream_version) FROM annal_events "
      "GROUP BY stream_id HAVING count(*) != max(stream_version) - min(stream_version) + 1" +
          std::string(horizon == 0 ? " OR min(stream_version) != 1" : "") + " LIMIT 1",
      "checking stream versions", [&](sqlite3_stmt* s) {
        corrupt("stream '" + text(s, 0) + "' holds " + std::to_string(sqlite3_column_int64(s, 1)) +
                " events with versions " + std::to_string(sqlite3_column_int64(s, 2)) + " to " +
                std::to_string(sqlite3_column_int64(s, 3)) + ": versions have a gap");
        return false;
      });
  db.each(
      "SELECT b.position, b.stream_id, b.stream_version FROM annal_events a JOIN annal_events b "
      "ON b.stream_id = a.stream_id AND b.stream_version = a.stream_version + 1 "
      "WHERE b.position < a.position LIMIT 1",
      "checking stream versions against positions", [&](sqlite3_stmt* s) {
        corrupt("position " + std::to_string(sqlite3_column_int64(s, 0)) + " holds version " +
                std::to_string(sqlite3_column_int64(s, 2)) + " of stream '" + text(s, 1) +
                "' before that stream's previous version");
        return false;
      });
  db.each(
      "SELECT b.position FROM annal_events a JOIN annal_events b ON b.position = a.position + 1 "
      "WHERE b.recorded_at < a.recorded_at LIMIT 1",
      "checking recorded times", [&](sqlite3_stmt* s) {
        corrupt("position " + std::to_string(sqlite3_column_int64(s, 0)) +
                " was recorded before the position ahead of it");
        return false;
      });
  return out;
}

// What a backup says of itself: when it was taken and up to which position (table annal_backup).
struct backup_info {
  bool found = false;
  std::uint64_t position = 0;
  std::int64_t taken_at = 0;
  std::string source;
};

inline backup_info read_info(handle& db) {
  backup_info info;
  if (db.number("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'annal_backup'",
                "looking for the backup table") == 0)
    return info;
  db.each("SELECT position, taken_at, source FROM annal_backup", "reading the backup table",
          [&](sqlite3_stmt* s) {
            info.found = true;
            info.position = static_cast<std::uint64_t>(sqlite3_column_int64(s, 0));
            info.taken_at = sqlite3_column_int64(s, 1);
            info.source = text(s, 2);
            return false;
          });
  return info;
}

inline std::string event_id_at(handle& db, std::uint64_t position) {
  std::string out = "no event";
  db.each("SELECT hex(event_id) FROM annal_events WHERE position = " + std::to_string(position),
          "reading an event id", [&](sqlite3_stmt* s) {
            out = "event id " + text(s, 0);
            return false;
          });
  return out;
}

// Removes a file and SQLite's files beside it (journal, WAL, shared memory).
inline void remove_database(const std::filesystem::path& file) {
  for (const char* suffix : {"", "-journal", "-wal", "-shm"}) {
    const std::string p = file.string() + suffix;
    if (::unlink(p.c_str()) != 0 && errno != ENOENT) throw_io("cannot remove", p, errno);
  }
}

// Syncs a closed database file and renames it into place.
inline void publish_file(const std::filesystem::path& from, const std::filesystem::path& to) {
  {
    const int fd = ::open(from.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) throw_io("cannot open", from, errno);
    const int rc = ::fsync(fd);
    const int err = errno;
    ::close(fd);
    if (rc != 0) throw_io("cannot fsync", from, err);
  }
  if (::rename(from.c_str(), to.c_str()) != 0) throw_io("cannot rename over", to, errno);
  fsync_directory(parent_or_current(to));
}

// Copies the database `from` (open, in a read transaction of its own or not) into `into`, a fresh
// file, `pages` pages per step; progress through `report` as bytes.
inline void copy_pages(handle& from, handle& into, int pages, backup_reporter* report) {
  sqlite3_backup* b = sqlite3_backup_init(into.get(), "main", from.get(), "main");
  if (!b) into.fail(sqlite3_errcode(into.get()), "starting SQLite's online backup");
  const std::int64_t page_size = from.number("PRAGMA page_size", "reading the page size");
  for (;;) {
    const int rc = sqlite3_backup_step(b, pages);
    if (rc == SQLITE_DONE) {
      if (report) {
        const auto total = static_cast<std::uint64_t>(sqlite3_backup_pagecount(b)) *
                           static_cast<std::uint64_t>(page_size);
        report->set_bytes(total, total);
      }
      break;
    }
    if (rc == SQLITE_OK || rc == SQLITE_BUSY || rc == SQLITE_LOCKED) {
      if (rc != SQLITE_OK) std::this_thread::sleep_for(std::chrono::milliseconds(1));
      if (report)
        report->set_bytes(
            static_cast<std::uint64_t>(sqlite3_backup_pagecount(b) - sqlite3_backup_remaining(b)) *
                static_cast<std::uint64_t>(page_size),
            static_cast<std::uint64_t>(sqlite3_backup_pagecount(b)) *
                static_cast<std::uint64_t>(page_size));
      continue;
    }
    sqlite3_backup_finish(b);
    into.fail(rc, "copying pages from " + from.what());
  }
  if (const int rc = sqlite3_backup_finish(b); rc != SQLITE_OK)
    into.fail(rc, "finishing SQLite's online backup");
}

inline constexpr int read_only = SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX;
inline constexpr int read_write = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;

}  // namespace detail::sqlite_backup

// Backs up `store` into the file `destination` with SQLite's online backup API while appends go on:
// the copy reads one snapshot (a read transaction, which never blocks writers in WAL mode) in steps
// of backup_options::pages_per_step pages. It is built as "<destination>.tmp", checked
// (integrity_check and annal's invariants, see verify_sqlite_backup), given a table annal_backup
// saying when it was taken and up to which position, synced and renamed into place: a destination
// that exists is a whole, checked backup. SQLite backups are full copies: a destination holding an
// earlier backup of the same store (the same event id at its last position) is replaced; any other
// file there is refused.
inline backup_result backup(const sqlite_store& store, const std::filesystem::path& destination,
                            backup_options options = {}) {
  namespace sb = detail::sqlite_backup;
  detail::check_backup_options(options);
  const std::filesystem::path source = store.path();
  sb::handle from(source, sb::read_only, "SQLite store '" + source.string() + "'");
  std::error_code ec;
  if (std::filesystem::exists(destination, ec)) {
    sb::backup_info earlier;
    try {
      sb::handle old(destination, sb::read_only, "backup '" + destination.string() + "'", true);
      earlier = sb::read_info(old);
    } catch (const error&) {
      earlier.found = false;
    }
    if (!earlier.found)
      throw error(errc::invalid_argument,
                  "backup destination '" + destination.string() +
                      "' exists and is no annal SQLite backup: a backup goes to a new file or "
                      "replaces an earlier backup of the same store");
    sb::handle old(destination, sb::read_only, "backup '" + destination.string() + "'", true);
    const std::string theirs = sb::event_id_at(old, earlier.position);
    const std::string ours = sb::event_id_at(from, earlier.position);
    if (earlier.position > 0 && theirs != ours)
      throw error(errc::invalid_argument,
                  "backup destination '" + destination.string() +
                      "' holds a backup up to position " + std::to_string(earlier.position) + " (" +
                      theirs + "), but the store '" + source.string() + "' holds " + ours +
                      " there: it is another store, or this one rewritten since; back up to a new "
                      "file");
  }
  std::filesystem::path staging = destination;
  staging += ".tmp";
  sb::remove_database(staging);

  // One read transaction: the copy is of one snapshot, whatever writers do meanwhile. It starts
  // while another connection holds the write lock for a moment: an append reads the clock for its
  // recorded_at under that lock, so none is then between its clock and its commit, and every
  // later append is recorded at `taken_at` or after.
  std::int64_t taken_at = 0;
  std::uint64_t last = 0;
  {
    sb::handle gate(source, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX,
                    "SQLite store '" + source.string() + "'");
    gate.exec("BEGIN IMMEDIATE", "holding appends back for the backup's snapshot");
    from.exec("BEGIN", "starting a read transaction");
    last = static_cast<std::uint64_t>(from.number(
        "SELECT coalesce(max(position), 0) FROM annal_events", "reading the last position"));
    taken_at = sb::to_ns(clock::now());
    gate.exec("ROLLBACK", "letting appends go on");
  }
  detail::backup_reporter report(options, 0, last);
  backup_result result;
  {
    sb::handle into(staging, sb::read_write, "backup '" + staging.string() + "'");
    sb::copy_pages(from, into, options.pages_per_step, &report);
    from.exec("COMMIT", "ending the read transaction");
    // A file of its own: no WAL beside it to lose when it is copied or moved.
    into.exec("PRAGMA journal_mode=DELETE", "leaving WAL mode");
    sqlite3_stmt* s = nullptr;
    into.exec(
        "CREATE TABLE annal_backup (position INTEGER NOT NULL, taken_at INTEGER NOT NULL, "
        "source TEXT NOT NULL)",
        "creating the backup table");
    if (const int rc = sqlite3_prepare_v2(into.get(), "INSERT INTO annal_backup VALUES (?, ?, ?)",
                                          -1, &s, nullptr);
        rc != SQLITE_OK)
      into.fail(rc, "recording the backup");
    sqlite3_bind_int64(s, 1, static_cast<sqlite3_int64>(last));
    sqlite3_bind_int64(s, 2, taken_at);
    const std::string name = source.string();
    sqlite3_bind_text(s, 3, name.c_str(), static_cast<int>(name.size()), SQLITE_TRANSIENT);
    const int rc = sqlite3_step(s);
    sqlite3_finalize(s);
    if (rc != SQLITE_DONE) into.fail(rc, "recording the backup");
    const sb::checked_store checked = sb::check_store(into);
    if (checked.last_position != last)
      throw error(errc::corrupt_log, "backup '" + staging.string() + "' ends at position " +
                                         std::to_string(checked.last_position) + ", not " +
                                         std::to_string(last) + " as the store's snapshot did");
    result.events = checked.events;
    result.last_position = last;
    result.new_events = last;
    result.last_recorded_at = sb::from_ns(checked.last_recorded_at);
    report.at(report.bytes(), last, last);
  }
  sb::publish_file(staging, destination);
  result.bytes = std::filesystem::file_size(destination);
  result.copied_bytes = result.bytes;
  report.finish();
  result.elapsed = report.elapsed();
  return result;
}

// Checks a SQLite backup without opening it for writing (read through SQLite's immutable mode):
// integrity_check, annal's invariants (positions 1..n without a gap, each stream's versions 1..m
// in position order, recorded times that never go back) and its annal_backup record.
inline verified_backup verify_sqlite_backup(const std::filesystem::path& file) {
  namespace sb = detail::sqlite_backup;
  std::error_code ec;
  const std::filesystem::file_type type = std::filesystem::status(file, ec).type();
  if (type == std::filesystem::file_type::not_found)
    throw error(errc::corrupt_log, "backup '" + file.string() + "' does not exist");
  if (type == std::filesystem::file_type::directory)
    throw error(errc::corrupt_log,
                "'" + file.string() +
                    "' is a directory, not a SQLite backup, which is one file (a "
                    "file log's backup is a directory, read by verify_backup "
                    "and restore)");
  if (type != std::filesystem::file_type::regular)
    throw error(errc::corrupt_log, "'" + file.string() + "' is not a file, so no SQLite backup");
  sb::handle db(file, sb::read_only, "backup '" + file.string() + "'", true);
  const sb::backup_info info = sb::read_info(db);
  if (!info.found)
    throw error(errc::corrupt_log, "'" + file.string() +
                                       "' is not an annal SQLite backup: it has no annal_backup "
                                       "table (a backup writes one once its copy checks out)");
  const sb::checked_store checked = sb::check_store(db);
  if (checked.last_position != info.position)
    throw error(errc::corrupt_log, "backup '" + file.string() + "' ends at position " +
                                       std::to_string(checked.last_position) +
                                       ", but its annal_backup table says " +
                                       std::to_string(info.position));
  verified_backup out;
  out.events = checked.events;
  out.last_position = checked.last_position;
  out.streams = checked.streams;
  out.bytes = std::filesystem::file_size(file);
  out.last_recorded_at = sb::from_ns(checked.last_recorded_at);
  out.taken_at = sb::from_ns(info.taken_at);
  return out;
}

// Restores the SQLite backup `backup_file` (verified first) as a new store file `target` holding
// every event up to `to`: the copy is made, then everything after the point is deleted in one
// transaction, which keeps the schema's invariants (what is left is a prefix: each stream keeps
// versions 1..m). SQLite does not record batches; events of one stream at consecutive positions
// with one recorded time were appended together, and a position inside such a run is refused.
// A point beyond the backup's end and a target that exists are refused.
inline restore_result restore_sqlite_backup(const std::filesystem::path& backup_file,
                                            const std::filesystem::path& target, restore_point to) {
  namespace sb = detail::sqlite_backup;
  const auto started = std::chrono::steady_clock::now();
  detail::refuse_existing_restore_target(target);
  const verified_backup v = verify_sqlite_backup(backup_file);
  const std::string what = "backup '" + backup_file.string() + "'";
  if (to.what() == restore_point::kind::position && to.position() > v.last_position)
    throw error(errc::invalid_argument, "restore point position " + std::to_string(to.position()) +
                                            " is beyond the end of " + what + ", position " +
                                            std::to_string(v.last_position));
  if (to.what() == restore_point::kind::time && to.time() > v.taken_at)
    throw error(errc::invalid_argument,
                "restore point " + detail::describe_time(to.time()) + " is after " + what +
                    " was taken (" + detail::describe_time(v.taken_at) + ", position " +
                    std::to_string(v.last_position) + "): it cannot say what was appended since");

  std::filesystem::path staging = target;
  staging += ".restoring";
  sb::remove_database(staging);
  // A restore that fails leaves nothing behind; one that is killed leaves the staging file, which
  // the next restore removes.
  struct remove_unless_published {
    const std::filesystem::path& path;
    bool published = false;
    ~remove_unless_published() {
      if (published) return;
      try {
        detail::sqlite_backup::remove_database(path);
      } catch (...) {  // best effort: the next restore removes it
      }
    }
  } cleanup{staging};
  restore_result out;
  {
    sb::handle from(backup_file, sb::read_only, what, true);
    sb::handle into(staging, sb::read_write, "restored store '" + staging.string() + "'");
    sb::copy_pages(from, into, 4096, nullptr);
    into.exec("PRAGMA journal_mode=DELETE", "leaving WAL mode");
    into.exec("BEGIN IMMEDIATE", "starting the restore's transaction");
    std::uint64_t keep = v.last_position;
    if (to.what() == restore_point::kind::time) {
      keep = static_cast<std::uint64_t>(
          into.number("SELECT coalesce(max(position), 0) FROM annal_events WHERE recorded_at <= " +
                          std::to_string(sb::to_ns(to.time())),
                      "finding the last event at the restore point"));
    } else if (to.what() == restore_point::kind::position) {
      keep = to.position();
    }
    // Below an archive horizon the store keeps only each stream's last event: a point there, or one
    // that would leave a stream whose first events are archived without its last, cannot be
    // restored from this store alone.
    const sb::archive_point archived = sb::archive_of(into);
    if (archived.horizon != 0 && keep < v.last_position) {
      const std::string h = std::to_string(archived.horizon);
      if (keep <= archived.horizon)
        throw error(errc::archived, "restore point position " + std::to_string(keep) +
                                        " is at or below the archive horizon " + h + " of " + what +
                                        ": positions 1 to " + h + " are in the archive '" +
                                        archived.archive +
                                        "'; restore to a later position, or restore the archive");
      into.each(
          "SELECT stream_id, min(position), (SELECT max(m) FROM (SELECT min(position) m FROM "
          "annal_events GROUP BY stream_id HAVING min(stream_version) > 1)) FROM annal_events "
          "GROUP BY stream_id HAVING min(stream_version) > 1 AND min(position) > " +
              std::to_string(keep) + " LIMIT 1",
          "looking for streams the point would leave without their last event",
          [&](sqlite3_stmt* s) {
            throw error(errc::archived,
                        "restore point position " + std::to_string(keep) + " would leave stream '" +
                            sb::text(s, 0) + "' without its last event: its first events are in " +
                            "the archive '" + archived.archive + "' and the rest begin at " +
                            "position " + std::to_string(sqlite3_column_int64(s, 1)) +
                            "; restore to position " + std::to_string(sqlite3_column_int64(s, 2)) +
                            " or later");
            return false;
          });
    }
    std::uint64_t first = keep, last = keep;
    if (keep > 0 && keep < v.last_position) {
      into.each(
          "SELECT a.stream_id = b.stream_id AND a.recorded_at = b.recorded_at FROM "
          "annal_events a, annal_events b WHERE a.position = " +
              std::to_string(keep) + " AND b.position = " + std::to_string(keep + 1),
          "looking at the batch around the point", [&](sqlite3_stmt* s) {
            if (sqlite3_column_int(s, 0) != 0) last = keep + 1;
            return false;
          });
      if (last != keep) {
        const std::string same =
            "SELECT p.position FROM annal_events p, annal_events k WHERE k.position = " +
            std::to_string(keep) +
            " AND p.stream_id = k.stream_id AND p.recorded_at = k.recorded_at AND p.position ";
        // Its bounds: the nearest positions around it that are not of the run.
        first = static_cast<std::uint64_t>(into.number(
                    "SELECT coalesce(max(position), 0) FROM annal_events WHERE position < " +
                        std::to_string(keep) + " AND position NOT IN (" + same + "< " +
                        std::to_string(keep) + ")",
                    "finding the batch's start")) +
                1;
        last = static_cast<std::uint64_t>(into.number(
                   "SELECT coalesce(min(position), " + std::to_string(v.last_position + 1) +
                       ") FROM annal_events WHERE position > " + std::to_string(keep) +
                       " AND position NOT IN (" + same + "> " + std::to_string(keep) + ")",
                   "finding the batch's end")) -
               1;
        throw error(errc::invalid_argument,
                    "restore point position " + std::to_string(keep) +
                        " is inside a batch, positions " + std::to_string(first) + " to " +
                        std::to_string(last) +
                        ", appended together: a restore ends at a batch's end; restore to "
                        "position " +
                        std::to_string(first - 1) + " or " + std::to_string(last));
      }
    }
    into.exec("DELETE FROM annal_events WHERE position > " + std::to_string(keep),
              "deleting the events after the restore point");
    into.exec("DROP TABLE annal_backup", "dropping the backup table");
    into.exec("COMMIT", "committing the restore");
    const sb::checked_store checked = sb::check_store(into);
    if (checked.last_position != keep)
      throw error(errc::corrupt_log, "restored store '" + staging.string() + "' ends at position " +
                                         std::to_string(checked.last_position) + ", not " +
                                         std::to_string(keep));
    out.events = checked.events;
    out.last_position = keep;
    out.left_out = v.last_position - keep;
    out.last_recorded_at = sb::from_ns(checked.last_recorded_at);
  }
  sb::publish_file(staging, target);
  cleanup.published = true;
  out.elapsed = std::chrono::steady_clock::now() - started;
  return out;
}

// The same from a live store: a backup to "<target>.backup" (removed afterwards), then a restore of
// it; appends go on meanwhile.
inline restore_result restore(const sqlite_store& store, const std::filesystem::path& target,
                              restore_point to) {
  detail::refuse_existing_restore_target(target);
  std::filesystem::path copy = target;
  copy += ".backup";
  detail::sqlite_backup::remove_database(copy);
  backup(store, copy);
  struct remover {
    std::filesystem::path file;
    ~remover() {
      std::error_code ignored;  // a leftover copy is removed by the next run
      std::filesystem::remove(file, ignored);
    }
  } removing{copy};
  return restore_sqlite_backup(copy, target, to);
}

}  // namespace annal
