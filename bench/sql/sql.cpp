// SQLite and PostgreSQL stores beside the plain sqlite3 / libpq loop inserting the same rows.
// PostgreSQL runs on a throwaway local server started here; SQLite on a file in $TMPDIR.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <annal/file/log.hpp>
#include <annal/postgres/store.hpp>
#include <annal/sqlite/store.hpp>

#include "common/postgres_server.hpp"
#include "common/ratio_reporter.hpp"

namespace {

using namespace annal;

constexpr int single_threads = 16;
const std::string payload = R"({"account":"acc-42","amount":1250,"currency":"EUR","memo":"rent"})";

std::vector<event_data> batch_of(std::size_t n) {
  std::vector<event_data> out(n);
  for (auto& e : out) {
    e.id = new_event_id();
    e.type = "money_deposited";
    e.payload = payload;
  }
  return out;
}

// ---------------------------------------------------------------- PostgreSQL

// The server runs with glibc's malloc thresholds fixed, as docs/postgres.md advises for servers
// that take large batches: otherwise a connection whose first appends were small maps and unmaps
// every large batch message (bind alone went from 2.2 to 13.7 ms a batch of 1000).
// ANNAL_BENCH_PG_UNTUNED=1 runs the server as installed, to see the difference.
annal_test::postgres_server& server() {
  static annal_test::postgres_server s(
      {}, std::getenv("ANNAL_BENCH_PG_UNTUNED") && *std::getenv("ANNAL_BENCH_PG_UNTUNED")
              ? std::vector<std::string>{}
              : std::vector<std::string>{"GLIBC_TUNABLES=glibc.malloc.mmap_threshold=33554432:"
                                         "glibc.malloc.trim_threshold=67108864"});
  return s;
}

postgres_options pg_options() {
  postgres_options o;
  o.connection = server().conninfo();
  o.schema = "bench";
  o.pool_size = single_threads;
  // ANNAL_BENCH_READ_PAGE=n reads n rows per query instead of the store's default.
  if (const char* page = std::getenv("ANNAL_BENCH_READ_PAGE")) o.read_page = std::stoul(page);
  return o;
}

postgres_store& pg_store() {
  static postgres_store store(pg_options());
  static std::once_flag migrated;
  std::call_once(migrated, [] { store.migrate(); });
  return store;
}

// The floor's table: the same columns and unique keys, positions from a sequence, no function.
PGconn* floor_connection() {
  PGconn* c = PQconnectdb(server().conninfo().c_str());
  if (PQstatus(c) != CONNECTION_OK) throw std::runtime_error(PQerrorMessage(c));
  static std::once_flag created;
  std::call_once(created, [c] {
    PQclear(
        PQexec(c,
               "CREATE TABLE IF NOT EXISTS floor_events (position bigserial PRIMARY KEY,"
               " stream_id text NOT NULL, stream_version bigint NOT NULL,"
               " event_id uuid NOT NULL UNIQUE, type text NOT NULL, schema_version int NOT NULL,"
               " payload jsonb NOT NULL, correlation_id uuid NOT NULL, causation_id uuid NOT NULL,"
               " metadata jsonb NOT NULL, recorded_at timestamptz NOT NULL,"
               " UNIQUE (stream_id, stream_version))"));
  });
  PQclear(PQprepare(c, "ins",
                    "INSERT INTO floor_events (stream_id, stream_version, event_id, type,"
                    " schema_version, payload, correlation_id, causation_id, metadata, recorded_at)"
                    " VALUES ($1, $2, $3, $4, 1, $5, $6, $6, '{}', now())",
                    5, nullptr));
  PQclear(PQprepare(c, "ins_many",
                    "INSERT INTO floor_events (stream_id, stream_version, event_id, type,"
                    " schema_version, payload, correlation_id, causation_id, metadata, recorded_at)"
                    " SELECT $1, $2 + u.ord, u.id, u.t, 1, u.p, u.c, u.c, '{}', now()"
                    " FROM unnest($3::uuid[], $4::text[], $5::jsonb[], $6::uuid[])"
                    " WITH ORDINALITY AS u(id, t, p, c, ord)",
                    6, nullptr));
  return c;
}

void check(PGresult* r) {
  if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK)
    throw std::runtime_error(PQresultErrorMessage(r));
  PQclear(r);
}

std::atomic<int> stream_counter{0};

void pg_append_single_annal(benchmark::State& state) {
  auto& store = pg_store();
  const std::string stream = "single-" + std::to_string(++stream_counter);
  std::uint64_t version = 0;
  // The store's counts are cumulative over the process: this run's share is the difference.
  const auto before = store.append_stats();
  for (auto _ : state) {
    const auto r = store.append(stream, expected_version::exact(version), batch_of(1));
    if (!r) state.SkipWithError("conflict");
    version = r.stream_version;
  }
  if (state.thread_index() == 0) {
    const auto after = store.append_stats();
    const auto transactions = after.transactions - before.transactions;
    state.counters["per_commit"] =
        transactions ? double(after.appends - before.appends) / double(transactions) : 0;
  }
  state.counters["items"] = 1;
  state.SetItemsProcessed(state.iterations());
}

void pg_append_single_floor(benchmark::State& state) {
  PGconn* c = floor_connection();
  const std::string stream = "single-" + std::to_string(++stream_counter);
  std::uint64_t version = 0;
  const std::string nil = detail::sql::uuid_to_text(event_id{});
  for (auto _ : state) {
    const std::string v = std::to_string(++version);
    const std::string id = detail::sql::uuid_to_text(new_event_id());
    const char* params[] = {stream.c_str(),    v.c_str(),       id.c_str(),
                            "money_deposited", payload.c_str(), nil.c_str()};
    check(PQexecPrepared(c, "ins", 6, params, nullptr, nullptr, 0));
  }
  PQfinish(c);
  state.counters["items"] = 1;
  state.SetItemsProcessed(state.iterations());
}

// A lone writer and the floor in turn, one append each per iteration, so that both meet the same
// disk: a shared machine's sync time drifts 2-3x within seconds, and the two single-connection runs
// above, one after the other, gave ratios from 1.1x to 2.5x within one hour. The iteration time is
// annal's; the counters are the floor's mean and the median of the per-pair ratios.
void pg_append_single_paired(benchmark::State& state) {
  using seconds = std::chrono::duration<double>;
  auto& store = pg_store();
  PGconn* c = floor_connection();
  const std::string stream = "paired-" + std::to_string(++stream_counter);
  const std::string nil = detail::sql::uuid_to_text(event_id{});
  std::uint64_t version = 0;
  double floor_total = 0;
  std::vector<double> ratios;
  for (auto _ : state) {
    const auto batch = batch_of(1);
    const std::string floor_id = detail::sql::uuid_to_text(new_event_id());
    const auto run_annal = [&] {
      const auto t0 = std::chrono::steady_clock::now();
      if (!store.append(stream, expected_version::exact(version), batch))
        state.SkipWithError("conflict");
      return seconds(std::chrono::steady_clock::now() - t0).count();
    };
    const auto run_floor = [&] {
      const auto t0 = std::chrono::steady_clock::now();
      const std::string v = std::to_string(version + 1);
      const char* params[] = {stream.c_str(),    v.c_str(),       floor_id.c_str(),
                              "money_deposited", payload.c_str(), nil.c_str()};
      check(PQexecPrepared(c, "ins", 6, params, nullptr, nullptr, 0));
      return seconds(std::chrono::steady_clock::now() - t0).count();
    };
    // Each goes first every other time, so neither always follows the other's sync.
    double a = 0, f = 0;
    if (ratios.size() % 2 == 0) {
      a = run_annal();
      f = run_floor();
    } else {
      f = run_floor();
      a = run_annal();
    }
    ++version;
    state.SetIterationTime(a);
    floor_total += f;
    ratios.push_back(a / f);
  }
  PQfinish(c);
  std::sort(ratios.begin(), ratios.end());
  state.counters["floor_us"] = ratios.empty() ? 0 : floor_total / double(ratios.size()) * 1e6;
  state.counters["median_ratio"] = ratios.empty() ? 0 : ratios[ratios.size() / 2];
  state.counters["items"] = 1;
  state.SetItemsProcessed(state.iterations());
}

// Batches of state.range(0) events into one stream of any store.
template <class Store>
void append_batches(benchmark::State& state, Store& store) {
  const auto n = static_cast<std::size_t>(state.range(0));
  const std::string stream = "batch-" + std::to_string(++stream_counter);
  for (auto _ : state) {
    state.PauseTiming();
    auto batch = batch_of(n);
    state.ResumeTiming();
    store.append(stream, expected_version::any(), batch);
  }
  state.counters["items"] = static_cast<double>(n);
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(n));
}

void pg_append_batch_annal(benchmark::State& state) {
  append_batches(state, pg_store());
}

void pg_append_batch_floor(benchmark::State& state) {
  PGconn* c = floor_connection();
  const auto n = static_cast<std::size_t>(state.range(0));
  const std::string stream = "batch-" + std::to_string(++stream_counter);
  std::uint64_t version = 0;
  const std::string nil = detail::sql::uuid_to_text(event_id{});
  for (auto _ : state) {
    state.PauseTiming();
    auto batch = batch_of(n);
    state.ResumeTiming();
    std::string ids = "{", types = "{", payloads = "{", cors = "{";
    for (std::size_t i = 0; i < n; ++i) {
      if (i) ids += ',', types += ',', payloads += ',', cors += ',';
      detail::sql::uuid_to_text(batch[i].id, ids);
      types += '"' + batch[i].type + '"';
      payloads += '"';
      for (char ch : batch[i].payload) {
        if (ch == '"' || ch == '\\') payloads += '\\';
        payloads += ch;
      }
      payloads += '"';
      cors += nil;
    }
    ids += '}', types += '}', payloads += '}', cors += '}';
    const std::string v = std::to_string(version);
    const char* params[] = {stream.c_str(), v.c_str(),        ids.c_str(),
                            types.c_str(),  payloads.c_str(), cors.c_str()};
    check(PQexecPrepared(c, "ins_many", 6, params, nullptr, nullptr, 0));
    version += n;
  }
  PQfinish(c);
  state.counters["items"] = static_cast<double>(n);
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(n));
}

constexpr std::size_t read_events = 20000;

void pg_read_all_annal(benchmark::State& state) {
  auto& store = pg_store();
  while (store.last_position() < read_events)
    store.append("fill", expected_version::any(), batch_of(1000));
  for (auto _ : state) {
    std::size_t bytes = 0;
    store.read_all(
        1, [&](const recorded_event& e) { bytes += e.payload.size(); }, read_events);
    benchmark::DoNotOptimize(bytes);
  }
  state.counters["items"] = read_events;
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(read_events));
}

void pg_read_all_floor(benchmark::State& state) {
  pg_store();  // the same rows
  PGconn* c = floor_connection();
  const std::string sql =
      "SELECT position, stream_id, stream_version, event_id, type, schema_version, payload,"
      " correlation_id, causation_id, metadata, recorded_at FROM bench.events"
      " WHERE position >= 1 ORDER BY position LIMIT " +
      std::to_string(read_events);
  for (auto _ : state) {
    PGresult* r = PQexec(c, sql.c_str());
    std::size_t bytes = 0;
    for (int i = 0, n = PQntuples(r); i < n; ++i)
      for (int col = 0; col < 11; ++col) bytes += static_cast<std::size_t>(PQgetlength(r, i, col));
    benchmark::DoNotOptimize(bytes);
    PQclear(r);
  }
  PQfinish(c);
  state.counters["items"] = read_events;
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(read_events));
}

// ---------------------------------------------------------------- SQLite

struct scratch {
  std::filesystem::path path;
  scratch() {
    std::string p = (std::filesystem::temp_directory_path() / "annal-bench-XXXXXX").string();
    if (!::mkdtemp(p.data())) throw std::runtime_error("mkdtemp failed");
    path = p;
  }
  ~scratch() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
};

const std::filesystem::path& sqlite_dir() {
  static scratch dir;
  return dir.path;
}

sqlite_store& sq_store() {
  static sqlite_store store(sqlite_dir() / "annal.db");
  return store;
}

// The floor: the same table and unique keys, the same pragmas, a plain prepared INSERT loop.
struct sqlite_floor {
  sqlite3* db = nullptr;
  sqlite3_stmt* ins = nullptr;
  sqlite3_stmt* sel = nullptr;
  sqlite_floor() {
    sqlite3_open((sqlite_dir() / "floor.db").c_str(), &db);
    sqlite3_busy_timeout(db, 10000);
    sqlite3_exec(
        db,
        "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
        "CREATE TABLE IF NOT EXISTS events (position INTEGER PRIMARY KEY,"
        " stream_id TEXT NOT NULL, stream_version INTEGER NOT NULL,"
        " event_id BLOB NOT NULL UNIQUE, type TEXT NOT NULL, schema_version INTEGER NOT NULL,"
        " payload BLOB NOT NULL, correlation_id BLOB NOT NULL, causation_id BLOB NOT NULL,"
        " metadata TEXT NOT NULL, recorded_at INTEGER NOT NULL,"
        " UNIQUE (stream_id, stream_version))",
        nullptr, nullptr, nullptr);
    sqlite3_prepare_v2(db,
                       "INSERT INTO events (stream_id, stream_version, event_id, type,"
                       " schema_version, payload, correlation_id, causation_id, metadata,"
                       " recorded_at) VALUES (?1, ?2, ?3, ?4, 1, ?5, ?6, ?6, '{}', ?7)",
                       -1, &ins, nullptr);
    sqlite3_prepare_v2(db,
                       "SELECT position, stream_id, stream_version, event_id, type,"
                       " schema_version, payload, correlation_id, causation_id, metadata,"
                       " recorded_at FROM events WHERE position >= 1 ORDER BY position LIMIT ?1",
                       -1, &sel, nullptr);
  }
  ~sqlite_floor() {
    sqlite3_finalize(ins);
    sqlite3_finalize(sel);
    sqlite3_close(db);
  }
  void insert(const std::string& stream, std::uint64_t version, const event_data& e) {
    static const event_id nil{};
    sqlite3_bind_text(ins, 1, stream.data(), static_cast<int>(stream.size()), SQLITE_STATIC);
    sqlite3_bind_int64(ins, 2, static_cast<sqlite3_int64>(version));
    sqlite3_bind_blob(ins, 3, e.id.data, 16, SQLITE_STATIC);
    sqlite3_bind_text(ins, 4, e.type.data(), static_cast<int>(e.type.size()), SQLITE_STATIC);
    sqlite3_bind_blob(ins, 5, e.payload.data(), static_cast<int>(e.payload.size()), SQLITE_STATIC);
    sqlite3_bind_blob(ins, 6, nil.data, 16, SQLITE_STATIC);
    sqlite3_bind_int64(ins, 7, clock::now().time_since_epoch().count());
    if (sqlite3_step(ins) != SQLITE_DONE) throw std::runtime_error(sqlite3_errmsg(db));
    sqlite3_reset(ins);
  }
};

// One floor connection for the whole run, as the store keeps its own: closing a file's last
// connection checkpoints and deletes its WAL, and a WAL that grows again costs more per sync than
// one that is reused (the file's size changes with every commit).
sqlite_floor& floor_db() {
  static sqlite_floor f;
  return f;
}

void sqlite_append_single_annal(benchmark::State& state) {
  auto& store = sq_store();
  const std::string stream = "single-" + std::to_string(++stream_counter);
  std::uint64_t version = 0;
  for (auto _ : state) {
    const auto r = store.append(stream, expected_version::exact(version), batch_of(1));
    version = r.stream_version;
  }
  state.counters["items"] = 1;
  state.SetItemsProcessed(state.iterations());
}

void sqlite_append_single_floor(benchmark::State& state) {
  sqlite_floor& f = floor_db();
  const std::string stream = "single-" + std::to_string(++stream_counter);
  std::uint64_t version = 0;
  for (auto _ : state) f.insert(stream, ++version, batch_of(1)[0]);
  state.counters["items"] = 1;
  state.SetItemsProcessed(state.iterations());
}

void sqlite_append_batch_annal(benchmark::State& state) {
  append_batches(state, sq_store());
}

// SQLite against the embedded default at the same batch size (target: SQLite ≥ 0.7× the file log's
// rate). In this group the baseline named "floor" is the file log, durable, in the same $TMPDIR.
void file_log_append_batch(benchmark::State& state) {
  static scratch dir;
  static file_log store(dir.path / "log");
  append_batches(state, store);
}

void sqlite_append_batch_floor(benchmark::State& state) {
  sqlite_floor& f = floor_db();
  const auto n = static_cast<std::size_t>(state.range(0));
  const std::string stream = "batch-" + std::to_string(++stream_counter);
  std::uint64_t version = 0;
  for (auto _ : state) {
    state.PauseTiming();
    auto batch = batch_of(n);
    state.ResumeTiming();
    sqlite3_exec(f.db, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr);
    for (const auto& e : batch) f.insert(stream, ++version, e);
    sqlite3_exec(f.db, "COMMIT", nullptr, nullptr, nullptr);
  }
  state.counters["items"] = static_cast<double>(n);
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(n));
}

void sqlite_read_all_annal(benchmark::State& state) {
  auto& store = sq_store();
  while (store.last_position() < read_events)
    store.append("fill", expected_version::any(), batch_of(1000));
  for (auto _ : state) {
    std::size_t bytes = 0;
    store.read_all(
        1, [&](const recorded_event& e) { bytes += e.payload.size(); }, read_events);
    benchmark::DoNotOptimize(bytes);
  }
  state.counters["items"] = read_events;
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(read_events));
}

void sqlite_read_all_floor(benchmark::State& state) {
  sqlite_floor& f = floor_db();
  std::uint64_t version = 0;
  sqlite3_exec(f.db, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr);
  const std::string stream = "fill-" + std::to_string(++stream_counter);
  for (std::size_t i = 0; i < read_events; ++i) f.insert(stream, ++version, batch_of(1)[0]);
  sqlite3_exec(f.db, "COMMIT", nullptr, nullptr, nullptr);
  for (auto _ : state) {
    std::size_t bytes = 0;
    sqlite3_bind_int64(f.sel, 1, static_cast<sqlite3_int64>(read_events));
    while (sqlite3_step(f.sel) == SQLITE_ROW)
      for (int col = 0; col < 11; ++col)
        bytes += static_cast<std::size_t>(sqlite3_column_bytes(f.sel, col));
    sqlite3_reset(f.sel);
    benchmark::DoNotOptimize(bytes);
  }
  state.counters["items"] = read_events;
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(read_events));
}

}  // namespace

BENCHMARK(pg_append_single_annal)
    ->Name("pg_append_single/annal")
    ->Threads(single_threads)
    ->UseRealTime();
BENCHMARK(pg_append_single_floor)
    ->Name("pg_append_single/floor")
    ->Threads(single_threads)
    ->UseRealTime();
BENCHMARK(pg_append_single_annal)->Name("pg_append_single_64/annal")->Threads(64)->UseRealTime();
BENCHMARK(pg_append_single_floor)->Name("pg_append_single_64/floor")->Threads(64)->UseRealTime();
BENCHMARK(pg_append_single_annal)->Name("pg_append_single_1conn/annal")->UseRealTime();
BENCHMARK(pg_append_single_floor)->Name("pg_append_single_1conn/floor")->UseRealTime();
BENCHMARK(pg_append_single_paired)->Name("pg_append_single_paired/annal")->UseManualTime();
BENCHMARK(pg_append_batch_annal)->Name("pg_append_batch/annal")->Arg(100)->Arg(1000)->UseRealTime();
BENCHMARK(pg_append_batch_floor)->Name("pg_append_batch/floor")->Arg(100)->Arg(1000)->UseRealTime();
BENCHMARK(pg_read_all_annal)->Name("pg_read_all/annal")->UseRealTime();
BENCHMARK(pg_read_all_floor)->Name("pg_read_all/floor")->UseRealTime();
BENCHMARK(sqlite_append_single_annal)->Name("sqlite_append_single/annal")->UseRealTime();
BENCHMARK(sqlite_append_single_floor)->Name("sqlite_append_single/floor")->UseRealTime();
BENCHMARK(sqlite_append_batch_annal)
    ->Name("sqlite_append_batch/annal")
    ->Arg(100)
    ->Arg(1000)
    ->UseRealTime();
BENCHMARK(sqlite_append_batch_annal)
    ->Name("sqlite_vs_file_log/sqlite")
    ->Arg(100)
    ->Arg(1000)
    ->UseRealTime();
BENCHMARK(file_log_append_batch)
    ->Name("sqlite_vs_file_log/floor")
    ->Arg(100)
    ->Arg(1000)
    ->UseRealTime();
BENCHMARK(sqlite_append_batch_floor)
    ->Name("sqlite_append_batch/floor")
    ->Arg(100)
    ->Arg(1000)
    ->UseRealTime();
BENCHMARK(sqlite_read_all_annal)->Name("sqlite_read_all/annal")->UseRealTime();
BENCHMARK(sqlite_read_all_floor)->Name("sqlite_read_all/floor")->UseRealTime();

ANNAL_BENCH_MAIN();
