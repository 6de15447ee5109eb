// Tests for projection/reactor.hpp: reactors see live events only, never replays or rebuilds.
#include <annal/file/checkpoint.hpp>
#include <annal/projection/projector.hpp>
#include <annal/projection/reactor.hpp>
#include <annal/projection/rebuild.hpp>
#include <annal/store/memory.hpp>

#include <catch2/catch.hpp>

#include <type_traits>
#include <utility>

#include "projection/domain.hpp"
#include "snapshot/temp_dir.hpp"

TEST_CASE("a new reactor starts from now: history sends no email", "[projection][reactor]") {
  annal::memory_store store;
  proj::append(store, "acc-1", bank::deposited{100}, bank::deposited{200});

  proj::mailer mailer;
  annal::memory_checkpoint checkpoint;
  annal::reactor_runner runner{store, mailer, checkpoint};
  CHECK(checkpoint.load() == 2u);
  CHECK(runner.step() == 0);
  CHECK(mailer.sent.empty());

  proj::append(store, "acc-1", bank::withdrawn{1}, bank::deposited{300});
  CHECK(runner.step() == 1);  // the withdrawal is not the mailer's: passed over, not read
  CHECK(mailer.sent == std::vector<std::string>{"acc-1:300"});
  CHECK(checkpoint.load() == 4u);
}

TEST_CASE("replays and rebuilds of projections never invoke a reactor",
          "[projection][reactor][rebuild]") {
  annal::memory_store store;
  for (int i = 1; i <= 50; ++i)
    proj::append(store, "acc-" + std::to_string(i % 5), bank::deposited{i});

  proj::mailer mailer;
  annal::memory_checkpoint checkpoint;
  annal::reactor_runner runner{
      store, mailer, checkpoint, {.start = annal::reactor_start::from_now}};

  // A full replay through a projector, a rebuild on one worker and on three.
  annal::memory_read_model<proj::balances> model;
  annal::projector{store, model}.catch_up();
  annal::rebuild<proj::balances>(store);
  annal::rebuild_and_swap(store, model, {.workers = 3});
  runner.step();
  CHECK(mailer.sent.empty());

  // Only a projection may be rebuilt (compile_fail/projection_rebuild_reactor.cpp proves the
  // error): reactors and types with both kinds of handler are not projections.
  STATIC_REQUIRE_FALSE(annal::projection<proj::mailer>);
  STATIC_REQUIRE_FALSE(annal::projection<proj::confused>);

  proj::append(store, "acc-1", bank::deposited{7});
  runner.step();
  CHECK(mailer.sent == std::vector<std::string>{"acc-1:7"});
}

TEST_CASE("a reactor from the beginning with a file checkpoint resumes where it stopped",
          "[projection][reactor][checkpoint]") {
  test::temp_dir dir;
  annal::memory_store store;
  for (int i = 1; i <= 5; ++i) proj::append(store, "acc-1", bank::deposited{i});
  {
    proj::mailer mailer;
    annal::file_checkpoint checkpoint{dir.path() / "mailer.checkpoint"};
    annal::reactor_runner runner{store,
                                 mailer,
                                 checkpoint,
                                 {.batch_size = 2,
                                  .start = annal::reactor_start::from_beginning,
                                  .checkpoint_each_event = true}};
    CHECK(runner.step() == 2);
    CHECK(mailer.sent.size() == 2);
  }
  proj::mailer mailer;
  annal::file_checkpoint checkpoint{dir.path() / "mailer.checkpoint"};
  annal::reactor_runner runner{store, mailer,
                               checkpoint};  // the saved checkpoint wins over `start`
  CHECK(runner.catch_up() == 3);
  CHECK(mailer.sent == std::vector<std::string>{"acc-1:3", "acc-1:4", "acc-1:5"});
}

namespace {
struct flaky_mailer {
  using events = annal::events<bank::deposited>;
  int failures_left = 1;
  std::vector<long> sent;
  void react(const bank::deposited& e) {
    if (e.cents == 2 && failures_left-- > 0) throw std::runtime_error("smtp timeout");
    sent.push_back(e.cents);
  }
};
}  // namespace

TEST_CASE("a failing reactor stops before the event and retries it",
          "[projection][reactor][failure]") {
  annal::memory_store store;
  flaky_mailer mailer;
  annal::memory_checkpoint checkpoint;
  annal::reactor_runner runner{store, mailer, checkpoint};
  proj::append(store, "acc-1", bank::deposited{1}, bank::deposited{2}, bank::deposited{3});
  CHECK_THROWS_WITH(runner.step(), Catch::Contains("reactor handler failed") &&
                                       Catch::Contains("version 2") &&
                                       Catch::Contains("smtp timeout"));
  CHECK(checkpoint.load() == 1u);
  runner.step();
  CHECK(mailer.sent == std::vector<long>{1, 2, 3});
}

namespace {
// The store comes first, as in every call that feeds something from a store (docs/api.md).
template <class... A>
constexpr bool runner_deduces = requires(A&... a) { annal::reactor_runner{a...}; };
}  // namespace

TEST_CASE("a reactor runner takes the store first", "[projection][reactor][api]") {
  STATIC_REQUIRE(runner_deduces<const annal::memory_store, proj::mailer, annal::memory_checkpoint>);
  STATIC_REQUIRE_FALSE(
      runner_deduces<proj::mailer, const annal::memory_store, annal::memory_checkpoint>);
  STATIC_REQUIRE(
      std::is_same_v<
          decltype(annal::reactor_runner{std::declval<const annal::memory_store&>(),
                                         std::declval<proj::mailer&>(),
                                         std::declval<annal::memory_checkpoint&>()}),
          annal::reactor_runner<annal::memory_store, proj::mailer, annal::memory_checkpoint>>);
}
