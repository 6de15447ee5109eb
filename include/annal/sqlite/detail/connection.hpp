// One sqlite3 connection with its prepared statements, and the pool that shares them among threads.
#pragma once

#include <sqlite3.h>

#include <array>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <annal/core/error.hpp>
#include <annal/detail/connection_pool.hpp>
#include <annal/sqlite/detail/checkpointer.hpp>

namespace annal::detail::sql {

// Maps an SQLite result code to the annal error that describes it best.
inline errc sqlite_errc(int rc) noexcept {
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return errc::store_locked;
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return errc::corrupt_log;
    default:
      return errc::io_error;
  }
}

// The statements a connection prepares once and reuses; `sqlite_sql` holds their text.
enum class sqlite_stmt : std::size_t {
  find_id,
  stream_version,
  head,
  insert,
  insert_8,
  insert_32,
  read_all,
  read_stream,
  begin_immediate,
  commit,
  rollback,
  stream_end,
  archived,
  drop_archived,
  record_archive,
  count_kept,
  schema_version,
  begin_read,
  count_
};

// Rows per INSERT statement (0: not an insert). One step for many rows saves SQLite's
// per-statement work, about a third of the per-row CPU at 32 rows. Row r's columns are the
// parameters 11r+1 ... 11r+11, in the order of sqlite_insert_sql's column list.
inline constexpr std::size_t sqlite_insert_columns = 11;
inline constexpr std::size_t sqlite_insert_rows(sqlite_stmt s) noexcept {
  switch (s) {
    case sqlite_stmt::insert:
      return 1;
    case sqlite_stmt::insert_8:
      return 8;
    case sqlite_stmt::insert_32:
      return 32;
    default:
      return 0;
  }
}

// The text of `INSERT ... VALUES (...), (...)` with `rows` rows.
inline std::string sqlite_insert_sql(std::size_t rows) {
  std::string sql =
      "INSERT INTO annal_events (position, stream_id, stream_version, event_id, type, "
      "schema_version, payload, correlation_id, causation_id, metadata, recorded_at) VALUES ";
  for (std::size_t r = 0; r < rows; ++r) {
    sql += r == 0 ? "(" : ", (";
    for (std::size_t c = 1; c <= sqlite_insert_columns; ++c) {
      if (c > 1) sql += ", ";
      sql += '?' + std::to_string(r * sqlite_insert_columns + c);
    }
    sql += ')';
  }
  return sql;
}

// The columns every read selects, in the order sqlite_store::row reads them.
inline constexpr std::string_view sqlite_event_columns =
    "position, stream_id, stream_version, event_id, type, schema_version, payload, "
    "correlation_id, causation_id, metadata, recorded_at";

// Up to this many types a filtered read walks one index range per type (a statement each, on one
// connection); beyond, one statement walks the positions and tests each row's type.
inline constexpr std::size_t sqlite_merged_types = 64;

// A filtered read's statements. Parameters: ?1 the first position, ?2 the row limit, then each
// prefix's lower and upper bound (?3, ?4 ...; an upper bound of NULL means none), then the types.
// `sqlite_filtered_type_sql`: the rows of one type (the first type parameter), in position order
// straight from the (type, position) index; `slot` only tells apart the statements of one read,
// which are stepped side by side and merged, so each reads only the rows the merge takes (a
// `type IN (...)`, or a compound SELECT, sorts every row it may need first).
// `sqlite_filtered_scan_sql`: every position from ?1, each row's type and stream tested in SQLite.
inline std::string sqlite_prefix_test(std::size_t prefixes) {
  std::string test;
  for (std::size_t j = 0; j < prefixes; ++j) {
    const std::string lo = "?" + std::to_string(3 + 2 * j), hi = "?" + std::to_string(4 + 2 * j);
    test += (j == 0 ? " AND ((" : " OR (") + std::string("stream_id >= ") + lo + " AND (" + hi +
            " IS NULL OR stream_id < " + hi + "))";
  }
  return prefixes > 0 ? test + ")" : test;
}

inline std::string sqlite_filtered_type_sql(std::size_t prefixes, std::size_t slot) {
  return "SELECT " + std::string(sqlite_event_columns) + " FROM annal_events WHERE type = ?" +
         std::to_string(3 + 2 * prefixes) + " AND position >= ?1" + sqlite_prefix_test(prefixes) +
         " ORDER BY position LIMIT ?2 /* " + std::to_string(slot) + " */";
}

inline std::string sqlite_filtered_scan_sql(std::size_t types, std::size_t prefixes) {
  std::string in;
  for (std::size_t i = 0; i < types; ++i)
    in += (i == 0 ? "" : ", ") + ("?" + std::to_string(3 + 2 * prefixes + i));
  // `+type`: not the index, whose ranges would have to be sorted whole.
  return "SELECT " + std::string(sqlite_event_columns) + " FROM annal_events WHERE position >= ?1" +
         (types == 0 ? std::string() : " AND +type IN (" + in + ")") +
         sqlite_prefix_test(prefixes) + " ORDER BY position LIMIT ?2";
}

// The least string above every string that starts with `prefix`, in byte order (SQLite's BINARY
// collation): the prefix without its trailing 0xFF bytes, its last byte raised by one. None when
// the prefix is all 0xFF bytes.
inline std::optional<std::string> prefix_upper_bound(std::string_view prefix) {
  std::string up(prefix);
  while (!up.empty() && static_cast<unsigned char>(up.back()) == 0xFF) up.pop_back();
  if (up.empty()) return std::nullopt;
  up.back() = static_cast<char>(static_cast<unsigned char>(up.back()) + 1);
  return up;
}

// The statements' text; the inserts' is built by sqlite_insert_sql.
inline constexpr std::array<std::string_view, static_cast<std::size_t>(sqlite_stmt::count_)>
    sqlite_sql = {
        "SELECT stream_id, stream_version, position FROM annal_events WHERE event_id = ?1",
        "SELECT coalesce(max(stream_version), 0) FROM annal_events WHERE stream_id = ?1",
        "SELECT position, recorded_at FROM annal_events ORDER BY position DESC LIMIT 1",
        "",  // insert, insert_8, insert_32: sqlite_insert_sql
        "", "",
        "SELECT position, stream_id, stream_version, event_id, type, schema_version, payload, "
        "correlation_id, causation_id, metadata, recorded_at FROM annal_events "
        "WHERE position >= ?1 ORDER BY position LIMIT ?2",
        "SELECT position, stream_id, stream_version, event_id, type, schema_version, payload, "
        "correlation_id, causation_id, metadata, recorded_at FROM annal_events "
        "WHERE stream_id = ?1 AND stream_version >= ?2 ORDER BY stream_version LIMIT ?3",
        "BEGIN IMMEDIATE", "COMMIT", "ROLLBACK",
        // The stream's version and whether its last event is of type ?2 (a tombstone).
        "SELECT stream_version, type = ?2 FROM annal_events WHERE stream_id = ?1 "
        "ORDER BY stream_version DESC LIMIT 1",
        "SELECT horizon, last_id, archive, archived_at FROM annal_archive",
        // Every event up to the horizon but the last of its stream (annal::archive).
        "DELETE FROM annal_events WHERE position <= ?1 AND stream_version < (SELECT "
        "max(b.stream_version) FROM annal_events b WHERE b.stream_id = annal_events.stream_id)",
        "INSERT OR REPLACE INTO annal_archive (id, horizon, last_id, archive, archived_at) "
        "VALUES (1, ?1, ?2, ?3, ?4)",
        "SELECT count(*) FROM annal_events WHERE position <= ?1", "PRAGMA user_version",
        "BEGIN",  // deferred: a read snapshot from the first read to COMMIT
};

inline constexpr std::string_view sqlite_stmt_name(sqlite_stmt s) noexcept {
  constexpr std::array<std::string_view, static_cast<std::size_t>(sqlite_stmt::count_)> names = {
      "find_id",  "stream_version", "head",           "insert",     "insert_8",       "insert_32",
      "read_all", "read_stream",    "begin",          "commit",     "rollback",       "stream_end",
      "archived", "drop_archived",  "record_archive", "count_kept", "schema_version", "begin_read"};
  return names[static_cast<std::size_t>(s)];
}

class sqlite_connection {
 public:
  sqlite_connection(const std::string& path, bool synchronous_full, int busy_timeout_ms)
      : path_(path) {
    const int rc =
        sqlite3_open_v2(path.c_str(), &db_,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
    if (rc != SQLITE_OK) {
      const std::string msg = db_ ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
      sqlite3_close_v2(db_);
      db_ = nullptr;
      throw error(sqlite_errc(rc), "cannot open SQLite store '" + path + "': " + msg);
    }
    sqlite3_extended_result_codes(db_, 1);
    sqlite3_busy_timeout(db_, busy_timeout_ms);
    try {
      exec("PRAGMA journal_mode=WAL", "journal_mode");
      exec(synchronous_full ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL",
           "synchronous");
    } catch (...) {
      // A constructor that throws runs no destructor: close the handle here (a file that is not
      // a database fails at the first PRAGMA), then let the caller see the error.
      sqlite3_close_v2(db_);
      db_ = nullptr;
      throw;
    }
  }
  sqlite_connection(const sqlite_connection&) = delete;
  sqlite_connection& operator=(const sqlite_connection&) = delete;
  ~sqlite_connection() {
    for (sqlite3_stmt* s : stmts_) sqlite3_finalize(s);
    for (auto& [sql, s] : built_) sqlite3_finalize(s);
    sqlite3_close_v2(db_);
  }

  sqlite3* handle() const noexcept { return db_; }

  [[noreturn]] void fail(int rc, std::string_view what) const {
    throw error(sqlite_errc(rc), "SQLite store '" + path_ + "': " + std::string(what) +
                                     " failed: " + sqlite3_errmsg(db_) + " (SQLite code " +
                                     std::to_string(rc) + ")");
  }

  // Runs SQL that returns no rows we need (pragmas, DDL).
  void exec(const std::string& sql, std::string_view what) {
    char* msg = nullptr;
    const int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &msg);
    if (rc != SQLITE_OK) {
      const std::string text = msg ? msg : sqlite3_errstr(rc);
      sqlite3_free(msg);
      throw error(sqlite_errc(rc),
                  "SQLite store '" + path_ + "': " + std::string(what) + " failed: " + text);
    }
  }

  // The prepared statement, reset and with its bindings cleared, ready to bind.
  sqlite3_stmt* stmt(sqlite_stmt which) {
    sqlite3_stmt* s = prepared(which);
    sqlite3_clear_bindings(s);
    return s;
  }

  // The prepared statement, reset, its old bindings kept: for callers that bind every parameter
  // (clearing hundreds of a multi-row insert's parameters would be wasted work).
  sqlite3_stmt* prepared(sqlite_stmt which) {
    sqlite3_stmt*& s = stmts_[static_cast<std::size_t>(which)];
    if (!s) {
      const std::size_t rows = sqlite_insert_rows(which);
      const std::string built = rows > 0 ? sqlite_insert_sql(rows) : std::string();
      const std::string_view sql =
          rows > 0 ? std::string_view(built) : sqlite_sql[static_cast<std::size_t>(which)];
      const int rc = sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()),
                                        SQLITE_PREPARE_PERSISTENT, &s, nullptr);
      if (rc != SQLITE_OK) fail(rc, "preparing statement " + std::string(sqlite_stmt_name(which)));
    } else {
      sqlite3_reset(s);
    }
    return s;
  }

  // Steps a statement; returns true for a row, false when done, throws on failure.
  bool step(sqlite3_stmt* s, sqlite_stmt which) {
    const int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    sqlite3_reset(s);
    fail(rc, "statement " + std::string(sqlite_stmt_name(which)));
  }

  // A stepped statement that is not reset keeps its read snapshot open, and a later write on this
  // connection would fail with SQLITE_BUSY_SNAPSHOT: every lease ends with this.
  void reset_all() noexcept {
    for (sqlite3_stmt* s : stmts_)
      if (s) sqlite3_reset(s);
    for (auto& [sql, s] : built_) sqlite3_reset(s);
  }

  // A statement whose text is built at run time (a filter's shape), prepared on first use and
  // kept, reset and with its bindings cleared. Call make_room_for first: it may finalize them all.
  sqlite3_stmt* built(const std::string& sql, std::string_view what) {
    if (auto it = built_.find(sql); it != built_.end()) {
      sqlite3_reset(it->second);
      sqlite3_clear_bindings(it->second);
      return it->second;
    }
    sqlite3_stmt* s = nullptr;
    const int rc = sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()),
                                      SQLITE_PREPARE_PERSISTENT, &s, nullptr);
    if (rc != SQLITE_OK) fail(rc, "preparing " + std::string(what));
    built_.emplace(sql, s);
    return s;
  }

  // Before a read that takes up to `n` built statements: a program that reads with ever new
  // shapes keeps a bounded number of them (all are dropped, none in use, when the next would not
  // fit).
  void make_room_for(std::size_t n) {
    constexpr std::size_t max_built = 160;
    if (built_.size() + n <= max_built) return;
    for (auto& [text, s] : built_) sqlite3_finalize(s);
    built_.clear();
  }

  // Steps a built statement; returns true for a row, false when done, throws on failure.
  bool step_built(sqlite3_stmt* s, std::string_view what) {
    const int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    sqlite3_reset(s);
    fail(rc, what);
  }

  void run(sqlite_stmt which) {
    sqlite3_stmt* s = stmt(which);
    step(s, which);
    sqlite3_reset(s);
  }

 private:
  std::string path_;
  sqlite3* db_ = nullptr;
  std::array<sqlite3_stmt*, static_cast<std::size_t>(sqlite_stmt::count_)> stmts_{};
  std::map<std::string, sqlite3_stmt*, std::less<>> built_;
};

struct sqlite_opener {
  std::string path;
  bool synchronous_full;
  int busy_timeout_ms;
  int checkpoint_pages;
  sqlite_checkpointer* checkpointer;  // null: SQLite checkpoints in the commit
  std::unique_ptr<sqlite_connection> operator()() const {
    auto c = std::make_unique<sqlite_connection>(path, synchronous_full, busy_timeout_ms);
    if (checkpointer)
      sqlite3_wal_hook(c->handle(), &sqlite_checkpointer::on_commit, checkpointer);
    else
      sqlite3_wal_autocheckpoint(c->handle(), checkpoint_pages);
    return c;
  }
};
struct sqlite_recycler {
  bool operator()(sqlite_connection& c) const noexcept {
    c.reset_all();
    return true;
  }
};

// A few connections shared by threads; each is used by one thread at a time.
class sqlite_pool : public connection_pool<sqlite_connection, sqlite_opener, sqlite_recycler> {
 public:
  sqlite_pool(std::string path, bool synchronous_full, int busy_timeout_ms, std::size_t size,
              int checkpoint_pages, sqlite_checkpointer* checkpointer)
      : connection_pool(
            {std::move(path), synchronous_full, busy_timeout_ms, checkpoint_pages, checkpointer},
            {}, size) {}
};

}  // namespace annal::detail::sql
