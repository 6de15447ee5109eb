// Copies an SQLite WAL back into the database file on a thread of its own, off the appender's path.
#pragma once

#include <sqlite3.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <utility>

namespace annal::detail::sql {

// SQLite's automatic checkpoint runs inside the commit that leaves the WAL at 1000 pages or more:
// that append pays for copying every page of the WAL into the database file and syncing it (about
// 0.8 µs per event of a batched append on the benchmark VM). Here such a commit only wakes this
// thread, which runs the same PASSIVE checkpoint on its own connection (it never blocks a reader
// or a writer). Durability does not change: a commit is durable once the WAL is synced, and the
// checkpoint syncs the WAL before copying and the database file before the WAL can be reused.
//
// The WAL restarts from its beginning only when a writer begins after a checkpoint copied all of
// it; a writer that never pauses can outrun the thread. So a commit that finds the WAL at
// `limit_pages` checkpoints at once, as SQLite would have (on_commit), which keeps the WAL bounded.
class sqlite_checkpointer {
 public:
  sqlite_checkpointer(std::string path, bool synchronous_full, int pages)
      : path_(std::move(path)),
        synchronous_full_(synchronous_full),
        pages_(pages < 1 ? 1 : pages),
        limit_pages_(4 * pages_) {}
  sqlite_checkpointer(const sqlite_checkpointer&) = delete;
  sqlite_checkpointer& operator=(const sqlite_checkpointer&) = delete;
  ~sqlite_checkpointer() {
    {
      std::lock_guard lock(mutex_);
      stop_ = true;
    }
    wake_.notify_one();
    if (thread_.joinable()) thread_.join();
  }

  // The WAL hook of every writing connection (sqlite3_wal_hook; it replaces the automatic one).
  // `wal_pages` counts the WAL's frames, copied or not: the thread is woken once `pages` more
  // than it last copied have been added, not by every commit past the size.
  static int on_commit(void* self, sqlite3* db, const char* schema, int wal_pages) noexcept {
    auto& c = *static_cast<sqlite_checkpointer*>(self);
    int copied = c.copied_.load(std::memory_order_relaxed);
    if (wal_pages < copied) {  // the WAL restarted since
      copied = 0;
      c.copied_.store(0, std::memory_order_relaxed);
    }
    if (wal_pages >= c.limit_pages_) {
      // After the thread's checkpoint, if one runs (a second would get SQLITE_BUSY): this one
      // copies up to the commit just made, so the next writer can restart the WAL.
      std::lock_guard one_at_a_time(c.checkpointing_);
      if (sqlite3_wal_checkpoint_v2(db, schema, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr) ==
          SQLITE_OK)
        c.copied_.store(0, std::memory_order_relaxed);
    } else if (wal_pages - copied >= c.pages_) {
      c.request();
    }
    return SQLITE_OK;
  }

 private:
  // Called from SQLite's C code: nothing may escape. If no thread can start, the commit that finds
  // the WAL at limit_pages checkpoints, as without this class.
  void request() noexcept {
    try {
      {
        std::lock_guard lock(mutex_);
        wanted_ = true;
        if (!thread_.joinable()) thread_ = std::thread([this] { run(); });
      }
      wake_.notify_one();
    } catch (...) {
    }
  }

  void run() {
    sqlite3* db = nullptr;
    for (;;) {
      {
        std::unique_lock lock(mutex_);
        wake_.wait(lock, [&] { return wanted_ || stop_; });
        if (stop_) break;
        wanted_ = false;
      }
      // Failures are not fatal: the next request tries again, and on_commit's own checkpoint at
      // limit_pages bounds the WAL meanwhile.
      if (!db && !open(db)) continue;
      int log = 0, done = 0;
      std::lock_guard one_at_a_time(checkpointing_);
      if (sqlite3_wal_checkpoint_v2(db, nullptr, SQLITE_CHECKPOINT_PASSIVE, &log, &done) ==
          SQLITE_OK)
        copied_.store(done, std::memory_order_relaxed);
    }
    sqlite3_close_v2(db);
  }

  bool open(sqlite3*& db) const {
    if (sqlite3_open_v2(path_.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nullptr) !=
        SQLITE_OK) {
      sqlite3_close_v2(db);
      db = nullptr;
      return false;
    }
    sqlite3_busy_timeout(db, 1000);
    // The checkpoint's syncs follow this connection's setting: the store's, never OFF.
    sqlite3_exec(db, synchronous_full_ ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL",
                 nullptr, nullptr, nullptr);
    return true;
  }

  std::string path_;
  bool synchronous_full_;
  int pages_;
  int limit_pages_;
  std::mutex checkpointing_;  // one checkpoint at a time in this process
  std::mutex mutex_;
  std::condition_variable wake_;
  std::atomic<int> copied_{0};  // WAL frames the last checkpoint copied
  bool wanted_ = false;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace annal::detail::sql
