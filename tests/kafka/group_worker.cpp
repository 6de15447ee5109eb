// A worker process for the Kafka consumer-group process test: one kafka_group_projector of the
// ledger projection, each partition's read model a postgres_read_model "ledger/<p>", until SIGTERM.
// Prints "assigned p..." / "revoked p..." on each rebalance, "skipped N" when the count of messages
// skipped below a stored offset grows, and "duplicates_skipped N" at exit.
// Usage: group_worker <bootstrap> <conninfo> <schema> <group> <topic>
// (<schema>: the store's schema, which holds the checkpoints; the ledger is <schema>_ledger)
#include <signal.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <annal/kafka/group_projector.hpp>
#include <annal/postgres/read_model.hpp>

using namespace std::chrono_literals;

#include "common/worker_main.hpp"
#include "projection/lease_ledger.hpp"

namespace {

using ledger_model = annal::postgres_read_model<lease_ledger::ledger_sql>;

void print_partitions(const char* what, const std::vector<std::int32_t>& partitions) {
  std::string line = what;
  for (const std::int32_t p : partitions) line += " " + std::to_string(p);
  std::printf("%s\n", line.c_str());
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 6) {
    std::fprintf(stderr, "usage: %s bootstrap conninfo schema group topic\n", argv[0]);
    return 2;
  }
  const sigset_t term = annal_test::block_sigterm();
  annal::set_log_handler([](annal::log_level level, std::string_view message) {
    if (level < annal::log_level::warning) return;
    std::printf("log %.*s\n", static_cast<int>(message.size()), message.data());
    std::fflush(stdout);
  });
  try {
    annal::postgres_options o;
    o.connection = argv[2];
    o.schema = argv[3];
    o.payload_format = annal::postgres_payload_format::bytea;
    o.pool_size = 2;
    annal::postgres_store store{o};
    const std::string ledger_schema = std::string(argv[3]) + "_ledger";
    // Each partition's read model, made the first time Kafka assigns the partition. The tables are
    // the same for all: migrated once, here. Not in the rebalance callback: a migration locks the
    // checkpoint row, which a paused member's open batch may hold. idle_timeout (the session
    // timeout) has the server end such a batch, so the partition's next owner goes on.
    std::map<std::int32_t, std::unique_ptr<ledger_model>> models;
    const auto model_of = [&](std::int32_t p) -> ledger_model& {
      auto& model = models[p];
      if (!model)
        model = std::make_unique<ledger_model>(
            store, annal::postgres_read_model_options{.name = "ledger/" + std::to_string(p),
                                                      .schema = ledger_schema,
                                                      .idle_timeout = 6000ms});
      return *model;
    };
    model_of(0).migrate();
    annal::kafka_group_projector<ledger_model> live{
        {.topic = argv[5],
         .group_id = argv[4],
         .properties = {{"bootstrap.servers", argv[1]},
                        {"session.timeout.ms", "6000"},
                        {"heartbeat.interval.ms", "500"}},
         .batch_size = 64,
         .on_assigned = [](const auto& p) { print_partitions("assigned", p); },
         .on_revoked = [](const auto& p) { print_partitions("revoked", p); }},
        model_of};
    std::exception_ptr failure;
    try {
      annal_test::run_until_sigterm(term, [&](std::stop_token stop) {
        // live.run(stop), printing the skipped count whenever it grows.
        for (std::uint64_t reported = 0; !stop.stop_requested();) {
          live.poll();
          if (live.duplicates_skipped() == reported) continue;
          reported = live.duplicates_skipped();
          std::printf("skipped %llu\n", static_cast<unsigned long long>(reported));
          std::fflush(stdout);
        }
      });
    } catch (...) {
      failure = std::current_exception();
    }
    std::printf("duplicates_skipped %llu\n",
                static_cast<unsigned long long>(live.duplicates_skipped()));
    std::fflush(stdout);
    if (failure) std::rethrow_exception(failure);
    std::printf("stopped\n");
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "group_worker %s: %s\n", argv[4], e.what());
    return 1;
  }
}
