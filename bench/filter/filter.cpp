// Filtered reads (issue #20 item 4): a projection that needs 1% of the events, read with the filter
// pushed down to the store against reading everything and testing each event, on every store.
//
// The log: N events of 100 types "t00".."t99", round-robin with a shift every 1000 events, in
// batches of 10 over 1,000 streams, payloads of about 100 bytes. The reader wants "t42" (1%).
//   filter_1pct_<store>/floor   store.read_all(from, visit, batch) testing each event's type: what
//                               a projection cost before filtered reads
//   filter_1pct_<store>/annal   annal::read_filtered(store, from, {{"t42"}, {}}, visit, batch),
//                               following next_position until caught up
//   filter_query_<sql>/floor    the indexed query written by hand with sqlite3 / libpq (type = ?
//                               AND position >= ? ORDER BY position LIMIT ?, in pages), touching
//                               only the columns a reader needs
//   filter_query_<sql>/floor_all_columns  the same query reading every column a recorded_event
//                               holds, to show how much of annal's overhead is the extra columns
//   filter_query_<sql>/annal    read_filtered, as above: annal's overhead over that query
//   projector_1pct_memory/floor a projector listing one type over a wrapper that hides the memory
//                               store's filtered read (read_filtered falls back to reading all)
//   projector_1pct_memory/annal the same projector over the memory store itself
// Both variants of a group must count the same events, or the benchmark stops with an error.
// items = events in the log, so "vs floor" is annal's time over the floor's (issue: <= 0.05).
// Stores: memory; file log (written once, closed and reopened, so reads come from the page cache);
// SQLite (a file); PostgreSQL (a throwaway server started here, skipped if it cannot start).
//
// Environment:
//   ANNAL_BENCH_FILTER_EVENTS      events in the memory store and the file log (default 1000000)
//   ANNAL_BENCH_FILTER_SQL_EVENTS  events in SQLite and PostgreSQL (default 200000)
//   ANNAL_BENCH_FILTER_BATCH       max_count of each read, the projector's batch (default 1024)
//   ANNAL_BENCH_DIR                where the file log and SQLite files go (default /tmp)
// Run: build/<dir>/bench/filter/annal_bench_filter, all of it or some stores with
//   --benchmark_filter='_memory|_file_log|_sqlite|_pg'
#include <annal/codec/binary.hpp>
#include <annal/file/log.hpp>
#include <annal/postgres/store.hpp>
#include <annal/projection/projector.hpp>
#include <annal/projection/read_model.hpp>
#include <annal/sqlite/store.hpp>
#include <annal/store/filter.hpp>
#include <annal/store/memory.hpp>

#include <endian.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <benchmark/benchmark.h>
#include <boost/hana/define_struct.hpp>

#include "common/postgres_server.hpp"
#include "common/ratio_reporter.hpp"
#include "common/scratch_root.hpp"

namespace bench {

std::size_t env_size(const char* name, std::size_t fallback) {
  const char* v = std::getenv(name);
  return v && *v ? static_cast<std::size_t>(std::stoull(v)) : fallback;
}

const std::size_t log_events = env_size("ANNAL_BENCH_FILTER_EVENTS", 1'000'000);
const std::size_t sql_events = env_size("ANNAL_BENCH_FILTER_SQL_EVENTS", 200'000);
const std::size_t batch = env_size("ANNAL_BENCH_FILTER_BATCH", 1024);
constexpr std::size_t streams = 1000;
constexpr std::size_t per_append = 10;
const std::string wanted = "t42";

// Every type's payload has this shape; only t42 is ever decoded (by the projector).
struct noted {
  BOOST_HANA_DEFINE_STRUCT(noted, (std::int64_t, amount), (std::string, memo));
};
ANNAL_EVENT(noted, "t42", 1);

const std::string memo(84, 'm');  // with the amount and lengths, about 100 bytes encoded

std::string type_of(std::size_t i) {
  const std::size_t t = (i + i / 1000) % 100;
  return std::string{'t', char('0' + t / 10), char('0' + t % 10)};
}

// Appends n events; returns how many are of the wanted type. PostgreSQL's jsonb takes JSON text;
// the other stores take the binary codec's bytes, which the projector decodes.
template <class Store>
std::size_t fill(Store& store, std::size_t n, bool json) {
  std::size_t matching = 0;
  std::vector<annal::event_data> chunk(per_append);
  for (std::size_t i = 0; i < n; i += per_append) {
    const std::size_t k = std::min(per_append, n - i);
    chunk.resize(k);
    for (std::size_t j = 0; j < k; ++j) {
      auto& e = chunk[j];
      e.id = annal::new_event_id();
      e.type = type_of(i + j);
      if (e.type == wanted) ++matching;
      e.payload.clear();
      const noted body{static_cast<std::int64_t>((i + j) % 997), memo};
      if (json)
        e.payload = R"({"amount":)" + std::to_string(body.amount) + R"(,"memo":")" + memo + "\"}";
      else
        annal::binary_codec::encode(body, e.payload);
    }
    store.append("account-" + std::to_string((i / per_append) % streams),
                 annal::expected_version::any(), chunk);
  }
  return matching;
}

// The annal variants measure each store's own filtered read, not read_filtered's fallback.
static_assert(annal::filtering_store<annal::memory_store>);
static_assert(annal::filtering_store<annal::file_log>);
static_assert(annal::filtering_store<annal::sqlite_store>);
static_assert(annal::filtering_store<annal::postgres_store>);

const annal::event_filter& filter() {
  static const annal::event_filter f{{wanted}, {}};
  return f;
}

// ---------------------------------------------------------------- the stores, filled once

struct scratch : annal_bench::remove_at_exit {
  scratch() : remove_at_exit{annal_bench::bench_root("filter")} {
    std::filesystem::create_directories(root);
  }
};

const std::filesystem::path& root() {
  static const scratch dir;
  return dir.root;
}

struct memory_fixture {
  annal::memory_store store;
  std::size_t expected = fill(store, log_events, false);
};

struct file_fixture {
  std::size_t expected = 0;
  std::unique_ptr<annal::file_log> log;
  file_fixture() {
    const auto dir = root() / "log";
    const annal::file_log_options options{.sync = annal::durability::none};
    {
      annal::file_log writer(dir, options);
      expected = fill(writer, log_events, false);
      writer.sync();
    }
    log = std::make_unique<annal::file_log>(dir, options);
    // One read through, so that every variant reads from the page cache.
    log->read_all(1, [](const annal::recorded_event&) {});
  }
};

struct sqlite_fixture {
  std::filesystem::path file = root() / "annal.db";
  std::unique_ptr<annal::sqlite_store> store;
  std::size_t expected = 0;
  sqlite_fixture() {
    store = std::make_unique<annal::sqlite_store>(
        file, annal::sqlite_options{.sync = annal::durability::none});
    expected = fill(*store, sql_events, false);
    store->read_all(1, [](const annal::recorded_event&) {});
  }
};

// The server runs once per process; a machine without PostgreSQL skips its benchmarks.
struct pg_fixture {
  std::unique_ptr<annal_test::postgres_server> server;
  std::unique_ptr<annal::postgres_store> store;
  std::size_t expected = 0;
  std::string failure;
  pg_fixture() {
    try {
      // Only the fill writes, and nothing here must survive a crash.
      server = std::make_unique<annal_test::postgres_server>(
          std::vector<std::string>{"fsync=off", "synchronous_commit=off"});
      annal::postgres_options o;
      o.connection = server->conninfo();
      o.schema = "bench_filter";
      store = std::make_unique<annal::postgres_store>(o);
      store->migrate();
      expected = fill(*store, sql_events, true);
      store->read_all(1, [](const annal::recorded_event&) {});
    } catch (const std::exception& e) {
      failure = std::string("PostgreSQL skipped: ") + e.what();
      store.reset();
      server.reset();
    }
  }
};

template <class Fixture>
Fixture& data() {
  static Fixture f;
  return f;
}

// ---------------------------------------------------------------- the two ways of reading

// What a projection did before filtered reads: everything, in batches, each event's type tested.
template <class Store>
std::size_t read_everything(const Store& store) {
  std::size_t found = 0;
  for (std::uint64_t from = 1;;) {
    const std::size_t seen = store.read_all(
        from,
        [&](const annal::recorded_event& e) {
          from = e.position + 1;
          if (e.type == wanted) {
            ++found;
            benchmark::DoNotOptimize(e.payload.data());
          }
        },
        batch);
    if (seen < batch) return found;
  }
}

template <class Store>
std::size_t read_with_filter(const Store& store) {
  std::size_t found = 0;
  for (std::uint64_t from = 1;;) {
    const annal::read_progress r = annal::read_filtered(
        store, from, filter(),
        [&](const annal::recorded_event& e) {
          ++found;
          benchmark::DoNotOptimize(e.payload.data());
        },
        batch);
    from = r.next_position;
    if (r.visited < batch) return found;
  }
}

template <class Read>
void measure(benchmark::State& state, std::size_t events, std::size_t expected, Read read) {
  for (auto _ : state) {
    const std::size_t found = read();
    if (found != expected) {
      state.SkipWithError(("counted " + std::to_string(found) + " events of type t42, expected " +
                           std::to_string(expected))
                              .c_str());
      break;
    }
  }
  state.counters["items"] = static_cast<double>(events);
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * events));
}

template <class Fixture, class Store>
void store_floor(benchmark::State& state, Fixture& f, const Store& store, std::size_t events) {
  measure(state, events, f.expected, [&] { return read_everything(store); });
}

template <class Fixture, class Store>
void store_annal(benchmark::State& state, Fixture& f, const Store& store, std::size_t events) {
  measure(state, events, f.expected, [&] { return read_with_filter(store); });
}

void memory_floor(benchmark::State& s) {
  auto& f = data<memory_fixture>();
  store_floor(s, f, f.store, log_events);
}
void memory_annal(benchmark::State& s) {
  auto& f = data<memory_fixture>();
  store_annal(s, f, f.store, log_events);
}
void file_floor(benchmark::State& s) {
  auto& f = data<file_fixture>();
  store_floor(s, f, *f.log, log_events);
}
void file_annal(benchmark::State& s) {
  auto& f = data<file_fixture>();
  store_annal(s, f, *f.log, log_events);
}
void sqlite_floor(benchmark::State& s) {
  auto& f = data<sqlite_fixture>();
  store_floor(s, f, *f.store, sql_events);
}
void sqlite_annal(benchmark::State& s) {
  auto& f = data<sqlite_fixture>();
  store_annal(s, f, *f.store, sql_events);
}
void pg_floor(benchmark::State& s) {
  auto& f = data<pg_fixture>();
  if (!f.store) return s.SkipWithError(f.failure.c_str());
  store_floor(s, f, *f.store, sql_events);
}
void pg_annal(benchmark::State& s) {
  auto& f = data<pg_fixture>();
  if (!f.store) return s.SkipWithError(f.failure.c_str());
  store_annal(s, f, *f.store, sql_events);
}

// ---------------------------------------------------------------- the query written by hand

// The columns the hand-written queries read: those a projector needs, or (a variant beside the
// floor, to show where annal's overhead goes) every column a recorded_event holds.
const std::string reader_columns =
    "position, stream_id, stream_version, type, schema_version, payload";
const std::string all_columns =
    reader_columns + ", event_id, correlation_id, causation_id, metadata, recorded_at";

// sqlite3 on the store's file: its own read-only connection, one prepared statement, pages of
// `batch` rows through the store's (type, position) index.
template <bool every_column>
void sqlite_query_floor(benchmark::State& state) {
  const std::string& columns = every_column ? all_columns : reader_columns;
  const int count = every_column ? 11 : 6;
  auto& f = data<sqlite_fixture>();
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(f.file.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK)
    return state.SkipWithError(sqlite3_errmsg(db));
  sqlite3_stmt* select = nullptr;
  sqlite3_prepare_v2(db,
                     ("SELECT " + columns +
                      " FROM annal_events WHERE type = ?1 AND position >= ?2 ORDER BY position"
                      " LIMIT ?3")
                         .c_str(),
                     -1, &select, nullptr);
  const auto read = [&] {
    std::size_t found = 0;
    std::size_t bytes = 0;
    for (std::uint64_t from = 1;;) {
      sqlite3_bind_text(select, 1, wanted.data(), static_cast<int>(wanted.size()), SQLITE_STATIC);
      sqlite3_bind_int64(select, 2, static_cast<sqlite3_int64>(from));
      sqlite3_bind_int64(select, 3, static_cast<sqlite3_int64>(batch));
      std::size_t rows = 0;
      while (sqlite3_step(select) == SQLITE_ROW) {
        ++rows;
        from = static_cast<std::uint64_t>(sqlite3_column_int64(select, 0)) + 1;
        for (int col = 1; col < count; ++col)
          bytes += static_cast<std::size_t>(sqlite3_column_bytes(select, col));
        benchmark::DoNotOptimize(sqlite3_column_blob(select, 5));
      }
      sqlite3_reset(select);
      found += rows;
      if (rows < batch) break;
    }
    benchmark::DoNotOptimize(bytes);
    return found;
  };
  measure(state, sql_events, f.expected, read);
  sqlite3_finalize(select);
  sqlite3_close(db);
}

// libpq on the store's table: one prepared statement, rows in binary form (as the store asks
// for them), pages of `batch` rows through the (type, position) index.
template <bool every_column>
void pg_query_floor(benchmark::State& state) {
  const std::string& columns = every_column ? all_columns : reader_columns;
  const int count = every_column ? 11 : 6;
  auto& f = data<pg_fixture>();
  if (!f.store) return state.SkipWithError(f.failure.c_str());
  PGconn* c = PQconnectdb(f.server->conninfo().c_str());
  if (PQstatus(c) != CONNECTION_OK) {
    state.SkipWithError(PQerrorMessage(c));
    PQfinish(c);
    return;
  }
  PQsetNoticeProcessor(
      c, [](void*, const char*) {}, nullptr);  // "index exists, skipping"
  // The index the store's filtered read walks, under the store's own name: made here too, so the
  // hand-written query is indexed whichever version of the store made the schema.
  PQclear(PQexec(c,
                 "CREATE INDEX IF NOT EXISTS events_type_position ON bench_filter.events"
                 " (type, position)"));
  PGresult* prepared =
      PQprepare(c, "page",
                ("SELECT " + columns +
                 " FROM bench_filter.events WHERE type = $1 AND position >= $2 ORDER BY position"
                 " LIMIT $3")
                    .c_str(),
                3, nullptr);
  const bool ok = PQresultStatus(prepared) == PGRES_COMMAND_OK;
  PQclear(prepared);
  if (!ok) {
    state.SkipWithError(PQerrorMessage(c));
    PQfinish(c);
    return;
  }
  const std::string limit = std::to_string(batch);
  const auto read = [&] {
    std::size_t found = 0;
    std::size_t bytes = 0;
    for (std::uint64_t from = 1;;) {
      const std::string first = std::to_string(from);
      const char* params[] = {wanted.c_str(), first.c_str(), limit.c_str()};
      PGresult* r = PQexecPrepared(c, "page", 3, params, nullptr, nullptr, 1);
      if (PQresultStatus(r) != PGRES_TUPLES_OK) throw std::runtime_error(PQresultErrorMessage(r));
      const int rows = PQntuples(r);
      for (int i = 0; i < rows; ++i) {
        std::uint64_t position = 0;
        std::memcpy(&position, PQgetvalue(r, i, 0), sizeof position);
        from = be64toh(position) + 1;
        for (int col = 1; col < count; ++col)
          bytes += static_cast<std::size_t>(PQgetlength(r, i, col));
      }
      PQclear(r);
      found += static_cast<std::size_t>(rows);
      if (static_cast<std::size_t>(rows) < batch) break;
    }
    benchmark::DoNotOptimize(bytes);
    return found;
  };
  measure(state, sql_events, f.expected, read);
  PQfinish(c);
}

// ---------------------------------------------------------------- a projector end to end

struct t42_totals {
  using events = annal::events<noted>;
  std::size_t count = 0;
  std::int64_t sum = 0;
  void on(const noted& e, const annal::envelope_header&) {
    ++count;
    sum += e.amount;
  }
};

// A store whose reads are the memory store's but which cannot filter: read_filtered, and so the
// projector, read every event through it and test each one.
struct unfiltered_memory {
  annal::memory_store* store;
  annal::append_result append(std::string_view id, annal::expected_version expect,
                              std::span<const annal::event_data> events) {
    return store->append(id, expect, events);
  }
  template <class F>
  std::size_t read_stream(std::string_view id, std::uint64_t from, F&& visit,
                          std::size_t max_count = annal::unlimited) const {
    return store->read_stream(id, from, visit, max_count);
  }
  template <class F>
  std::size_t read_all(std::uint64_t from, F&& visit,
                       std::size_t max_count = annal::unlimited) const {
    return store->read_all(from, visit, max_count);
  }
  std::uint64_t stream_version(std::string_view id) const { return store->stream_version(id); }
  std::uint64_t last_position() const { return store->last_position(); }
};
static_assert(annal::event_store<unfiltered_memory>);
static_assert(!annal::filtering_store<unfiltered_memory>);

template <class Store>
void projector_run(benchmark::State& state, const Store& store, std::size_t expected) {
  const annal::projector_options options{.batch_size = batch};
  measure(state, log_events, expected, [&] {
    annal::memory_read_model<t42_totals> model;
    annal::projector{store, model, options}.catch_up();
    std::size_t count = 0;
    model.read([&](const t42_totals& p, std::uint64_t) { count = p.count; });
    return count;
  });
}

void projector_floor(benchmark::State& s) {
  auto& f = data<memory_fixture>();
  const unfiltered_memory hidden{&f.store};
  projector_run(s, hidden, f.expected);
}
void projector_annal(benchmark::State& s) {
  auto& f = data<memory_fixture>();
  projector_run(s, f.store, f.expected);
}

BENCHMARK(memory_floor)->Name("filter_1pct_memory/floor")->UseRealTime();
BENCHMARK(memory_annal)->Name("filter_1pct_memory/annal")->UseRealTime();
BENCHMARK(projector_floor)->Name("projector_1pct_memory/floor")->UseRealTime();
BENCHMARK(projector_annal)->Name("projector_1pct_memory/annal")->UseRealTime();
BENCHMARK(file_floor)->Name("filter_1pct_file_log/floor")->UseRealTime();
BENCHMARK(file_annal)->Name("filter_1pct_file_log/annal")->UseRealTime();
BENCHMARK(sqlite_floor)->Name("filter_1pct_sqlite/floor")->UseRealTime();
BENCHMARK(sqlite_annal)->Name("filter_1pct_sqlite/annal")->UseRealTime();
BENCHMARK(sqlite_query_floor<false>)->Name("filter_query_sqlite/floor")->UseRealTime();
BENCHMARK(sqlite_query_floor<true>)->Name("filter_query_sqlite/floor_all_columns")->UseRealTime();
BENCHMARK(sqlite_annal)->Name("filter_query_sqlite/annal")->UseRealTime();
BENCHMARK(pg_floor)->Name("filter_1pct_pg/floor")->UseRealTime();
BENCHMARK(pg_annal)->Name("filter_1pct_pg/annal")->UseRealTime();
BENCHMARK(pg_query_floor<false>)->Name("filter_query_pg/floor")->UseRealTime();
BENCHMARK(pg_query_floor<true>)->Name("filter_query_pg/floor_all_columns")->UseRealTime();
BENCHMARK(pg_annal)->Name("filter_query_pg/annal")->UseRealTime();

}  // namespace bench

ANNAL_BENCH_MAIN()
