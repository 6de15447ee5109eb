// annal::backup against the floor: a raw copy of the same segment files (as `cp -r` does, plus an
// fdatasync of each, without which a copy is no backup), and an incremental backup of 1% new data
// against a full one. The log lives under $ANNAL_BENCH_DIR (default /tmp);
// ANNAL_BENCH_BACKUP_MB sizes it (default 256).
#include <benchmark/benchmark.h>

#include <fcntl.h>
#include <sys/sendfile.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <annal/file/backup.hpp>
#include <annal/file/log.hpp>
#include <annal/runtime/new_event_id.hpp>

#include "common/ratio_reporter.hpp"
#include "common/scratch_root.hpp"

namespace {

namespace fs = std::filesystem;

fs::path bench_root() {
  return annal_bench::bench_root("backup");
}

std::uint64_t log_bytes() {
  const char* env = std::getenv("ANNAL_BENCH_BACKUP_MB");
  return std::uint64_t{env && *env ? std::strtoull(env, nullptr, 10) : 256} << 20;
}

// Appends ledger-like events (a ~200-byte payload, one metadata entry) until the log holds `bytes`
// more bytes; returns how many bytes it appended.
std::uint64_t grow(annal::file_log& log, std::uint64_t bytes) {
  std::vector<annal::event_data> batch(16);
  std::uint64_t added = 0;
  annal::event_id base = annal::new_event_id();
  static std::uint64_t counter = 0;
  while (added < bytes) {
    for (auto& e : batch) {
      e.id = base;
      const std::uint64_t n = ++counter;
      std::memcpy(e.id.data + 8, &n, 8);
      e.type = "bank.deposited";
      e.payload.assign(200, 'p');
      e.meta["user"] = "ada";
      added += annal::detail::file_log::record_size("account", e);
    }
    log.append("account-" + std::to_string(counter % 1000), annal::expected_version::any(), batch);
  }
  log.sync();
  return added;
}

annal::file_log& source() {
  static std::optional<annal::file_log> log;
  if (!log) {
    annal::file_log_options o;
    o.sync = annal::durability::none;
    fs::remove_all(bench_root() / "source");
    fs::create_directories(bench_root());
    log.emplace(bench_root() / "source", o);
    grow(*log, log_bytes());
  }
  return *log;
}

std::uint64_t source_bytes() {
  std::uint64_t n = 0;
  for (const auto& e : fs::directory_iterator(source().directory()))
    if (e.path().extension() == ".log") n += fs::file_size(e.path());
  return n;
}

// Removes what the last iteration wrote and lets the file system settle (the deletes' journal
// commit and discards), so that no iteration pays for the one before it.
void fresh(const fs::path& dest) {
  fs::remove_all(dest);
  ::sync();
}

void full_annal(benchmark::State& state) {
  annal::file_log& log = source();
  const fs::path dest = bench_root() / "backup";
  for (auto _ : state) {
    state.PauseTiming();
    fresh(dest);
    state.ResumeTiming();
    benchmark::DoNotOptimize(annal::backup(log, dest));
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * source_bytes()));
}

// What `cp -r` does for the segment files (sendfile, in the kernel), plus an fdatasync of each and
// of the directory.
void full_floor(benchmark::State& state) {
  const fs::path from = source().directory();
  const fs::path dest = bench_root() / "raw";
  for (auto _ : state) {
    state.PauseTiming();
    fresh(dest);
    state.ResumeTiming();
    fs::create_directories(dest);
    for (const auto& e : fs::directory_iterator(from)) {
      if (e.path().extension() != ".log" && e.path().extension() != ".idx") continue;
      const int in = ::open(e.path().c_str(), O_RDONLY);
      const int out =
          ::open((dest / e.path().filename()).c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      off_t offset = 0;
      const auto size = static_cast<off_t>(fs::file_size(e.path()));
      while (offset < size)
        if (::sendfile(out, in, &offset, static_cast<std::size_t>(size - offset)) <= 0) break;
      ::fdatasync(out);
      ::close(in);
      ::close(out);
    }
    const int dir = ::open(dest.c_str(), O_RDONLY | O_DIRECTORY);
    ::fsync(dir);
    ::close(dir);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * source_bytes()));
}

// Each iteration appends 1% of the log's size, untimed, then backs up incrementally.
void incremental_annal(benchmark::State& state) {
  annal::file_log& log = source();
  const fs::path dest = bench_root() / "incremental";
  fs::remove_all(dest);
  annal::backup(log, dest);
  std::uint64_t copied = 0;
  for (auto _ : state) {
    state.PauseTiming();
    grow(log, log_bytes() / 100);
    state.ResumeTiming();
    copied += annal::backup(log, dest).copied_bytes;
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(copied));
}

// Reading a backup back and checking every record: the part of a backup a raw copy does not do.
void verify_annal(benchmark::State& state) {
  const fs::path dest = bench_root() / "verified";
  if (!fs::exists(dest)) annal::backup(source(), dest);
  for (auto _ : state) benchmark::DoNotOptimize(annal::verify_backup(dest));
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * source_bytes()));
}

const int registered = [] {
  benchmark::RegisterBenchmark("full_backup/floor", full_floor)
      ->UseRealTime()
      ->Unit(benchmark::kMillisecond)
      ->Iterations(5);
  benchmark::RegisterBenchmark("full_backup/annal", full_annal)
      ->UseRealTime()
      ->Unit(benchmark::kMillisecond)
      ->Iterations(5);
  // The incremental group's floor is a full backup of the same log: the ratio is the speed-up.
  benchmark::RegisterBenchmark("backup_1pct_new/floor", full_annal)
      ->UseRealTime()
      ->Unit(benchmark::kMillisecond)
      ->Iterations(5);
  benchmark::RegisterBenchmark("backup_1pct_new/annal_incremental", incremental_annal)
      ->UseRealTime()
      ->Unit(benchmark::kMillisecond)
      ->Iterations(5);
  benchmark::RegisterBenchmark("verify_backup/annal", verify_annal)
      ->UseRealTime()
      ->Unit(benchmark::kMillisecond)
      ->Iterations(5);
  return 0;
}();

annal_bench::remove_at_exit remove_root_at_exit{bench_root()};

}  // namespace

ANNAL_BENCH_MAIN()
