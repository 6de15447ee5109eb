// new_event_id() beside the plain library: Boost.UUID's random_generator, which asks the operating
// system for 16 bytes each time (as new_event_id did before it pooled its entropy).
#include <benchmark/benchmark.h>

#include <boost/uuid/random_generator.hpp>

#include <annal/runtime/new_event_id.hpp>

#include "common/ratio_reporter.hpp"

namespace {

void ids_floor(benchmark::State& state) {
  boost::uuids::random_generator generate;
  for (auto _ : state) benchmark::DoNotOptimize(generate());
  state.SetItemsProcessed(state.iterations());
}

void ids_annal(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(annal::new_event_id());
  state.SetItemsProcessed(state.iterations());
}

}  // namespace

BENCHMARK(ids_floor)->Name("new_event_id/floor")->Unit(benchmark::kNanosecond);
BENCHMARK(ids_annal)->Name("new_event_id/annal")->Unit(benchmark::kNanosecond);
BENCHMARK(ids_annal)->Name("new_event_id/annal")->Unit(benchmark::kNanosecond)->Threads(2);
BENCHMARK(ids_floor)->Name("new_event_id/floor")->Unit(benchmark::kNanosecond)->Threads(2);

ANNAL_BENCH_MAIN();
