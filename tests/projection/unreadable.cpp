// One rule on every read path: an event type the reader lists, stored at a version it cannot read,
// stops the reader before it with the record named, its checkpoint kept; nothing listed is skipped.
#include <annal/file/log.hpp>
#include <annal/projection/projector.hpp>
#include <annal/projection/reactor.hpp>
#include <annal/projection/rebuild.hpp>
#include <annal/projection/reconcile.hpp>
#include <annal/store/memory.hpp>
#include <annal/store/repository.hpp>

#include <catch2/catch.hpp>

#include <memory>
#include <string>

#include "projection/domain.hpp"
#include "projection/unreadable_log.hpp"
#include "snapshot/temp_dir.hpp"

namespace {

// The stores the rule is checked on: the in-memory one and the embedded file log.
struct on_memory {
  annal::memory_store store;
};
struct on_file_log {
  test::temp_dir dir;
  annal::file_log store{dir.path()};
};

// Only openings: a projection that does not list deposits, so skips them at any version.
struct openings {
  using events = annal::events<bank::opened>;
  std::uint64_t count = 0;
  void on(const bank::opened&) { ++count; }
};

template <class F>
void require_unreadable(F&& f) {
  try {
    f();
    FAIL("the reader went past a record it lists but cannot read");
  } catch (const annal::error& e) {
    proj::check_names_the_unreadable(e);
  }
}

}  // namespace

TEMPLATE_TEST_CASE("a projector stops before a listed event it cannot read, checkpoint kept",
                   "[projection][upcast][unreadable]", on_memory, on_file_log) {
  TestType s;
  proj::write_unreadable_log(s.store);
  annal::memory_read_model<proj::balances> model;
  annal::projector projector{s.store, model, {.batch_size = 2}};
  require_unreadable([&] { projector.catch_up(); });
  CHECK(projector.checkpoint() == 3);  // acc-1's two events and acc-2's opening
  model.read([](const proj::balances& b, std::uint64_t) { CHECK(b.balance.at("acc-1") == 100); });
  // Run again: still stopped there; the event after it is not applied either.
  require_unreadable([&] { projector.catch_up(); });
  CHECK(projector.checkpoint() == 3);

  // A projection that does not list deposits reads past them.
  annal::memory_read_model<openings> other;
  annal::projector{s.store, other}.catch_up();
  CHECK(other.checkpoint() == 5);
  other.read([](const openings& o, std::uint64_t) { CHECK(o.count == 2); });
}

TEMPLATE_TEST_CASE("a reactor stops before a listed event it cannot read, checkpoint kept",
                   "[projection][reactor][unreadable]", on_memory, on_file_log) {
  TestType s;
  proj::write_unreadable_log(s.store);
  proj::mailer mailer;
  annal::memory_checkpoint checkpoint;
  annal::reactor_runner runner{s.store,
                               mailer,
                               checkpoint,
                               {.batch_size = 2, .start = annal::reactor_start::from_beginning}};
  require_unreadable([&] { runner.catch_up(); });
  CHECK(mailer.sent == std::vector<std::string>{"acc-1:100"});
  CHECK(checkpoint.load() == std::optional<std::uint64_t>{3});
  require_unreadable([&] { runner.catch_up(); });  // no receipt is ever sent for what follows
  CHECK(mailer.sent.size() == 1);
}

TEMPLATE_TEST_CASE("rebuilds and reconciliation stop at a listed event they cannot read",
                   "[projection][rebuild][unreadable]", on_memory, on_file_log) {
  TestType s;
  proj::write_unreadable_log(s.store);
  require_unreadable([&] { (void)annal::rebuild<proj::balances>(s.store); });
  require_unreadable(
      [&] { (void)annal::rebuild<proj::balances>(s.store, {.workers = 2, .batch_size = 2}); });
  // A model whose checkpoint a newer build moved past the record: reconciling recomputes it.
  annal::memory_read_model<proj::balances> model{proj::balances{}, 5};
  require_unreadable([&] { (void)annal::reconcile_with_log(s.store, model); });
}

TEMPLATE_TEST_CASE("a repository stops at a listed event it cannot read, whatever its policy",
                   "[repository][upcast][unreadable]", on_memory, on_file_log) {
  TestType s;
  proj::write_unreadable_log(s.store);
  for (const auto policy :
       {annal::unknown_event_policy::error, annal::unknown_event_policy::skip}) {
    annal::repository<bank::account, decltype(s.store)> accounts{s.store,
                                                                 {.unknown_events = policy}};
    require_unreadable([&] { (void)accounts.load("acc-2"); });
    require_unreadable([&] { (void)accounts.history("acc-2"); });
    CHECK(accounts.load("acc-2", annal::at_version{1}).version ==
          1);  // the past before it is readable
  }
}
