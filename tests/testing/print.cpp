// Tests for testing/print.hpp: events field by field, names, strings, enums, containers.
#include <annal/testing/print.hpp>
#include <boost/hana/define_struct.hpp>
#include <catch2/catch.hpp>
#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <variant>
#include <vector>

#include "common/bank_domain.hpp"

namespace shapes {
enum class color { red, green, blue };
struct point {
  BOOST_HANA_DEFINE_STRUCT(point, (int, x), (int, y));
};
struct drawn {  // an event with nested, optional, container and enum fields
  BOOST_HANA_DEFINE_STRUCT(drawn, (point, at), (std::optional<std::string>, label),
                           (std::vector<int>, sizes), (color, shade), (bool, filled),
                           (std::int8_t, layer), (char, key));
};
ANNAL_EVENT(drawn, "shapes.drawn", 1);
struct erased {  // an event without reflection
  int id;
};
ANNAL_EVENT(erased, "shapes.erased", 1);
struct moved {  // an event without reflection but with operator<<
  int id;
  friend std::ostream& operator<<(std::ostream& os, const moved& m) {
    return os << "moved #" << m.id;
  }
};
ANNAL_EVENT(moved, "shapes.moved", 1);
struct opaque {};
}  // namespace shapes

using annal::testing::to_text;

TEST_CASE("reflected events print as stored.name{field=value, ...}", "[testing][print]") {
  CHECK(to_text(bank::withdrawn{500}) == "bank.withdrawn{cents=500}");
  CHECK(to_text(bank::opened{"acc-1"}) == R"(bank.opened{id="acc-1"})");
  const shapes::drawn d{{1, -2}, "box", {3, 4}, shapes::color::blue, true, 5, 'k'};
  CHECK(to_text(d) == R"(shapes.drawn{at=shapes::point{x=1, y=-2}, label="box", sizes=[3, 4], )"
                      R"(shade=shapes::color(2), filled=true, layer=5, key='k'})");
  const shapes::drawn empty{{0, 0}, std::nullopt, {}, shapes::color::red, false, 0, 'a'};
  CHECK(to_text(empty) == R"(shapes.drawn{at=shapes::point{x=0, y=0}, label=nullopt, sizes=[], )"
                          R"(shade=shapes::color(0), filled=false, layer=0, key='a'})");
}

TEST_CASE("strings print quoted and escaped", "[testing][print]") {
  CHECK(to_text(std::string("a\"b\\c\nd")) == R"("a\"b\\c\nd")");
  CHECK(to_text(bank::closed{"said \"bye\""}) == R"(bank.closed{reason="said \"bye\""})");
}

TEST_CASE("a variant prints the event it holds", "[testing][print]") {
  const annal::aggregate_event_t<bank::account> e = bank::deposited{7};
  CHECK(to_text(e) == "bank.deposited{cents=7}");
}

TEST_CASE("events without reflection print through operator<< or by their stored name",
          "[testing][print]") {
  CHECK(to_text(shapes::moved{3}) == "moved #3");
  CHECK(to_text(shapes::erased{3}) == "shapes.erased");
  CHECK(to_text(shapes::opaque{}) == "shapes::opaque{?}");
}
