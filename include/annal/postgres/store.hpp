// The PostgreSQL event store over libpq: one round trip per append, gap-free commit-ordered
// positions, LISTEN/NOTIFY wake-ups, and projection transactions with checkpoints.
#pragma once

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

#include <boost/json.hpp>

#include <annal/core/error.hpp>
#include <annal/detail/idempotency.hpp>
#include <annal/detail/sql/encoding.hpp>
#include <annal/detail/utf8.hpp>
#include <annal/detail/validate.hpp>
#include <annal/postgres/connection.hpp>
#include <annal/postgres/detail/append.hpp>
#include <annal/postgres/detail/binary_array.hpp>
#include <annal/postgres/detail/event_row.hpp>
#include <annal/postgres/detail/listener.hpp>
#include <annal/postgres/detail/pool.hpp>
#include <annal/postgres/group_commit.hpp>
#include <annal/postgres/schema.hpp>
#include <annal/postgres/transaction.hpp>
#include <annal/store/archive.hpp>
#include <annal/store/event_store.hpp>
#include <annal/store/filter.hpp>

namespace annal {

struct postgres_options {
  std::string connection;  // a libpq connection string: "host=... port=... dbname=... user=..."
  std::string schema = "annal";
  postgres_payload_format payload_format = postgres_payload_format::jsonb;
  std::size_t pool_size = 8;
  // Rows fetched per query while reading; visitors run between pages with no connection held.
  // A page is held in memory whole (1000 rows of 1 KB payloads: about 1 MB); larger pages
  // measured no faster once rows came in binary form (bench/sql, pg_read_all).
  std::size_t read_page = 1000;
  // Group commit: appends that arrive while another is running wait and then run together, as one
  // call in one transaction with one WAL flush (each keeps its own expected version and answer).
  // A lone append runs at once. Off: every append is its own transaction.
  bool group_commit = true;
  std::size_t max_group = 128;             // appends in one transaction at most
  std::size_t max_group_bytes = 8u << 20;  // and their encoded size
};

class postgres_store {
 public:
  // Connects once to check the server is reachable and the credentials work (errc::connection_error
  // otherwise). Does not create the schema: call migrate().
  explicit postgres_store(postgres_options options)
      : options_(checked(std::move(options))),
        sql_(options_.schema, options_.payload_format),
        pool_(options_.connection, options_.pool_size),
        listener_(options_.connection, sql_),
        group_(options_.max_group, options_.max_group_bytes) {
    pool_.acquire();
  }
  postgres_store(const postgres_store&) = delete;
  postgres_store& operator=(const postgres_store&) = delete;

  const postgres_options& options() const noexcept { return options_; }

  // Creates or upgrades the schema; idempotent, safe to run concurrently from several processes.
  // Refuses a schema created with another payload format.
  void migrate() {
    auto conn = pool_.acquire();
    conn->exec("BEGIN", "migrate");
    try {
      conn->exec("SELECT pg_advisory_xact_lock(7061726, hashtext(" +
                     detail::pg::quote_literal(options_.schema) + "))",
                 "migrate (lock)");
      const postgres_rows found = conn->exec(
          "SELECT count(*) FROM pg_catalog.pg_tables WHERE schemaname = " +
              detail::pg::quote_literal(options_.schema) + " AND tablename = 'schema_info'",
          "migrate (looking for schema_info)");
      if (found.get_int(0, 0) > 0) {
        const postgres_rows row =
            conn->exec("SELECT version, payload_format FROM " + sql_.s + ".schema_info", "migrate");
        if (row.rows() > 0) {
          if (row.get_int(0, 0) > postgres_schema_version)
            throw error(errc::invalid_argument,
                        "PostgreSQL schema '" + options_.schema + "' has annal schema version " +
                            std::string(row.get(0, 0)) + ", newer than this annal understands (" +
                            std::to_string(postgres_schema_version) + ")");
          if (row.get(0, 1) != sql_.payload_type)
            throw error(errc::invalid_argument,
                        "PostgreSQL schema '" + options_.schema + "' stores payloads as " +
                            std::string(row.get(0, 1)) + " but the store was opened with " +
                            sql_.payload_type);
        }
      }
      conn->exec(sql_.migrate(), "migrate (creating schema '" + options_.schema + "')");
      conn->exec("COMMIT", "migrate (commit)");
    } catch (...) {
      if (PQstatus(conn->handle()) == CONNECTION_OK) conn->exec("ROLLBACK", "migrate (rollback)");
      throw;
    }
  }

  append_result append(std::string_view stream_id, expected_version expect,
                       std::span<const event_data> batch) {
    detail::pg::append_call call(sql_, stream_id, expect, batch);
    if (options_.group_commit) return group_.append(pool_, call);
    auto conn = pool_.acquire();
    return call.run(*conn);
  }

  // How many appends ran and in how many transactions (with group commit on).
  postgres_append_stats append_stats() const { return group_.stats(); }

  template <class F>
  std::size_t read_stream(std::string_view stream_id, std::uint64_t from_version, F&& visit,
                          std::size_t max_count = unlimited) const {
    detail::validate_stream_id(stream_id);
    const std::string stream(stream_id);
    return read_pages(
        max_count, from_version == 0 ? 1 : from_version, visit, std::optional{stream_id},
        [&](std::uint64_t from, std::size_t n) {
          const std::string f = std::to_string(from), l = std::to_string(n);
          auto conn = pool_.acquire();
          return conn->exec_prepared(detail::pg::slot_read_stream, "annal_read_stream",
                                     sql_.read_stream, {stream.c_str(), f.c_str(), l.c_str()},
                                     "read_stream " + detail::quoted_prefix(stream), true);
        },
        [](const recorded_event& e) { return e.stream_version; });
  }

  template <class F>
  std::size_t read_all(std::uint64_t from_position, F&& visit,
                       std::size_t max_count = unlimited) const {
    return read_pages(
        max_count, from_position == 0 ? 1 : from_position, visit, std::nullopt,
        [&](std::uint64_t from, std::size_t n) {
          const std::string f = std::to_string(from), l = std::to_string(n);
          auto conn = pool_.acquire();
          return conn->exec_prepared(detail::pg::slot_read_all, "annal_read_all", sql_.read_all,
                                     {f.c_str(), l.c_str()}, "read_all from position " + f, true);
        },
        [](const recorded_event& e) { return e.position; });
  }

  // The events `filter` selects (store/filter.hpp), found through the (type, position) index
  // that migrate() creates: a page reads the filter's events only. Where they are dense (a page's
  // events fill more than a tenth of the positions it spans) the next page reads the positions in
  // order and tests each row on the server instead, until they thin out again. A page and the
  // log's end come from one statement, one snapshot, and appends make positions visible in order
  // (schema.hpp), so a read that comes back short passed every event stored before that end.
  // From below the archive horizon it reads every event and tests each, stopping at a gap as
  // read_all does.
  template <class F>
  read_progress read_all(std::uint64_t from_position, const event_filter& filter, F&& visit,
                         std::size_t max_count = unlimited) const {
    filter.validate();
    read_progress r{0, std::max<std::uint64_t>(from_position, 1)};
    if (max_count == 0) return r;
    // A type listed twice is read once; one that is not UTF-8 or holds a NUL byte names no stored
    // event (the server refuses such text), so it is left out, not sent.
    std::vector<std::string> types;
    for (const std::string& t : filter.types)
      if (t.find('\0') == std::string::npos && detail::utf8_invalid_offset(t) == t.size())
        types.push_back(t);
    std::sort(types.begin(), types.end());
    types.erase(std::unique(types.begin(), types.end()), types.end());
    // With types listed but none left, the index answers "none": never a scan of every type.
    const bool by_type = !filter.types.empty();
    bool scanning = !by_type;
    detail::pg::binary_array type_array(detail::pg::pg_oid::text);
    for (const std::string& t : types) type_array.add(t);
    detail::pg::binary_array prefix_array(detail::pg::pg_oid::bytea);
    for (const std::string& p : filter.stream_prefixes) prefix_array.add(p);
    const std::array<detail::pg::wire_param, 2> arrays = {
        detail::pg::wire_param{type_array.wire().data(), static_cast<int>(type_array.wire().size()),
                               1},
        detail::pg::wire_param{prefix_array.wire().data(),
                               static_cast<int>(prefix_array.wire().size()), 1}};
    while (r.visited < max_count) {
      const std::size_t want = std::min(options_.read_page, max_count - r.visited);
      const std::uint64_t page_from = r.next_position;
      const std::string from = std::to_string(r.next_position), limit = std::to_string(want);
      const std::array params = {detail::pg::wire_param{from.c_str()},
                                 detail::pg::wire_param{limit.c_str()}, arrays[0], arrays[1]};
      const std::string what = "filtered read_all from position " + from;
      postgres_rows page;
      {
        auto conn = pool_.acquire();
        page = scanning
                   ? conn->exec_prepared_wire(detail::pg::slot_read_filtered_scan,
                                              "annal_read_filtered_scan", sql_.read_filtered_scan,
                                              params, what, true)
                   : conn->exec_prepared_wire(detail::pg::slot_read_filtered, "annal_read_filtered",
                                              sql_.read_filtered, params, what, true);
      }
      if (page.rows() == 0 || page.columns() != 13)
        throw error(errc::decode_error, "PostgreSQL schema '" + options_.schema +
                                            "': a filtered read's answer has no head row");
      const std::uint64_t end = binary_count(page, 0), horizon = binary_count(page, 1);
      // Below the archive horizon most events were deleted: every stored one is read and tested,
      // and the first gap stops the read with errc::archived as it stops read_all.
      if (horizon >= r.next_position)
        return detail::read_and_test(*this, r, filter, visit, max_count);
      const int rows = page.is_null(0, 2) ? 0 : page.rows();
      for (int i = 0; i < rows; ++i) {
        const recorded_event e = row(page, i, 2);
        ++r.visited;
        r.next_position = e.position + 1;
        if (!detail::visit_continue(visit, e)) return r;
      }
      if (static_cast<std::size_t>(rows) < want) {
        r.next_position = std::max(r.next_position, end + 1);
        return r;
      }
      if (by_type && !types.empty()) scanning = want * 10 > r.next_position - page_from;
    }
    return r;
  }

  std::uint64_t stream_version(std::string_view stream_id) const {
    detail::validate_stream_id(stream_id);
    const std::string stream(stream_id);
    auto conn = pool_.acquire();
    return static_cast<std::uint64_t>(
        conn->exec_prepared(detail::pg::slot_stream_version, "annal_stream_version",
                            sql_.stream_version, {stream.c_str()},
                            "stream_version " + detail::quoted_prefix(stream))
            .get_int(0, 0));
  }

  std::uint64_t last_position() const {
    auto conn = pool_.acquire();
    return static_cast<std::uint64_t>(conn->exec_prepared(detail::pg::slot_last_position,
                                                          "annal_last_position", sql_.last_position,
                                                          {}, "last_position")
                                          .get_int(0, 0));
  }

  // Blocks until an event with position > `after` is stored or `deadline` passes; returns whether
  // one is. Built on LISTEN/NOTIFY: the append function notifies at commit, a listener thread
  // (started on first use) wakes the waiters. Throws errc::connection_error if the server cannot
  // be reached at the start of the wait.
  bool wait_for_append(std::uint64_t after, time_point deadline) const {
    if (last_position() > after) return true;
    return listener_.wait(after, deadline);
  }

  // Where the store's archive stands (annal::archive, store/archive.hpp): horizon 0 if nothing was
  // archived. Below the horizon the store keeps only each stream's last event.
  archive_state archived() const {
    auto conn = pool_.acquire();
    return archived_on(*conn);
  }
  std::uint64_t archive_horizon() const { return archived().horizon; }

  // Runs `f(postgres_transaction&)` in one transaction: commits when it returns, rolls back and
  // rethrows when it throws. Returns what `f` returns.
  template <class F>
  std::invoke_result_t<F&, postgres_transaction&> transact(F&& f) {
    auto conn = pool_.acquire();
    conn->exec("BEGIN", "transact (begin)");
    postgres_transaction tx(*conn, sql_);
    try {
      if constexpr (std::is_void_v<std::invoke_result_t<F&, postgres_transaction&>>) {
        f(tx);
        conn->exec("COMMIT", "transact (commit)");
      } else {
        auto result = f(tx);
        conn->exec("COMMIT", "transact (commit)");
        return result;
      }
    } catch (...) {
      // A broken connection has rolled back on the server already; the pool drops it.
      if (PQstatus(conn->handle()) == CONNECTION_OK &&
          PQtransactionStatus(conn->handle()) != PQTRANS_IDLE)
        conn->exec("ROLLBACK", "transact (rollback)");
      throw;
    }
  }

  // The position a projection named `name` has saved (0 if none).
  std::uint64_t load_checkpoint(std::string_view name) const {
    const std::string n(name);
    auto conn = pool_.acquire();
    const postgres_rows r =
        conn->exec_prepared(detail::pg::slot_load_checkpoint, "annal_load_checkpoint",
                            sql_.load_checkpoint, {n.c_str()}, "load_checkpoint('" + n + "')");
    return r.rows() ? static_cast<std::uint64_t>(r.get_int(0, 0)) : 0;
  }

 private:
  // Checked before the pool connects. A zero would read nothing forever, wait forever for a
  // connection or never commit: refused, never raised.
  static postgres_options checked(postgres_options options) {
    if (options.schema.empty() || options.schema.size() > 63)
      throw error(errc::invalid_argument,
                  "PostgreSQL schema name '" + options.schema + "' must be 1 to 63 bytes long");
    for (const auto& [value, name] :
         {std::pair{options.read_page, "read_page"}, std::pair{options.pool_size, "pool_size"},
          std::pair{options.max_group, "max_group"}})
      if (value == 0)
        throw error(errc::invalid_argument,
                    std::string("postgres_options::") + name + " must be at least 1, not 0");
    return options;
  }

  friend struct detail::archive_access;

  archive_state archived_on(detail::pg::connection& conn) const {
    archive_state out;
    const postgres_rows r = conn.exec(sql_.archived, "reading the archive horizon");
    if (r.rows() == 0) return out;
    out.horizon = static_cast<std::uint64_t>(r.get_int(0, 0));
    const std::string id = r.get_bytea(0, 1);
    if (id.size() != sizeof out.last_id.data)
      throw error(errc::decode_error, "PostgreSQL schema '" + options_.schema +
                                          "': the archive's last_id is not a uuid");
    std::memcpy(out.last_id.data, id.data(), id.size());
    out.archive = std::string(r.get(0, 2));
    out.archived_at = time_point(std::chrono::microseconds(r.get_int(0, 3)));
    return out;
  }

  // annal::archive's last step, once the archive holds positions 1..next.horizon durably: deletes
  // every event up to there but each stream's last and records the new horizon, in one
  // transaction. Returns how many events below the horizon the store keeps.
  std::uint64_t drop_archived(std::uint64_t expected_horizon, const archive_state& next) {
    const std::string horizon = std::to_string(next.horizon);
    const std::string id = detail::id_text(next.last_id);
    const std::string at = std::to_string(
        std::chrono::duration_cast<std::chrono::microseconds>(next.archived_at.time_since_epoch())
            .count());
    const std::string t = sql_.s;
    return transact([&](postgres_transaction& tx) {
      // One archive run at a time; readers of the table are not held up.
      tx.exec("LOCK TABLE " + t + ".archive IN EXCLUSIVE MODE");
      const postgres_rows now = tx.exec("SELECT horizon FROM " + t + ".archive");
      const std::uint64_t current =
          now.rows() ? static_cast<std::uint64_t>(now.get_int(0, 0)) : std::uint64_t{0};
      if (current != expected_horizon)
        throw error(errc::invalid_argument,
                    "PostgreSQL schema '" + options_.schema +
                        "': another archive run moved the archive horizon from " +
                        std::to_string(expected_horizon) + " to " + std::to_string(current) +
                        " meanwhile; nothing was deleted, run it again");
      tx.exec("DELETE FROM " + t +
                  ".events e WHERE e.position <= $1 AND e.stream_version < "
                  "(SELECT max(b.stream_version) FROM " +
                  t +
                  ".events b "
                  "WHERE b.stream_id = e.stream_id)",
              horizon);
      tx.exec("INSERT INTO " + t +
                  ".archive VALUES (1, $1, $2::uuid, $3, "
                  "to_timestamp(0) + $4::bigint * interval '1 microsecond') ON CONFLICT (id) DO "
                  "UPDATE SET horizon = excluded.horizon, last_id = excluded.last_id, "
                  "archive = excluded.archive, archived_at = excluded.archived_at",
              horizon, id, next.archive, at);
      return static_cast<std::uint64_t>(
          tx.exec("SELECT count(*) FROM " + t + ".events WHERE position <= $1", horizon)
              .get_int(0, 0));
    });
  }

  // Row i's event, whose columns start at `first`.
  recorded_event row(const postgres_rows& r, int i, int first = 0) const {
    std::array<std::string_view, 11> fields;
    for (int c = 0; c < 11; ++c) fields[static_cast<std::size_t>(c)] = r.get(i, first + c);
    return detail::pg::event_row_decoder(options_.payload_format)(fields);
  }

  // A bigint count or position of row 0 in binary form.
  std::uint64_t binary_count(const postgres_rows& r, int col) const {
    const std::string_view v = r.get(0, col);
    std::uint64_t out = 0;
    for (const char c : v) out = out << 8 | static_cast<unsigned char>(c);
    if (v.size() != 8 || static_cast<std::int64_t>(out) < 0)
      throw error(errc::decode_error, "PostgreSQL schema '" + options_.schema +
                                          "': a filtered read's column " + std::to_string(col) +
                                          " is not a position");
    return out;
  }

  // Page by page; each page's result outlives the connection it came from, so the connection goes
  // back to the pool before visitors run (a visitor may append without exhausting the pool).
  // Keys (positions, or a stream's versions) are gap-free but where annal::archive deleted events:
  // a gap stops the read before it with errc::archived naming the archive, never skips.
  template <class F, class Query, class Key>
  std::size_t read_pages(std::size_t max_count, std::uint64_t from, F& visit,
                         std::optional<std::string_view> stream, Query query, Key key) const {
    std::size_t visited = 0;
    while (visited < max_count) {
      const std::size_t want = std::min(options_.read_page, max_count - visited);
      const postgres_rows page = query(from, want);
      const int rows = page.rows();
      recorded_event e;
      std::uint64_t expect = from;
      for (int i = 0; i < rows; ++i, ++expect) {
        e = row(page, i);
        if (key(e) != expect) missing(stream, expect);
        ++visited;
        if (!detail::visit_continue(visit, e)) return visited;
      }
      if (static_cast<std::size_t>(rows) < want) break;
      from = key(e) + 1;
    }
    return visited;
  }

  [[noreturn]] void missing(std::optional<std::string_view> stream, std::uint64_t key) const {
    detail::throw_missing("PostgreSQL schema '" + options_.schema + "'", archived(), stream, key);
  }

  postgres_options options_;
  detail::pg::statements sql_;
  mutable detail::pg::pool pool_;
  mutable detail::pg::listener listener_;
  detail::pg::group_commit group_;
};

}  // namespace annal
