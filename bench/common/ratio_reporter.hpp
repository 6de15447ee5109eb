// A Google Benchmark reporter that prints, after the usual table, each result beside its floor.
// Naming convention: "<group>/<variant>[/args]"; the variant named "floor" is the baseline of its
// group, so "hydrate_mix4/annal" is compared with "hydrate_mix4/floor".
#pragma once

#include <benchmark/benchmark.h>

#include <cstdio>
#include <map>
#include <string>
#include <vector>

namespace annal_bench {

class ratio_reporter : public benchmark::ConsoleReporter {
 public:
  void ReportRuns(const std::vector<Run>& runs) override {
    ConsoleReporter::ReportRuns(runs);
    for (const Run& run : runs) {
      if (run.run_type != Run::RT_Iteration || run.error_occurred) continue;
      const std::string name = run.benchmark_name();
      const auto first = name.find('/');
      if (first == std::string::npos) continue;
      const auto second = name.find('/', first + 1);
      const std::string group =
          name.substr(0, first) + (second == std::string::npos ? "" : name.substr(second));
      const std::string variant = name.substr(
          first + 1, second == std::string::npos ? std::string::npos : second - first - 1);
      const double per_item =
          run.GetAdjustedRealTime() /
          (run.counters.count("items") ? double(run.counters.at("items")) : 1.0);
      results_[group].push_back({variant, per_item, run.time_unit});
    }
  }

  void Finalize() override {
    ConsoleReporter::Finalize();
    std::printf("\n%-40s %-22s %14s %10s\n", "group", "variant", "time/item", "vs floor");
    for (const auto& [group, rows] : results_) {
      double floor = 0;
      for (const auto& r : rows)
        if (r.variant == "floor") floor = r.time;
      for (const auto& r : rows) {
        std::printf("%-40s %-22s %11.3f %-2s", group.c_str(), r.variant.c_str(), r.time,
                    benchmark::GetTimeUnitString(r.unit));
        if (floor > 0)
          std::printf(" %9.2fx\n", r.time / floor);
        else
          std::printf(" %10s\n", "-");
      }
    }
  }

 private:
  struct row {
    std::string variant;
    double time;
    benchmark::TimeUnit unit;
  };
  std::map<std::string, std::vector<row>> results_;
};

}  // namespace annal_bench

// main() for a benchmark binary that reports ratios to the floor.
#define ANNAL_BENCH_MAIN()                        \
  int main(int argc, char** argv) {               \
    benchmark::Initialize(&argc, argv);           \
    annal_bench::ratio_reporter reporter;         \
    benchmark::RunSpecifiedBenchmarks(&reporter); \
    benchmark::Shutdown();                        \
    return 0;                                     \
  }
