// Tests for projection/projection.hpp, projector.hpp, read_model.hpp and file_read_model.hpp:
// concept checks, batches, checkpoints, handler failures and retries, atomic model + checkpoint.
#include <annal/file/checkpoint.hpp>
#include <annal/file/read_model.hpp>
#include <annal/projection/projector.hpp>
#include <annal/projection/reactor.hpp>
#include <annal/projection/read_model.hpp>
#include <annal/store/memory.hpp>

#include <catch2/catch.hpp>

#include <fstream>
#include <string>

#include "projection/domain.hpp"
#include "snapshot/temp_dir.hpp"

namespace {

// Handles closings but does not list them: the handler would never be called.
struct forgetful {
  using events = annal::events<bank::opened>;
  void on(const bank::opened&) {}
  void on(const bank::closed&) {}
};
// Lists what it handles, and counts every other event through a handler template of its own.
struct counting {
  using events = annal::events<bank::opened, bank::closed>;
  std::uint64_t seen = 0;
  template <class E>
  void on(const E&) {
    ++seen;
  }
};

void seed(annal::memory_store& store, int accounts, int deposits) {
  for (int a = 0; a < accounts; ++a)
    proj::append(store, "acc-" + std::to_string(a), bank::opened{"x"});
  for (int d = 1; d <= deposits; ++d)
    for (int a = 0; a < accounts; ++a)
      proj::append(store, "acc-" + std::to_string(a), bank::deposited{d});
}

}  // namespace

TEST_CASE("the projection and reactor concepts tell the kinds apart", "[projection][concept]") {
  STATIC_REQUIRE(annal::projection<proj::balances>);
  STATIC_REQUIRE(annal::projection<proj::fragile>);
  STATIC_REQUIRE_FALSE(annal::projection<proj::mailer>);
  STATIC_REQUIRE_FALSE(annal::projection<proj::confused>);
  STATIC_REQUIRE_FALSE(
      annal::projection<forgetful>);  // tests/compile_fail/projection_on_unlisted_event.cpp
  STATIC_REQUIRE(annal::projection<counting>);
  STATIC_REQUIRE(annal::reactor<proj::mailer>);
  STATIC_REQUIRE_FALSE(annal::reactor<proj::balances>);
  STATIC_REQUIRE(annal::handles<proj::balances, bank::deposited>);
  STATIC_REQUIRE_FALSE(annal::handles<proj::balances, bank::closed>);
  STATIC_REQUIRE(annal::read_model_store<annal::memory_read_model<proj::balances>>);
  STATIC_REQUIRE(annal::read_model_store<annal::file_read_model<proj::balances>>);
  STATIC_REQUIRE(annal::checkpoint_store<annal::memory_checkpoint>);
  STATIC_REQUIRE(annal::checkpoint_store<annal::file_checkpoint>);
}

TEST_CASE("a projector applies the log in batches and keeps its checkpoint",
          "[projection][projector]") {
  annal::memory_store store;
  seed(store, 3, 10);
  proj::append(store, "acc-0", bank::closed{"bye"});  // not in the projection's list: skipped

  // [projector]
  annal::memory_read_model<proj::balances> model;
  annal::projector projector{store, model, {.batch_size = 7}};
  // [projector]
  CHECK(projector.step() == 7);
  CHECK(projector.checkpoint() == 7);
  // The closing at the end is not the projection's: passed over, not applied.
  CHECK(projector.catch_up() == store.last_position() - 8);
  CHECK(projector.checkpoint() == store.last_position());
  CHECK(projector.step() == 0);
  model.read([](const proj::balances& b, std::uint64_t) {
    CHECK(b.balance.size() == 3);
    CHECK(b.balance.at("acc-1") == 55);
    CHECK(b.deposits == 30);
  });

  proj::append(store, "acc-2", bank::withdrawn{5});
  CHECK(projector.catch_up() == 1);
  CHECK(model.read([](const proj::balances& b, std::uint64_t) { return b.balance.at("acc-2"); }) ==
        50);
}

TEST_CASE(
    "a throwing handler stops at that event; the checkpoint stays before it; a restart retries it",
    "[projection][projector][failure]") {
  annal::memory_store store;
  for (long cents : {1, 2, 13, 4}) proj::append(store, "acc-9", bank::deposited{cents});
  proj::armed = true;

  annal::memory_read_model<proj::fragile> model;
  annal::projector projector{store, model};
  try {
    projector.catch_up();
    FAIL("the handler failure did not reach the caller");
  } catch (const annal::error& e) {
    CHECK(e.code() == annal::errc::handler_failed);
    const std::string what = e.what();
    CHECK_THAT(what, Catch::Contains("'acc-9'") && Catch::Contains("version 3") &&
                         Catch::Contains("position 3") && Catch::Contains("bank.deposited") &&
                         Catch::Contains("thirteen is unlucky"));
    CHECK_THROWS_WITH(std::rethrow_if_nested(e), "thirteen is unlucky");
  }
  CHECK(projector.checkpoint() == 2);
  CHECK(model.read([](const proj::fragile& f, std::uint64_t) { return f.total; }) == 3);
  CHECK_THROWS(projector.catch_up());  // still broken: the same event fails again
  CHECK(projector.checkpoint() == 2);

  proj::armed = false;  // the fix is deployed
  CHECK(projector.catch_up() == 2);
  model.read([](const proj::fragile& f, std::uint64_t checkpoint) {
    CHECK(f.total == 20);
    CHECK(f.seen == 4);  // nothing applied twice
    CHECK(checkpoint == 4);
  });
  proj::armed = true;
}

TEST_CASE("a file read model commits model and checkpoint in one write", "[projection][file]") {
  test::temp_dir dir;
  annal::memory_store store;
  seed(store, 4, 25);
  const auto path = dir.path() / "balances.model";
  {
    // [file-read-model]
    annal::file_read_model<proj::balances> model{path};
    annal::projector projector{store, model, {.batch_size = 16}};
    // [file-read-model]
    projector.step();
    projector.step();
    CHECK(model.checkpoint() == 32);
  }
  annal::memory_read_model<proj::balances> reference;
  annal::projector{store, reference}.catch_up();
  {
    annal::file_read_model<proj::balances> model{path};  // a restart after a crash mid-way
    CHECK(model.checkpoint() == 32);
    annal::projector projector{store, model, {.batch_size = 16}};
    projector.catch_up();
    CHECK(model.checkpoint() == store.last_position());
    model.read([&](const proj::balances& b, std::uint64_t) {
      reference.read([&](const proj::balances& r, std::uint64_t) {
        CHECK(b.balance == r.balance);
        CHECK(b.deposits == r.deposits);  // no event applied twice, none skipped
      });
    });
  }
  CHECK_FALSE(std::filesystem::exists(path.string() + ".tmp"));
}

TEST_CASE("a file read model rolls a failed batch back to its last commit",
          "[projection][file][failure]") {
  test::temp_dir dir;
  annal::memory_store store;
  for (long cents : {1, 2, 3, 4, 13, 6}) proj::append(store, "acc-1", bank::deposited{cents});
  const auto path = dir.path() / "fragile.model";
  proj::armed = true;
  {
    annal::file_read_model<proj::fragile> model{path};
    annal::projector projector{store, model, {.batch_size = 3}};
    CHECK_THROWS_AS(projector.catch_up(), annal::error);
    CHECK(model.checkpoint() == 3);  // the batch holding the failure (4, 13, 6) is rolled back
    CHECK(model.read([](const proj::fragile& f, std::uint64_t) { return f.seen; }) == 3);
  }
  proj::armed = false;
  annal::file_read_model<proj::fragile> model{path};
  annal::projector projector{store, model, {.batch_size = 3}};
  projector.catch_up();
  model.read([](const proj::fragile& f, std::uint64_t checkpoint) {
    CHECK(f.total == 29);
    CHECK(f.seen == 6);
    CHECK(checkpoint == 6);
  });
  proj::armed = true;
}

TEST_CASE("a corrupt read model file is reported and rebuilt from position 0",
          "[projection][file][corrupt]") {
  test::temp_dir dir;
  annal::memory_store store;
  seed(store, 2, 5);
  const auto path = dir.path() / "balances.model";
  {
    annal::file_read_model<proj::balances> model{path};
    annal::projector{store, model}.catch_up();
  }
  std::string bytes = *annal::detail::read_whole_file(path);
  bytes.back() ^= 0x10;
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;

  test::captured_log log;
  annal::file_read_model<proj::balances> model{path};
  CHECK(model.checkpoint() == 0);
  REQUIRE(log.warnings().size() == 1);
  CHECK_THAT(log.warnings()[0], Catch::Contains("corrupt read model file"));
  annal::projector{store, model}.catch_up();
  CHECK(model.read([](const proj::balances& b, std::uint64_t) { return b.balance.at("acc-1"); }) ==
        15);
}

TEST_CASE("a file checkpoint survives reopening and refuses damage", "[projection][checkpoint]") {
  test::temp_dir dir;
  annal::file_checkpoint cp{dir.path() / "mailer.checkpoint"};
  CHECK_FALSE(cp.load().has_value());
  cp.save(42);
  CHECK(annal::file_checkpoint{cp.path()}.load() == 42u);
  std::ofstream(cp.path(), std::ios::binary | std::ios::trunc) << "junk";
  CHECK_THROWS_AS(cp.load(), annal::error);
}
