// Concurrency tests (run under ThreadSanitizer in CI): live projectors woken by appends, readers
// beside writers, partitioned rebuilds, rebuild-and-swap under load.
#include <annal/projection/projector.hpp>
#include <annal/projection/reactor.hpp>
#include <annal/projection/rebuild.hpp>
#include <annal/projection/reconcile.hpp>
#include <annal/store/memory.hpp>
#include <annal/store/subscription.hpp>

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "common/eventually.hpp"
#include "projection/domain.hpp"

using namespace std::chrono_literals;

using annal_test::eventually;

namespace {

void write_deposits(annal::memory_store& store, int writer, int count) {
  for (int i = 1; i <= count; ++i)
    proj::append(store, "acc-" + std::to_string(writer) + "-" + std::to_string(i % 7),
                 bank::deposited{i});
}

}  // namespace

TEST_CASE("a live projector follows concurrent writers while readers query",
          "[projection][concurrency]") {
  annal::memory_store store;
  annal::memory_read_model<proj::balances> model;
  // [live]
  annal::projector projector{store, model, {.batch_size = 64}};
  std::jthread live([&](std::stop_token stop) { projector.run(stop); });
  // [live]

  std::atomic<bool> writing{true};
  std::jthread reader([&] {
    while (writing.load())
      model.read([](const proj::balances& b, std::uint64_t) { return b.deposits; });
  });
  {
    std::jthread w1([&] { write_deposits(store, 1, 500); });
    std::jthread w2([&] { write_deposits(store, 2, 500); });
  }
  writing = false;
  REQUIRE(eventually([&] { return projector.checkpoint() == store.last_position(); }));
  live.request_stop();
  live.join();
  CHECK(model.read([](const proj::balances& b, std::uint64_t) { return b.deposits; }) == 1000);
  CHECK(annal::reconcile_with_log(store, model).matches());
}

TEST_CASE("a live subscription and reactor are woken by appends",
          "[projection][concurrency][subscription]") {
  annal::memory_store store;
  std::atomic<std::uint64_t> delivered{0};
  annal::subscription sub{store};
  std::jthread live([&](std::stop_token stop) {
    sub.run([&](const annal::recorded_event&) { delivered.fetch_add(1); }, stop);
  });
  proj::mailer mailer;
  annal::memory_checkpoint checkpoint;
  annal::reactor_runner runner{store, mailer, checkpoint};
  std::jthread reacting([&](std::stop_token stop) { runner.run(stop); });

  write_deposits(store, 1, 200);
  REQUIRE(eventually([&] { return delivered.load() == 200; }));
  REQUIRE(eventually([&] { return checkpoint.load() == 200u; }));
  reacting.request_stop();
  reacting.join();
  CHECK(mailer.sent.size() == 200);
}

TEST_CASE("a partitioned rebuild keeps each stream in order on 4 workers",
          "[projection][concurrency][partitioned]") {
  annal::memory_store store;
  {
    std::vector<std::jthread> writers;
    for (int w = 0; w < 4; ++w) writers.emplace_back([&, w] { write_deposits(store, w, 400); });
  }
  const auto four = annal::rebuild<proj::ordering>(store, {.workers = 4, .batch_size = 256});
  CHECK(four.model.out_of_order == 0);
  CHECK(four.model.last_version.size() == 28);
  const auto one = annal::rebuild<proj::ordering>(store);
  CHECK(annal::reconcile(four.model, one.model).matches());
  const auto balances = annal::rebuild<proj::balances>(store, {.workers = 3, .batch_size = 100});
  CHECK(balances.model.deposits == 1600);
}

TEST_CASE("a failing handler in one partition stops the whole partitioned run",
          "[projection][concurrency][failure]") {
  annal::memory_store store;
  for (int i = 0; i < 2000; ++i)
    proj::append(store, "acc-" + std::to_string(i % 13), bank::deposited{i == 1500 ? 13 : 1});

  struct fragile_sharded : proj::fragile {
    void merge(fragile_sharded&& o) { total += o.total, seen += o.seen; }
  };
  proj::armed = true;
  CHECK_THROWS_WITH(annal::rebuild<fragile_sharded>(store, {.workers = 4, .batch_size = 128}),
                    Catch::Contains("thirteen is unlucky"));
}

TEST_CASE("rebuild and swap while the old model serves and its projector runs live",
          "[projection][concurrency][rebuild]") {
  annal::memory_store store;
  write_deposits(store, 1, 300);
  annal::memory_read_model<proj::balances> model;
  annal::projector projector{store, model};
  projector.catch_up();
  model.update(
      [](proj::balances& b, std::uint64_t&) { b.balance["acc-1-3"] = -999; });  // a bug's mark

  std::jthread live([&](std::stop_token stop) { projector.run(stop); });
  std::atomic<bool> serving{true};
  std::atomic<std::uint64_t> reads{0};
  std::jthread reader([&] {
    while (serving.load()) {
      model.read([](const proj::balances& b, std::uint64_t) { return b.balance.size(); });
      reads.fetch_add(1);
    }
  });
  std::jthread writer([&] { write_deposits(store, 2, 300); });
  std::vector<annal::rebuild_progress> progress;
  const auto result = annal::rebuild_and_swap(
      store, model,
      {.workers = 2, .batch_size = 64, .on_progress = [&](const annal::rebuild_progress& p) {
         progress.push_back(p);
       }});
  writer.join();
  REQUIRE(eventually([&] { return projector.checkpoint() == store.last_position(); }));
  serving = false;
  live.request_stop();
  live.join();
  CHECK(result.checkpoint >= 300);
  CHECK_FALSE(progress.empty());
  CHECK(reads.load() > 0);
  CHECK(model.read([](const proj::balances& b, std::uint64_t) { return b.balance.at("acc-1-3"); }) >
        0);
  CHECK(annal::reconcile_with_log(store, model).matches());
}
