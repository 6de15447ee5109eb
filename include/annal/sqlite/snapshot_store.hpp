// The SQLite snapshot store: snapshots as rows of one table, beside the SQLite event store or
// alone. Needs the annal::sqlite CMake component (sqlite3).
#pragma once

#include <algorithm>
#include <cstdint>
#include <limits>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <sqlite3.h>

#include <annal/core/error.hpp>
#include <annal/detail/validate.hpp>
#include <annal/runtime/log.hpp>
#include <annal/snapshot/snapshot_store.hpp>

namespace annal {

// Table `annal_snapshots` keyed by (aggregate_name, stream_id, version). Each save is one
// transaction: it replaces a row at the same version, deletes rows of other fingerprints or
// revisions, and keeps the last `retention.keep` rows of the aggregate and stream, never touching
// another aggregate's. Unsigned 64-bit values are stored by their bit pattern. A table from before
// aggregate names (no aggregate_name column) is dropped and created again when the store opens:
// its rows could belong to any aggregate, and snapshots are only a cache.
// Thread-safe (one connection behind a mutex).
class sqlite_snapshot_store {
 public:
  explicit sqlite_snapshot_store(const std::string& path, snapshot_retention retention = {})
      : path_(path), retention_(detail::checked(retention)) {
    const int rc =
        sqlite3_open_v2(path.c_str(), &db_,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
    if (rc != SQLITE_OK) {
      const std::string message = db_ ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
      sqlite3_close_v2(db_);
      throw error(errc::io_error, "cannot open SQLite snapshot store '" + path + "': " + message);
    }
    sqlite3_busy_timeout(db_, 5000);
    try {
      exec("PRAGMA journal_mode=WAL");
      migrate();
    } catch (...) {
      sqlite3_close_v2(db_);  // no destructor runs for a constructor that throws
      throw;
    }
  }
  sqlite_snapshot_store(const sqlite_snapshot_store&) = delete;
  sqlite_snapshot_store& operator=(const sqlite_snapshot_store&) = delete;
  ~sqlite_snapshot_store() { sqlite3_close_v2(db_); }

  void save(const snapshot_record& r) {
    detail::validate_stream_id(r.stream_id);
    detail::validate_aggregate_name(r.aggregate_name);
    std::lock_guard lock(mutex_);
    exec("BEGIN IMMEDIATE");
    try {
      statement drop(*this,
                     "DELETE FROM annal_snapshots WHERE aggregate_name = ?5 AND stream_id = ?1"
                     " AND (version = ?2 OR fingerprint <> ?3 OR revision <> ?4)");
      drop.text(1, r.stream_id)
          .integer(2, r.version)
          .integer(3, r.fingerprint)
          .integer(4, r.revision);
      drop.text(5, r.aggregate_name);
      drop.done();
      statement put(*this,
                    "INSERT INTO annal_snapshots (aggregate_name, stream_id, version, event_time,"
                    " fingerprint, revision, state) VALUES (?7, ?1, ?2, ?3, ?4, ?5, ?6)");
      put.text(1, r.stream_id)
          .integer(2, r.version)
          .integer(3, static_cast<std::uint64_t>(r.event_time.time_since_epoch().count()))
          .integer(4, r.fingerprint)
          .integer(5, r.revision)
          .blob(6, r.state)
          .text(7, r.aggregate_name);
      put.done();
      statement trim(
          *this,
          "DELETE FROM annal_snapshots WHERE aggregate_name = ?3 AND stream_id = ?1"
          " AND version NOT IN (SELECT version FROM annal_snapshots"
          "  WHERE aggregate_name = ?3 AND stream_id = ?1 ORDER BY version DESC LIMIT ?2)");
      trim.text(1, r.stream_id).integer(2, retention_.keep).text(3, r.aggregate_name);
      trim.done();
      exec("COMMIT");
    } catch (...) {
      sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr,
                   nullptr);  // the first error is the one reported
      throw;
    }
  }

  std::optional<snapshot_record> load(std::string_view aggregate_name, std::string_view stream_id,
                                      snapshot_query q = {}) const {
    detail::validate_stream_id(stream_id);
    std::lock_guard lock(mutex_);
    // Versions and times are compared as unsigned in C++: the row scan stays per stream and short.
    statement rows(*this,
                   "SELECT version, event_time, fingerprint, revision, state FROM annal_snapshots"
                   " WHERE aggregate_name = ?2 AND stream_id = ?1 ORDER BY version DESC");
    rows.text(1, stream_id).text(2, aggregate_name);
    while (rows.step()) {
      snapshot_record r;
      r.aggregate_name = std::string(aggregate_name);
      r.stream_id = std::string(stream_id);
      r.version = rows.unsigned_column(0);
      r.event_time =
          time_point(time_point::duration(static_cast<time_point::rep>(rows.unsigned_column(1))));
      if (r.version > q.max_version || r.event_time > q.max_time) continue;
      r.fingerprint = rows.unsigned_column(2);
      r.revision = static_cast<std::uint32_t>(rows.unsigned_column(3));
      r.state = rows.blob_column(4);
      return r;
    }
    return std::nullopt;
  }

  // Every snapshot kept for an aggregate and stream, oldest first: for tests and tools.
  std::vector<snapshot_record> list(std::string_view aggregate_name,
                                    std::string_view stream_id) const {
    return detail::list_by_loading(*this, aggregate_name, stream_id);
  }

 private:
  // Creates the table, or replaces one from before aggregate names, in one transaction.
  void migrate() {
    exec("BEGIN IMMEDIATE");
    try {
      bool exists = false, named = false;
      {
        statement columns(*this, "SELECT name FROM pragma_table_info('annal_snapshots')");
        while (columns.step()) {
          exists = true;
          named = named || columns.text_column(0) == "aggregate_name";
        }
      }
      if (exists && !named) {
        std::uint64_t dropped = 0;
        {
          statement count(*this, "SELECT count(*) FROM annal_snapshots");
          if (count.step()) dropped = count.unsigned_column(0);
        }  // finalized: a pending statement would lock the table against DROP
        exec("DROP TABLE annal_snapshots");
        log(log_level::info,
            "SQLite snapshot store '" + path_ + "': dropped " + std::to_string(dropped) +
                " snapshots taken before snapshots named their aggregate; states are "
                "rebuilt from events and snapshotted again");
      }
      exec(
          "CREATE TABLE IF NOT EXISTS annal_snapshots ("
          " aggregate_name TEXT NOT NULL, stream_id TEXT NOT NULL, version INTEGER NOT NULL,"
          " event_time INTEGER NOT NULL, fingerprint INTEGER NOT NULL, revision INTEGER NOT NULL,"
          " state BLOB NOT NULL, PRIMARY KEY (aggregate_name, stream_id, version)) WITHOUT ROWID");
      exec("COMMIT");
    } catch (...) {
      sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
      throw;
    }
  }

  class statement {
   public:
    statement(const sqlite_snapshot_store& owner, const char* sql) : owner_(&owner) {
      if (const int rc = sqlite3_prepare_v2(owner.db_, sql, -1, &stmt_, nullptr); rc != SQLITE_OK)
        owner.fail("prepare");
    }
    statement(const statement&) = delete;
    statement& operator=(const statement&) = delete;
    ~statement() { sqlite3_finalize(stmt_); }

    statement& text(int i, std::string_view s) {
      check(sqlite3_bind_text(stmt_, i, s.data(), static_cast<int>(s.size()), SQLITE_TRANSIENT));
      return *this;
    }
    statement& blob(int i, std::string_view s) {
      check(sqlite3_bind_blob(stmt_, i, s.data(), static_cast<int>(s.size()), SQLITE_TRANSIENT));
      return *this;
    }
    statement& integer(int i, std::uint64_t v) {
      check(sqlite3_bind_int64(stmt_, i, static_cast<sqlite3_int64>(v)));
      return *this;
    }
    bool step() {
      const int rc = sqlite3_step(stmt_);
      if (rc == SQLITE_ROW) return true;
      if (rc != SQLITE_DONE) owner_->fail("step");
      return false;
    }
    void done() {
      if (step()) owner_->fail("a statement that returns no rows returned one");
    }
    std::uint64_t unsigned_column(int i) const {
      return static_cast<std::uint64_t>(sqlite3_column_int64(stmt_, i));
    }
    std::string text_column(int i) const {
      const auto* data = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, i));
      return data ? std::string(data, static_cast<std::size_t>(sqlite3_column_bytes(stmt_, i)))
                  : std::string();
    }
    std::string blob_column(int i) const {
      const auto* data = static_cast<const char*>(sqlite3_column_blob(stmt_, i));
      return data ? std::string(data, static_cast<std::size_t>(sqlite3_column_bytes(stmt_, i)))
                  : std::string();
    }

   private:
    void check(int rc) const {
      if (rc != SQLITE_OK) owner_->fail("bind");
    }
    const sqlite_snapshot_store* owner_;
    sqlite3_stmt* stmt_ = nullptr;
  };

  [[noreturn]] void fail(std::string_view what) const {
    throw error(errc::io_error, "SQLite snapshot store '" + path_ + "': " + std::string(what) +
                                    " failed: " + sqlite3_errmsg(db_));
  }

  void exec(const char* sql) {
    if (sqlite3_exec(db_, sql, nullptr, nullptr, nullptr) != SQLITE_OK) fail(sql);
  }

  std::string path_;
  snapshot_retention retention_;
  sqlite3* db_ = nullptr;
  mutable std::mutex mutex_;
};

}  // namespace annal
