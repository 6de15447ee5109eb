// A process manager's throughput and its deadline tick, each beside a hand-written floor: the same
// reads and appends with plain store calls. Throughput: N uploads, then each video's
// transcode_done, through process_runner over the memory store and the file log (durability none;
// durable with fewer events). Deadlines: 1M instances each waiting for one, their streams written
// with the markers the runner writes; a step() that finds nothing due, one that delivers one, and
// the runner's start (its time index rebuilt from the log).
// $ANNAL_BENCH_DIR (default /tmp) holds the file logs; ANNAL_BENCH_PROCESS_VIDEOS (20000),
// ANNAL_BENCH_PROCESS_DURABLE_VIDEOS (200) and ANNAL_BENCH_PROCESS_DEADLINES (1000000) size them.
#include <benchmark/benchmark.h>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <queue>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <annal/codec/binary.hpp>
#include <annal/file/log.hpp>
#include <annal/process/command_router.hpp>
#include <annal/process/runner.hpp>
#include <annal/runtime/new_event_id.hpp>
#include <annal/store/checkpoint.hpp>
#include <annal/store/memory.hpp>
#include <annal/store/repository.hpp>

#include "common/ratio_reporter.hpp"
#include "common/scratch_root.hpp"
#include "process/pipeline.hpp"

namespace {

namespace fs = std::filesystem;
using namespace bench_pipeline;
using annal::event_data;
using annal::recorded_event;
using annal::time_point;

std::uint64_t from_env(const char* name, std::uint64_t fallback) {
  const char* env = std::getenv(name);
  return env && *env ? std::strtoull(env, nullptr, 10) : fallback;
}
const std::uint64_t videos = from_env("ANNAL_BENCH_PROCESS_VIDEOS", 20000);
const std::uint64_t durable_videos = from_env("ANNAL_BENCH_PROCESS_DURABLE_VIDEOS", 200);
const std::uint64_t deadline_count = from_env("ANNAL_BENCH_PROCESS_DEADLINES", 1000000);

const annal_bench::remove_at_exit cleanup{annal_bench::bench_root("process")};

template <class E>
event_data encoded(const E& e) {
  return annal::detail::encode_event<annal::binary_codec>(e, annal::new_event_id(), {});
}

std::string nanos_text(time_point t) {
  return std::to_string(
      std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count());
}

// ---- the floor: a manager written by hand over plain store calls
// ---------------------------------

// Ids derived from the trigger's without hashing: enough for a hand-written loop that runs alone.
annal::event_id floor_id(const annal::event_id& trigger, std::uint8_t kind, std::uint8_t index) {
  annal::event_id id = trigger;
  id.data[14] ^= kind;
  id.data[15] ^= static_cast<std::uint8_t>(index + 1);
  return id;
}

// One instance as the hand-written loop reads its stream.
struct floor_instance {
  std::uint64_t version = 0;
  std::uint64_t last_trigger = 0;
  bool ended = false;
  std::uint32_t attempts = 0;
  annal::event_id deadline{};  // the pending deadline's marker; nil: none
};

// What process_runner<manager> does per event and per deadline, by hand: the same reads (log,
// instance stream, the command's stream), the same appends with the same types, payloads and
// metadata, the same time index; no router, no repositories, no SHA-1 ids, no type lists.
template <class S>
struct floor_runner {
  S* store;
  annal::memory_checkpoint* checkpoint;
  std::function<time_point()> now;
  std::uint64_t position = 0;
  std::vector<recorded_event> batch;
  struct key {
    std::string instance;
    annal::event_id scheduled;
  };
  std::multimap<time_point, key> index;

  floor_runner(S& s, annal::memory_checkpoint& c, std::function<time_point()> clock)
      : store(&s), checkpoint(&c), now(std::move(clock)) {
    position = checkpoint->load().value_or(0);
    store->read_all(1, [&](const recorded_event& e) {
      if (e.position > position) return false;
      index_deadline(e);
      return true;
    });
  }

  std::size_t step() {
    batch.clear();
    store->read_all(
        position + 1, [&](const recorded_event& e) { batch.push_back(e); }, 256);
    const std::uint64_t before = position;
    for (const recorded_event& e : batch) {
      fire_due_before(e.recorded_at);
      if (e.type == "bench.uploaded")
        on_upload(e, annal::binary_codec::decode<uploaded>(e.payload));
      else if (e.type == "bench.transcode_done")
        on_done(e, annal::binary_codec::decode<transcode_done>(e.payload));
      position = e.position;
      index_deadline(e);
    }
    if (batch.size() < 256) fire_due_before(time_point::max());
    if (position != before) checkpoint->save(position);
    return batch.size();
  }

  void index_deadline(const recorded_event& e) {
    if (e.type != "annal.deadline_scheduled" || !e.stream_id.starts_with("pipeline-")) return;
    const time_point due(std::chrono::duration_cast<time_point::duration>(
        std::chrono::nanoseconds(std::stoll(e.meta.find("annal.due")->second))));
    index.emplace(due, key{e.stream_id.substr(9), e.id});
  }

  void fire_due_before(time_point limit) {
    while (!index.empty()) {
      const auto first = index.begin();
      if (first->first >= limit || first->first > now()) return;
      fire(first->second, first->first);
      index.erase(first);
    }
  }

  floor_instance load(const std::string& instance) const {
    floor_instance out;
    store->read_stream("pipeline-" + instance, 1, [&](const recorded_event& e) {
      out.version = e.stream_version;
      if (const auto t = e.meta.find("annal.trigger"); t != e.meta.end())
        out.last_trigger = std::max<std::uint64_t>(out.last_trigger, std::stoull(t->second));
      if (e.type == "bench.pipeline.attempt_started")
        out.attempts = annal::binary_codec::decode<attempt_started>(e.payload).attempt;
      else if (e.type == "annal.deadline_scheduled")
        out.deadline = e.id;
      else if (e.type == "annal.deadline_cancelled" || e.type == "annal.deadline_fired")
        out.deadline = {};
      else if (e.type == "annal.process_ended")
        out.ended = true;
    });
    return out;
  }

  // Loads the command's stream and appends its one event, as a repository's handle does.
  template <class A, class Event>
  void command(const std::string& stream, const Event& event, const recorded_event& cause,
               const std::string& instance, std::uint8_t index) {
    std::uint64_t version = 0;
    A state;
    store->read_stream(stream, 1, [&](const recorded_event& e) {
      state.apply(annal::binary_codec::decode<Event>(e.payload));
      version = e.stream_version;
    });
    event_data d = annal::detail::encode_event<annal::binary_codec>(
        event, floor_id(cause.id, 1, index), annal::command_context{});
    d.causation_id = cause.id;
    d.correlation_id = cause.id;
    d.meta.emplace("annal.process", "pipeline");
    d.meta.emplace("annal.instance", instance);
    store->append(stream,
                  version == 0 ? annal::expected_version::no_stream()
                               : annal::expected_version::exact(version),
                  std::span<const event_data>(&d, 1));
  }

  event_data state_event(std::string_view type, const recorded_event& cause, std::uint64_t trigger,
                         std::size_t index) {
    event_data d;
    d.id = floor_id(cause.id, 2, static_cast<std::uint8_t>(index));
    d.type = std::string(type);
    d.causation_id = cause.id;
    d.correlation_id = cause.id;
    if (trigger != 0) d.meta.emplace("annal.trigger", std::to_string(trigger));
    return d;
  }

  // An attempt: its job dispatched, then the instance's events (and the deadline) appended.
  void attempt(const std::string& video, std::uint32_t n, time_point from,
               const recorded_event& cause, std::uint64_t trigger, const floor_instance& current,
               std::vector<event_data> batch_out) {
    command<job>(job_stream(video, n), job_dispatched{video, n}, cause, video, 0);
    event_data started = state_event("bench.pipeline.attempt_started", cause, trigger, 0);
    annal::binary_codec::encode(attempt_started{n}, started.payload);
    batch_out.push_back(std::move(started));
    event_data marker = state_event("annal.deadline_scheduled", cause, trigger, 0);
    annal::binary_codec::encode(transcode_timed_out{n}, marker.payload);
    marker.meta.emplace("annal.deadline", "bench.pipeline.transcode_timed_out");
    marker.meta.emplace("annal.version", "1");
    marker.meta.emplace("annal.due", nanos_text(from + transcode_timeout));
    batch_out.push_back(std::move(marker));
    for (std::size_t i = 0; i < batch_out.size(); ++i)
      batch_out[i].id = floor_id(cause.id, 2, static_cast<std::uint8_t>(i));
    store->append("pipeline-" + video,
                  current.version == 0 ? annal::expected_version::no_stream()
                                       : annal::expected_version::exact(current.version),
                  batch_out);
  }

  void on_upload(const recorded_event& e, const uploaded& u) {
    const floor_instance current = load(u.video);
    if (current.last_trigger >= e.position || current.version != 0) return;
    std::vector<event_data> out;
    out.push_back(state_event("annal.process_started", e, e.position, 0));
    attempt(u.video, 1, e.recorded_at, e, e.position, current, std::move(out));
  }

  void on_done(const recorded_event& e, const transcode_done& d) {
    const floor_instance current = load(d.video);
    if (current.last_trigger >= e.position || current.ended || current.version == 0) return;
    command<video>("video-" + d.video, video_published{d.video}, e, d.video, 0);
    std::vector<event_data> out;
    out.push_back(state_event("annal.deadline_cancelled", e, e.position, 0));
    out.back().meta.emplace("annal.deadline", "bench.pipeline.transcode_timed_out");
    out.push_back(state_event("annal.process_ended", e, e.position, 1));
    store->append("pipeline-" + d.video, annal::expected_version::exact(current.version), out);
  }

  void fire(const key& k, time_point due) {
    const floor_instance current = load(k.instance);
    if (current.ended || current.deadline != k.scheduled) return;
    recorded_event cause;
    cause.id = k.scheduled;
    // The delivery announced before its command goes out, as the runner does (so that a run after
    // a crash finishes it before anything else reaches the instance).
    const auto marker = [&](std::string_view type) {
      event_data d = state_event(type, cause, 0, 0);
      d.meta.emplace("annal.deadline", "bench.pipeline.transcode_timed_out");
      d.meta.emplace("annal.schedule", annal::detail::id_text(k.scheduled));
      return d;
    };
    event_data announced = marker("annal.deadline_delivering");
    announced.id = floor_id(cause.id, 3, 0);
    store->append("pipeline-" + k.instance, annal::expected_version::exact(current.version),
                  std::span<const event_data>(&announced, 1));
    floor_instance announced_at = current;
    ++announced_at.version;
    std::vector<event_data> out;
    out.push_back(marker("annal.deadline_fired"));
    attempt(k.instance, current.attempts + 1, due, cause, 0, announced_at, std::move(out));
  }
};

// ---- annal: process_runner with the two repositories behind a command_router --------------------

template <class S>
struct annal_runner {
  using job_repo = annal::repository<job, S>;
  using video_repo = annal::repository<video, S>;
  using router_type = annal::command_router<job_repo, video_repo>;
  job_repo jobs;
  video_repo videos;
  router_type router{jobs, videos};
  annal::process_runner<manager, S, annal::memory_checkpoint, router_type> runner;

  annal_runner(S& store, annal::memory_checkpoint& checkpoint, std::function<time_point()> now)
      : jobs(store), videos(store), runner(store, router, checkpoint, options(std::move(now))) {}
  static annal::process_options options(std::function<time_point()> now) {
    annal::process_options o;
    o.start = annal::process_start::from_beginning;
    o.now = std::move(now);
    return o;
  }
  std::size_t step() { return runner.step(); }
};

// ---- throughput --------------------------------------------------------------------------------

// N uploads, then a transcode_done for each: 2N events for the manager.
template <class S>
void fill_uploads(S& store, std::uint64_t n) {
  for (std::uint64_t i = 0; i < n; ++i) {
    const event_data d = encoded(uploaded{"v" + std::to_string(i)});
    store.append("uploads", annal::expected_version::any(), std::span<const event_data>(&d, 1));
  }
  for (std::uint64_t i = 0; i < n; ++i) {
    const event_data d = encoded(transcode_done{"v" + std::to_string(i), 1});
    store.append("worker-" + std::to_string(i % 16), annal::expected_version::any(),
                 std::span<const event_data>(&d, 1));
  }
}

struct memory_case {
  std::unique_ptr<annal::memory_store> store;
  explicit memory_case(std::uint64_t n) : store(std::make_unique<annal::memory_store>()) {
    fill_uploads(*store, n);
  }
  annal::memory_store& get() { return *store; }
};

template <annal::durability D>
struct file_case {
  fs::path dir;
  std::unique_ptr<annal::file_log> log;
  explicit file_case(std::uint64_t n) {
    static int count = 0;
    dir = annal_bench::bench_root("process") / ("log-" + std::to_string(count++));
    fs::remove_all(dir);
    fs::create_directories(dir.parent_path());
    log = std::make_unique<annal::file_log>(dir, annal::file_log_options{.sync = D});
    fill_uploads(*log, n);
    log->sync();
  }
  ~file_case() {
    log.reset();
    fs::remove_all(dir);
  }
  annal::file_log& get() { return *log; }
};

// One pass per iteration over a fresh store; the items are the 2N events the manager handles (its
// own appends, read back from the log and skipped, are part of the work).
template <class Case, template <class> class Runner>
void throughput(benchmark::State& state, std::uint64_t n) {
  for (auto _ : state) {
    state.PauseTiming();
    auto c = std::make_unique<Case>(n);
    auto& store = c->get();
    annal::memory_checkpoint checkpoint(0);
    using S = std::remove_reference_t<decltype(store)>;
    Runner<S> r(store, checkpoint, [] { return annal::clock::now(); });
    state.ResumeTiming();
    while (r.step() != 0) {
    }
    state.PauseTiming();
    // Each upload appends a job and three instance events, each done a video and two.
    if (store.stream_version("video-v" + std::to_string(n - 1)) != 1 ||
        store.last_position() != 9 * n)
      state.SkipWithError("the manager did not write what it should");
    c.reset();
    state.ResumeTiming();
  }
  state.counters["items"] = static_cast<double>(2 * n);
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * 2 * n));
}

using durable_case = file_case<annal::durability::durable>;
using none_case = file_case<annal::durability::none>;

void memory_floor(benchmark::State& s) {
  throughput<memory_case, floor_runner>(s, videos);
}
void memory_annal(benchmark::State& s) {
  throughput<memory_case, annal_runner>(s, videos);
}
void file_none_floor(benchmark::State& s) {
  throughput<none_case, floor_runner>(s, videos);
}
void file_none_annal(benchmark::State& s) {
  throughput<none_case, annal_runner>(s, videos);
}
void file_durable_floor(benchmark::State& s) {
  throughput<durable_case, floor_runner>(s, durable_videos);
}
void file_durable_annal(benchmark::State& s) {
  throughput<durable_case, annal_runner>(s, durable_videos);
}

BENCHMARK(memory_floor)->Name("events_memory/floor")->Unit(benchmark::kNanosecond)->UseRealTime();
BENCHMARK(memory_annal)->Name("events_memory/annal")->Unit(benchmark::kNanosecond)->UseRealTime();
BENCHMARK(file_none_floor)
    ->Name("events_file_log_none/floor")
    ->Unit(benchmark::kNanosecond)
    ->UseRealTime();
BENCHMARK(file_none_annal)
    ->Name("events_file_log_none/annal")
    ->Unit(benchmark::kNanosecond)
    ->UseRealTime();
BENCHMARK(file_durable_floor)
    ->Name("events_file_log_durable/floor")
    ->Unit(benchmark::kNanosecond)
    ->UseRealTime()
    ->Iterations(1);
BENCHMARK(file_durable_annal)
    ->Name("events_file_log_durable/annal")
    ->Unit(benchmark::kNanosecond)
    ->UseRealTime()
    ->Iterations(1);

// ---- deadlines ---------------------------------------------------------------------------------

// A memory store holding `n` instances, each after its upload: the runner's three markers
// (started, attempt 1, its deadline) appended directly, deadline i due at `first_due` + i µs.
// first_due is a day ahead, so no event's recorded time passes a deadline.
struct deadline_store {
  annal::memory_store store;
  time_point first_due = annal::clock::now() + std::chrono::hours(24);
  time_point now = first_due - std::chrono::microseconds(1);  // the injected clock
  explicit deadline_store(std::uint64_t n) {
    std::vector<event_data> batch(3);
    for (std::uint64_t i = 0; i < n; ++i) {
      const std::string video = "v" + std::to_string(i);
      batch[0] =
          annal::detail::unencoded_event("annal.process_started", 1, annal::new_event_id(), {});
      batch[1] = encoded(attempt_started{1});
      batch[2] = encoded(transcode_timed_out{1});
      batch[2].type = "annal.deadline_scheduled";
      batch[2].meta.emplace("annal.deadline", "bench.pipeline.transcode_timed_out");
      batch[2].meta.emplace("annal.version", "1");
      batch[2].meta.emplace("annal.due", nanos_text(first_due + std::chrono::microseconds(i)));
      store.append("pipeline-" + video, annal::expected_version::no_stream(), batch);
    }
  }
};

// One store per size for the ticks (which change nothing); one per runner for deliveries.
deadline_store& store_of(std::uint64_t n, int use) {
  static std::map<std::pair<std::uint64_t, int>, std::unique_ptr<deadline_store>> stores;
  auto& s = stores[{n, use}];
  if (!s) s = std::make_unique<deadline_store>(n);
  return *s;
}

template <template <class> class Runner>
Runner<annal::memory_store>& runner_of(deadline_store& d) {
  static std::map<deadline_store*, std::unique_ptr<annal::memory_checkpoint>> checkpoints;
  static std::map<deadline_store*, std::unique_ptr<Runner<annal::memory_store>>> runners;
  auto& r = runners[&d];
  if (!r) {
    auto& c = checkpoints[&d];
    c = std::make_unique<annal::memory_checkpoint>(d.store.last_position());
    r = std::make_unique<Runner<annal::memory_store>>(d.store, *c, [&d] { return d.now; });
  }
  return *r;
}

// A step that finds no event and no deadline due: the cost of each tick of a live runner.
template <template <class> class Runner>
void tick(benchmark::State& state) {
  const std::uint64_t n = static_cast<std::uint64_t>(state.range(0));
  deadline_store& d = store_of(n, 0);
  auto& r = runner_of<Runner>(d);
  for (auto _ : state) benchmark::DoNotOptimize(r.step());
  if (d.store.last_position() != 3 * n) state.SkipWithError("a tick wrote something");
}

// The floor of the peek alone: the earliest of n deadlines in a priority queue, against the clock.
void peek_queue(benchmark::State& state) {
  const std::uint64_t n = static_cast<std::uint64_t>(state.range(0));
  std::priority_queue<time_point, std::vector<time_point>, std::greater<>> queue;
  const time_point first = annal::clock::now() + std::chrono::hours(24);
  for (std::uint64_t i = 0; i < n; ++i) queue.push(first + std::chrono::microseconds(i));
  const time_point now = first - std::chrono::microseconds(1);
  for (auto _ : state) {
    benchmark::DoNotOptimize(queue.top() <= now);
    benchmark::ClobberMemory();
  }
}
// The same peek at the begin of a std::multimap, the runner's index.
void peek_multimap(benchmark::State& state) {
  const std::uint64_t n = static_cast<std::uint64_t>(state.range(0));
  std::multimap<time_point, std::string> index;
  const time_point first = annal::clock::now() + std::chrono::hours(24);
  for (std::uint64_t i = 0; i < n; ++i)
    index.emplace_hint(index.end(), first + std::chrono::microseconds(i), "v" + std::to_string(i));
  const time_point now = first - std::chrono::microseconds(1);
  for (auto _ : state) {
    benchmark::DoNotOptimize(index.begin()->first <= now);
    benchmark::ClobberMemory();
  }
}

// A step that delivers one deadline (the next one falls due each iteration): the instance loaded,
// the job dispatched, the next attempt and its deadline appended; the step after reads those back
// and indexes the new deadline, so one iteration is one delivery's whole cost.
template <template <class> class Runner>
void deliver(benchmark::State& state) {
  const std::uint64_t n = static_cast<std::uint64_t>(state.range(0));
  deadline_store& d = store_of(n, Runner<annal::memory_store>::use);
  auto& r = runner_of<Runner>(d);
  std::uint64_t delivered = 0;
  for (auto _ : state) {
    d.now += std::chrono::microseconds(1);
    r.step();
    ++delivered;
  }
  if (d.now >= d.first_due + std::chrono::microseconds(n))
    state.SkipWithError("ran out of deadlines; lower the iterations");
  benchmark::DoNotOptimize(delivered);
}

// The runner's start with n deadlines pending: the log read up to the checkpoint and every
// deadline's marker put in the time index.
template <template <class> class Runner>
void start(benchmark::State& state) {
  const std::uint64_t n = static_cast<std::uint64_t>(state.range(0));
  deadline_store& d = store_of(n, 0);
  annal::memory_checkpoint checkpoint(d.store.last_position());
  for (auto _ : state) {
    Runner<annal::memory_store> r(d.store, checkpoint, [&d] { return d.now; });
    benchmark::DoNotOptimize(&r);
  }
  state.counters["items"] = static_cast<double>(n);
}

template <class S>
struct floor_tick : floor_runner<S> {
  static constexpr int use = 1;
  using floor_runner<S>::floor_runner;
};
template <class S>
struct annal_tick : annal_runner<S> {
  static constexpr int use = 2;
  using annal_runner<S>::annal_runner;
};

void tick_floor(benchmark::State& s) {
  tick<floor_tick>(s);
}
void tick_annal(benchmark::State& s) {
  tick<annal_tick>(s);
}
void deliver_floor(benchmark::State& s) {
  deliver<floor_tick>(s);
}
void deliver_annal(benchmark::State& s) {
  deliver<annal_tick>(s);
}
void start_floor(benchmark::State& s) {
  start<floor_tick>(s);
}
void start_annal(benchmark::State& s) {
  start<annal_tick>(s);
}

const auto sizes = [](benchmark::internal::Benchmark* b) {
  b->Arg(1000)->Arg(static_cast<std::int64_t>(deadline_count));
};

BENCHMARK(tick_floor)->Name("tick/floor")->Apply(sizes)->Unit(benchmark::kNanosecond);
BENCHMARK(tick_annal)->Name("tick/annal")->Apply(sizes)->Unit(benchmark::kNanosecond);
BENCHMARK(peek_queue)->Name("peek/floor")->Apply(sizes)->Unit(benchmark::kNanosecond);
BENCHMARK(peek_multimap)->Name("peek/multimap")->Apply(sizes)->Unit(benchmark::kNanosecond);
BENCHMARK(deliver_floor)
    ->Name("deliver/floor")
    ->Arg(static_cast<std::int64_t>(deadline_count))
    ->Iterations(50000)
    ->Unit(benchmark::kNanosecond)
    ->UseRealTime();
BENCHMARK(deliver_annal)
    ->Name("deliver/annal")
    ->Arg(static_cast<std::int64_t>(deadline_count))
    ->Iterations(50000)
    ->Unit(benchmark::kNanosecond)
    ->UseRealTime();
BENCHMARK(start_floor)
    ->Name("start/floor")
    ->Arg(static_cast<std::int64_t>(deadline_count))
    ->Iterations(1)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK(start_annal)
    ->Name("start/annal")
    ->Arg(static_cast<std::int64_t>(deadline_count))
    ->Iterations(1)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

}  // namespace

ANNAL_BENCH_MAIN()
