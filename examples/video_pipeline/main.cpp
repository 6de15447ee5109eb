// Video pipeline: a process manager sends each uploaded video to transcoding workers that sometimes
// fail and sometimes hang, retries on a deadline, then publishes the video or marks it failed. The
// manager is killed half-way (or at --crash-at N) and restarted from its checkpoint; at the end
// every video has exactly one outcome and there is exactly one job per attempt.
#include <stdlib.h>  // mkdtemp

#include <cerrno>
#include <charconv>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <optional>
#include <random>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include <annal/annal.hpp>
#include <annal/process/command_router.hpp>
#include <annal/process/runner.hpp>

#include "video.hpp"

namespace {

constexpr int video_count = 20;
constexpr std::uint32_t last_minute = 240;  // a video without an outcome by then is stuck
// The manager writes 133 times in this run (a command or a record of its own each): by default it
// is killed half-way. Any other point gives the same outcomes; the tests try the first.
constexpr std::uint64_t default_crash_at = 66;

std::string clip(int i) {
  return "clip-" + std::string(i < 10 ? "0" : "") + std::to_string(i);
}

// What the manager sees of the log: the log itself, except that it dies right after its Nth write.
// That write is in the log; the rest of the step is lost, as when the process is killed between
// sending a command and recording that it did.
struct manager_killed {
  std::uint64_t write;
  std::string stream;
};

template <annal::event_store S>
class killable_store {
 public:
  killable_store(S& inner, std::uint64_t die_after) : inner_(&inner), die_after_(die_after) {}

  annal::append_result append(std::string_view id, annal::expected_version expect,
                              std::span<const annal::event_data> batch) {
    const annal::append_result r = inner_->append(id, expect, batch);
    if (++writes_ == die_after_) throw manager_killed{writes_, std::string(id)};
    return r;
  }
  template <class F>
  std::size_t read_stream(std::string_view id, std::uint64_t from, F&& f,
                          std::size_t max = annal::unlimited) const {
    return inner_->read_stream(id, from, std::forward<F>(f), max);
  }
  template <class F>
  std::size_t read_all(std::uint64_t from, F&& f, std::size_t max = annal::unlimited) const {
    return inner_->read_all(from, std::forward<F>(f), max);
  }
  std::uint64_t stream_version(std::string_view id) const { return inner_->stream_version(id); }
  std::uint64_t last_position() const { return inner_->last_position(); }
  std::uint64_t writes() const noexcept { return writes_; }

 private:
  S* inner_;
  std::uint64_t die_after_;  // 0: never
  std::uint64_t writes_ = 0;
};

// The manager's process: its runner, the repositories it sends commands to, and its checkpoint in a
// file. Destroying it is the crash; constructing it again is the restart.
struct transcoding_service {
  using log_view = killable_store<annal::file_log>;
  using job_repository = annal::repository<video::job, log_view>;
  using video_repository = annal::repository<video::video, log_view>;
  using thumbnail_repository = annal::repository<video::thumbnails, log_view>;
  using router_type = annal::command_router<job_repository, video_repository, thumbnail_repository>;

  log_view log;
  job_repository jobs{log};
  video_repository videos{log};
  thumbnail_repository thumbnails{log};
  router_type router{jobs, videos, thumbnails};
  annal::file_checkpoint checkpoint;
  annal::process_runner<video::manager, log_view, annal::file_checkpoint, router_type> runner;

  transcoding_service(annal::file_log& store, const std::filesystem::path& checkpoint_file,
                      std::uint64_t die_after, const annal::time_point& now)
      : log(store, die_after),
        checkpoint(checkpoint_file),
        runner(log, router, checkpoint, options(now)) {}

  // Deadlines fall due on the program's clock, which moves a minute per turn: no waiting.
  static annal::process_options options(const annal::time_point& now) {
    annal::process_options o;
    o.start = annal::process_start::from_beginning;
    o.now = [&now] { return now; };
    return o;
  }
};

// The transcoding workers, simulated. Each job dispatched is taken and, by a seeded roll, finished
// after 2-7 minutes, failed after 1-3, or left hanging: no answer ever, only the deadline notices.
// mt19937's numbers are the same on every standard library; distributions' are not.
class worker_farm {
 public:
  explicit worker_farm(annal::file_log& store) : store_(&store), jobs_(store) {}

  // A real farm would follow the log (annal::subscription); turn by turn, reading on suffices.
  void take_new_jobs(std::uint32_t minute) {
    store_->read_all(seen_ + 1, [&](const annal::recorded_event& e) {
      seen_ = e.position;
      if (e.type != annal::event_name_of<video::job_dispatched>) return;
      const std::uint32_t roll = below(100);
      if (roll < 45)
        answers_.push_back({e.stream_id, minute + 2 + below(6), true});
      else if (roll < 75)
        answers_.push_back({e.stream_id, minute + 1 + below(3), false});
    });
  }

  void answer(std::uint32_t minute) {
    std::erase_if(answers_, [&](const pending& a) {
      if (a.minute > minute) return false;
      if (a.done)
        jobs_.handle(a.job, video::report_done{minute});
      else
        jobs_.handle(a.job, video::report_failed{minute});
      return true;
    });
  }

 private:
  struct pending {
    std::string job;
    std::uint32_t minute;
    bool done;
  };
  std::uint32_t below(std::uint32_t n) { return static_cast<std::uint32_t>(random_() % n); }

  annal::file_log* store_;
  annal::repository<video::job, annal::file_log> jobs_;
  std::mt19937 random_{21};
  std::uint64_t seen_ = 0;
  std::vector<pending> answers_;
};

// A directory for the run's log, removed at the end however the run ends.
struct temporary_directory {
  std::filesystem::path path;
  temporary_directory() {
    // mkdtemp replaces the name's last six characters, which must be X.
    std::string name =
        (std::filesystem::temp_directory_path() / ("annal-video-" + std::string(6, 'X'))).string();
    if (::mkdtemp(name.data()) == nullptr)
      throw std::system_error(errno, std::generic_category(), "creating a temporary directory");
    path = name;
  }
  ~temporary_directory() {
    std::error_code ignored;
    std::filesystem::remove_all(path, ignored);
  }
  temporary_directory(const temporary_directory&) = delete;
  temporary_directory& operator=(const temporary_directory&) = delete;
};

// What the run ended with, read back from the log.
struct tally {
  int published = 0, failed = 0, refused = 0, stuck = 0, wrong = 0;
  std::uint64_t attempts = 0, jobs = 0;
};

// One video: its outcome, from its own stream, and each attempt's job and answer. Exactly one
// outcome event, and a job for every attempt the manager recorded, or the run is wrong.
void report_video(annal::file_log& store, const transcoding_service& service, const std::string& id,
                  tally& t) {
  annal::repository<video::job, annal::file_log> jobs{store};
  const std::uint32_t attempts = service.runner.load(id).state.attempts;
  t.attempts += attempts;
  std::string answers;
  for (std::uint32_t n = 1; n <= attempts; ++n) {
    const video::outcome r = jobs.load(video::job_stream(id, n)).state.result;
    if (r == video::outcome::none) ++t.wrong;  // an attempt without its job
    answers += std::string(n > 1 ? ", " : "") + (r == video::outcome::done     ? "done"
                                                 : r == video::outcome::failed ? "failed"
                                                 : r == video::outcome::none   ? "NO JOB"
                                                                               : "no answer");
  }
  int outcomes = 0;
  std::string outcome = "STUCK";
  store.read_stream(video::video_stream(id), 1, [&](const annal::recorded_event& e) {
    if (e.type == annal::event_name_of<video::published>) outcome = "published", ++outcomes;
    if (e.type == annal::event_name_of<video::failed>) outcome = "failed", ++outcomes;
  });
  if (outcomes == 0) ++t.stuck;
  if (outcomes > 1) ++t.wrong;
  if (outcome == "published") ++t.published;
  if (outcome == "failed") ++t.failed;
  // Thumbnails are up exactly for the published videos: a refused one had them taken down.
  bool put_up = false, up = false;
  store.read_stream(video::thumbnails_stream(id), 1, [&](const annal::recorded_event& e) {
    put_up = put_up || e.type == annal::event_name_of<video::thumbnails_published>;
    up = e.type == annal::event_name_of<video::thumbnails_published>;
  });
  if (up != (outcome == "published")) ++t.wrong;
  const bool refused = put_up && !up;
  if (refused) ++t.refused;
  std::printf("  %s  %-9s  attempts: %s%s\n", id.c_str(), outcome.c_str(), answers.c_str(),
              refused ? "; refused publication, thumbnails withdrawn" : "");
}

std::uint64_t count_jobs(annal::file_log& store) {
  std::uint64_t jobs = 0;
  store.read_all(1, [&](const annal::recorded_event& e) {
    if (e.type == annal::event_name_of<video::job_dispatched>) ++jobs;
  });
  return jobs;
}

bool all_finished(annal::file_log& store) {
  annal::repository<video::video, annal::file_log> videos{store};
  for (int i = 0; i < video_count; ++i)
    if (videos.load(video::video_stream(clip(i))).state.state == video::status::uploaded)
      return false;
  return true;
}

// The manager handles what the log holds now, and the deadlines due. Killed, it is built again:
// the new runner starts from the checkpoint, so it handles the interrupted event again; the
// commands it sends again carry the ids they had the first time, and the repositories store
// nothing twice.
void run_manager(std::optional<transcoding_service>& service, annal::file_log& store,
                 const std::filesystem::path& checkpoint_file, const annal::time_point& now,
                 std::uint32_t minute, std::uint64_t& killed_after) {
  try {
    service->runner.catch_up();
  } catch (const manager_killed& k) {
    service.reset();
    killed_after = k.write;
    const bool own = k.stream.starts_with(std::string(video::manager::name) + "-");
    std::printf("minute %u: manager killed right after its write %llu (%s %s)\n", minute,
                static_cast<unsigned long long>(k.write),
                own ? "its own record in" : "a command to", k.stream.c_str());
    service.emplace(store, checkpoint_file, 0, now);
    std::printf(
        "minute %u: manager restarted from its checkpoint, log position %llu; it handles "
        "again what it was handling\n",
        minute, static_cast<unsigned long long>(service->runner.checkpoint()));
    service->runner.catch_up();
  }
}

// An instance's stream: the manager's records, and its deadlines scheduled, cancelled, delivered.
void print_instance(annal::file_log& store, const std::string& id) {
  std::printf("the manager's stream for %s:\n", id.c_str());
  store.read_stream(std::string(video::manager::name) + "-" + id, 1,
                    [&](const annal::recorded_event& e) {
                      std::printf("  %llu %s\n", static_cast<unsigned long long>(e.stream_version),
                                  e.type.c_str());
                    });
}

int run(std::uint64_t crash_at) {
  const temporary_directory dir;
  // The crash here is the process's, not the machine's: nothing needs syncing.
  annal::file_log store{dir.path / "log", annal::file_log_options{.sync = annal::durability::none}};
  const std::filesystem::path checkpoint_file = dir.path / "transcoding.checkpoint";
  annal::time_point now = video::run_start;
  std::optional<transcoding_service> service;
  service.emplace(store, checkpoint_file, crash_at, now);
  annal::repository<video::video, annal::file_log> uploads{store};
  worker_farm workers{store};
  std::uint64_t killed_after = 0;  // the write the manager was killed after; 0: not yet

  std::printf(
      "%d videos, one uploaded a minute; jobs time out after %lld minutes, %u attempts "
      "at most\n",
      video_count, static_cast<long long>(video::transcode_timeout.count()), video::max_attempts);
  // One turn a minute: an upload, the workers' answers due, the manager, the workers taking jobs.
  for (std::uint32_t minute = 0; minute <= last_minute; ++minute) {
    now = video::at_minute(minute);
    if (minute < video_count)  // moderation flags every seventh upload
      uploads.handle(video::video_stream(clip(static_cast<int>(minute))),
                     video::upload{clip(static_cast<int>(minute)), minute, minute % 7 == 3});
    workers.answer(minute);
    run_manager(service, store, checkpoint_file, now, minute, killed_after);
    workers.take_new_jobs(minute);
    if (minute >= video_count && all_finished(store)) break;
  }

  tally t;
  for (int i = 0; i < video_count; ++i) report_video(store, *service, clip(i), t);
  t.jobs = count_jobs(store);
  print_instance(store, clip(0));
  std::printf(
      "%d videos: %d published, %d failed (%d refused publication), %d stuck; %llu jobs for %llu "
      "attempts; ",
      video_count, t.published, t.failed, t.refused, t.stuck,
      static_cast<unsigned long long>(t.jobs), static_cast<unsigned long long>(t.attempts));
  const std::uint64_t writes = killed_after + service->log.writes();
  if (killed_after == 0)
    std::printf("manager never killed: %llu writes, fewer than %llu\n",
                static_cast<unsigned long long>(writes), static_cast<unsigned long long>(crash_at));
  else
    std::printf("manager restarted once, after its write %llu of %llu\n",
                static_cast<unsigned long long>(killed_after),
                static_cast<unsigned long long>(writes));
  const bool right = t.stuck == 0 && t.wrong == 0 && t.jobs == t.attempts;
  std::printf(right ? "every video ended in exactly one outcome, with one job per attempt\n"
                    : "WRONG: a video without exactly one outcome, or attempts and jobs differ\n");
  return right ? 0 : 1;
}

// The one option, parsed by hand: `--crash-at N` kills the manager right after its Nth write.
std::optional<std::uint64_t> parse_crash_at(int argc, char** argv) {
  if (argc == 1) return default_crash_at;
  std::uint64_t n = 0;
  if (argc == 3 && std::string_view(argv[1]) == "--crash-at") {
    const std::string_view text = argv[2];
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
    if (ec == std::errc() && end == text.data() + text.size() && n > 0) return n;
  }
  std::fprintf(stderr,
               "usage: %s [--crash-at N]\n  kills the transcoding manager right after its Nth "
               "write to the log (N >= 1; default %llu, about half-way)\n",
               argv[0], static_cast<unsigned long long>(default_crash_at));
  return std::nullopt;
}

}  // namespace

int main(int argc, char** argv) {
  const std::optional<std::uint64_t> crash_at = parse_crash_at(argc, argv);
  if (!crash_at) return 2;
  try {
    return run(*crash_at);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "video_pipeline: %s\n", e.what());
    return 1;
  }
}
