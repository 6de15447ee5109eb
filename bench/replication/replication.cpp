// annal::replicator's catch_up against the floor: a hand-written loop between the same two stores
// that reads the primary with read_all in chunks of the same size and appends the same runs (one
// stream, one recorded instant) with the same expected versions and recorded times, nothing else.
// The primary is a file log under $ANNAL_BENCH_DIR (default /tmp); ANNAL_BENCH_REPLICATION_EVENTS
// sizes it (default 200000), filled in appends of 1–4 events to ~1000 streams (or to one stream).
#include <benchmark/benchmark.h>

#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include <annal/file/log.hpp>
#include <annal/runtime/new_event_id.hpp>
#include <annal/store/replication.hpp>

#if defined(ANNAL_BENCH_HAVE_SQLITE)
#include <annal/sqlite/store.hpp>
#endif

#include "common/ratio_reporter.hpp"
#include "common/replication_floor.hpp"
#include "common/scratch_root.hpp"

namespace {

namespace fs = std::filesystem;

fs::path bench_root() {
  return annal_bench::bench_root("replication");
}

std::uint64_t large_events() {
  const char* env = std::getenv("ANNAL_BENCH_REPLICATION_EVENTS");
  return env && *env ? std::strtoull(env, nullptr, 10) : 200000;
}

// Events read from the primary at once, by both sides: replication_options' default.
const std::size_t chunk = annal::replication_options{}.batch_events;

// A file log holding `events` ledger-like events (a ~200-byte payload, a correlation id, one
// metadata entry), appended in batches of 1–4 to streams drawn from `streams`; one per shape.
const annal::file_log& primary(std::uint32_t streams, std::uint64_t events) {
  static std::map<std::tuple<std::uint32_t, std::uint64_t>, std::unique_ptr<annal::file_log>> logs;
  auto& log = logs[{streams, events}];
  if (log) return *log;
  annal::file_log_options o;
  o.sync = annal::durability::none;
  const fs::path dir =
      bench_root() / ("primary-" + std::to_string(streams) + "-" + std::to_string(events));
  fs::remove_all(dir);
  fs::create_directories(bench_root());
  log = std::make_unique<annal::file_log>(dir, o);
  std::mt19937_64 random(18);
  const annal::event_id base = annal::new_event_id();
  std::vector<annal::event_data> batch;
  std::uint64_t written = 0;
  while (written < events) {
    batch.resize(std::min<std::uint64_t>(1 + random() % 4, events - written));
    for (auto& e : batch) {
      e.id = base;
      const std::uint64_t n = ++written;
      std::memcpy(e.id.data + 8, &n, 8);
      e.correlation_id = base;
      e.type = "bank.deposited";
      e.payload.assign(200, 'p');
      e.meta["user"] = "ada";
    }
    log->append("account-" + std::to_string(random() % streams), annal::expected_version::any(),
                batch);
  }
  log->sync();
  return *log;
}

using annal_bench::floor_copy;

template <class Target>
std::uint64_t annal_copy(const annal::file_log& from, Target& to) {
  annal::replicator r(from, to);
  return r.catch_up();
}

// Whether `copy` holds every event of `original`, every field alike (recorded_at included), so
// that both loops are seen to do the whole job.
template <class Target>
bool same_log(const annal::file_log& original, const Target& copy) {
  if (copy.last_position() != original.last_position()) return false;
  std::vector<annal::recorded_event> a, b;
  for (std::uint64_t from = 1; from <= original.last_position(); from += chunk) {
    a.clear();
    b.clear();
    original.read_all(
        from, [&](const annal::recorded_event& e) { a.push_back(e); }, chunk);
    copy.read_all(
        from, [&](const annal::recorded_event& e) { b.push_back(e); }, chunk);
    if (a != b) return false;
  }
  return true;
}

// One pass per iteration into a fresh standby made by `open(standby, dir)`, untimed, after the
// file system has written back what the last pass (or the primary's filling) left dirty, so that
// no pass pays for the one before it.
template <class Target, class Open, class Copy>
void replicate(benchmark::State& state, const annal::file_log& from, Open open, Copy copy) {
  const fs::path dir = bench_root() / "standby";
  std::optional<Target> to;
  for (auto _ : state) {
    state.PauseTiming();
    to.reset();
    fs::remove_all(dir);
    fs::create_directories(dir);
    ::sync();
    open(to, dir);
    state.ResumeTiming();
    benchmark::DoNotOptimize(copy(from, *to));
  }
  if (!same_log(from, *to)) state.SkipWithError("the standby is not a copy of the primary");
  to.reset();
  const auto events = static_cast<double>(from.last_position());
  state.counters["items"] = events;
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * from.last_position()));
}

auto open_file_log(annal::durability sync) {
  return [sync](std::optional<annal::file_log>& to, const fs::path& dir) {
    annal::file_log_options o;
    o.sync = sync;
    to.emplace(dir / "log", o);
  };
}

template <class Target, class Open>
void register_pair(const std::string& group, std::uint32_t streams, std::uint64_t events, Open open,
                   int iterations) {
  benchmark::RegisterBenchmark((group + "/floor").c_str(),
                               [=](benchmark::State& s) {
                                 replicate<Target>(s, primary(streams, events), open,
                                                   [](const annal::file_log& from, Target& to) {
                                                     return floor_copy(from, to);
                                                   });
                               })
      ->UseRealTime()
      ->Unit(benchmark::kMicrosecond)
      ->Iterations(iterations);
  benchmark::RegisterBenchmark((group + "/annal").c_str(),
                               [=](benchmark::State& s) {
                                 replicate<Target>(s, primary(streams, events), open,
                                                   annal_copy<Target>);
                               })
      ->UseRealTime()
      ->Unit(benchmark::kMicrosecond)
      ->Iterations(iterations);
}

const int registered = [] {
  const std::uint64_t n = large_events();
  const auto none = open_file_log(annal::durability::none);
  register_pair<annal::file_log>("file_to_file_1000_streams", 1000, n, none, 5);
  register_pair<annal::file_log>("file_to_file_one_stream", 1, n, none, 5);
  // A durable standby syncs once per run (~0.4 per event here): 20k events, not 200k.
  register_pair<annal::file_log>("file_to_durable_file_20k", 1000, 20000,
                                 open_file_log(annal::durability::durable), 3);
#if defined(ANNAL_BENCH_HAVE_SQLITE)
  register_pair<annal::sqlite_store>(
      "file_to_sqlite_1000_streams", 1000, n,
      [](std::optional<annal::sqlite_store>& to, const fs::path& dir) {
        annal::sqlite_options o;
        o.sync = annal::durability::none;
        to.emplace(dir / "standby.db", o);
      },
      3);
#endif
  return 0;
}();

annal_bench::remove_at_exit remove_root_at_exit{bench_root()};

}  // namespace

ANNAL_BENCH_MAIN()
