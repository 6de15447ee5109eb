// The file log against the floor: raw write()+fdatasync() of the same bytes to the same disk, raw
// sequential reads of the same files. Logs live under $ANNAL_BENCH_DIR (default /tmp; it must not
// be a tmpfs for the durable figures to mean anything). ANNAL_BENCH_OPEN_EVENTS sizes the log the
// open benchmark builds (default 10,000,000); its sealed segments have index files, and
// open/annal_scan_all opens it scanning every segment instead.
#include <benchmark/benchmark.h>

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <annal/file/log.hpp>

#include "common/ratio_reporter.hpp"
#include "common/scratch_root.hpp"

namespace {

namespace fs = std::filesystem;

fs::path bench_root() {
  return annal_bench::bench_root("append");
}

struct scratch {
  fs::path path;
  explicit scratch(const std::string& name) : path(bench_root() / name) {
    fs::remove_all(path);
    fs::create_directories(path.parent_path());
  }
  ~scratch() {
    std::error_code ignored;  // best effort: leftovers under the bench root harm nothing
    fs::remove_all(path, ignored);
  }
};

// Events like a ledger's: a ~100-byte payload, a type name, one metadata entry.
struct event_source {
  annal::event_id base = annal::new_event_id();
  std::uint64_t counter = 0;
  std::vector<annal::event_data> batch;

  explicit event_source(std::size_t size) : batch(size) {
    for (auto& e : batch) {
      e.type = "bank.deposited";
      e.payload = std::string(100, 'p');
      e.meta["user"] = "ada";
    }
  }
  // Fresh ids without a random generator's cost in the timed loop: the counter takes the last six
  // bytes, so each source keeps 26 of its base id's random bits. (Over the last eight it kept 12,
  // and two of 16 threads starting in one millisecond now and then made the same ids.)
  const std::vector<annal::event_data>& next() {
    for (auto& e : batch) {
      e.id = base;
      const std::uint64_t n = ++counter;
      std::memcpy(e.id.data + 10, &n, 6);
    }
    return batch;
  }
  std::size_t bytes(std::string_view stream) const {
    std::size_t n = 0;
    for (const auto& e : batch) n += annal::detail::file_log::record_size(stream, e);
    return n;
  }
};

void report_latency(benchmark::State& state, std::vector<double>& us) {
  if (us.empty()) return;
  std::sort(us.begin(), us.end());
  state.counters["p50_us"] = us[us.size() / 2];
  state.counters["p99_us"] = us[std::min(us.size() - 1, us.size() * 99 / 100)];
}

const char* stream_name(std::uint64_t i) {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> v;
    for (int k = 0; k < 100; ++k) v.push_back("account-" + std::to_string(1000 + k));
    return v;
  }();
  return names[i % names.size()].c_str();
}

// ---- appends, one thread ----------------------------------------------------------------------

void append_floor(benchmark::State& state, bool sync) {
  const auto size = static_cast<std::size_t>(state.range(0));
  scratch dir("floor");
  fs::create_directories(dir.path);
  const int fd =
      ::open((dir.path / "raw.log").c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0644);
  if (fd < 0) state.SkipWithError("open failed");
  const std::string bytes(event_source(size).bytes("account-1000"), 'x');
  std::vector<double> latency;
  for (auto _ : state) {
    const auto t0 = std::chrono::steady_clock::now();
    if (::write(fd, bytes.data(), bytes.size()) != static_cast<ssize_t>(bytes.size()))
      state.SkipWithError("write failed");
    if (sync && ::fdatasync(fd) != 0) state.SkipWithError("fdatasync failed");
    latency.push_back(
        std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count());
  }
  ::close(fd);
  state.counters["items"] = static_cast<double>(size);
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(size));
  report_latency(state, latency);
}

void append_annal(benchmark::State& state, annal::durability mode) {
  const auto size = static_cast<std::size_t>(state.range(0));
  scratch dir("log");
  annal::file_log_options options;
  options.sync = mode;
  annal::file_log log(dir.path, options);
  event_source source(size);
  std::vector<double> latency;
  std::uint64_t i = 0;
  for (auto _ : state) {
    const auto& batch = source.next();
    const auto t0 = std::chrono::steady_clock::now();
    benchmark::DoNotOptimize(log.append(stream_name(i++), annal::expected_version::any(), batch));
    latency.push_back(
        std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count());
  }
  state.counters["items"] = static_cast<double>(size);
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(size));
  report_latency(state, latency);
}

void register_appends() {
  for (int size : {1, 16, 256}) {
    const std::string group = "append_b" + std::to_string(size);
    const auto reg = [&](const std::string& variant, auto fn) {
      benchmark::RegisterBenchmark((group + "/" + variant).c_str(), fn)
          ->Arg(size)
          ->ArgName("")
          ->UseRealTime()
          ->Unit(benchmark::kMicrosecond)
          ->MinTime(1.0);
    };
    reg("floor", [](benchmark::State& s) { append_floor(s, true); });
    reg("durable", [](benchmark::State& s) { append_annal(s, annal::durability::durable); });
    reg("group", [](benchmark::State& s) { append_annal(s, annal::durability::group); });
    // durability::none is compared with a raw write() loop: no sync on either side.
    const std::string nosync = "append_nosync_b" + std::to_string(size);
    benchmark::RegisterBenchmark((nosync + "/floor").c_str(),
                                 [](benchmark::State& s) { append_floor(s, false); })
        ->Arg(size)
        ->ArgName("")
        ->UseRealTime()
        ->Unit(benchmark::kMicrosecond);
    benchmark::RegisterBenchmark(
        (nosync + "/none").c_str(),
        [](benchmark::State& s) { append_annal(s, annal::durability::none); })
        ->Arg(size)
        ->ArgName("")
        ->UseRealTime()
        ->Unit(benchmark::kMicrosecond);
  }
}

// ---- concurrent single-event appenders --------------------------------------------------------

struct shared_target {
  std::unique_ptr<scratch> dir;
  std::unique_ptr<annal::file_log> log;
  int fd = -1;
};
shared_target shared;

void setup_log(annal::durability mode) {
  shared.dir = std::make_unique<scratch>("concurrent");
  annal::file_log_options options;
  options.sync = mode;
  shared.log = std::make_unique<annal::file_log>(shared.dir->path, options);
}
void setup_raw(const benchmark::State&) {
  shared.dir = std::make_unique<scratch>("concurrent-raw");
  fs::create_directories(shared.dir->path);
  shared.fd =
      ::open((shared.dir->path / "raw.log").c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0644);
}
void teardown(const benchmark::State&) {
  shared.log.reset();
  if (shared.fd >= 0) ::close(shared.fd);
  shared.fd = -1;
  shared.dir.reset();
}

// Each thread: write() one event's bytes and fdatasync(), as an appender without group commit
// would.
void concurrent_floor(benchmark::State& state) {
  const std::string bytes(event_source(1).bytes("account-1000"), 'x');
  for (auto _ : state) {
    if (::write(shared.fd, bytes.data(), bytes.size()) != static_cast<ssize_t>(bytes.size()) ||
        ::fdatasync(shared.fd) != 0)
      state.SkipWithError("write or fdatasync failed");
  }
  state.counters["items"] = 1;
  state.SetItemsProcessed(state.iterations());
}

void concurrent_annal(benchmark::State& state) {
  event_source source(1);
  std::vector<double> latency;
  std::uint64_t i = static_cast<std::uint64_t>(state.thread_index()) * 7;
  for (auto _ : state) {
    const auto& batch = source.next();
    const auto t0 = std::chrono::steady_clock::now();
    shared.log->append(stream_name(i++), annal::expected_version::any(), batch);
    latency.push_back(
        std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count());
  }
  state.counters["items"] = 1;
  state.SetItemsProcessed(state.iterations());
  if (state.thread_index() == 0) report_latency(state, latency);
}

void register_concurrent() {
  for (int threads : {1, 4, 16}) {
    benchmark::RegisterBenchmark("concurrent_appenders/floor", concurrent_floor)
        ->Setup(setup_raw)
        ->Teardown(teardown)
        ->Threads(threads)
        ->UseRealTime()
        ->Unit(benchmark::kMicrosecond)
        ->MinTime(1.0);
    benchmark::RegisterBenchmark("concurrent_appenders/durable", concurrent_annal)
        ->Setup([](const benchmark::State&) { setup_log(annal::durability::durable); })
        ->Teardown(teardown)
        ->Threads(threads)
        ->UseRealTime()
        ->Unit(benchmark::kMicrosecond)
        ->MinTime(1.0);
    benchmark::RegisterBenchmark("concurrent_appenders/group", concurrent_annal)
        ->Setup([](const benchmark::State&) { setup_log(annal::durability::group); })
        ->Teardown(teardown)
        ->Threads(threads)
        ->UseRealTime()
        ->Unit(benchmark::kMicrosecond)
        ->MinTime(1.0);
  }
}

// ---- reading and opening ----------------------------------------------------------------------

// Builds a log of `events` events (batches of 256, no per-batch sync) once per process and name.
const fs::path& built_log(const std::string& name, std::uint64_t events) {
  static std::vector<std::pair<std::string, std::unique_ptr<scratch>>> logs;
  for (const auto& [n, dir] : logs)
    if (n == name) return dir->path;
  auto dir = std::make_unique<scratch>(name);
  {
    annal::file_log_options options;
    options.sync = annal::durability::none;
    options.segment_size = std::uint64_t{256} << 20;
    annal::file_log log(dir->path, options);
    event_source source(256);
    for (auto& e : source.batch) e.payload.resize(40);
    for (std::uint64_t done = 0, i = 0; done < events; done += 256)
      log.append(stream_name(i++), annal::expected_version::any(), source.next());
    log.sync();
  }
  logs.emplace_back(name, std::move(dir));
  return logs.back().second->path;
}

std::uint64_t raw_read_all(const fs::path& dir) {
  std::vector<char> buffer(1 << 20);
  std::uint64_t total = 0;
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(dir))
    if (entry.path().extension() == ".log") files.push_back(entry.path());
  std::sort(files.begin(), files.end());
  for (const auto& f : files) {
    const int fd = ::open(f.c_str(), O_RDONLY);
    for (ssize_t n; (n = ::read(fd, buffer.data(), buffer.size())) > 0;) total += buffer[0] + n;
    ::close(fd);
  }
  return total;
}

constexpr std::uint64_t scan_events = 2'000'000;

void scan_floor(benchmark::State& state) {
  const auto& dir = built_log("scan", scan_events);
  for (auto _ : state) benchmark::DoNotOptimize(raw_read_all(dir));
  state.counters["items"] = static_cast<double>(scan_events);
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(scan_events));
}

// `views`: read_all_views, handing out views into the read buffer instead of copies.
void scan_annal(benchmark::State& state, bool verify, bool views = false) {
  const auto& dir = built_log("scan", scan_events);
  annal::file_log_options options;
  options.verify_reads = verify;
  annal::file_log log(dir, options);
  for (auto _ : state) {
    std::uint64_t bytes = 0;
    if (views)
      log.read_all_views(1,
                         [&](const annal::recorded_event_view& e) { bytes += e.payload.size(); });
    else
      log.read_all(1, [&](const annal::recorded_event& e) { bytes += e.payload.size(); });
    benchmark::DoNotOptimize(bytes);
  }
  state.counters["items"] = static_cast<double>(scan_events);
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(scan_events));
}

std::uint64_t open_events() {
  const char* env = std::getenv("ANNAL_BENCH_OPEN_EVENTS");
  return env && *env ? std::strtoull(env, nullptr, 10) : 10'000'000;
}

void open_floor(benchmark::State& state) {
  const auto& dir = built_log("open", open_events());
  for (auto _ : state) benchmark::DoNotOptimize(raw_read_all(dir));
  state.counters["items"] = static_cast<double>(open_events());
}

// `scan_all`: every segment scanned and checked as if none had an index file (repair mode scans
// all of them; on a sound log it cuts nothing).
void open_annal(benchmark::State& state, bool scan_all) {
  const auto& dir = built_log("open", open_events());
  annal::file_log_options options;
  options.repair = scan_all;
  for (auto _ : state) {
    std::optional<annal::file_log> log;
    log.emplace(dir, options);
    state.counters["indexed_segments"] = log->recovery().segments_indexed;
    benchmark::DoNotOptimize(log->last_position());
    state.PauseTiming();  // closing (freeing the index) is not part of opening
    log.reset();
    state.ResumeTiming();
  }
  state.counters["items"] = static_cast<double>(open_events());
}

// Registered at start-up so that ANNAL_BENCH_MAIN() runs them; the scratch root goes at exit.
const int registered = [] {
  register_appends();
  register_concurrent();
  benchmark::RegisterBenchmark("scan/floor", scan_floor)
      ->UseRealTime()
      ->Unit(benchmark::kNanosecond);
  benchmark::RegisterBenchmark("scan/annal", [](benchmark::State& s) { scan_annal(s, true); })
      ->UseRealTime()
      ->Unit(benchmark::kNanosecond);
  // Checksums are checked once at open, and (by default) again on every read.
  benchmark::RegisterBenchmark("scan/annal_unverified",
                               [](benchmark::State& s) { scan_annal(s, false); })
      ->UseRealTime()
      ->Unit(benchmark::kNanosecond);
  benchmark::RegisterBenchmark("scan/annal_views",
                               [](benchmark::State& s) { scan_annal(s, true, true); })
      ->UseRealTime()
      ->Unit(benchmark::kNanosecond);
  benchmark::RegisterBenchmark("open/floor", open_floor)
      ->UseRealTime()
      ->Unit(benchmark::kNanosecond)
      ->Iterations(3);
  benchmark::RegisterBenchmark("open/annal", [](benchmark::State& s) { open_annal(s, false); })
      ->UseRealTime()
      ->Unit(benchmark::kNanosecond)
      ->Iterations(3);
  benchmark::RegisterBenchmark("open/annal_scan_all",
                               [](benchmark::State& s) { open_annal(s, true); })
      ->UseRealTime()
      ->Unit(benchmark::kNanosecond)
      ->Iterations(3);
  return 0;
}();

annal_bench::remove_at_exit remove_root_at_exit{bench_root()};

}  // namespace

ANNAL_BENCH_MAIN()
