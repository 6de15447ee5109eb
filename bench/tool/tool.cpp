// The annal tool's verify and events --json over a file log of 1M small events, beside the floor:
// the file log's own full scan with checks on (read_all_views, verify_reads, counting events).
// The commands are called as functions (tool/commands.hpp), on the store the tool opens; the
// verify_open group adds the open the tool does before verifying (verify_on_open), against the
// same open followed by the floor's scan. Logs live under $ANNAL_BENCH_DIR (default /tmp);
// ANNAL_BENCH_TOOL_EVENTS sizes the log (default 1,000,000), ANNAL_BENCH_TOOL_STREAM_EVENTS its
// streams (default 16 events each: verify's table of streams costs most with many short ones).
#include <benchmark/benchmark.h>

#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <annal/file/log.hpp>
#include <annal/tool/detail/commands.hpp>
#include <annal/tool/detail/open_store.hpp>

#include "common/ratio_reporter.hpp"
#include "common/scratch_root.hpp"

namespace {

namespace fs = std::filesystem;

std::uint64_t log_events() {
  const char* env = std::getenv("ANNAL_BENCH_TOOL_EVENTS");
  return env && *env ? std::strtoull(env, nullptr, 10) : 1'000'000;
}

std::size_t stream_events() {
  const char* env = std::getenv("ANNAL_BENCH_TOOL_STREAM_EVENTS");
  return env && *env ? std::strtoull(env, nullptr, 10) : 16;
}

fs::path bench_root() {
  return annal_bench::bench_root("tool");
}

// Built once per process: accounts of stream_events() events each, a ~30-byte JSON payload and one
// metadata entry per event, each stream written in one batch without syncs.
const fs::path& built_log() {
  static const fs::path dir = [] {
    const fs::path path = bench_root() / "log";
    fs::remove_all(path);
    fs::create_directories(path);
    annal::file_log_options options;
    options.sync = annal::durability::none;
    annal::file_log log(path, options);
    std::vector<annal::event_data> batch(stream_events());
    const annal::event_id base = annal::new_event_id();
    std::uint64_t n = 0;
    for (std::uint64_t account = 0; n < log_events(); ++account) {
      batch.resize(
          std::min<std::uint64_t>(batch.size(), log_events() - n));  // exactly log_events()
      for (std::size_t i = 0; i < batch.size(); ++i, ++n) {
        annal::event_data& e = batch[i];
        e.id = base;
        std::memcpy(e.id.data + 10, &n, 6);
        e.type = i % 4 == 3 ? "account.withdrawn" : "account.deposited";
        e.payload = R"({"cents":)" + std::to_string(100 + n % 900) + R"(,"by":"teller-)" +
                    std::to_string(n % 7) + "\"}";
        e.meta["user"] = "ada";
      }
      log.append("account-" + std::to_string(account), annal::expected_version::no_stream(), batch);
    }
    log.sync();
    return path;
  }();
  return dir;
}

// The file log as the tool opens it: read-only, checksums checked on every read.
std::unique_ptr<annal::file_log> open_as_tool() {
  annal::file_log_options options;
  options.read_only = true;
  options.create_if_missing = false;
  options.verify_reads = true;
  return std::make_unique<annal::file_log>(built_log(), options);
}

std::uint64_t count_events(const annal::file_log& log) {
  std::uint64_t n = 0;
  log.read_all_views(1, [&](const annal::recorded_event_view&) { ++n; });
  return n;
}

void finish(benchmark::State& state) {
  state.counters["items"] = static_cast<double>(log_events());
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(log_events()));
}

void verify_floor(benchmark::State& state) {
  const auto log = open_as_tool();
  for (auto _ : state) benchmark::DoNotOptimize(count_events(*log));
  finish(state);
}

void verify_tool(benchmark::State& state) {
  const auto log = open_as_tool();
  for (auto _ : state) {
    const annal::tool::detail::verify_report r = annal::tool::detail::verify(*log);
    if (!r.clean() || r.events != log_events()) state.SkipWithError("verify found damage");
    benchmark::DoNotOptimize(r.events);
  }
  finish(state);
}

// What `annal verify file:<dir>` does after parsing its arguments: the open checks every record
// (verify_on_open), then verify reads every event.
void verify_open_floor(benchmark::State& state) {
  for (auto _ : state) {
    annal::file_log_options options;
    options.read_only = true;
    options.create_if_missing = false;
    options.verify_on_open = true;
    annal::file_log log(built_log(), options);
    benchmark::DoNotOptimize(count_events(log));
  }
  finish(state);
}

void verify_open_tool(benchmark::State& state) {
  const annal::tool::detail::store_url url =
      annal::tool::detail::parse_store_url("file:" + built_log().string());
  annal::tool::detail::open_settings settings;
  settings.verify = true;
  for (auto _ : state) {
    annal::tool::detail::opened_store opened = annal::tool::detail::open_store(url, settings);
    const auto& log = std::get<std::unique_ptr<annal::file_log>>(opened.store);
    benchmark::DoNotOptimize(annal::tool::detail::verify(*log).events);
  }
  finish(state);
}

// `annal events file:<dir> --from 1 [--json] > /dev/null`
void events_tool(benchmark::State& state, bool json) {
  const auto log = open_as_tool();
  std::ofstream null("/dev/null", std::ios::binary);
  annal::tool::detail::event_query q;
  q.from = 1;
  for (auto _ : state)
    if (annal::tool::detail::events(*log, q, json, null) != log_events())
      state.SkipWithError("events printed too few");
  finish(state);
}

const int registered = [] {
  const auto add = [](const char* name, void (*fn)(benchmark::State&)) {
    benchmark::RegisterBenchmark(name, fn)
        ->UseRealTime()
        ->Unit(benchmark::kNanosecond)
        ->MinTime(2.0);
  };
  add("verify/floor", verify_floor);
  add("verify/tool", verify_tool);
  add("verify_open/floor", verify_open_floor);
  add("verify_open/tool", verify_open_tool);
  // The floor of events is the same scan: what printing costs on top of reading.
  add("events/floor", verify_floor);
  add("events/tool_json", [](benchmark::State& s) { events_tool(s, true); });
  add("events/tool_text", [](benchmark::State& s) { events_tool(s, false); });
  return 0;
}();

annal_bench::remove_at_exit remove_root_at_exit{bench_root()};

}  // namespace

ANNAL_BENCH_MAIN()
