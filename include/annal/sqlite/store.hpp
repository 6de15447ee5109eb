// The SQLite event store: one file in WAL mode, shared safely by threads and by processes.
#pragma once

#include <sqlite3.h>

#include <algorithm>
#include <condition_variable>
#include <cstdint>
#include <cstring>
#include <deque>
#include <filesystem>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <annal/core/detail/chrono.hpp>
#include <annal/core/error.hpp>
#include <annal/detail/file_write_watch.hpp>
#include <annal/detail/idempotency.hpp>
#include <annal/detail/sql/encoding.hpp>
#include <annal/detail/validate.hpp>
#include <annal/sqlite/detail/connection.hpp>
#include <annal/store/archive.hpp>
#include <annal/store/durability.hpp>
#include <annal/store/event_store.hpp>
#include <annal/store/filter.hpp>

namespace annal {

// Who copies the WAL back into the database file once it holds `checkpoint_pages` pages.
// `background` (the default): a thread of the store, so no append waits for the copy and its
// sync; a writer that never pauses still checkpoints itself at 4 × checkpoint_pages, keeping the
// WAL bounded. `in_commit`: the commit that crossed the size, as SQLite does by default.
// Either way a commit is durable when the WAL is synced; the choice moves work, not risk.
enum class sqlite_checkpoint : std::uint8_t { background, in_commit };

struct sqlite_options {
  // How hard a commit waits for the disk (SQLite's PRAGMA synchronous, in WAL mode).
  // durable: synchronous=FULL, the WAL is synced at every commit; an acknowledged append survives
  // power loss. group: the same as durable. SQLite's write lock lets one commit in at a time, so
  // there is no company to share a sync with; the promise is kept, the sync is not shared.
  // none: synchronous=NORMAL, the WAL is synced only at checkpoints; an acknowledged append
  // survives a crash of the process, but the last commits may roll back on power loss.
  durability sync = durability::durable;
  // How long a writer waits for another process's write transaction before errc::store_locked.
  std::chrono::milliseconds busy_timeout{10000};
  std::size_t pool_size = 4;
  // Rows fetched per query while reading; visitors run between pages, without a connection held.
  std::size_t read_page = 512;
  // How often wait_for_append looks for appends when it cannot be told of them: appends by other
  // processes on systems without inotify (own appends, and on Linux all appends, wake it).
  std::chrono::milliseconds cross_process_poll{50};
  sqlite_checkpoint checkpoint = sqlite_checkpoint::background;
  // WAL size, in pages of 4 KiB, that starts a checkpoint (SQLite's wal_autocheckpoint). 0 or
  // less: none until the last connection to the file closes (the WAL grows meanwhile).
  int checkpoint_pages = 1000;
};

// The newest schema version this header reads and writes (PRAGMA user_version). A store is made at
// version 1; the first annal::archive adds the table annal_archive and makes it version 2, so an
// older annal, which would read across the archived gap, refuses it instead.
inline constexpr int sqlite_schema_version = 2;

class sqlite_store {
 public:
  explicit sqlite_store(const std::filesystem::path& file, sqlite_options options = {})
      : path_(file.string()),
        options_(checked(options)),
        checkpointer_(path_, options.sync != durability::none, options.checkpoint_pages),
        pool_(path_, options.sync != durability::none,
              static_cast<int>(options.busy_timeout.count()), options.pool_size,
              options.checkpoint_pages,
              options.checkpoint == sqlite_checkpoint::background && options.checkpoint_pages > 0
                  ? &checkpointer_
                  : nullptr) {
    migrate();
  }
  sqlite_store(const sqlite_store&) = delete;
  sqlite_store& operator=(const sqlite_store&) = delete;

  const std::string& path() const noexcept { return path_; }

  append_result append(std::string_view stream_id, expected_version expect,
                       std::span<const event_data> batch) {
    detail::validate_batch(stream_id, batch);
    // Optimistic first: the UNIQUE index on event_id notices a stored id as the rows go in, so
    // the common batch of new ids costs no lookup per event. A batch that hits a stored id (a
    // retry, or a reused id) is rolled back and taken again with every id looked up first (on a
    // fresh lease: a connection that failed to roll back was discarded).
    std::optional<append_result> result;
    {
      // This process's writers queue here, woken in turn, rather than polling SQLite's write lock
      // in its busy handler's sleeps, where a thread appending without pause starves the others
      // (an archive run's transaction among them).
      std::lock_guard writing(write_mutex_);
      {
        auto conn = pool_.acquire();
        result = append_locked(conn, stream_id, expect, batch, false);
      }
      if (!result) {
        auto conn = pool_.acquire();
        result = append_locked(conn, stream_id, expect, batch, true);
      }
    }
    if (result->status == append_status::appended) {
      {
        std::lock_guard wake(wait_mutex_);
        known_position_ = std::max(known_position_, result->last_position);
      }
      appended_.notify_all();
    }
    return *result;
  }

  template <class F>
  std::size_t read_stream(std::string_view stream_id, std::uint64_t from_version, F&& visit,
                          std::size_t max_count = unlimited) const {
    detail::validate_stream_id(stream_id);
    return read_pages(
        max_count, from_version == 0 ? 1 : from_version, visit, stream_id,
        [&](detail::sql::sqlite_connection& c, std::uint64_t from, std::size_t n) {
          sqlite3_stmt* s = c.stmt(detail::sql::sqlite_stmt::read_stream);
          bind_text(s, 1, stream_id);
          sqlite3_bind_int64(s, 2, static_cast<sqlite3_int64>(from));
          sqlite3_bind_int64(s, 3, static_cast<sqlite3_int64>(n));
          return std::pair{s, detail::sql::sqlite_stmt::read_stream};
        },
        [](const recorded_event& e) { return e.stream_version; });
  }

  template <class F>
  std::size_t read_all(std::uint64_t from_position, F&& visit,
                       std::size_t max_count = unlimited) const {
    return read_pages(
        max_count, from_position == 0 ? 1 : from_position, visit, std::nullopt,
        [&](detail::sql::sqlite_connection& c, std::uint64_t from, std::size_t n) {
          sqlite3_stmt* s = c.stmt(detail::sql::sqlite_stmt::read_all);
          sqlite3_bind_int64(s, 1, static_cast<sqlite3_int64>(from));
          sqlite3_bind_int64(s, 2, static_cast<sqlite3_int64>(n));
          return std::pair{s, detail::sql::sqlite_stmt::read_all};
        },
        [](const recorded_event& e) { return e.position; });
  }

  // The events `filter` selects (store/filter.hpp), found through the (type, position) index:
  // one range per type, stepped side by side and merged in position order, so a page reads the
  // filter's events only. Where they are dense (a page's events fill more than a tenth of the
  // positions it spans) reading the positions in order and testing each row in SQLite is cheaper
  // than a page read per event, and the next page does that, until they thin out again. Each page
  // is read in one snapshot with the log's end, so a read that comes back short passed every event
  // stored before that end. From below the archive horizon it reads every event and tests each,
  // stopping at a gap as read_all does, never skipping one.
  template <class F>
  read_progress read_all(std::uint64_t from_position, const event_filter& filter, F&& visit,
                         std::size_t max_count = unlimited) const {
    filter.validate();
    read_progress r{0, std::max<std::uint64_t>(from_position, 1)};
    if (max_count == 0) return r;
    std::vector<std::string> types = filter.types;
    std::sort(types.begin(), types.end());  // a type listed twice must not be read twice
    types.erase(std::unique(types.begin(), types.end()), types.end());
    std::vector<std::optional<std::string>> uppers;
    for (const std::string& p : filter.stream_prefixes)
      uppers.push_back(detail::sql::prefix_upper_bound(p));
    const std::size_t prefixes = uppers.size();
    std::vector<std::string> by_type;  // one statement per type
    if (types.size() <= detail::sql::sqlite_merged_types)
      for (std::size_t i = 0; i < types.size(); ++i)
        by_type.push_back(detail::sql::sqlite_filtered_type_sql(prefixes, i));
    const std::string scan = detail::sql::sqlite_filtered_scan_sql(types.size(), prefixes);
    bool scanning = by_type.empty();
    std::vector<recorded_event> page;
    std::vector<sqlite3_stmt*> ranges;
    while (r.visited < max_count) {
      const std::size_t want = std::min(options_.read_page, max_count - r.visited);
      const std::uint64_t page_from = r.next_position;
      page.clear();
      std::uint64_t end = 0;
      {
        auto conn = pool_.acquire();
        read_transaction tx(conn);
        sqlite3_stmt* s = conn->stmt(detail::sql::sqlite_stmt::head);
        if (conn->step(s, detail::sql::sqlite_stmt::head))
          end = static_cast<std::uint64_t>(sqlite3_column_int64(s, 0));
        sqlite3_reset(s);
        if (schema_version(*conn) >= 2 && archived_on(*conn).horizon >= r.next_position) {
          tx.commit();
          // Below the archive horizon most events were deleted: every stored one is read and
          // tested, and the first gap stops the read with errc::archived as it stops read_all.
          return detail::read_and_test(*this, r, filter, visit, max_count);
        }
        conn->make_room_for(by_type.size() + 1);
        ranges.clear();
        const std::size_t statements = scanning ? 1 : by_type.size();
        for (std::size_t i = 0; i < statements; ++i) {
          s = conn->built(scanning ? scan : by_type[i], "a filtered read");
          sqlite3_bind_int64(s, 1, static_cast<sqlite3_int64>(r.next_position));
          sqlite3_bind_int64(s, 2, static_cast<sqlite3_int64>(want));
          int param = 3;
          for (std::size_t j = 0; j < prefixes; ++j, param += 2) {
            bind_text(s, param, filter.stream_prefixes[j]);
            if (uppers[j]) bind_text(s, param + 1, *uppers[j]);
          }
          if (scanning)
            for (const std::string& t : types) bind_text(s, param++, t);
          else
            bind_text(s, param, types[i]);
          // A statement with a row stays, its row waiting; an empty one is done.
          if (conn->step_built(s, "a filtered read")) ranges.push_back(s);
        }
        while (page.size() < want && !ranges.empty()) {
          auto next = std::min_element(ranges.begin(), ranges.end(), [](auto* a, auto* b) {
            return sqlite3_column_int64(a, 0) < sqlite3_column_int64(b, 0);
          });
          page.push_back(row(*next));
          if (!conn->step_built(*next, "a filtered read")) ranges.erase(next);
        }
        tx.commit();
      }
      for (const recorded_event& e : page) {
        ++r.visited;
        r.next_position = e.position + 1;
        if (!detail::visit_continue(visit, e)) return r;
      }
      if (page.size() < want) {
        r.next_position = std::max(r.next_position, end + 1);
        return r;
      }
      if (!by_type.empty()) scanning = dense(page.size(), page_from, r.next_position);
    }
    return r;
  }

  std::uint64_t stream_version(std::string_view stream_id) const {
    detail::validate_stream_id(stream_id);
    auto conn = pool_.acquire();
    sqlite3_stmt* s = conn->stmt(detail::sql::sqlite_stmt::stream_version);
    bind_text(s, 1, stream_id);
    conn->step(s, detail::sql::sqlite_stmt::stream_version);
    const auto v = static_cast<std::uint64_t>(sqlite3_column_int64(s, 0));
    sqlite3_reset(s);
    return v;
  }

  std::uint64_t last_position() const {
    auto conn = pool_.acquire();
    sqlite3_stmt* s = conn->stmt(detail::sql::sqlite_stmt::head);
    const std::uint64_t v = conn->step(s, detail::sql::sqlite_stmt::head)
                                ? static_cast<std::uint64_t>(sqlite3_column_int64(s, 0))
                                : 0;
    sqlite3_reset(s);
    return v;
  }

  // Blocks until an event with position > `after` is stored or `deadline` passes; returns whether
  // one is. Appends through this object wake it at once, and on Linux so do other processes'
  // appends; elsewhere those are seen within options.cross_process_poll.
  bool wait_for_append(std::uint64_t after, time_point deadline) const {
    // Every commit, by any process, writes the WAL, and inotify says when. The watch starts before
    // the first look, so an append between the look and the wait still wakes it. A commit becomes
    // visible only after its write (and sync), so after a write, and after the first look (a
    // commit may have written before the watch began), it is looked for again soon, at 1, 2, 4...
    // ms; cross_process_poll bounds every wait.
    detail::file_write_watch wal(path_ + "-wal");
    const auto poll = std::max(options_.cross_process_poll, std::chrono::milliseconds(1));
    std::chrono::milliseconds soon{1};
    const auto end = detail::steady_deadline(deadline);
    for (;;) {
      if (last_position() > after) return true;
      const auto now = std::chrono::steady_clock::now();
      if (now >= end) return false;
      auto until = std::min(end, now + poll);
      if (wal.active()) {
        if (soon.count() > 0) until = std::min(until, now + soon);
        if (wal.wait_until(until))
          soon = std::chrono::milliseconds(1);
        else if (soon.count() > 0)
          soon = soon * 2 < poll ? soon * 2 : std::chrono::milliseconds(0);
        continue;
      }
      std::unique_lock lock(wait_mutex_);
      if (appended_.wait_until(lock, until, [&] { return known_position_ > after; })) return true;
    }
  }

  // Where the store's archive stands (annal::archive, store/archive.hpp): horizon 0 if nothing was
  // archived. Below the horizon the store keeps only each stream's last event.
  archive_state archived() const {
    auto conn = pool_.acquire();
    return archived_on(*conn);
  }
  std::uint64_t archive_horizon() const { return archived().horizon; }

 private:
  static sqlite_options checked(sqlite_options options) {
    // A value cast from an unchecked integer would otherwise silently mean synchronous=FULL.
    if (options.sync != durability::durable && options.sync != durability::group &&
        options.sync != durability::none)
      throw error(errc::invalid_argument,
                  "sqlite_options::sync must be durability::durable, group or none, not " +
                      std::to_string(static_cast<int>(options.sync)));
    // A zero would read nothing forever or wait forever for a connection: refused, never raised.
    if (options.read_page == 0)
      throw error(errc::invalid_argument, "sqlite_options::read_page must be at least 1, not 0");
    if (options.pool_size == 0)
      throw error(errc::invalid_argument, "sqlite_options::pool_size must be at least 1, not 0");
    return options;
  }

  friend struct detail::archive_access;

  archive_state archived_on(detail::sql::sqlite_connection& conn) const {
    archive_state out;
    if (schema_version(conn) < 2) return out;  // never archived
    sqlite3_stmt* s = conn.stmt(detail::sql::sqlite_stmt::archived);
    if (conn.step(s, detail::sql::sqlite_stmt::archived)) {
      out.horizon = static_cast<std::uint64_t>(sqlite3_column_int64(s, 0));
      out.last_id = id_column(s, 1);
      out.archive = text_column(s, 2);
      out.archived_at = time_point(clock::duration(sqlite3_column_int64(s, 3)));
    }
    sqlite3_reset(s);
    return out;
  }

  static int schema_version(detail::sql::sqlite_connection& conn) {
    sqlite3_stmt* s = conn.stmt(detail::sql::sqlite_stmt::schema_version);
    conn.step(s, detail::sql::sqlite_stmt::schema_version);
    const int v = sqlite3_column_int(s, 0);
    sqlite3_reset(s);
    return v;
  }

  // annal::archive's last step, once the archive holds positions 1..next.horizon durably: deletes
  // every event up to there but each stream's last and records the new horizon, in one
  // transaction. Returns how many events below the horizon the store keeps.
  std::uint64_t drop_archived(std::uint64_t expected_horizon, const archive_state& next) {
    using detail::sql::sqlite_stmt;
    std::lock_guard writing(write_mutex_);
    auto conn = pool_.acquire();
    write_transaction tx(conn);
    const archive_state now = archived_on(*conn);
    if (now.horizon != expected_horizon)
      throw error(errc::invalid_argument, "SQLite store '" + path_ +
                                              "': another archive run moved the archive horizon "
                                              "from " +
                                              std::to_string(expected_horizon) + " to " +
                                              std::to_string(now.horizon) +
                                              " meanwhile; nothing was deleted, run it again");
    if (schema_version(*conn) < 2) {
      conn->exec(
          "CREATE TABLE annal_archive ("
          " id INTEGER PRIMARY KEY CHECK (id = 1),"
          " horizon INTEGER NOT NULL,"
          " last_id BLOB NOT NULL,"
          " archive TEXT NOT NULL,"
          " archived_at INTEGER NOT NULL)",
          "creating table annal_archive");
      conn->exec("PRAGMA user_version = 2", "recording schema version 2");
    }
    sqlite3_stmt* s = conn->stmt(sqlite_stmt::drop_archived);
    sqlite3_bind_int64(s, 1, static_cast<sqlite3_int64>(next.horizon));
    conn->step(s, sqlite_stmt::drop_archived);
    sqlite3_reset(s);
    s = conn->stmt(sqlite_stmt::record_archive);
    sqlite3_bind_int64(s, 1, static_cast<sqlite3_int64>(next.horizon));
    sqlite3_bind_blob(s, 2, next.last_id.data, 16, SQLITE_STATIC);
    bind_text(s, 3, next.archive);
    sqlite3_bind_int64(s, 4, next.archived_at.time_since_epoch().count());
    conn->step(s, sqlite_stmt::record_archive);
    sqlite3_reset(s);
    s = conn->stmt(sqlite_stmt::count_kept);
    sqlite3_bind_int64(s, 1, static_cast<sqlite3_int64>(next.horizon));
    conn->step(s, sqlite_stmt::count_kept);
    const auto kept = static_cast<std::uint64_t>(sqlite3_column_int64(s, 0));
    sqlite3_reset(s);
    tx.commit();
    return kept;
  }

  // One transaction on a leased connection; anything but commit() rolls back. BEGIN IMMEDIATE
  // (write_transaction) takes the file's write lock at once, so the reads that decide an append
  // cannot be overtaken by another writer; a deferred BEGIN (read_transaction) fixes its snapshot
  // at its first read, which every later read in it sees.
  class transaction {
   public:
    transaction(detail::sql::sqlite_pool::lease& conn, detail::sql::sqlite_stmt begin)
        : conn_(conn) {
      conn_->run(begin);
    }
    transaction(const transaction&) = delete;
    transaction& operator=(const transaction&) = delete;
    void commit() {
      // Statements left un-reset keep a read snapshot open past the commit, and the automatic
      // checkpoint the commit runs could then never catch up: the WAL would grow without bound.
      conn_->reset_all();
      conn_->run(detail::sql::sqlite_stmt::commit);
      done_ = true;
    }
    ~transaction() {
      if (done_) return;
      conn_->reset_all();
      // A connection that cannot roll back is in an unknown state: close it instead of reusing.
      if (sqlite3_get_autocommit(conn_->handle()) == 0 &&
          sqlite3_exec(conn_->handle(), "ROLLBACK", nullptr, nullptr, nullptr) != SQLITE_OK)
        conn_.discard();
    }

   private:
    detail::sql::sqlite_pool::lease& conn_;
    bool done_ = false;
  };
  struct write_transaction : transaction {
    explicit write_transaction(detail::sql::sqlite_pool::lease& conn)
        : transaction(conn, detail::sql::sqlite_stmt::begin_immediate) {}
  };
  struct read_transaction : transaction {
    explicit read_transaction(detail::sql::sqlite_pool::lease& conn)
        : transaction(conn, detail::sql::sqlite_stmt::begin_read) {}
  };

  // Whether `events` matching events found in positions [from, next) are dense enough that
  // reading every position beats a page read per event: more than one in ten (measured: 50 types
  // of 100 read by the index alone took twice as long as read_all and a test per event).
  static bool dense(std::size_t events, std::uint64_t from, std::uint64_t next) noexcept {
    return events * 10 > next - from;
  }

  // One attempt under the write lock. With `ids_checked` the stored ids are looked up before
  // anything else (annal's idempotency rule); without, they are looked up only when the version
  // does not match, and an insert that meets a stored id returns nullopt, having written nothing.
  std::optional<append_result> append_locked(detail::sql::sqlite_pool::lease& conn,
                                             std::string_view stream_id, expected_version expect,
                                             std::span<const event_data> batch, bool ids_checked) {
    write_transaction tx(conn);
    std::deque<std::string> stream_names;  // stored_ref views point into these
    auto lookup = [&](const event_id& id) -> std::optional<detail::stored_ref> {
      sqlite3_stmt* s = conn->stmt(detail::sql::sqlite_stmt::find_id);
      sqlite3_bind_blob(s, 1, id.data, 16, SQLITE_STATIC);
      if (!conn->step(s, detail::sql::sqlite_stmt::find_id)) return std::nullopt;
      const auto& name = stream_names.emplace_back(text_column(s, 0));
      return detail::stored_ref{name, static_cast<std::uint64_t>(sqlite3_column_int64(s, 1)),
                                static_cast<std::uint64_t>(sqlite3_column_int64(s, 2))};
    };
    if (ids_checked)
      if (auto dup = detail::check_stored_ids(stream_id, batch, lookup)) return *dup;

    sqlite3_stmt* s = conn->stmt(detail::sql::sqlite_stmt::stream_end);
    bind_text(s, 1, stream_id);
    bind_text(s, 2, tombstone_type);
    std::uint64_t actual = 0;
    bool deleted = false;  // the last event is a tombstone
    if (conn->step(s, detail::sql::sqlite_stmt::stream_end)) {
      actual = static_cast<std::uint64_t>(sqlite3_column_int64(s, 0));
      deleted = sqlite3_column_int(s, 1) != 0;
    }
    if (deleted || !expect.matches(actual)) {
      // A retry of a stored batch is a duplicate, not a refusal, though the stream has moved on.
      if (!ids_checked)
        if (auto dup = detail::check_stored_ids(stream_id, batch, lookup)) return *dup;
      if (deleted) detail::throw_stream_deleted(stream_id, actual);
      return append_result{append_status::conflict, actual, 0, 0};
    }

    // The write lock (BEGIN IMMEDIATE) makes this the only writer: max + 1 is gap-free.
    s = conn->stmt(detail::sql::sqlite_stmt::head);
    std::uint64_t last = 0;
    std::int64_t last_time = 0;
    if (conn->step(s, detail::sql::sqlite_stmt::head)) {
      last = static_cast<std::uint64_t>(sqlite3_column_int64(s, 0));
      last_time = sqlite3_column_int64(s, 1);
    }
    // A copy earlier than the last event may be a retry of a stored one, which is a duplicate:
    // the attempt that looks ids up first answers it.
    const time_point copied_at = batch.front().recorded_at;
    if (!ids_checked && copied_at != time_point{} &&
        copied_at < time_point(clock::duration(last_time)))
      return std::nullopt;
    // Recorded times never go backwards, across processes too, even if the clock does.
    const std::int64_t now =
        detail::batch_recorded_at(stream_id, batch, time_point(clock::duration(last_time)),
                                  clock::now())
            .time_since_epoch()
            .count();
    if (!insert_rows(*conn, stream_id, batch, last, actual, now, !ids_checked)) {
      conn->reset_all();  // no statement keeps a snapshot across the rollback
      return std::nullopt;
    }
    tx.commit();
    return append_result{append_status::appended, actual + batch.size(), last + 1,
                         last + batch.size()};
  }

  // Inserts the batch at positions last+1... and versions version+1..., 32 or 8 rows per
  // statement where it can. Returns false if `stop_at_stored_id` and an event id is stored
  // already (the caller rolls back); any other failure throws.
  static bool insert_rows(detail::sql::sqlite_connection& conn, std::string_view stream_id,
                          std::span<const event_data> batch, std::uint64_t last,
                          std::uint64_t version, std::int64_t now, bool stop_at_stored_id) {
    using detail::sql::sqlite_stmt;
    std::vector<std::string>
        metas;  // bound without a copy: kept, never reallocated, until the step
    metas.reserve(32);
    for (std::size_t i = 0; i < batch.size();) {
      const std::size_t left = batch.size() - i;
      const sqlite_stmt which = left >= 32  ? sqlite_stmt::insert_32
                                : left >= 8 ? sqlite_stmt::insert_8
                                            : sqlite_stmt::insert;
      const std::size_t rows = detail::sql::sqlite_insert_rows(which);
      sqlite3_stmt* s = conn.prepared(which);
      metas.clear();
      for (std::size_t r = 0; r < rows; ++r, ++i) {
        const event_data& e = batch[i];
        const int p = static_cast<int>(r * detail::sql::sqlite_insert_columns);
        sqlite3_bind_int64(s, p + 1, static_cast<sqlite3_int64>(last + i + 1));
        bind_text(s, p + 2, stream_id);
        sqlite3_bind_int64(s, p + 3, static_cast<sqlite3_int64>(version + i + 1));
        sqlite3_bind_blob(s, p + 4, e.id.data, 16, SQLITE_STATIC);
        bind_text(s, p + 5, e.type);
        sqlite3_bind_int64(s, p + 6, e.schema_version);
        sqlite3_bind_blob64(s, p + 7, e.payload.data(), e.payload.size(), SQLITE_STATIC);
        sqlite3_bind_blob(s, p + 8, e.correlation_id.data, 16, SQLITE_STATIC);
        sqlite3_bind_blob(s, p + 9, e.causation_id.data, 16, SQLITE_STATIC);
        if (e.meta.empty()) {
          bind_text(s, p + 10, "{}");
        } else {
          bind_text(s, p + 10, metas.emplace_back(detail::sql::metadata_to_json(e.meta)));
        }
        sqlite3_bind_int64(s, p + 11, now);
      }
      const int rc = sqlite3_step(s);
      if (rc != SQLITE_DONE) {
        sqlite3_reset(s);
        if (stop_at_stored_id && rc == SQLITE_CONSTRAINT_UNIQUE) return false;
        conn.fail(rc, "statement " + std::string(detail::sql::sqlite_stmt_name(which)));
      }
    }
    return true;
  }

  void migrate() {
    auto conn = pool_.acquire();
    write_transaction tx(conn);
    sqlite3_stmt* s = nullptr;
    if (sqlite3_prepare_v2(conn->handle(), "PRAGMA user_version", -1, &s, nullptr) != SQLITE_OK)
      conn->fail(SQLITE_ERROR, "reading the schema version");
    sqlite3_step(s);
    const int version = sqlite3_column_int(s, 0);
    sqlite3_finalize(s);
    if (version > sqlite_schema_version)
      throw error(errc::invalid_argument, "SQLite store '" + path_ + "' has schema version " +
                                              std::to_string(version) +
                                              ", newer than this annal understands (" +
                                              std::to_string(sqlite_schema_version) + ")");
    if (version == 0) {
      conn->exec(
          "CREATE TABLE IF NOT EXISTS annal_events ("
          " position INTEGER PRIMARY KEY,"
          " stream_id TEXT NOT NULL,"
          " stream_version INTEGER NOT NULL,"
          " event_id BLOB NOT NULL UNIQUE,"
          " type TEXT NOT NULL,"
          " schema_version INTEGER NOT NULL,"
          " payload BLOB NOT NULL,"
          " correlation_id BLOB NOT NULL,"
          " causation_id BLOB NOT NULL,"
          " metadata TEXT NOT NULL,"
          " recorded_at INTEGER NOT NULL,"  // nanoseconds since the Unix epoch
          " UNIQUE (stream_id, stream_version))",
          "creating table annal_events");

      conn->exec("PRAGMA user_version = 1", "recording the schema version");
    }
    // Filtered reads (read_all with an event_filter) walk this index; a file made before it
    // existed gets it here, on its first open by this version (building it holds the write lock
    // for a moment per 100k events). Older annals ignore it: the schema version stays.
    conn->exec(
        "CREATE INDEX IF NOT EXISTS annal_events_type_position ON annal_events (type, position)",
        "creating index annal_events_type_position");
    tx.commit();
  }

  static void bind_text(sqlite3_stmt* s, int col, std::string_view v) {
    sqlite3_bind_text64(s, col, v.data(), v.size(), SQLITE_STATIC, SQLITE_UTF8);
  }

  static std::string text_column(sqlite3_stmt* s, int col) {
    const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(s, col));
    return std::string(p ? p : "", static_cast<std::size_t>(sqlite3_column_bytes(s, col)));
  }

  static event_id id_column(sqlite3_stmt* s, int col) {
    event_id id{};
    if (sqlite3_column_bytes(s, col) != 16)
      throw error(errc::corrupt_log, "stored uuid column is not 16 bytes");
    std::memcpy(id.data, sqlite3_column_blob(s, col), 16);
    return id;
  }

  static recorded_event row(sqlite3_stmt* s) {
    recorded_event e;
    e.position = static_cast<std::uint64_t>(sqlite3_column_int64(s, 0));
    e.stream_id = text_column(s, 1);
    e.stream_version = static_cast<std::uint64_t>(sqlite3_column_int64(s, 2));
    e.id = id_column(s, 3);
    e.type = text_column(s, 4);
    e.schema_version = static_cast<std::uint32_t>(sqlite3_column_int64(s, 5));
    const auto* p = static_cast<const char*>(sqlite3_column_blob(s, 6));
    e.payload.assign(p ? p : "", static_cast<std::size_t>(sqlite3_column_bytes(s, 6)));
    e.correlation_id = id_column(s, 7);
    e.causation_id = id_column(s, 8);
    e.meta = detail::sql::metadata_from_json(text_column(s, 9));
    e.recorded_at = time_point(clock::duration(sqlite3_column_int64(s, 10)));
    return e;
  }

  // Reads page by page; each page is copied out and the connection returned before visiting, so a
  // visitor may use this store (even append) without exhausting the pool. Keys (positions, or a
  // stream's versions) are gap-free but where annal::archive deleted events: a gap stops the read
  // before it with errc::archived naming the archive, never skips.
  template <class F, class Query, class Key>
  std::size_t read_pages(std::size_t max_count, std::uint64_t from, F& visit,
                         std::optional<std::string_view> stream, Query query, Key key) const {
    std::size_t visited = 0;
    std::vector<recorded_event> page;
    while (visited < max_count) {
      const std::size_t want = std::min(options_.read_page, max_count - visited);
      page.clear();
      {
        auto conn = pool_.acquire();
        auto [s, which] = query(*conn, from, want);
        while (conn->step(s, which)) page.push_back(row(s));
        sqlite3_reset(s);
      }
      std::uint64_t expect = from;
      for (const recorded_event& e : page) {
        if (key(e) != expect) missing(stream, expect);
        ++expect;
        ++visited;
        if (!detail::visit_continue(visit, e)) return visited;
      }
      if (page.size() < want) break;
      from = key(page.back()) + 1;
    }
    return visited;
  }

  [[noreturn]] void missing(std::optional<std::string_view> stream, std::uint64_t key) const {
    detail::throw_missing("SQLite store '" + path_ + "'", archived(), stream, key);
  }

  std::string path_;
  sqlite_options options_;
  detail::sql::sqlite_checkpointer checkpointer_;  // outlives the pool, whose commits wake it
  mutable detail::sql::sqlite_pool pool_;
  std::mutex write_mutex_;  // this process's write transactions, one at a time
  mutable std::mutex wait_mutex_;
  mutable std::condition_variable appended_;
  std::uint64_t known_position_ = 0;
};

}  // namespace annal
