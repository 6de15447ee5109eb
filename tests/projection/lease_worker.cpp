// A worker process for the multi-process lease test: runs the ledger projection's leased projector
// on a store until SIGTERM, printing each lost segment ("fenced k: ..." when the fence refused a
// batch, "lost k: ..." when a renewal found it taken over).
// Usage: lease_worker <conninfo> <store schema> <ledger schema> <K> <owner> <lease ms> <renew ms>
#include <signal.h>

#include <chrono>
#include <cstdio>
#include <exception>
#include <string>
#include <thread>

#include <annal/postgres/leased_projector.hpp>

#include "common/worker_main.hpp"
#include "projection/lease_ledger.hpp"

int main(int argc, char** argv) {
  if (argc != 8) {
    std::fprintf(stderr,
                 "usage: %s conninfo store-schema ledger-schema K owner lease-ms renew-ms\n",
                 argv[0]);
    return 2;
  }
  const sigset_t term = annal_test::block_sigterm();
  // The worker's wall clock, so that a test moving it (clock_shift.cpp) sees the move took.
  std::printf("clock %lld\n", static_cast<long long>(std::chrono::system_clock::to_time_t(
                                  std::chrono::system_clock::now())));
  std::fflush(stdout);
  try {
    annal::postgres_options o;
    o.connection = argv[1];
    o.schema = argv[2];
    o.payload_format = annal::postgres_payload_format::bytea;
    o.pool_size = 4;
    annal::postgres_store store{o};
    annal::postgres_leased_projector<lease_ledger::ledger_sql> live{
        store,
        {.name = "ledger",
         .schema = argv[3],
         .segments = std::stoul(argv[4]),
         .lease = {.owner = argv[5],
                   .lease = std::chrono::milliseconds(std::stol(argv[6])),
                   .renew_interval = std::chrono::milliseconds(std::stol(argv[7]))},
         .projector = {.batch_size = 64},
         .on_lost = [](std::size_t k, const std::string& why) {
           const bool fenced = why.find("(token ") != std::string::npos;
           std::printf("%s %zu: %s\n", fenced ? "fenced" : "lost", k, why.c_str());
           std::fflush(stdout);
         }}};
    annal_test::run_until_sigterm(term, [&](std::stop_token stop) { live.run(stop); });
    std::printf("stopped\n");
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "lease_worker %s: %s\n", argv[5], e.what());
    return 1;
  }
}
