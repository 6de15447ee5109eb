// Tests for testing/equal.hpp: operator== where there is one, else field by field.
#include <annal/testing/equal.hpp>
#include <boost/hana/define_struct.hpp>
#include <catch2/catch.hpp>
#include <string>
#include <variant>
#include <vector>

#include "common/bank_domain.hpp"

namespace cmp {
// Its operator== ignores `note`: equal() must use it rather than compare every field.
struct tagged {
  BOOST_HANA_DEFINE_STRUCT(tagged, (int, id), (std::string, note));
  friend bool operator==(const tagged& a, const tagged& b) { return a.id == b.id; }
};
struct nested {  // no operator==: compared field by field, recursively
  BOOST_HANA_DEFINE_STRUCT(nested, (bank::withdrawn, inner), (std::vector<bank::deposited>, list));
};
}  // namespace cmp

using annal::testing::equal;

TEST_CASE("equal uses operator== when the type has one", "[testing][equal]") {
  CHECK(equal(cmp::tagged{1, "x"}, cmp::tagged{1, "y"}));
  CHECK_FALSE(equal(cmp::tagged{1, "x"}, cmp::tagged{2, "x"}));
}

TEST_CASE("equal compares reflected types field by field", "[testing][equal]") {
  CHECK(equal(bank::withdrawn{5}, bank::withdrawn{5}));
  CHECK_FALSE(equal(bank::withdrawn{5}, bank::withdrawn{6}));
  CHECK(equal(cmp::nested{{1}, {{2}, {3}}}, cmp::nested{{1}, {{2}, {3}}}));
  CHECK_FALSE(equal(cmp::nested{{1}, {{2}, {3}}}, cmp::nested{{9}, {{2}, {3}}}));
  CHECK_FALSE(equal(cmp::nested{{1}, {{2}, {3}}}, cmp::nested{{1}, {{2}, {4}}}));
  CHECK_FALSE(equal(cmp::nested{{1}, {{2}, {3}}}, cmp::nested{{1}, {{2}}}));
}

TEST_CASE("equal compares variants by alternative, then value", "[testing][equal]") {
  using event = annal::aggregate_event_t<bank::account>;
  CHECK(equal(event{bank::deposited{5}}, event{bank::deposited{5}}));
  CHECK_FALSE(equal(event{bank::deposited{5}}, event{bank::withdrawn{5}}));
  CHECK_FALSE(equal(event{bank::deposited{5}}, event{bank::deposited{6}}));
}
