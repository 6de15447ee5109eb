// Point-in-time restore and archiving of a file log against their floors: a raw copy of the bytes a
// restore keeps, and a raw copy + unlink of the segments an archive moves. The log (small events,
// batches of 1-4 over many streams) is built once per process under $ANNAL_BENCH_DIR (default
// /tmp); ANNAL_BENCH_RESTORE_EVENTS sizes it (default 10M).
#include <benchmark/benchmark.h>

#include <fcntl.h>
#include <sys/sendfile.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include <annal/file/archive.hpp>
#include <annal/file/backup.hpp>
#include <annal/file/log.hpp>
#include <annal/file/restore.hpp>
#include <annal/runtime/new_event_id.hpp>

#include "common/ratio_reporter.hpp"
#include "common/scratch_root.hpp"

namespace {

namespace fs = std::filesystem;

fs::path bench_root() {
  return annal_bench::bench_root("restore-archive");
}

std::uint64_t log_events() {
  const char* env = std::getenv("ANNAL_BENCH_RESTORE_EVENTS");
  return env && *env ? std::strtoull(env, nullptr, 10) : 10'000'000;
}

bool is_log_file(const fs::path& p) {
  return p.extension() == ".log" || p.extension() == ".idx";
}

// The source log, closed once built, and a backup of it; `middle` is the end of the batch holding
// the log's middle event (a restore point must end a batch).
struct built_log {
  fs::path log;
  fs::path backup;
  std::uint64_t events = 0;
  std::uint64_t middle = 0;
};

const built_log& source() {
  static std::optional<built_log> built;
  if (built) return *built;
  built.emplace();
  built->log = bench_root() / "source";
  built->backup = bench_root() / "backup";
  fs::remove_all(bench_root());
  fs::create_directories(bench_root());
  const auto started = std::chrono::steady_clock::now();
  {
    annal::file_log_options o;
    o.sync = annal::durability::none;
    annal::file_log log(built->log, o);
    const std::uint64_t total = log_events();
    // 64-byte payloads, no metadata; batches of 1, 2, 3, 4 events in turn over 10k streams.
    std::vector<annal::event_data> batch(4);
    for (auto& e : batch) {
      e.type = "meter.read";
      e.payload.assign(64, 'p');
    }
    const annal::event_id base = annal::new_event_id();
    std::uint64_t n = 0, appends = 0;
    while (n < total) {
      const std::size_t size = std::min<std::uint64_t>(1 + appends % 4, total - n);
      for (std::size_t i = 0; i < size; ++i) {
        batch[i].id = base;
        const std::uint64_t id = ++n;
        std::memcpy(batch[i].id.data + 8, &id, 8);
      }
      log.append("meter-" + std::to_string(appends * 7919 % 10'000), annal::expected_version::any(),
                 std::span<const annal::event_data>(batch.data(), size));
      ++appends;
      if (built->middle == 0 && n >= total / 2) built->middle = n;
    }
    log.sync();
    built->events = log.last_position();
    annal::backup(log, built->backup);
  }
  ::sync();
  std::uint64_t bytes = 0;
  for (const auto& e : fs::directory_iterator(built->log))
    if (is_log_file(e.path())) bytes += fs::file_size(e.path());
  std::fprintf(stderr,
               "log of %llu events, %.2f GB (.log and .idx), and its backup built in %.1f s\n",
               static_cast<unsigned long long>(built->events), double(bytes) / 1e9,
               std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
  return *built;
}

// Removes what the last iteration wrote and lets the file system settle (the deletes' journal
// commit and discards), so that no iteration pays for the one before it.
void fresh(const fs::path& dest) {
  fs::remove_all(dest);
  ::sync();
}

// Copies the first `bytes` of `from` into a new file `to` in the kernel, then fdatasyncs it.
void copy_synced(const fs::path& from, const fs::path& to, std::uint64_t bytes) {
  const int in = ::open(from.c_str(), O_RDONLY);
  const int out = ::open(to.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  off_t offset = 0;
  const auto size = static_cast<off_t>(bytes);
  while (offset < size)
    if (::sendfile(out, in, &offset, static_cast<std::size_t>(size - offset)) <= 0) break;
  ::fdatasync(out);
  ::close(in);
  ::close(out);
}

void fsync_dir(const fs::path& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY);
  ::fsync(fd);
  ::close(fd);
}

annal::restore_point point_of(bool middle) {
  return middle ? annal::restore_point::at_position(source().middle)
                : annal::restore_point::latest();
}

// What a restore to the point keeps: each file of the restored log and its size, read from one
// restore done untimed. The floor copies exactly these bytes from the backup.
struct kept {
  std::vector<std::pair<std::string, std::uint64_t>> files;
  std::uint64_t bytes = 0;
  std::uint64_t events = 0;
};

const kept& kept_by(bool middle) {
  static std::optional<kept> cache[2];
  std::optional<kept>& k = cache[middle ? 1 : 0];
  if (k) return *k;
  const fs::path probe = bench_root() / "probe";
  fs::remove_all(probe);
  k.emplace();
  k->events = annal::restore(source().backup, probe, point_of(middle)).events;
  for (const auto& e : fs::directory_iterator(probe)) {
    if (!is_log_file(e.path())) continue;
    k->files.emplace_back(e.path().filename().string(), fs::file_size(e.path()));
    k->bytes += k->files.back().second;
  }
  fresh(probe);
  return *k;
}

void restore_annal(benchmark::State& state, bool middle) {
  const kept& k = kept_by(middle);
  const fs::path dest = bench_root() / "restored";
  for (auto _ : state) {
    state.PauseTiming();
    fresh(dest);
    state.ResumeTiming();
    const annal::restore_result r = annal::restore(source().backup, dest, point_of(middle));
    if (r.events != k.events) state.SkipWithError("the restore kept another number of events");
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * k.events));
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * k.bytes));
}

// A raw copy of the same bytes from the backup (sendfile, in the kernel), an fdatasync of each
// file and of the directory: no reading in user space, no checks.
void restore_floor(benchmark::State& state, bool middle) {
  const kept& k = kept_by(middle);
  const fs::path dest = bench_root() / "raw";
  for (auto _ : state) {
    state.PauseTiming();
    fresh(dest);
    state.ResumeTiming();
    fs::create_directories(dest);
    for (const auto& [name, bytes] : k.files)
      copy_synced(source().backup / name, dest / name, bytes);
    fsync_dir(dest);
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * k.events));
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * k.bytes));
}

// A fresh copy of the source log in `hot` (and no archive), made and settled untimed.
void fresh_log(const fs::path& hot, const fs::path& archive) {
  const fs::path& from = source().log;  // first: building it clears the bench root
  fs::remove_all(hot);
  fs::remove_all(archive);
  fs::create_directories(hot);
  for (const auto& e : fs::directory_iterator(from))
    if (is_log_file(e.path())) fs::copy_file(e.path(), hot / e.path().filename());
  ::sync();
}

annal::file_log_options hot_options() {
  annal::file_log_options o;
  o.sync = annal::durability::none;
  return o;
}

// What archiving up to the middle moves: segments 1..segments, read from one archive done
// untimed. The floor moves these files.
struct moved {
  std::uint32_t segments = 0;
  std::uint64_t events = 0;
  std::uint64_t bytes = 0;
};

const moved& moved_by_archive() {
  static std::optional<moved> m;
  if (m) return *m;
  const fs::path hot = bench_root() / "hot", archive = bench_root() / "archive";
  fresh_log(hot, archive);
  annal::file_log log(hot, hot_options());
  const annal::archive_result r =
      annal::archive(log, archive, annal::archive_horizon::position(source().middle));
  m.emplace();
  m->segments = r.segments;
  m->events = r.new_events;
  for (std::uint32_t s = 1; s <= r.segments; ++s)
    for (const auto& name :
         {annal::detail::file_log::segment_file(s), annal::detail::file_log::index_file(s)})
      m->bytes += fs::file_size(archive / name);
  return *m;
}

void archive_annal(benchmark::State& state) {
  const moved& m = moved_by_archive();
  const fs::path hot = bench_root() / "hot", archive = bench_root() / "archive";
  for (auto _ : state) {
    state.PauseTiming();
    std::optional<annal::file_log> log;
    fresh_log(hot, archive);
    log.emplace(hot, hot_options());
    state.ResumeTiming();
    const annal::archive_result r =
        annal::archive(*log, archive, annal::archive_horizon::position(source().middle));
    state.PauseTiming();
    if (r.new_segments != m.segments) state.SkipWithError("the archive moved other segments");
    log.reset();
    state.ResumeTiming();
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * m.events));
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * m.bytes));
}

// The same segment files and their .idx files copied with sendfile, each fdatasynced, the
// directory fsynced, then the originals of the segment files unlinked (archive() leaves the .idx
// files in the hot log too) and the hot directory fsynced.
void archive_floor(benchmark::State& state) {
  const moved& m = moved_by_archive();
  const fs::path hot = bench_root() / "hot", archive = bench_root() / "archive";
  for (auto _ : state) {
    state.PauseTiming();
    fresh_log(hot, archive);
    state.ResumeTiming();
    fs::create_directories(archive);
    for (std::uint32_t s = 1; s <= m.segments; ++s)
      for (const auto& name :
           {annal::detail::file_log::segment_file(s), annal::detail::file_log::index_file(s)})
        copy_synced(hot / name, archive / name, fs::file_size(hot / name));
    fsync_dir(archive);
    for (std::uint32_t s = 1; s <= m.segments; ++s)
      ::unlink((hot / annal::detail::file_log::segment_file(s)).c_str());
    fsync_dir(hot);
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * m.events));
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * m.bytes));
}

const int registered = [] {
  const auto add = [](const char* name, auto fn) {
    benchmark::RegisterBenchmark(name, fn)
        ->UseRealTime()
        ->Unit(benchmark::kMillisecond)
        ->Iterations(3);
  };
  add("restore_middle/floor", [](benchmark::State& s) { restore_floor(s, true); });
  add("restore_middle/annal", [](benchmark::State& s) { restore_annal(s, true); });
  add("restore_latest/floor", [](benchmark::State& s) { restore_floor(s, false); });
  add("restore_latest/annal", [](benchmark::State& s) { restore_annal(s, false); });
  add("archive_half/floor", archive_floor);
  add("archive_half/annal", archive_annal);
  return 0;
}();

annal_bench::remove_at_exit remove_root_at_exit{bench_root()};

}  // namespace

ANNAL_BENCH_MAIN()
