// kill -9 during an orchestrated pipeline (uploads, a process manager's runner on a durable file
// log with a file checkpoint, a worker): a restarted runner finishes it, no video stuck, no job
// twice.
#include <catch2/catch.hpp>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <filesystem>
#include <random>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include <annal/codec/binary.hpp>
#include <annal/codec/decode.hpp>
#include <annal/core/error.hpp>
#include <annal/core/record.hpp>
#include <annal/file/checkpoint.hpp>
#include <annal/file/log.hpp>
#include <annal/process/command_router.hpp>
#include <annal/process/runner.hpp>
#include <annal/runtime/new_event_id.hpp>
#include <annal/store/repository.hpp>

#include "process/pipeline_domain.hpp"
#include "process/process_checks.hpp"
#include "recovery/recovery_support.hpp"
#include "store/store_test_support.hpp"

namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

constexpr int video_count = 6;
constexpr int max_rounds = 400;  // a finished pipeline takes a few dozen

// The last video's publication is refused, so its instance compensates.
std::string video_name(int i) {
  return i == video_count - 1 ? "blocked-" + std::to_string(i) : "v" + std::to_string(i);
}

// What the worker does with one job, the same for a seed in the child and in the parent: reports
// a failure, reports success, hangs (the deadline retries), or reports success only once the next
// attempt is out (a late report).
enum class outcome { fails, done, hangs, done_late };
outcome outcome_of(unsigned seed, int video, std::uint32_t attempt) {
  std::seed_seq seq{seed, static_cast<unsigned>(video), static_cast<unsigned>(attempt)};
  std::mt19937 rng(seq);
  return static_cast<outcome>(rng() % 4);
}

// The file log with each batch stamped by the test's clock, which moves minutes a round: the
// runner's deadlines and every event's time keep one clock, as on a machine whose clock they read.
struct clocked_log : annal_test_process::reads_of<annal::file_log> {
  const annal::time_point* now;

  annal::append_result append(std::string_view id, annal::expected_version v,
                              std::span<const annal::event_data> batch) {
    std::vector<annal::event_data> stamped(batch.begin(), batch.end());
    for (auto& e : stamped) e.recorded_at = *now;
    return inner->append(id, v, stamped);
  }
};

using job_repo = annal::repository<pipeline::job, clocked_log>;
using video_repo = annal::repository<pipeline::video, clocked_log>;
using router_type = annal::command_router<job_repo, video_repo>;
using runner_type =
    annal::process_runner<pipeline::manager, clocked_log, annal::file_checkpoint, router_type>;

// One process's view of a trial's directory: the log, the checkpoint, the runner and its clock,
// which starts at the log's last time if that is later than the machine's (a killed run's clock ran
// ahead) and never goes back.
struct pipeline_process {
  annal::file_log log;
  annal::file_checkpoint checkpoint;
  annal::time_point now;
  clocked_log store{{&log}, &now};
  job_repo jobs{store};
  video_repo videos{store};
  router_type router{jobs, videos};
  runner_type runner;

  explicit pipeline_process(const fs::path& dir)
      : log(dir / "log", durable()),
        checkpoint(dir / "checkpoint"),
        now(start_time(log)),
        runner(store, router, checkpoint, options(&now)) {}

  static annal::file_log_options durable() {
    annal::file_log_options o;
    o.sync = annal::durability::durable;
    return o;
  }
  static annal::time_point start_time(const annal::file_log& log) {
    annal::time_point t = annal::clock::now();
    if (log.last_position() != 0)
      log.read_all(log.last_position(),
                   [&](const annal::recorded_event& e) { t = std::max(t, e.recorded_at); });
    return t;
  }
  static annal::process_options options(const annal::time_point* now) {
    annal::process_options o;
    o.start = annal::process_start::from_beginning;
    o.batch_size = 4;  // many checkpoints in a run, so that kills land between them too
    o.now = [now] { return *now; };
    return o;
  }
};

template <class E>
bool append_once(clocked_log& log, const std::string& stream, const E& e) {
  annal::event_data d =
      annal::detail::encode_event<annal::binary_codec>(e, annal::new_event_id(), {});
  return log
      .append(stream, annal::expected_version::no_stream(),
              std::span<const annal::event_data>(&d, 1))
      .ok();
}

// The first video not uploaded yet, uploaded (one per round, so uploads meet running instances).
bool upload_next(clocked_log& log) {
  for (int i = 0; i < video_count; ++i)
    if (log.stream_version("upload-" + video_name(i)) == 0)
      return append_once(log, "upload-" + video_name(i), pipeline::uploaded{video_name(i)});
  return false;
}

// The worker: each job that went out gets its report once (in a stream of its own, so that the
// parent sees what the killed child reported).
bool work(clocked_log& log, unsigned seed) {
  bool acted = false;
  for (int i = 0; i < video_count; ++i) {
    const std::string v = video_name(i);
    for (std::uint32_t n = 1; n <= pipeline::max_attempts; ++n) {
      const std::string report = "worker-" + v + "-" + std::to_string(n);
      if (log.stream_version(pipeline::job_stream(v, n)) == 0 || log.stream_version(report) != 0)
        continue;
      switch (outcome_of(seed, i, n)) {
        case outcome::fails:
          acted |= append_once(log, report, pipeline::transcode_failed{v, n});
          break;
        case outcome::done:
          acted |= append_once(log, report, pipeline::transcode_done{v, n});
          break;
        case outcome::done_late:
          if (log.stream_version(pipeline::job_stream(v, n + 1)) != 0)
            acted |= append_once(log, report, pipeline::transcode_done{v, n});
          break;
        case outcome::hangs:
          break;
      }
    }
  }
  return acted;
}

bool all_ended(const pipeline_process& p) {
  for (int i = 0; i < video_count; ++i)
    if (!p.runner.load(video_name(i)).ended) return false;
  return true;
}

// Runs the pipeline from whatever the log holds until every instance ended and the runner caught
// up: upload, one runner step, the worker's reports, ten minutes' clock every two and a half
// rounds, then `after_round()`. The same in the child and in the parent that finishes the child's
// work; returns the rounds it took.
template <class F>
int drive(pipeline_process& p, unsigned seed, F after_round) {
  for (int round = 1; round <= max_rounds; ++round) {
    bool acted = upload_next(p.store);
    p.runner.step();
    acted |= work(p.store, seed);
    p.now += 4min;
    after_round();
    // Caught up (a step's deadlines may append after its reads) with nothing left to do.
    if (!acted && p.runner.checkpoint() == p.log.last_position() && all_ended(p)) return round;
  }
  throw annal::error(annal::errc::handler_failed,
                     "the pipeline did not finish in " + std::to_string(max_rounds) + " rounds");
}
int drive(pipeline_process& p, unsigned seed) {
  return drive(p, seed, [] {});
}

// Forks a child that runs the pipeline and writes a byte to its pipe after each round, lets it
// finish `rounds` rounds and run `extra` into the next, then kills it with SIGKILL. A child that
// failed exits 3 (recovery_test::child_failed), which fails the check of its status here.
struct killed_pipeline {
  int rounds = 0;       // the rounds it had finished
  bool exited = false;  // it finished the pipeline first
};
killed_pipeline kill_after_rounds(const fs::path& dir, unsigned seed, int rounds,
                                  std::chrono::microseconds extra) {
  int fds[2];
  REQUIRE(::pipe(fds) == 0);
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    ::close(fds[0]);
    try {
      pipeline_process p(dir);
      drive(p, seed, [&] {
        if (::write(fds[1], "r", 1) != 1) ::_exit(4);
      });
    } catch (const std::exception& e) {
      recovery_test::child_failed(e);
    }
    ::_exit(0);
  }
  ::close(fds[1]);
  killed_pipeline out;
  char buffer[256];
  for (ssize_t n; out.rounds < rounds && (n = ::read(fds[0], buffer, 1)) > 0;) out.rounds += n;
  std::this_thread::sleep_for(extra);
  ::kill(pid, SIGKILL);
  int status = 0;
  REQUIRE(::waitpid(pid, &status, 0) == pid);
  INFO("child exit status " << status);
  REQUIRE((WIFSIGNALED(status) ? WTERMSIG(status) == SIGKILL : WEXITSTATUS(status) == 0));
  out.exited = WIFEXITED(status);
  for (ssize_t n; (n = ::read(fds[0], buffer, sizeof buffer)) > 0;) out.rounds += n;
  ::close(fds[0]);
  return out;
}

std::uint32_t attempt_of(const annal::recorded_event& e) {
  std::uint32_t out = 0;
  annal::detail::decode_record<annal::events<pipeline::attempt_started>, annal::binary_codec>(
      e, annal::unknown_event_policy::error,
      [&](const pipeline::attempt_started& a) { out = a.attempt; });
  return out;
}

// What must hold once the pipeline finished, however often it was killed on the way.
void check_finished(const pipeline_process& p) {
  using annal_test_process::stream_of;
  for (int i = 0; i < video_count; ++i) {
    const std::string v = video_name(i);
    INFO("video " << v);
    const auto outcome = stream_of(p.log, "video-" + v);
    REQUIRE(outcome.size() == 1);
    CHECK((outcome[0].type == "test.video_published" || outcome[0].type == "test.video_failed"));
    if (v.starts_with("blocked")) CHECK(outcome[0].type == "test.video_failed");

    // The instance: started once, each attempt once and in order, ended once and last.
    const auto instance = stream_of(p.log, "pipeline-" + v);
    REQUIRE(instance.size() >= 2);
    CHECK(instance.front().type == annal::process_started_type);
    CHECK(instance.back().type == annal::process_ended_type);
    std::uint32_t attempts = 0;
    int starts = 0, ends = 0;
    for (const auto& e : instance) {
      starts += e.type == annal::process_started_type;
      ends += e.type == annal::process_ended_type;
      if (e.type == "test.pipeline.attempt_started") {
        const std::uint32_t n = attempt_of(e);
        INFO("attempt_started " << n << " at version " << e.stream_version);
        CHECK(n == attempts + 1);
        attempts = n;
      }
    }
    CHECK(starts == 1);
    CHECK(ends == 1);

    // One job per attempt, none beyond the last attempt, each dispatched once.
    CHECK(attempts >= 1);
    CHECK(attempts <= pipeline::max_attempts);
    for (std::uint32_t n = 1; n <= attempts; ++n) {
      INFO("job " << n);
      CHECK(stream_of(p.log, pipeline::job_stream(v, n)).size() == 1);
    }
    CHECK(stream_of(p.log, pipeline::job_stream(v, attempts + 1)).empty());
  }
  CHECK(p.runner.checkpoint() == p.log.last_position());
  CHECK(p.checkpoint.load().value_or(0) == p.log.last_position());
}

}  // namespace

// Each trial: a child runs the pipeline on a fresh durable log and is kill -9ed at a random moment
// (in a round drawn evenly from an uninterrupted run's); the parent opens the log and the
// checkpoint again and finishes the pipeline with a new runner, which must not throw, and checks
// what it holds. ANNAL_CRASH_TRIALS sets the trials (default 200), ANNAL_CRASH_SEED the seed.
TEST_CASE("process manager: kill -9 at every step of a pipeline", "[process][crash]") {
  const int trials = recovery_test::crash_trials(200);
  const unsigned seed = recovery_test::crash_seed();
  INFO("ANNAL_CRASH_SEED=" << seed << " ANNAL_CRASH_TRIALS=" << trials);
  std::mt19937 rng(seed);
  annal_test_store::scratch_dir dir;

  // Uninterrupted runs of three workers (their runs differ by half): how many rounds a pipeline
  // takes and how long a round lasts, and the checks hold.
  const auto started = std::chrono::steady_clock::now();
  int total_rounds = 0;
  for (unsigned k = 0; k < 3; ++k) {
    const fs::path timing = dir.path() / ("timing-" + std::to_string(k));
    fs::create_directories(timing);
    pipeline_process p(timing);
    total_rounds += drive(p, seed + k);
    check_finished(p);
  }
  const int run_rounds = total_rounds / 3;
  const auto round_time = std::chrono::duration_cast<std::chrono::microseconds>(
                              std::chrono::steady_clock::now() - started) /
                          total_rounds;

  // Each kill lands in a round drawn evenly from a run's, at a random moment of it: early (the
  // first third of the rounds), mid-way, late, or after the child finished (a shorter run).
  int early = 0, mid = 0, late = 0, finished = 0;
  for (int trial = 0; trial < trials; ++trial) {
    const unsigned trial_seed = static_cast<unsigned>(rng());
    INFO("trial " << trial << " (worker seed " << trial_seed << ")");
    const fs::path here = dir.path() / ("trial-" + std::to_string(trial));
    fs::create_directories(here);
    const int rounds = static_cast<int>(rng() % static_cast<unsigned>(run_rounds));
    const auto extra = std::chrono::microseconds(rng() % (round_time.count() + 1));
    const killed_pipeline child = kill_after_rounds(here, trial_seed, rounds, extra);
    if (child.exited)
      ++finished;
    else if (child.rounds * 3 < run_rounds)
      ++early;
    else if (child.rounds * 3 < run_rounds * 2)
      ++mid;
    else
      ++late;

    pipeline_process p(here);
    try {
      drive(p, trial_seed);
    } catch (const std::exception& e) {
      FAIL("the restarted runner threw: " << e.what());
    }
    check_finished(p);
    fs::remove_all(here);
  }
  WARN("pipeline kill -9 trials: " << trials << ", a run " << run_rounds << " rounds of "
                                   << round_time.count() / 1000 << " ms: killed early " << early
                                   << ", mid-way " << mid << ", late " << late
                                   << ", finished before the kill " << finished);
  // Most kills must land mid-run: a run where every child finished tested no crash.
  if (trials >= 20) CHECK(finished < trials / 2);
}
