// Upcasting on every read path: records written by an older program (an old version, a retired
// event that split in two) read through load, time travel, snapshots, projector, rebuild, reactor
// and reconciliation, each seeing today's events.
#include <annal/projection/projector.hpp>
#include <annal/projection/reactor.hpp>
#include <annal/projection/rebuild.hpp>
#include <annal/projection/reconcile.hpp>
#include <annal/snapshot/memory_snapshot_store.hpp>
#include <annal/snapshot/snapshotter.hpp>
#include <annal/store/memory.hpp>
#include <annal/store/repository.hpp>

#include <catch2/catch.hpp>

#include <map>
#include <string>
#include <vector>

#include "common/encoded.hpp"
#include "testing/library_domain.hpp"

namespace {

// book-1: added 3, borrowed v1 (no member recorded), borrowed by ann, swapped ann -> bob (a return
// and a borrow).
// book-2: added 1, borrowed by cid (today's version).
void write_last_years_log(annal::memory_store& store) {
  const annal::event_data one[] = {annal_test::encoded(library::added{3}),
                                   annal_test::encoded(library::borrowed_v1{}),
                                   annal_test::encoded(library::borrowed{"ann"}),
                                   annal_test::encoded(library::swapped{"ann", "bob"})};
  store.append("book-1", annal::expected_version::no_stream(), one);
  const annal::event_data two[] = {annal_test::encoded(library::added{1}),
                                   annal_test::encoded(library::borrowed{"cid"})};
  store.append("book-2", annal::expected_version::no_stream(), two);
}

// What each reader should see: book-1 has 3 - 1 - 1 + 1 - 1 = 1 copy; holders are "(unrecorded)"
// and bob (ann's copy went back), and cid on book-2.
const std::map<std::string, int> expected_holdings{{"(unrecorded)", 1}, {"bob", 1}, {"cid", 1}};

struct receipts {
  using events = annal::events<library::borrowed, library::returned>;
  std::vector<std::string> sent;
  void react(const library::borrowed& e) { sent.push_back("borrowed by " + e.member); }
  void react(const library::returned& e) { sent.push_back("returned by " + e.member); }
};

}  // namespace

TEST_CASE("old records are upcast on every read path", "[projection][upcast][read_paths]") {
  annal::memory_store store;
  write_last_years_log(store);

  // Repository: current state, time travel, history.
  annal::repository<library::book, annal::memory_store> books{store};
  CHECK(books.load("book-1").state.available == 1);
  CHECK(books.load("book-1", annal::at_version{2}).state.available == 2);  // after the v1 borrow
  CHECK(books.load("book-2").state.available == 0);
  const auto history = books.history("book-1");
  REQUIRE(history.size() == 5);  // the swap's two parts share its envelope
  CHECK(std::get<library::borrowed>(history[1].event) == library::borrowed{"(unrecorded)"});
  CHECK(std::get<library::returned>(history[3].event) == library::returned{"ann"});
  CHECK(std::get<library::borrowed>(history[4].event) == library::borrowed{"bob"});
  CHECK(history[3].stream_version == 4);
  CHECK(history[4].stream_version == 4);

  // Snapshots: taken from upcast state and loaded back.
  annal::memory_snapshot_store snapshots;
  annal::snapshotter snap{snapshots, annal::snapshot_every{1}};
  auto snapped = annal::make_repository<library::book>(store, snap);
  CHECK(snapped.load("book-1").state.available == 1);
  const auto from_snapshot = snapped.load("book-1");
  CHECK(from_snapshot.snapshot_version == 4);
  CHECK(from_snapshot.state.available == 1);

  // Projector, rebuild (one and two workers) and reconciliation.
  annal::memory_read_model<library::holdings> model;
  annal::projector{store, model}.catch_up();
  model.read(
      [](const library::holdings& h, std::uint64_t) { CHECK(h.by_member == expected_holdings); });
  CHECK(annal::rebuild<library::holdings>(store).model.by_member == expected_holdings);
  CHECK(annal::reconcile_with_log(store, model).matches());

  // A projection that lists borrows only takes the swap's borrow part.
  CHECK(annal::rebuild<library::loans>(store).model.per_book ==
        std::map<std::string, std::uint64_t>{{"book-1", 3}, {"book-2", 1}});

  // Reactor.
  receipts mail;
  annal::memory_checkpoint checkpoint;
  annal::reactor_runner runner{
      store, mail, checkpoint, {.start = annal::reactor_start::from_beginning}};
  runner.catch_up();
  CHECK(mail.sent == std::vector<std::string>{"borrowed by (unrecorded)", "borrowed by ann",
                                              "returned by ann", "borrowed by bob",
                                              "borrowed by cid"});

  // And a command decides on the upcast state: book-2 has no copy left.
  CHECK(books.handle("book-2", library::borrow{"dan"}).rejected());
  CHECK(books.handle("book-1", library::borrow{"dan"}).accepted());
}
