// The cost of lease coordination (issue #20): at K = 1 ("<= 1.1x today's projector"), one
// PostgreSQL read model caught up from checkpoint 0 by the plain projector and by the leased
// projector; then the scale-out curve at K = 4 with 1, 2 and 4 workers.
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
// The curve (issue #20's scale-out): the same log caught up by postgres_leased_projector with K = 4
// segments (each segment reads the log and applies its partition's streams) and W = 1, 2, 4
// workers, each its own projector object on its own postgres_store (own connections):
//   lease_k4/threads/W    the workers on W jthreads of this process
//   lease_k4/processes/W  the workers in W processes fork()ed after the log is filled
// Set-up is outside the timing: the schema, the workers' construction, and the share-out (each
// worker's maintain() twice in turn, so each starts owning K/W segments instead of the first
// claiming all four until its next renewal); the clock runs from the start of the workers' run()
// until every segment's checkpoint reaches the last position (polled every 10 ms). Rows and digest
// are checked as above. items = N, so their "vs floor" in medians.py (--floor lease_k4=lease_k1)
// is their time over today's projector's.
//
// Environment:
//   ANNAL_BENCH_LEASE_EVENTS  events in the log (default 100000)
//   ANNAL_BENCH_LEASE_BATCH   both projectors' batch_size (default 1024)
// Run: build/<dir>/bench/lease/annal_bench_lease --benchmark_min_time=15
//   (on a shared machine, add --benchmark_repetitions=6 --benchmark_enable_random_interleaving=true
//   and compare the medians: the variants then run interleaved; with --benchmark_out=lease.json,
//   bench/kafka_group/medians.py --floor lease_k4=lease_k1 lease.json prints them)
#include <annal/codec/binary.hpp>
#include <annal/postgres/leased_projector.hpp>
#include <annal/postgres/read_model.hpp>
#include <annal/postgres/store.hpp>
#include <annal/projection/projector.hpp>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include <benchmark/benchmark.h>
#include <sys/wait.h>
#include <unistd.h>

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
  annal::postgres_options options;  // each curve worker's own store connects with these
  std::string failure;
  std::string floor_digest;  // the first finished run's digest, which every other must match
  int runs = 0;              // numbers each iteration's schema and projection name

  pg_fixture() {
    try {
      // Nothing here must survive a crash; both variants commit the same way.
      server = std::make_unique<annal_test::postgres_server>(
          std::vector<std::string>{"fsync=off", "synchronous_commit=off"});
      options.connection = server->conninfo();
      options.schema = "bench_lease";
      options.payload_format = annal::postgres_payload_format::bytea;
      options.pool_size = 4;
      store = std::make_unique<annal::postgres_store>(options);
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

constexpr std::size_t curve_segments = 4;
using leased = annal::postgres_leased_projector<ledger_sql>;

annal::postgres_leased_projector_options curve_options(const std::string& name) {
  return {
      .name = name, .schema = name, .segments = curve_segments, .projector = {.batch_size = batch}};
}

// Polls every segment's checkpoint until all reach `last`, or `failed()` says a worker stopped.
template <class Failed>
void wait_caught_up(const leased& monitor, std::uint64_t last, Failed&& failed) {
  using namespace std::chrono_literals;
  while (!failed() && monitor.checkpoint() < last) std::this_thread::sleep_for(10ms);
}

void curve_threads(benchmark::State& state) {
  auto& f = data();
  if (!f.store) return state.SkipWithError(f.failure.c_str());
  const auto workers = static_cast<std::size_t>(state.range(0));
  const std::uint64_t last = f.store->last_position();
  for (auto _ : state) {
    state.PauseTiming();
    const std::string name = f.next_name("k4_threads");
    const leased monitor{*f.store, curve_options(name)};  // creates the tables; never runs
    std::vector<std::unique_ptr<annal::postgres_store>> stores;
    std::vector<std::unique_ptr<leased>> live;
    for (std::size_t w = 0; w < workers; ++w) {
      stores.push_back(std::make_unique<annal::postgres_store>(f.options));
      live.push_back(std::make_unique<leased>(*stores.back(), curve_options(name)));
    }
    // The first round registers every worker, the second gives each its share.
    for (int round = 0; round < 2; ++round)
      for (auto& l : live) l->maintain();
    std::mutex mutex;
    std::string failure;
    std::atomic<bool> failed{false};
    state.ResumeTiming();
    {
      std::vector<std::jthread> threads;
      for (std::size_t w = 0; w < workers; ++w)
        threads.emplace_back([&, w](std::stop_token stop) {
          try {
            live[w]->run(stop);
          } catch (const std::exception& e) {
            std::lock_guard lock(mutex);
            failure = e.what();
            failed = true;
          }
        });
      wait_caught_up(monitor, last, [&] { return failed.load(); });
      state.PauseTiming();
    }  // the jthreads' destructors stop the workers and join them; run() releases the leases
    if (failed) {
      state.SkipWithError(("a leased worker failed: " + failure).c_str());
      break;
    }
    if (!check(state, f, name)) break;
    state.ResumeTiming();
  }
  done(state);
  state.counters["workers"] = static_cast<double>(workers);
}

// A pipe pair to one forked worker; each message is one byte.
struct child_worker {
  pid_t pid = -1;
  int to = -1;    // commands: 'm' maintain, 'g' go (run), 's' stop
  int from = -1;  // answers: 'r' ready, 'k' maintained, 'd' stopped
};

bool say(int fd, char c) {
  return ::write(fd, &c, 1) == 1;
}
bool hear(int fd, char expected) {
  char c = 0;
  return ::read(fd, &c, 1) == 1 && c == expected;
}

// A forked worker: its own store and projector, driven by the parent through the pipes. It never
// returns, and _exit()s so that nothing of the parent's (its connections) is torn down here.
[[noreturn]] void child_main(const std::string& name, int in, int out) {
  int code = 0;
  try {
    annal::postgres_store store{data().options};
    leased live{store, curve_options(name)};
    std::jthread worker;
    say(out, 'r');
    for (char c = 0; ::read(in, &c, 1) == 1;) {
      if (c == 'm') {
        live.maintain();
        say(out, 'k');
      } else if (c == 'g') {
        worker = std::jthread([&](std::stop_token stop) {
          try {
            live.run(stop);
          } catch (const std::exception& e) {
            std::fprintf(stderr, "lease worker %d: %s\n", static_cast<int>(::getpid()), e.what());
            std::_Exit(1);
          }
        });
      } else if (c == 's') {
        worker = {};  // stops and joins the run, which releases the leases
        say(out, 'd');
        break;
      }
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "lease worker %d: %s\n", static_cast<int>(::getpid()), e.what());
    code = 1;
  }
  std::_Exit(code);
}

// Starts a worker process; the parent keeps its ends of the pipes.
child_worker fork_worker(const std::string& name) {
  int down[2], up[2];
  if (::pipe(down) != 0 || ::pipe(up) != 0) throw std::runtime_error("pipe failed");
  const pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    ::close(down[1]);
    ::close(up[0]);
    child_main(name, down[0], up[1]);
  }
  ::close(down[0]);
  ::close(up[1]);
  return {pid, down[1], up[0]};
}

// Stops the workers still running and reaps them all; false when one failed.
bool reap(std::vector<child_worker>& children) {
  bool ok = true;
  for (auto& c : children) {
    if (c.pid < 0) continue;
    ok = say(c.to, 's') && hear(c.from, 'd') && ok;
    ::close(c.to);
    ::close(c.from);
    int status = 0;
    ::waitpid(c.pid, &status, 0);
    ok = ok && WIFEXITED(status) && WEXITSTATUS(status) == 0;
    c.pid = -1;
  }
  return ok;
}

// Whether a worker process has exited (it only exits on its own when it failed).
bool any_exited(std::vector<child_worker>& children) {
  for (auto& c : children) {
    int status = 0;
    if (c.pid > 0 && ::waitpid(c.pid, &status, WNOHANG) == c.pid) {
      c.pid = -1;
      return true;
    }
  }
  return false;
}

void curve_processes(benchmark::State& state) {
  auto& f = data();
  if (!f.store) return state.SkipWithError(f.failure.c_str());
  std::signal(SIGPIPE, SIG_IGN);  // a worker that died is told by a failed write, not a signal
  const auto workers = static_cast<std::size_t>(state.range(0));
  const std::uint64_t last = f.store->last_position();
  for (auto _ : state) {
    state.PauseTiming();
    const std::string name = f.next_name("k4_processes");
    const leased monitor{*f.store, curve_options(name)};  // creates the tables; never runs
    std::vector<child_worker> children;
    bool ok = true;
    for (std::size_t w = 0; w < workers && ok; ++w) {
      children.push_back(fork_worker(name));
      ok = hear(children.back().from, 'r');
    }
    for (int round = 0; round < 2 && ok; ++round)
      for (auto& c : children) ok = ok && say(c.to, 'm') && hear(c.from, 'k');
    if (!ok) {
      reap(children);
      state.SkipWithError("a worker process failed to start (see its message above)");
      break;
    }
    state.ResumeTiming();
    for (auto& c : children) say(c.to, 'g');
    bool exited = false;
    wait_caught_up(monitor, last, [&] { return exited = exited || any_exited(children); });
    state.PauseTiming();
    if (!reap(children) || exited) {
      state.SkipWithError("a worker process failed (see its message above)");
      break;
    }
    if (!check(state, f, name)) break;
    state.ResumeTiming();
  }
  done(state);
  state.counters["workers"] = static_cast<double>(workers);
}

BENCHMARK(lease_floor)->Name("lease_k1/floor")->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(lease_annal)->Name("lease_k1/annal")->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(curve_threads)
    ->Name("lease_k4/threads")
    ->Arg(1)
    ->Arg(2)
    ->Arg(4)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK(curve_processes)
    ->Name("lease_k4/processes")
    ->Arg(1)
    ->Arg(2)
    ->Arg(4)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

}  // namespace bench

ANNAL_BENCH_MAIN()
