// What a process manager's runner must do on every store, as checks over a fixture with `store()`
// (a fresh, empty store) and, where it can be closed and opened again, `reopen()`.
#pragma once

#include <catch2/catch.hpp>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <annal/codec/binary.hpp>
#include <annal/core/record.hpp>
#include <annal/process/command_router.hpp>
#include <annal/process/runner.hpp>
#include <annal/runtime/new_event_id.hpp>
#include <annal/store/checkpoint.hpp>
#include <annal/store/repository.hpp>
#include <annal/store/tombstone.hpp>

#include "process/pipeline_domain.hpp"

namespace annal_test_process {

template <class S, class E>
void put(S& store, const std::string& stream, const E& e) {
  annal::event_data d =
      annal::detail::encode_event<annal::binary_codec>(e, annal::new_event_id(), {});
  store.append(stream, annal::expected_version::any(), std::span<const annal::event_data>(&d, 1));
}

template <class S>
std::vector<annal::recorded_event> stream_of(const S& store, const std::string& id) {
  std::vector<annal::recorded_event> out;
  store.read_stream(id, 1, [&](const annal::recorded_event& e) { out.push_back(e); });
  return out;
}

template <class S>
std::vector<std::string> types_of(const S& store, const std::string& id) {
  std::vector<std::string> out;
  for (const auto& e : stream_of(store, id)) out.push_back(e.type);
  return out;
}

// A runner over the pipeline with its two repositories, as a program holds one.
template <class S>
struct pipeline_runner {
  using job_repo = annal::repository<pipeline::job, S>;
  using video_repo = annal::repository<pipeline::video, S>;
  using router_type = annal::command_router<job_repo, video_repo>;
  job_repo jobs;
  video_repo videos;
  router_type router{jobs, videos};
  annal::process_runner<pipeline::manager, S, annal::memory_checkpoint, router_type> runner;

  pipeline_runner(S& store, annal::memory_checkpoint& checkpoint,
                  const annal::time_point* now = nullptr)
      : pipeline_runner(store, checkpoint, options(now)) {}
  pipeline_runner(S& store, annal::memory_checkpoint& checkpoint, annal::process_options o)
      : jobs(store), videos(store), runner(store, router, checkpoint, std::move(o)) {}
  // From the beginning; at the time `*now` says when given (a clock the test moves).
  static annal::process_options options(const annal::time_point* now) {
    annal::process_options o;
    o.start = annal::process_start::from_beginning;
    if (now) o.now = [now] { return *now; };
    return o;
  }
};

// A decorator's reads: the store's own. A test's decorator adds its `append` (see below, and
// crash.cpp's clocked log).
template <class S>
struct reads_of {
  S* inner;
  template <class F>
  std::size_t read_stream(std::string_view id, std::uint64_t from, F&& f,
                          std::size_t max = annal::unlimited) const {
    return inner->read_stream(id, from, std::forward<F>(f), max);
  }
  template <class F>
  std::size_t read_all(std::uint64_t from, F&& f, std::size_t max = annal::unlimited) const {
    return inner->read_all(from, std::forward<F>(f), max);
  }
  std::uint64_t stream_version(std::string_view id) const { return inner->stream_version(id); }
  std::uint64_t last_position() const { return inner->last_position(); }
};

// The store seen through a test's eyes: it counts the appends tried through it, and throws on the
// next `failures` appends to a stream starting with `crash_at` (by default a crash before the
// instance's state is stored; a deadline's announcement, which comes before its commands, passes).
// Before the next `intrusions` such appends, another writer appends an event to that stream first,
// as a second runner of the manager would.
template <class S>
struct watched_store : reads_of<S> {
  int failures = 0;
  int appends = 0;
  std::string crash_at = "pipeline-";
  int intrusions = 0;
  annal::append_result append(std::string_view id, annal::expected_version v,
                              std::span<const annal::event_data> batch) {
    ++appends;
    const bool announcement = batch.size() == 1 && batch[0].type == annal::deadline_delivering_type;
    if (id.starts_with(crash_at) && !announcement && failures > 0) {
      --failures;
      throw annal::error(annal::errc::io_error,
                         "simulated crash before the append to " + std::string(id));
    }
    if (id.starts_with(crash_at) && !announcement && intrusions > 0) {
      --intrusions;
      put(*this->inner, std::string(id), pipeline::uploaded{"intruder"});
    }
    return this->inner->append(id, v, batch);
  }
};

// Upload, two failures, success: three jobs, one publication, the instance ended; events for an
// ended instance and for one never started are not handled.
template <class Fixture>
void check_pipeline_runs() {
  Fixture f;
  auto& store = f.store();
  using S = std::remove_reference_t<decltype(store)>;
  annal::memory_checkpoint checkpoint;
  pipeline_runner<S> p(store, checkpoint);
  put(store, "upload-v1", pipeline::uploaded{"v1"});
  put(store, "worker-1", pipeline::transcode_done{"v9", 1});  // no instance v9: not handled
  p.runner.catch_up();
  CHECK(types_of(store, "job-v1-1") == std::vector<std::string>{"test.job_dispatched"});
  CHECK(stream_of(store, "pipeline-v9").empty());
  CHECK(p.runner.load("v1").state.attempts == 1);

  put(store, "worker-1", pipeline::transcode_failed{"v1", 1});
  put(store, "worker-1", pipeline::transcode_failed{"v1", 1});  // reported twice: no new attempt
  p.runner.catch_up();
  put(store, "worker-2", pipeline::transcode_done{"v1", 2});
  p.runner.catch_up();
  CHECK(types_of(store, "job-v1-2") == std::vector<std::string>{"test.job_dispatched"});
  CHECK(stream_of(store, "job-v1-3").empty());
  CHECK(types_of(store, "video-v1") == std::vector<std::string>{"test.video_published"});
  const auto instance = p.runner.load("v1");
  CHECK(instance.ended);
  CHECK(instance.state.attempts == 2);
  CHECK(types_of(store, "pipeline-v1") ==
        std::vector<std::string>{"annal.process_started", "test.pipeline.attempt_started",
                                 "annal.deadline_scheduled", "test.pipeline.attempt_started",
                                 "annal.deadline_scheduled", "annal.deadline_cancelled",
                                 "annal.process_ended"});
  // Each command's events name the event that caused them and the manager that sent them.
  const auto job = stream_of(store, "job-v1-2").at(0);
  const auto failure = stream_of(store, "worker-1").at(1);
  CHECK(job.causation_id == failure.id);
  CHECK(job.meta.at("annal.process") == "pipeline");
  CHECK(job.meta.at("annal.instance") == "v1");

  put(store, "worker-2", pipeline::transcode_done{"v1", 2});  // after the end: not handled
  p.runner.catch_up();
  CHECK(types_of(store, "video-v1").size() == 1);
  CHECK(p.runner.checkpoint() == store.last_position());
  CHECK(checkpoint.load() == store.last_position());
}

// Three failures: the video is marked failed and the instance ends.
template <class Fixture>
void check_retries_run_out() {
  Fixture f;
  auto& store = f.store();
  using S = std::remove_reference_t<decltype(store)>;
  annal::memory_checkpoint checkpoint;
  pipeline_runner<S> p(store, checkpoint);
  put(store, "upload-v2", pipeline::uploaded{"v2"});
  for (std::uint32_t attempt = 1; attempt <= pipeline::max_attempts; ++attempt) {
    p.runner.catch_up();
    CHECK(types_of(store, pipeline::job_stream("v2", attempt)).size() == 1);
    put(store, "worker", pipeline::transcode_failed{"v2", attempt});
  }
  p.runner.catch_up();
  CHECK(types_of(store, "video-v2") == std::vector<std::string>{"test.video_failed"});
  CHECK(p.runner.load("v2").ended);
}

// The same events handled again — a checkpoint lost, or a second run from the beginning — act
// no more: commands are duplicates by their derived ids, and the instance knows what it handled.
template <class Fixture>
void check_handled_once() {
  Fixture f;
  auto& store = f.store();
  using S = std::remove_reference_t<decltype(store)>;
  put(store, "upload-v3", pipeline::uploaded{"v3"});
  put(store, "worker", pipeline::transcode_failed{"v3", 1});
  put(store, "worker", pipeline::transcode_done{"v3", 2});
  put(store, "upload-v3b", pipeline::uploaded{"v3b"});  // still running at the end
  put(store, "worker", pipeline::transcode_failed{"v3b", 1});
  annal::memory_checkpoint first;
  pipeline_runner<S>(store, first).runner.catch_up();
  const std::uint64_t after = store.last_position();
  for (int run = 0; run < 2; ++run) {
    annal::memory_checkpoint lost;  // never saved: starts from the beginning
    watched_store<S> counted{{&store}};
    pipeline_runner<watched_store<S>> again(counted, lost);
    again.runner.catch_up();
    CHECK(store.last_position() == after);
    // The running instance's state says it handled its events: they are not handled again, so
    // not even a duplicate append is tried (the store's duplicate ids alone would hide that).
    CHECK(counted.appends == 0);
  }
  CHECK(types_of(store, "job-v3-1").size() == 1);
  CHECK(types_of(store, "job-v3-2").size() == 1);
  CHECK(types_of(store, "video-v3").size() == 1);
}

// A crash after the commands but before the state events: the next run sends them again (to no
// effect) and records the state once.
template <class Fixture>
void check_crash_between_commands_and_state() {
  Fixture f;
  auto& store = f.store();
  using S = std::remove_reference_t<decltype(store)>;
  watched_store<S> flaky{{&store}, 1};
  put(store, "upload-v4", pipeline::uploaded{"v4"});
  annal::memory_checkpoint checkpoint;
  {
    pipeline_runner<watched_store<S>> p(flaky, checkpoint);
    CHECK_THROWS_WITH(p.runner.catch_up(), Catch::Contains("simulated crash"));
    CHECK(p.runner.checkpoint() == 0);  // before the upload
  }
  CHECK(types_of(store, "job-v4-1").size() == 1);  // the command went out
  CHECK(stream_of(store, "pipeline-v4").empty());  // the state did not
  pipeline_runner<watched_store<S>> p(flaky, checkpoint);
  p.runner.catch_up();
  CHECK(types_of(store, "job-v4-1").size() == 1);  // not dispatched twice
  CHECK(types_of(store, "pipeline-v4") == std::vector<std::string>{"annal.process_started",
                                                                   "test.pipeline.attempt_started",
                                                                   "annal.deadline_scheduled"});
  CHECK(p.runner.checkpoint() == store.last_position());
}

// A rejected command goes to the manager's `rejected`, whose commands go out at once; a
// rejection without one stops the runner before the event; so does an empty instance id.
template <class Fixture>
void check_rejections_and_bad_input() {
  Fixture f;
  auto& store = f.store();
  using S = std::remove_reference_t<decltype(store)>;
  annal::memory_checkpoint checkpoint;
  pipeline_runner<S> p(store, checkpoint);
  put(store, "upload", pipeline::uploaded{"blocked-1"});
  put(store, "worker", pipeline::transcode_done{"blocked-1", 1});
  p.runner.catch_up();
  CHECK(types_of(store, "video-blocked-1") == std::vector<std::string>{"test.video_failed"});
  const auto instance = p.runner.load("blocked-1");
  CHECK(instance.state.refused == "blocked by moderation");
  CHECK(instance.ended);

  // mark_failed has no compensation: its rejection stops the runner, checkpoint before the event.
  put(store, "upload", pipeline::uploaded{"v5"});
  p.runner.catch_up();
  for (std::uint32_t attempt = 1; attempt < pipeline::max_attempts; ++attempt) {
    put(store, "worker", pipeline::transcode_failed{"v5", attempt});
    p.runner.catch_up();
  }
  {
    annal::repository<pipeline::video, S> videos(store);
    REQUIRE(videos.handle("video-v5", pipeline::publish{"v5"}).accepted());  // finished elsewhere
  }
  put(store, "worker", pipeline::transcode_failed{"v5", pipeline::max_attempts});
  const std::uint64_t before = store.last_position() - 1;  // just before the failing event
  CHECK_THROWS_WITH(p.runner.catch_up(), Catch::Contains("was rejected (finished already)") &&
                                             Catch::Contains("has no `rejected(const Command&"));
  CHECK(p.runner.checkpoint() == before);

  // A deleted aggregate stream is a rejection the manager sees.
  Fixture g;
  auto& other = g.store();
  annal::memory_checkpoint fresh;
  pipeline_runner<S> q(other, fresh);
  put(other, "upload", pipeline::uploaded{"v6"});
  {
    annal::repository<pipeline::video, S> videos(other);
    REQUIRE(videos.handle("video-v6", pipeline::mark_failed{"v6", "x"}).accepted());
    annal::delete_stream(other, "video-v6", annal::expected_version::exact(1), "gone");
  }
  put(other, "worker", pipeline::transcode_done{"v6", 1});
  CHECK_THROWS_WITH(q.runner.catch_up(),
                    Catch::Contains("was rejected (") && Catch::Contains("is deleted"));

  // An event whose instance id is empty is not handled; the runner stops before it.
  Fixture h;
  auto& third = h.store();
  annal::memory_checkpoint at_start;
  pipeline_runner<S> r(third, at_start);
  put(third, "upload-x", pipeline::uploaded{"v7"});
  put(third, "upload-y", pipeline::uploaded{""});
  CHECK_THROWS_WITH(r.runner.catch_up(),
                    Catch::Contains("instance_of gave an empty id for stream 'upload-y' version "
                                    "1 position 2 (event type 'test.uploaded' v1)"));
  CHECK(r.runner.checkpoint() == 1);
  CHECK(at_start.load() == 1);
}

// The limits docs/process.md names stop the runner before the event, checkpoint kept: more
// rejections in a row than `max_compensations` allows, and an instance stream another writer
// moved on between the runner's read and its append.
template <class Fixture>
void check_limits_stop_the_runner() {
  Fixture f;
  auto& store = f.store();
  using S = std::remove_reference_t<decltype(store)>;
  annal::memory_checkpoint checkpoint;
  annal::process_options none_allowed = pipeline_runner<S>::options(nullptr);
  none_allowed.max_compensations = 0;
  pipeline_runner<S> p(store, checkpoint, none_allowed);
  put(store, "upload", pipeline::uploaded{"blocked-2"});
  put(store, "worker", pipeline::transcode_done{"blocked-2", 1});
  CHECK_THROWS_WITH(
      p.runner.catch_up(),
      Catch::Contains("process manager 'pipeline', instance 'blocked-2', handling stream "
                      "'worker' version 1 position 2") &&
          Catch::Contains("a command to stream 'video-blocked-2' was rejected (blocked by "
                          "moderation) after 0 compensations in a row for this event, the most "
                          "process_options::max_compensations allows"));
  CHECK(p.runner.checkpoint() == 1);
  CHECK(types_of(store, "video-blocked-2").empty());  // no compensation went out

  Fixture g;
  auto& other = g.store();
  watched_store<S> shared{{&other}};
  annal::memory_checkpoint at_start;
  pipeline_runner<watched_store<S>> q(shared, at_start);
  put(other, "upload", pipeline::uploaded{"v9"});
  q.runner.catch_up();
  const std::uint64_t version = other.stream_version("pipeline-v9");
  REQUIRE(version > 0);
  put(other, "worker", pipeline::transcode_failed{"v9", 1});
  const std::uint64_t failing = other.last_position();
  shared.intrusions = 1;
  CHECK_THROWS_WITH(
      q.runner.catch_up(),
      Catch::Contains("process manager 'pipeline': instance stream 'pipeline-v9' is "
                      "at version " +
                      std::to_string(version + 1) + ", not " + std::to_string(version) +
                      ": another runner of this manager wrote it"));
  CHECK(q.runner.checkpoint() == failing - 1);
  CHECK(at_start.load() == failing - 1);
}

// Deadlines: delivered once due by the runner's clock, surviving a restart; cancelled by a
// finished job; one due before an event was recorded is delivered before it, one due after it
// never if the event ends the wait; a crash while delivering one delivers it again, to no effect.
template <class Fixture>
void check_deadlines() {
  using namespace std::chrono_literals;
  Fixture f;
  auto& store = f.store();
  using S = std::remove_reference_t<decltype(store)>;
  annal::time_point now = annal::clock::now();
  annal::memory_checkpoint checkpoint;
  put(store, "upload", pipeline::uploaded{"d1"});
  {
    pipeline_runner<S> p(store, checkpoint, &now);
    p.runner.catch_up();
    CHECK(p.runner.load("d1").deadlines.size() == 1);
    now += 5min;
    p.runner.catch_up();
    CHECK(stream_of(store, "job-d1-2").empty());  // not due yet
  }
  // A restarted runner finds the pending deadline in the store.
  pipeline_runner<S> p(store, checkpoint, &now);
  CHECK(p.runner.deadlines_indexed() == 1);
  now += 6min;
  p.runner.catch_up();
  CHECK(types_of(store, "job-d1-2").size() == 1);  // the timeout retried
  CHECK(p.runner.load("d1").state.attempts == 2);
  now += 11min;
  p.runner.catch_up();
  now += 11min;
  p.runner.catch_up();
  CHECK(types_of(store, "job-d1-3").size() == 1);
  CHECK(types_of(store, "video-d1") == std::vector<std::string>{"test.video_failed"});
  CHECK(p.runner.load("d1").ended);
  now += 1h;
  p.runner.catch_up();  // the instance ended: nothing more
  CHECK(types_of(store, "video-d1").size() == 1);

  // A job done in time cancels the deadline: the clock passing it later retries nothing. (The
  // clock goes back to the present first: at an hour ahead, the upload's deadline would be due.)
  now = annal::clock::now();
  put(store, "upload", pipeline::uploaded{"d2"});
  p.runner.catch_up();
  put(store, "worker", pipeline::transcode_done{"d2", 1});
  p.runner.catch_up();
  CHECK(p.runner.load("d2").deadlines.empty());
  now += 1h;
  p.runner.catch_up();
  CHECK(stream_of(store, "job-d2-2").empty());

  // In time order: the completion was recorded before the deadline was due, but the runner (down
  // for two hours, say) reads it only when its clock is long past that. The completion wins.
  now = annal::clock::now();
  put(store, "upload", pipeline::uploaded{"d3"});
  p.runner.catch_up();
  CHECK(p.runner.load("d3").deadlines.size() == 1);
  put(store, "worker", pipeline::transcode_done{"d3", 1});
  now += 2h;
  p.runner.catch_up();
  CHECK(types_of(store, "video-d3") == std::vector<std::string>{"test.video_published"});
  CHECK(stream_of(store, "job-d3-2").empty());

  // A deadline already past when scheduled is delivered at once: the upload's time is hours
  // before the runner's clock, and the same catch-up delivers its timeout.
  put(store, "upload", pipeline::uploaded{"d4"});
  p.runner.catch_up();
  CHECK(types_of(store, "job-d4-2").size() == 1);

  // A crash while delivering: the retry's command goes out, its state does not; the next
  // runner delivers the deadline again and dispatches nothing twice.
  Fixture g;
  auto& other = g.store();
  watched_store<S> flaky{{&other}};
  annal::time_point later = annal::clock::now();
  annal::memory_checkpoint c2;
  put(other, "upload", pipeline::uploaded{"d5"});
  {
    pipeline_runner<watched_store<S>> q(flaky, c2, &later);
    q.runner.catch_up();
    flaky.failures = 1;
    later += 11min;
    CHECK_THROWS_WITH(q.runner.catch_up(), Catch::Contains("simulated crash"));
  }
  CHECK(types_of(other, "job-d5-2").size() == 1);
  pipeline_runner<watched_store<S>> q(flaky, c2, &later);
  q.runner.catch_up();
  CHECK(types_of(other, "job-d5-2").size() == 1);
  CHECK(q.runner.load("d5").state.attempts == 2);
  CHECK(types_of(other, "pipeline-d5").back() == "annal.deadline_scheduled");

  // A deadline delivered once the runner caught up, its commands sent and its state not stored
  // (a crash); then a completion recorded before the deadline's time (a writer whose clock is
  // behind the runner's) lands before the next run. By time order the completion would go first,
  // and the retry already dispatched would belong to no attempt. The first run chose the
  // deadline, and its announcement in the instance's stream makes the next run finish it first.
  // The same when the crash comes right after the announcement, before any command went out.
  for (const std::string crash_at : {"pipeline-", "job-"}) {
    INFO("the crash comes before the append to " << crash_at << "...");
    const std::string v = "d6" + crash_at.substr(0, 1);
    Fixture h;
    auto& third = h.store();
    watched_store<S> crashing{{&third}};
    crashing.crash_at = crash_at;
    annal::time_point runner_clock = annal::clock::now();
    annal::memory_checkpoint c3;
    put(third, "upload", pipeline::uploaded{v});
    {
      pipeline_runner<watched_store<S>> r(crashing, c3, &runner_clock);
      r.runner.catch_up();
      crashing.failures = 1;
      runner_clock += 11min;
      CHECK_THROWS_WITH(r.runner.catch_up(), Catch::Contains("simulated crash"));
      CHECK(r.runner.load(v).delivering == "test.pipeline.transcode_timed_out");
    }
    put(third, "worker", pipeline::transcode_done{v, 1});  // stamped by the store: before due
    pipeline_runner<watched_store<S>> r(crashing, c3, &runner_clock);
    r.runner.catch_up();
    const auto instance = r.runner.load(v);
    CHECK(instance.state.attempts == 2);
    CHECK(instance.ended);
    CHECK_FALSE(instance.delivering);
    CHECK(types_of(third, "job-" + v + "-2").size() == 1);
    CHECK(types_of(third, "video-" + v) == std::vector<std::string>{"test.video_published"});
    CHECK(types_of(third, "pipeline-" + v) ==
          std::vector<std::string>{
              "annal.process_started", "test.pipeline.attempt_started", "annal.deadline_scheduled",
              "annal.deadline_delivering", "annal.deadline_fired", "test.pipeline.attempt_started",
              "annal.deadline_scheduled", "annal.deadline_cancelled", "annal.process_ended"});
  }
}

// The runner reads only what the manager handles: events of other types, however many, are passed
// over, and its checkpoint moves past them, also at the log's end.
template <class Fixture>
void check_reads_only_its_events() {
  Fixture f;
  auto& store = f.store();
  using S = std::remove_reference_t<decltype(store)>;
  annal::memory_checkpoint checkpoint;
  pipeline_runner<S> p(store, checkpoint);
  for (int i = 0; i < 50; ++i) {
    annal::event_data noise;
    noise.id = annal::new_event_id();
    noise.type = "billing.noted";
    noise.payload = "x";
    store.append("billing-" + std::to_string(i), annal::expected_version::any(),
                 std::span<const annal::event_data>(&noise, 1));
    if (i == 20) put(store, "upload-v1", pipeline::uploaded{"v1"});
  }
  // The upload, and the deadline its step scheduled (read back to index it): nothing else.
  CHECK(p.runner.catch_up() == 2);
  CHECK(p.runner.load("v1").state.attempts == 1);
  CHECK(checkpoint.load() == store.last_position());
  CHECK(p.runner.step() == 0);
}

template <class Fixture>
void check_process_manager_on_store() {
  SECTION("it reads only the events it handles") {
    check_reads_only_its_events<Fixture>();
  }
  SECTION("deadlines") {
    check_deadlines<Fixture>();
  }
  SECTION("a pipeline runs: retries, publication, the end of an instance") {
    check_pipeline_runs<Fixture>();
  }
  SECTION("retries run out: the video is marked failed") {
    check_retries_run_out<Fixture>();
  }
  SECTION("events handled again act no more") {
    check_handled_once<Fixture>();
  }
  SECTION("a crash between the commands and the state acts once") {
    check_crash_between_commands_and_state<Fixture>();
  }
  SECTION("rejections, compensation and bad input") {
    check_rejections_and_bad_input<Fixture>();
  }
  SECTION("too many compensations, and a second writer of an instance, stop the runner") {
    check_limits_stop_the_runner<Fixture>();
  }
}

}  // namespace annal_test_process
