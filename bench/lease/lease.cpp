// The cost of lease coordination at K = 1 (issue #20: "<= 1.1x today's projector"): one PostgreSQL
// read model caught up from checkpoint 0, by the plain projector and by the leased projector.
//
// The log: N events appended once to a throwaway PostgreSQL server (bytea payloads, binary codec),
// over 1,000 accounts: each account's first append is bank.opened and 9 bank.deposited, later
// appends 10 bank.deposited. The projection is the lease tests' ledger (tests/projection/
// lease_ledger.hpp): one INSERT of a row per event into <schema>.lines.
//   lease_k1/floor  annal::projector over a postgres_read_model, catch_up()
//   lease_k1/annal  annal::postgres_leased_projector with 1 segment, run() by one worker on a
//                   jthread (claim, renewals, fence per batch), stopped once its checkpoint
//                   reaches the last position (polled every 10 ms, so at most 10 ms late)
// Each iteration projects into a new schema and a new projection name; creating them (migrate)
// is outside the timing (PauseTiming). Both variants must end with N rows and the same digest of
// them, or the benchmark stops with an error. items = N, so "vs floor" is the leased projector's
// time over the plain one's (issue: <= 1.1).
//
// Environment:
//   ANNAL_BENCH_LEASE_EVENTS  events in the log (default 100000)
//   ANNAL_BENCH_LEASE_BATCH   both projectors' batch_size (default 1024)
// Run: build/<dir>/bench/lease/annal_bench_lease --benchmark_min_time=15
//   (on a shared machine, add --benchmark_repetitions=6 --benchmark_enable_random_interleaving=true
//   and compare the medians: the two variants then run interleaved)
#include <annal/codec/binary.hpp>
#include <annal/postgres/leased_projector.hpp>
#include <annal/postgres/read_model.hpp>
#include <annal/postgres/store.hpp>
#include <annal/projection/projector.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <exception>
#include <memory>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include <benchmark/benchmark.h>

#include "common/encoded.hpp"
#include "common/postgres_server.hpp"
#include "common/ratio_reporter.hpp"
#include "projection/lease_ledger.hpp"

namespace bench {

std::size_t env_size(const char* name, std::size_t fallback) {
  const char* v = std::getenv(name);
  return v && *v ? static_cast<std::size_t>(std::stoull(v)) : fallback;
}

const std::size_t events = env_size("ANNAL_BENCH_LEASE_EVENTS", 100'000);
const std::size_t batch = env_size("ANNAL_BENCH_LEASE_BATCH", 1024);
constexpr std::size_t accounts = 1000;
constexpr std::size_t per_append = 10;

using lease_ledger::ledger_sql;

// The server runs once per process; a machine without PostgreSQL skips the benchmarks.
struct pg_fixture {
  std::unique_ptr<annal_test::postgres_server> server;
  std::unique_ptr<annal::postgres_store> store;
  std::string failure;
  std::string floor_digest;  // the first finished run's digest, which every other must match
  int runs = 0;              // numbers each iteration's schema and projection name

  pg_fixture() {
    try {
      // Nothing here must survive a crash; both variants commit the same way.
      server = std::make_unique<annal_test::postgres_server>(
          std::vector<std::string>{"fsync=off", "synchronous_commit=off"});
      annal::postgres_options o;
      o.connection = server->conninfo();
      o.schema = "bench_lease";
      o.payload_format = annal::postgres_payload_format::bytea;
      o.pool_size = 4;
      store = std::make_unique<annal::postgres_store>(o);
      store->migrate();
      fill();
    } catch (const std::exception& e) {
      failure = std::string("PostgreSQL skipped: ") + e.what();
      store.reset();
      server.reset();
    }
  }

  void fill() {
    std::vector<annal::event_data> chunk;
    for (std::size_t i = 0; i < events; i += per_append) {
      const std::size_t account = (i / per_append) % accounts;
      chunk.clear();
      for (std::size_t j = 0; j < per_append && i + j < events; ++j) {
        if (i < accounts * per_append && j == 0)
          chunk.push_back(annal_test::encoded(bank::opened{"a" + std::to_string(account)}));
        else
          chunk.push_back(annal_test::encoded(bank::deposited{long((i + j) % 997)}));
      }
      store->append("account-" + std::to_string(account), annal::expected_version::any(), chunk);
    }
  }

  std::string next_name(const char* variant) {
    return std::string("lease_") + variant + "_" + std::to_string(++runs);
  }
};

pg_fixture& data() {
  static pg_fixture f;
  return f;
}

std::int64_t rows(annal::postgres_store& store, const std::string& schema) {
  return store.transact([&](annal::postgres_transaction& tx) {
    return tx.exec("SELECT count(*) FROM " + annal::detail::pg::quote_ident(schema) + ".lines")
        .get_int(0, 0);
  });
}

// Both variants must have projected every event into the same rows; false stops the benchmark.
bool check(benchmark::State& state, pg_fixture& f, const std::string& schema) {
  const std::int64_t n = rows(*f.store, schema);
  const std::string digest = lease_ledger::digest(*f.store, schema);
  if (f.floor_digest.empty()) f.floor_digest = digest;
  if (n != static_cast<std::int64_t>(events) || digest != f.floor_digest) {
    state.SkipWithError(("schema " + schema + " holds " + std::to_string(n) + " rows with digest " +
                         digest + ", expected " + std::to_string(events) + " rows with digest " +
                         f.floor_digest)
                            .c_str());
    return false;
  }
  return true;
}

void done(benchmark::State& state) {
  state.counters["items"] = static_cast<double>(events);
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * events));
}

void lease_floor(benchmark::State& state) {
  auto& f = data();
  if (!f.store) return state.SkipWithError(f.failure.c_str());
  for (auto _ : state) {
    state.PauseTiming();
    const std::string name = f.next_name("floor");
    annal::postgres_read_model<ledger_sql> model{*f.store, {.name = name, .schema = name}};
    model.migrate();
    annal::projector projector{*f.store, model, {.batch_size = batch}};
    state.ResumeTiming();
    projector.catch_up();
    state.PauseTiming();
    if (!check(state, f, name)) break;
    state.ResumeTiming();
  }
  done(state);
}

void lease_annal(benchmark::State& state) {
  using namespace std::chrono_literals;
  auto& f = data();
  if (!f.store) return state.SkipWithError(f.failure.c_str());
  const std::uint64_t last = f.store->last_position();
  for (auto _ : state) {
    state.PauseTiming();
    const std::string name = f.next_name("annal");
    // The constructor migrates the model's tables: set-up, like the floor's migrate().
    annal::postgres_leased_projector<ledger_sql> live{
        *f.store,
        {.name = name, .schema = name, .segments = 1, .projector = {.batch_size = batch}}};
    state.ResumeTiming();
    std::string failure;
    std::atomic<bool> failed{false};
    {
      std::jthread worker([&](std::stop_token stop) {
        try {
          live.run(stop);
        } catch (const std::exception& e) {
          failure = e.what();
          failed = true;
        }
      });
      while (!failed && live.checkpoint() < last) std::this_thread::sleep_for(10ms);
    }  // the jthread's destructor stops the worker and joins it; run() releases the lease
    state.PauseTiming();
    if (failed) {
      state.SkipWithError(("the leased worker failed: " + failure).c_str());
      break;
    }
    if (!check(state, f, name)) break;
    state.ResumeTiming();
  }
  done(state);
}

BENCHMARK(lease_floor)->Name("lease_k1/floor")->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(lease_annal)->Name("lease_k1/annal")->UseRealTime()->Unit(benchmark::kMillisecond);

}  // namespace bench

ANNAL_BENCH_MAIN()
