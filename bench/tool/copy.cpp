// `annal copy file:<src> file:<dst>` run as a process, end to end, beside the replication floor:
// bench/replication's hand-written read_all + append loop copying the same log in this process
// into a durability::none file log synced at the end (floor), and that floor followed by the
// SHA-1 digest of both logs that copy verifies with (floor_digest). The source has
// bench/replication's shape: ANNAL_BENCH_TOOL_COPY_EVENTS events (default 200000), ~200-byte
// payloads, appended in batches of 1–4 to 1000 streams, under $ANNAL_BENCH_DIR (default /tmp).
// tool_in_process calls the tool's copy_events on the stores it opens, to part the process's own
// costs (exec, exit) from the copy's.
#include <benchmark/benchmark.h>

#include <fcntl.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include <annal/file/log.hpp>
#include <annal/runtime/new_event_id.hpp>
#include <annal/store/replication.hpp>
#include <annal/tool/detail/open_store.hpp>
#include <annal/tool/detail/recovery_commands.hpp>

#include "common/ratio_reporter.hpp"
#include "common/replication_floor.hpp"
#include "common/scratch_root.hpp"

extern char** environ;

namespace {

namespace fs = std::filesystem;
namespace tool = annal::tool::detail;

fs::path bench_root() {
  return annal_bench::bench_root("tool-copy");
}

std::uint64_t log_events() {
  const char* env = std::getenv("ANNAL_BENCH_TOOL_COPY_EVENTS");
  return env && *env ? std::strtoull(env, nullptr, 10) : 200000;
}

// Built once and closed, so the tool opens it as it would any log at rest.
const fs::path& source() {
  static const fs::path dir = [] {
    const fs::path path = bench_root() / "source";
    fs::remove_all(path);
    fs::create_directories(bench_root());
    annal::file_log_options o;
    o.sync = annal::durability::none;
    annal::file_log log(path, o);
    std::mt19937_64 random(18);
    const annal::event_id base = annal::new_event_id();
    std::vector<annal::event_data> batch;
    std::uint64_t written = 0;
    while (written < log_events()) {
      batch.resize(std::min<std::uint64_t>(1 + random() % 4, log_events() - written));
      for (auto& e : batch) {
        e.id = base;
        const std::uint64_t n = ++written;
        std::memcpy(e.id.data + 8, &n, 8);
        e.correlation_id = base;
        e.type = "bank.deposited";
        e.payload.assign(200, 'p');
        e.meta["user"] = "ada";
      }
      log.append("account-" + std::to_string(random() % 1000), annal::expected_version::any(),
                 batch);
    }
    log.sync();
    return path;
  }();
  return dir;
}

using annal_bench::floor_copy;

// The source as the tool opens it for reading: read-only, checksums checked on every read.
std::unique_ptr<annal::file_log> open_source() {
  annal::file_log_options o;
  o.read_only = true;
  o.create_if_missing = false;
  o.verify_reads = true;
  return std::make_unique<annal::file_log>(source(), o);
}

// A fresh target directory, and the page cache written back, so no pass pays for the last one.
fs::path fresh_target() {
  const fs::path dir = bench_root() / "target";
  fs::remove_all(dir);
  ::sync();
  return dir;
}

void finish(benchmark::State& state) {
  state.counters["items"] = static_cast<double>(log_events());
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(log_events()));
}

// Opens both logs, copies, syncs the target, closes both; with `digest`, then digests both logs
// (SHA-1 over every field, as `copy` verifies) and compares.
void floor_pass(benchmark::State& state, bool digest) {
  source();
  for (auto _ : state) {
    state.PauseTiming();
    const fs::path dir = fresh_target();
    state.ResumeTiming();
    const std::unique_ptr<annal::file_log> from = open_source();
    annal::file_log_options o;
    o.sync = annal::durability::none;
    annal::file_log to(dir, o);
    if (floor_copy(*from, to) != log_events()) state.SkipWithError("the floor copied too few");
    to.sync();
    if (digest) {
      // One after the other, as `copy` did before it overlapped them with the copy.
      const auto a = tool::digest_following(*from, from->last_position(), false, {});
      const auto b = tool::digest_following(to, from->last_position(), false, {});
      if (a.sha1 != b.sha1 || a.events != log_events()) state.SkipWithError("digests differ");
    }
  }
  finish(state);
}

// What `annal copy` does after parsing its arguments: copy_events on the stores open_store opens.
void tool_in_process(benchmark::State& state) {
  source();
  for (auto _ : state) {
    state.PauseTiming();
    const fs::path dir = fresh_target();
    state.ResumeTiming();
    tool::open_settings reading;
    tool::opened_store from =
        tool::open_store(tool::parse_store_url("file:" + source().string()), reading);
    tool::open_settings writing;
    writing.writable = true;
    writing.sync = annal::durability::none;
    tool::opened_store to =
        tool::open_store(tool::parse_store_url("file:" + dir.string()), writing);
    std::ostringstream quiet;
    tool::progress_line progress(quiet, false);
    tool::copy_report r;
    tool::copy_events(*std::get<std::unique_ptr<annal::file_log>>(from.store),
                      *std::get<std::unique_ptr<annal::file_log>>(to.store), r, progress);
    if (!r.verified() || r.copied != log_events()) state.SkipWithError("copy did not verify");
  }
  finish(state);
}

// `annal copy file:<src> file:<dst>`, output to /dev/null, timed from spawn to exit; the child's
// CPU time (user + system) is reported beside, as child_cpu_ms per pass.
void tool_process(benchmark::State& state) {
  source();
  double child_cpu = 0;
  for (auto _ : state) {
    state.PauseTiming();
    const fs::path dir = fresh_target();
    const std::string from = "file:" + source().string(), to = "file:" + dir.string();
    std::string program = ANNAL_BENCH_TOOL_BINARY;
    std::string command = "copy";
    char* argv[] = {program.data(), command.data(), const_cast<char*>(from.c_str()),
                    const_cast<char*>(to.c_str()), nullptr};
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
    state.ResumeTiming();
    pid_t pid = 0;
    if (posix_spawn(&pid, program.c_str(), &actions, nullptr, argv, environ) != 0) {
      state.SkipWithError("cannot start the annal tool");
      break;
    }
    int status = 0;
    rusage usage{};
    ::wait4(pid, &status, 0, &usage);
    state.PauseTiming();
    posix_spawn_file_actions_destroy(&actions);
    child_cpu += static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) * 1e3 +
                 static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e3;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
      state.SkipWithError("annal copy did not exit 0 (verified)");
    state.ResumeTiming();
  }
  state.counters["child_cpu_ms"] =
      benchmark::Counter(child_cpu, benchmark::Counter::kAvgIterations);
  finish(state);
}

const int registered = [] {
  const auto add = [](const char* name, auto fn) {
    benchmark::RegisterBenchmark(name, fn)
        ->UseRealTime()
        ->Unit(benchmark::kMillisecond)
        ->Iterations(5);
  };
  add("copy/floor", [](benchmark::State& s) { floor_pass(s, false); });
  add("copy/floor_digest", [](benchmark::State& s) { floor_pass(s, true); });
  add("copy/tool_in_process", tool_in_process);
  add("copy/tool_process", tool_process);
  return 0;
}();

annal_bench::remove_at_exit remove_root_at_exit{bench_root()};

}  // namespace

ANNAL_BENCH_MAIN()
