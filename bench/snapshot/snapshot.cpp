// Loading one 1M-event stream: a full replay through the repository (the floor) against a load from
// a snapshot at the stream's head, and from a snapshot 1000 events behind it.
#include <annal/snapshot/memory_snapshot_store.hpp>
#include <annal/snapshot/snapshotter.hpp>
#include <annal/store/memory.hpp>
#include <annal/store/repository.hpp>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>
#include <boost/hana/adapt_struct.hpp>
#include <boost/hana/define_struct.hpp>

#include "common/ratio_reporter.hpp"

namespace bench {

constexpr std::uint64_t event_count = 1'000'000;

struct deposited {
  BOOST_HANA_DEFINE_STRUCT(deposited, (std::int64_t, cents), (std::int32_t, teller));
};
ANNAL_EVENT(deposited, "bench.deposited", 1);

// A state with some shape: a total, a count and a small per-teller table.
struct account {
  using events = annal::events<deposited>;
  std::int64_t balance = 0;
  std::uint64_t deposits = 0;
  std::map<std::int32_t, std::int64_t> by_teller;
  void apply(const deposited& e) {
    balance += e.cents;
    ++deposits;
    by_teller[e.teller] += e.cents;
  }
};

}  // namespace bench

BOOST_HANA_ADAPT_STRUCT(bench::account, balance, deposits, by_teller);

namespace bench {

struct fixture {
  annal::memory_store store;
  annal::memory_snapshot_store head;  // a snapshot at the last event
  annal::memory_snapshot_store tail;  // a snapshot 1000 events before it

  // A load with a policy that always saves leaves a snapshot at the stream's current version.
  void snapshot_into(annal::memory_snapshot_store& snapshots) {
    annal::snapshotter always{snapshots, annal::snapshot_when_slow{std::chrono::nanoseconds{0}}};
    annal::make_repository<account>(store, always).load("account-1");
  }

  fixture() {
    std::vector<annal::event_data> batch(1000);
    for (std::uint64_t i = 0; i < event_count; i += batch.size()) {
      for (std::size_t j = 0; j < batch.size(); ++j) {
        batch[j].id = annal::new_event_id();
        batch[j].type = "bench.deposited";
        batch[j].payload = annal::binary_codec::encode(deposited{
            static_cast<std::int64_t>((i + j) % 977), static_cast<std::int32_t>((i + j) % 16)});
      }
      store.append("account-1", annal::expected_version::any(), batch);
      if (i + batch.size() == event_count - 1000) snapshot_into(tail);
    }
    snapshot_into(head);
  }
};

fixture& data() {
  static fixture f;
  return f;
}

void load_full_replay(benchmark::State& state) {
  auto& f = data();
  annal::repository<account, annal::memory_store> repo{f.store};
  for (auto _ : state) benchmark::DoNotOptimize(repo.load("account-1").state.balance);
  state.counters["items"] = event_count;
}

void load_snapshot_at_head(benchmark::State& state) {
  auto& f = data();
  annal::snapshotter snap{f.head, annal::snapshot_never{}};
  auto repo = annal::make_repository<account>(f.store, snap);
  if (repo.load("account-1").events_replayed != 0) state.SkipWithError("the snapshot was not used");
  for (auto _ : state) benchmark::DoNotOptimize(repo.load("account-1").state.balance);
  state.counters["items"] = event_count;
}

void load_snapshot_1000_behind(benchmark::State& state) {
  auto& f = data();
  annal::snapshotter snap{f.tail, annal::snapshot_never{}};
  auto repo = annal::make_repository<account>(f.store, snap);
  if (repo.load("account-1").events_replayed != 1000)
    state.SkipWithError("the snapshot was not used");
  for (auto _ : state) benchmark::DoNotOptimize(repo.load("account-1").state.balance);
  state.counters["items"] = event_count;
}

BENCHMARK(load_full_replay)->Name("load_1m/floor")->Unit(benchmark::kNanosecond);
BENCHMARK(load_snapshot_at_head)->Name("load_1m/snapshot_at_head")->Unit(benchmark::kNanosecond);
BENCHMARK(load_snapshot_1000_behind)
    ->Name("load_1m/snapshot_1000_behind")
    ->Unit(benchmark::kNanosecond);

}  // namespace bench

ANNAL_BENCH_MAIN()
