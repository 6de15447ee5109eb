// Rebuild rate of a simple in-memory read model (a total per account) from the file log: a
// hand-written read_all loop decoding with binary_codec into a map (the floor) against
// annal::rebuild on 1 and 2 workers, over 2M events in 1000 streams. Then live processing: today's
// projector catching a memory read model up against partitioned_projector on 1, 2 and 4 workers.
#include <annal/codec/binary.hpp>
#include <annal/file/log.hpp>
#include <annal/projection/partitioned_runner.hpp>
#include <annal/projection/projector.hpp>
#include <annal/projection/rebuild.hpp>
#include <annal/store/memory.hpp>

#include <cstdint>
#include <deque>
#include <filesystem>
#include <string>
#include <unordered_map>
#include <vector>

#include <benchmark/benchmark.h>
#include <boost/hana/define_struct.hpp>

#include "common/ratio_reporter.hpp"

namespace bench {

constexpr std::uint64_t event_count = 2'000'000;
constexpr std::uint64_t streams = 1000;

struct deposited {
  BOOST_HANA_DEFINE_STRUCT(deposited, (std::int64_t, cents));
};
struct withdrawn {
  BOOST_HANA_DEFINE_STRUCT(withdrawn, (std::int64_t, cents));
};
ANNAL_EVENT(deposited, "bench.deposited", 1);
ANNAL_EVENT(withdrawn, "bench.withdrawn", 1);

struct totals {
  using events = annal::events<deposited, withdrawn>;
  std::unordered_map<std::string, std::int64_t> balance;
  void on(const deposited& e, const annal::envelope_header& h) { balance[h.stream_id] += e.cents; }
  void on(const withdrawn& e, const annal::envelope_header& h) { balance[h.stream_id] -= e.cents; }
  void merge(totals&& shard) { balance.merge(shard.balance); }
};

template <class Store>
void fill(Store& store) {
  std::vector<annal::event_data> batch(10);
  for (std::uint64_t i = 0; i < event_count; i += batch.size()) {
    for (std::size_t j = 0; j < batch.size(); ++j) {
      const bool out = (i + j) % 5 == 0;
      batch[j].id = annal::new_event_id();
      batch[j].type = out ? "bench.withdrawn" : "bench.deposited";
      batch[j].payload.clear();
      annal::binary_codec::encode(deposited{static_cast<std::int64_t>((i + j) % 1000)},
                                  batch[j].payload);
    }
    store.append("account-" + std::to_string((i / batch.size()) % streams),
                 annal::expected_version::any(), batch);
  }
}

struct file_fixture {
  std::filesystem::path dir = std::filesystem::temp_directory_path() / "annal-bench-projection";
  std::unique_ptr<annal::file_log> log;
  file_fixture() {
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    log = std::make_unique<annal::file_log>(
        dir, annal::file_log_options{.sync = annal::durability::none, .verify_reads = false});
    fill(*log);
    log->sync();
  }
  ~file_fixture() {
    log.reset();
    std::filesystem::remove_all(dir);
  }
};

struct memory_fixture {
  annal::memory_store store;
  memory_fixture() { fill(store); }
};

template <class Fixture>
Fixture& data() {
  static Fixture f;
  return f;
}

template <class Store>
void floor_loop(benchmark::State& state, const Store& store) {
  for (auto _ : state) {
    std::unordered_map<std::string, std::int64_t> balance;
    store.read_all(1, [&](const annal::recorded_event& e) {
      if (e.type == "bench.deposited")
        balance[e.stream_id] += annal::binary_codec::decode<deposited>(e.payload).cents;
      else if (e.type == "bench.withdrawn")
        balance[e.stream_id] -= annal::binary_codec::decode<withdrawn>(e.payload).cents;
    });
    benchmark::DoNotOptimize(balance.size());
  }
  state.counters["items"] = event_count;
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * event_count));
}

template <std::size_t workers, class Store>
void annal_rebuild(benchmark::State& state, const Store& store) {
  for (auto _ : state) {
    auto r = annal::rebuild<totals>(store, {.workers = workers});
    benchmark::DoNotOptimize(r.model.balance.size());
  }
  state.counters["items"] = event_count;
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * event_count));
}

// A fresh read model per iteration, caught up by one projector: the baseline of live processing.
template <class Store>
void live_projector(benchmark::State& state, const Store& store) {
  for (auto _ : state) {
    annal::memory_read_model<totals> model;
    annal::projector{store, model}.catch_up();
    benchmark::DoNotOptimize(model.checkpoint());
  }
  state.counters["items"] = event_count;
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * event_count));
}

// The same with K partitions: K threads, each reading the whole log and applying its streams.
template <std::size_t workers, class Store>
void live_partitioned(benchmark::State& state, const Store& store) {
  for (auto _ : state) {
    std::deque<annal::memory_read_model<totals>> models(workers);
    std::vector<annal::memory_read_model<totals>*> parts;
    for (auto& m : models) parts.push_back(&m);
    annal::partitioned_projector live{store, parts};
    live.catch_up();
    benchmark::DoNotOptimize(live.checkpoint());
  }
  state.counters["items"] = event_count;
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * event_count));
}

void file_floor(benchmark::State& s) {
  floor_loop(s, *data<file_fixture>().log);
}
void file_annal_1(benchmark::State& s) {
  annal_rebuild<1>(s, *data<file_fixture>().log);
}
void file_annal_2(benchmark::State& s) {
  annal_rebuild<2>(s, *data<file_fixture>().log);
}
void memory_floor(benchmark::State& s) {
  floor_loop(s, data<memory_fixture>().store);
}
void memory_annal_1(benchmark::State& s) {
  annal_rebuild<1>(s, data<memory_fixture>().store);
}
void memory_annal_2(benchmark::State& s) {
  annal_rebuild<2>(s, data<memory_fixture>().store);
}

void memory_live_projector(benchmark::State& s) {
  live_projector(s, data<memory_fixture>().store);
}
template <std::size_t workers>
void memory_live_partitioned(benchmark::State& s) {
  live_partitioned<workers>(s, data<memory_fixture>().store);
}
void file_live_projector(benchmark::State& s) {
  live_projector(s, *data<file_fixture>().log);
}
template <std::size_t workers>
void file_live_partitioned(benchmark::State& s) {
  live_partitioned<workers>(s, *data<file_fixture>().log);
}

BENCHMARK(file_floor)->Name("rebuild_file_log/floor")->Unit(benchmark::kNanosecond)->UseRealTime();
BENCHMARK(file_annal_1)
    ->Name("rebuild_file_log/annal_1_worker")
    ->Unit(benchmark::kNanosecond)
    ->UseRealTime();
BENCHMARK(file_annal_2)
    ->Name("rebuild_file_log/annal_2_workers")
    ->Unit(benchmark::kNanosecond)
    ->UseRealTime();
BENCHMARK(memory_floor)->Name("rebuild_memory/floor")->Unit(benchmark::kNanosecond)->UseRealTime();
BENCHMARK(memory_annal_1)
    ->Name("rebuild_memory/annal_1_worker")
    ->Unit(benchmark::kNanosecond)
    ->UseRealTime();
BENCHMARK(memory_annal_2)
    ->Name("rebuild_memory/annal_2_workers")
    ->Unit(benchmark::kNanosecond)
    ->UseRealTime();

BENCHMARK(memory_live_projector)
    ->Name("live_memory/projector")
    ->Unit(benchmark::kNanosecond)
    ->UseRealTime();
BENCHMARK(memory_live_partitioned<1>)
    ->Name("live_memory/partitioned_1_worker")
    ->Unit(benchmark::kNanosecond)
    ->UseRealTime();
BENCHMARK(memory_live_partitioned<2>)
    ->Name("live_memory/partitioned_2_workers")
    ->Unit(benchmark::kNanosecond)
    ->UseRealTime();
BENCHMARK(memory_live_partitioned<4>)
    ->Name("live_memory/partitioned_4_workers")
    ->Unit(benchmark::kNanosecond)
    ->UseRealTime();
BENCHMARK(file_live_projector)
    ->Name("live_file_log/projector")
    ->Unit(benchmark::kNanosecond)
    ->UseRealTime();
BENCHMARK(file_live_partitioned<1>)
    ->Name("live_file_log/partitioned_1_worker")
    ->Unit(benchmark::kNanosecond)
    ->UseRealTime();
BENCHMARK(file_live_partitioned<2>)
    ->Name("live_file_log/partitioned_2_workers")
    ->Unit(benchmark::kNanosecond)
    ->UseRealTime();
BENCHMARK(file_live_partitioned<4>)
    ->Name("live_file_log/partitioned_4_workers")
    ->Unit(benchmark::kNanosecond)
    ->UseRealTime();

}  // namespace bench

ANNAL_BENCH_MAIN()
