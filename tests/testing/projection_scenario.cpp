// Tests for the fixtures' reading rules: old versions upcast in given(), projections fed as a
// projector would.
#include <annal/testing/given_when_then.hpp>
#include <annal/testing/projection_scenario.hpp>
#include <catch2/catch.hpp>

#include "testing/library_domain.hpp"

using annal::testing::projection_scenario;
using annal::testing::scenario;

// [scenario-old-versions]
TEST_CASE("old versions and retired events in given() are upcast, as a load would",
          "[testing][given_when_then][upcast]") {
  scenario<library::book>()
      .given(library::added{1}, library::borrowed_v1{})  // stored by last year's program
      .when(library::borrow{"ann"})
      .then_rejected(annal::reject("no copy available"));

  scenario<library::book>()  // a swap returned one copy and borrowed it again: none left
      .given(library::added{1}, library::borrowed{"ann"}, library::swapped{"ann", "bob"})
      .when(library::borrow{"cid"})
      .then_rejected();
}
// [scenario-old-versions]

TEST_CASE("a scenario's history holds what the old events became",
          "[testing][given_when_then][upcast]") {
  auto s = scenario<library::book>().given(library::swapped{"ann", "bob"});
  REQUIRE(s.history().size() == 2);
  CHECK(std::get<library::returned>(s.history()[0]) == library::returned{"ann"});
  CHECK(std::get<library::borrowed>(s.history()[1]) == library::borrowed{"bob"});
}

// [projection-scenario]
TEST_CASE("a projection reads the parts of a split it lists", "[testing][projection_scenario]") {
  projection_scenario<library::holdings>()
      .given(library::borrowed{"ann"}, library::swapped{"ann", "bob"}, library::added{3})
      .then_state([](const library::holdings& h) {
        return h.by_member == std::map<std::string, int>{{"bob", 1}};
      });

  projection_scenario<library::loans>()  // lists borrowed only: takes the swap's borrow
      .given_on("book-1", library::borrowed_v1{}, library::swapped{"ann", "bob"})
      .given_on("book-2", library::returned{"cid"})
      .then_state([](const library::loans& l) {
        return l.per_book == std::map<std::string, std::uint64_t>{{"book-1", 2}};
      });
}
// [projection-scenario]

TEST_CASE("a projection scenario numbers versions per stream and counts deliveries",
          "[testing][projection_scenario]") {
  struct seen {
    using events = annal::events<library::borrowed, library::returned>;
    std::vector<std::string> headers;
    void on(const library::borrowed&, const annal::envelope_header& h) { note(h); }
    void on(const library::returned&, const annal::envelope_header& h) { note(h); }
    void note(const annal::envelope_header& h) {
      headers.push_back(h.stream_id + " v" + std::to_string(h.stream_version) + " #" +
                        std::to_string(h.position));
    }
  };
  auto s = projection_scenario<seen>();
  s.given_on("a", library::borrowed{"x"})
      .given_on("b", library::added{1}, library::swapped{"x", "y"});
  // The swap is one stored event: both parts carry its envelope.
  CHECK(s.state().headers == std::vector<std::string>{"a v1 #1", "b v2 #3", "b v2 #3"});
  CHECK(s.delivered() == 3);
}
