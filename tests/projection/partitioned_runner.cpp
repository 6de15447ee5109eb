// Partitioned live processing (run under ThreadSanitizer in CI): K workers following the log while
// writers append, each stream's order kept, failures stopping all, restarts from each checkpoint.
#include <annal/file/log.hpp>
#include <annal/projection/partitioned_runner.hpp>
#include <annal/projection/projector.hpp>
#include <annal/projection/reconcile.hpp>
#include <annal/store/memory.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <deque>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "common/eventually.hpp"
#include "projection/domain.hpp"
#include "snapshot/temp_dir.hpp"

using namespace std::chrono_literals;

using annal_test::eventually;

namespace {

struct on_memory {
  annal::memory_store store;
};
struct on_file_log {
  test::temp_dir dir;
  annal::file_log store{dir.path(), annal::file_log_options{.sync = annal::durability::none}};
};

// Balances and per-stream order in one projection: what a partition must keep.
struct ledger {
  using events = annal::events<bank::opened, bank::deposited, bank::withdrawn>;
  proj::balances balances;
  proj::ordering ordering;
  void on(const bank::opened& e, const annal::envelope_header& h) {
    balances.on(e, h);
    ordering.check(h);
  }
  void on(const bank::deposited& e, const annal::envelope_header& h) {
    balances.on(e, h);
    ordering.check(h);
  }
  void on(const bank::withdrawn& e, const annal::envelope_header& h) {
    balances.on(e, h);
    ordering.check(h);
  }
};

template <class Store>
void write_streams(Store& store, int writer, int count, int streams = 37) {
  for (int i = 1; i <= count; ++i)
    proj::append(store, "acc-" + std::to_string(writer) + "-" + std::to_string(i % streams),
                 bank::deposited{i % 100 + 1});
}

template <class M>
std::vector<M*> pointers(std::deque<M>& models) {
  std::vector<M*> out;
  for (auto& m : models) out.push_back(&m);
  return out;
}

// The union of the partitions' models, checked to hold only their own streams, in order.
template <class M>
proj::balances merged(std::deque<M>& models) {
  proj::balances all;
  for (std::size_t k = 0; k < models.size(); ++k) {
    auto [l, checkpoint] = models[k].copy();
    CHECK(l.ordering.out_of_order == 0);
    for (const auto& [stream, version] : l.ordering.last_version)
      CHECK(annal::partition_of(stream, models.size()) == k);
    all.merge(std::move(l.balances));
  }
  return all;
}

}  // namespace

BOOST_HANA_ADAPT_STRUCT(ledger, balances, ordering);

TEMPLATE_TEST_CASE("a partitioned projector follows writers on 1, 2 and 4 workers",
                   "[projection][concurrency][partitioned_runner]", on_memory, on_file_log) {
  const std::size_t k = GENERATE(1u, 2u, 4u);
  TestType on;
  write_streams(on.store, 0, 300);  // some history to catch up on

  std::deque<annal::memory_read_model<ledger>> models(k);
  annal::partitioned_projector live{on.store, pointers(models), {.batch_size = 64}};
  CHECK(live.partitions() == k);
  {
    std::jthread running([&](std::stop_token stop) { live.run(stop); });
    {
      std::jthread w1([&] { write_streams(on.store, 1, 400); });
      std::jthread w2([&] { write_streams(on.store, 2, 400); });
    }
    REQUIRE(eventually([&] { return live.checkpoint() == on.store.last_position(); }));
  }
  for (std::size_t p = 0; p < k; ++p) CHECK(live.checkpoint(p) == on.store.last_position());

  annal::memory_read_model<proj::balances> single;
  annal::projector{on.store, single}.catch_up();
  CHECK(annal::reconcile(merged(models), single.copy().first).matches());
  CHECK(single.copy().first.deposits == 1100);
}

TEMPLATE_TEST_CASE("a partitioned projector restarts from each partition's checkpoint",
                   "[projection][concurrency][partitioned_runner]", on_memory, on_file_log) {
  TestType on;
  auto& store = on.store;
  write_streams(store, 1, 500);
  // [partitioned_projector]
  std::deque<annal::memory_read_model<ledger>> models(3);  // a model and checkpoint per partition
  annal::partitioned_projector live{store, {&models[0], &models[1], &models[2]}};
  live.catch_up();  // 3 workers, joined; or live.run(stop_token) to follow the log
  // [partitioned_projector]
  CHECK(live.checkpoint() == 500);

  // A partition left behind (as after a crash) and new events: each continues from its own place.
  models[1].replace({}, 0);
  write_streams(on.store, 2, 200);
  annal::partitioned_projector again{on.store, pointers(models), {.batch_size = 100}};
  CHECK(again.catch_up() == 700);  // partition 1 read the whole log again, the others 200
  CHECK(again.checkpoint() == 700);

  annal::memory_read_model<proj::balances> single;
  annal::projector{on.store, single}.catch_up();
  CHECK(annal::reconcile(merged(models), single.copy().first).matches());
}

TEST_CASE("a quiet partition's checkpoint passes the other partitions' events",
          "[projection][concurrency][partitioned_runner]") {
  annal::memory_store store;
  std::vector<std::string> busy;  // streams of partition 0 only
  for (int i = 0; busy.size() < 5; ++i)
    if (const std::string s = "acc-" + std::to_string(i); annal::partition_of(s, 2) == 0)
      busy.push_back(s);
  for (int i = 0; i < 300; ++i) proj::append(store, busy[i % busy.size()], bank::deposited{1});

  std::deque<annal::memory_read_model<ledger>> models(2);
  annal::partitioned_projector live{store, pointers(models), {.batch_size = 64}};
  live.catch_up();
  CHECK(live.checkpoint(1) == 300);  // nothing of its own, and nothing left to read again
  CHECK(live.step(1) == 0);
  CHECK(models[1].copy().first.balances.deposits == 0);
  CHECK(models[0].copy().first.balances.deposits == 300);
}

TEST_CASE("a handler failing in one partition stops every worker, its checkpoint before the event",
          "[projection][concurrency][partitioned_runner][failure]") {
  annal::memory_store store;
  for (int i = 1; i <= 2000; ++i)
    proj::append(store, "acc-" + std::to_string(i % 13), bank::deposited{i == 1500 ? 13 : 1});
  const std::size_t bad = annal::partition_of("acc-" + std::to_string(1500 % 13), 4);

  proj::armed = true;
  std::deque<annal::memory_read_model<proj::fragile>> models(4);
  annal::partitioned_projector live{store, pointers(models), {.batch_size = 64}};
  SECTION("catch_up") {
    CHECK_THROWS_WITH(live.catch_up(), Catch::Contains("acc-5") &&
                                           Catch::Contains("position 1500") &&
                                           Catch::Contains("thirteen is unlucky"));
  }
  SECTION("run") {
    std::stop_source never;
    CHECK_THROWS_WITH(live.run(never.get_token()), Catch::Contains("thirteen is unlucky"));
  }
  CHECK(live.checkpoint(bad) == 1499);

  // Fixed: a new run retries the failing event and every partition reaches the end.
  proj::armed = false;
  live.catch_up();
  CHECK(live.checkpoint() == 2000);
  long total = 0;
  for (auto& m : models) total += m.copy().first.total;
  CHECK(total == 1999 + 13);
  proj::armed = true;
}

TEST_CASE("a partitioned projector refuses no partitions and a model given twice",
          "[projection][partitioned_runner][bad_input]") {
  annal::memory_store store;
  annal::memory_read_model<proj::balances> a, b;
  using runner =
      annal::partitioned_projector<annal::memory_store, annal::memory_read_model<proj::balances>>;
  CHECK_THROWS_WITH(runner(store, {}), Catch::Contains("at least one read model"));
  CHECK_THROWS_WITH(runner(store, {&a, &b, &a}),
                    Catch::Contains("partitions 0 and 2 were given the same read model"));
  CHECK_THROWS_WITH(runner(store, {&a, nullptr}), Catch::Contains("partition 1 is null"));
  CHECK_THROWS_WITH(runner(store, {&a}, {.batch_size = 0}), Catch::Contains("batch_size"));
  runner one{store, {&a}};
  CHECK_THROWS_WITH(one.step(1), Catch::Contains("no partition 1 among 1"));
  CHECK_THROWS_WITH(one.checkpoint(1), Catch::Contains("no partition 1 among 1"));
}

TEST_CASE("a partitioned reactor runner reacts to each event once, in each stream's order",
          "[projection][concurrency][partitioned_runner][reactor]") {
  annal::memory_store store;
  write_streams(store, 0, 100);  // before the reactor exists: not reacted to (from_now)
  std::deque<proj::mailer> mailers(3);
  std::deque<annal::memory_checkpoint> checkpoints(3);
  annal::partitioned_reactor_runner runner{store, pointers(mailers), pointers(checkpoints)};
  {
    std::jthread reacting([&](std::stop_token stop) { runner.run(stop); });
    {
      std::jthread w1([&] { write_streams(store, 1, 300); });
      std::jthread w2([&] { write_streams(store, 2, 300); });
    }
    REQUIRE(eventually([&] {
      return std::all_of(checkpoints.begin(), checkpoints.end(),
                         [&](const auto& c) { return c.load() == store.last_position(); });
    }));
  }
  std::size_t sent = 0;
  for (std::size_t k = 0; k < mailers.size(); ++k) {
    sent += mailers[k].sent.size();
    for (const auto& mail : mailers[k].sent)
      CHECK(annal::partition_of(mail.substr(0, mail.find(':')), 3) == k);
  }
  CHECK(sent == 600);

  // A restart with the saved checkpoints repeats nothing.
  annal::partitioned_reactor_runner again{store, pointers(mailers), pointers(checkpoints)};
  again.catch_up();
  sent = 0;
  for (const auto& m : mailers) sent += m.sent.size();
  CHECK(sent == 600);

  CHECK_THROWS_WITH(annal::partitioned_reactor_runner(store, pointers(mailers),
                                                      std::vector<annal::memory_checkpoint*>{}),
                    Catch::Contains("at least one checkpoint store"));
}
