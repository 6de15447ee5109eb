// Tests for projection/reconcile.hpp and rebuild.hpp: digests, differing keys, progress, swaps.
#include <annal/projection/projector.hpp>
#include <annal/projection/rebuild.hpp>
#include <annal/projection/reconcile.hpp>
#include <annal/store/memory.hpp>

#include <catch2/catch.hpp>

#include <string>
#include <type_traits>
#include <unordered_map>

#include "common/invalid_option.hpp"
#include "projection/domain.hpp"

namespace {
void seed(annal::memory_store& store, int accounts, int deposits) {
  for (int d = 1; d <= deposits; ++d)
    for (int a = 0; a < accounts; ++a)
      proj::append(store, "acc-" + std::to_string(a), bank::deposited{d});
}

struct by_number {
  using events = annal::events<bank::deposited>;
  std::unordered_map<std::uint64_t, long> by_position;
  void on(const bank::deposited& e, const annal::envelope_header& h) {
    by_position[h.position] = e.cents;
  }
};
}  // namespace
BOOST_HANA_ADAPT_STRUCT(by_number, by_position);

TEST_CASE("digests depend on content only; reconcile names the keys that differ",
          "[projection][reconcile]") {
  proj::balances a;
  a.balance = {{"acc-1", 10}, {"acc-2", 20}};
  a.deposits = 2;
  proj::balances b = a;
  CHECK(annal::digest(a) == annal::digest(b));
  CHECK(annal::reconcile(a, b).matches());

  b.balance["acc-2"] = 21;
  b.balance["acc-3"] = 0;
  a.balance["acc-0"] = 5;
  const auto r = annal::reconcile(a, b);
  CHECK_FALSE(r.matches());
  CHECK(r.live_digest != r.fresh_digest);
  CHECK(r.differing_keys ==
        std::vector<std::string>{"balance[acc-0]", "balance[acc-2]", "balance[acc-3]"});

  by_number x, y;
  for (std::uint64_t i = 0; i < 100; ++i) x.by_position[i] = static_cast<long>(i);
  for (std::uint64_t i = 100; i-- > 0;) y.by_position[i] = static_cast<long>(i);
  CHECK(annal::digest(x) == annal::digest(y));  // unordered maps: order does not matter
  y.by_position[42] = 0;
  CHECK(annal::reconcile(x, y).differing_keys == std::vector<std::string>{"by_position[42]"});
}

TEST_CASE("reconcile_with_log recomputes up to the model's checkpoint", "[projection][reconcile]") {
  annal::memory_store store;
  seed(store, 4, 10);
  annal::memory_read_model<proj::balances> model;
  annal::projector projector{store, model, {.batch_size = 8}};
  projector.step();
  projector.step();
  CHECK(annal::reconcile_with_log(store, model).matches());

  // A bug wrote a wrong value: the recomputation finds the key.
  model.update([](proj::balances& b, std::uint64_t&) { b.balance["acc-3"] += 1; });
  const auto r = annal::reconcile_with_log(store, model, {.workers = 2});
  CHECK(r.checkpoint == 16);
  CHECK(r.differing_keys == std::vector<std::string>{"balance[acc-3]"});
}

TEST_CASE("a rebuild reports progress and matches the projector on 1 and 3 workers",
          "[projection][rebuild]") {
  annal::memory_store store;
  seed(store, 7, 300);
  annal::memory_read_model<proj::balances> model;
  annal::projector{store, model}.catch_up();

  std::vector<annal::rebuild_progress> reports;
  const auto one = annal::rebuild<proj::balances>(
      store, {.batch_size = 100,
              .on_progress = [&](const annal::rebuild_progress& p) { reports.push_back(p); },
              .progress_interval = std::chrono::milliseconds{0}});
  CHECK(one.checkpoint == store.last_position());
  CHECK(one.events == store.last_position());
  REQUIRE(reports.size() >= 21);
  CHECK(reports.back().done);
  CHECK(reports.back().fraction() == 1.0);
  CHECK(reports.back().eta.count() == 0.0);
  CHECK(reports[5].position == 600);
  CHECK(reports[5].target == 2100);
  CHECK(reports[5].events_per_second > 0);

  const auto three = annal::rebuild<proj::balances>(store, {.workers = 3, .batch_size = 64});
  CHECK(three.model.balance == one.model.balance);
  CHECK(three.model.deposits == one.model.deposits);
  CHECK(annal::reconcile(three.model, model.copy().first).matches());

  const auto partial = annal::rebuild<proj::balances>(store, {.up_to = 70});
  CHECK(partial.checkpoint == 70);
  CHECK(partial.model.deposits == 70);
}

TEST_CASE("a partitioned rebuild without merge is refused; a failing handler stops it",
          "[projection][rebuild][failure]") {
  annal::memory_store store;
  for (long cents : {1, 2, 13, 4})
    proj::append(store, "acc-" + std::to_string(cents), bank::deposited{cents});
  proj::armed = true;
  CHECK_THROWS_WITH(annal::rebuild<proj::fragile>(store, {.workers = 2}), Catch::Contains("merge"));
  CHECK_THROWS_WITH(annal::rebuild<proj::fragile>(store), Catch::Contains("'acc-13'"));
}

TEST_CASE("a rebuild refuses zero workers and a zero batch size, naming the option",
          "[projection][rebuild][options]") {
  annal::memory_store store;
  proj::append(store, "acc-1", bank::deposited{1});
  CHECK_THROWS_MATCHES(annal::rebuild<proj::balances>(store, {.workers = 0}), annal::error,
                       annal_test::names_invalid_option("rebuild_options::workers", "0"));
  CHECK_THROWS_MATCHES(annal::rebuild<proj::balances>(store, {.batch_size = 0}), annal::error,
                       annal_test::names_invalid_option("rebuild_options::batch_size", "0"));
  CHECK_THROWS_MATCHES(annal::rebuild<proj::balances>(store, {.workers = 2, .batch_size = 0}),
                       annal::error,
                       annal_test::names_invalid_option("rebuild_options::batch_size", "0"));
}

namespace {
// The store comes first, as in every call that feeds something from a store (docs/api.md).
template <class A, class B>
constexpr bool reconciles = requires(const A& a, const B& b) { annal::reconcile_with_log(a, b); };
}  // namespace

TEST_CASE("reconcile_with_log takes the store first", "[projection][reconcile][api]") {
  STATIC_REQUIRE(reconciles<annal::memory_store, annal::memory_read_model<proj::balances>>);
  STATIC_REQUIRE_FALSE(reconciles<annal::memory_read_model<proj::balances>, annal::memory_store>);
}

TEST_CASE("rebuilds take their options by value, as every component does",
          "[projection][rebuild][api]") {
  using model = annal::memory_read_model<proj::balances>;
  STATIC_REQUIRE(
      std::is_same_v<
          decltype(&annal::rebuild<proj::balances, annal::binary_codec, annal::memory_store>),
          annal::rebuilt<proj::balances> (*)(const annal::memory_store&, annal::rebuild_options)>);
  STATIC_REQUIRE(
      std::is_same_v<
          decltype(&annal::rebuild_and_swap<annal::binary_codec, annal::memory_store, model>),
          annal::rebuild_result (*)(const annal::memory_store&, model&, annal::rebuild_options)>);
}
