// Tests for the aggregate identity of core/aggregate.hpp that keys snapshots: declared names, the
// trait, and the default taken from the C++ type name.
#include <annal/core/aggregate.hpp>

#include <catch2/catch.hpp>

#include <string_view>

#include "snapshot/ledger.hpp"

namespace shelf {
struct declared {
  static constexpr std::string_view aggregate_name = "library.book";
};
struct inherits : declared {};
struct theirs {};
struct undeclared {};
template <class T>
struct counter {};
}  // namespace shelf

// [aggregate-traits]
template <>
struct annal::aggregate_traits<shelf::theirs> {
  static constexpr std::string_view name = "library.their_book";
};
// [aggregate-traits]

TEST_CASE("an aggregate's stored name: declared, by trait, or its C++ type name",
          "[snapshot][identity]") {
  STATIC_REQUIRE(annal::aggregate_name_of<shelf::declared> == "library.book");
  STATIC_REQUIRE(annal::aggregate_name_of<shelf::inherits> == "library.book");
  STATIC_REQUIRE(annal::aggregate_name_of<shelf::theirs> == "library.their_book");
  STATIC_REQUIRE(annal::aggregate_name_of<shelf::undeclared> == "shelf::undeclared");
  STATIC_REQUIRE(annal::aggregate_name_of<shelf::counter<int>> == "shelf::counter<int>");
  STATIC_REQUIRE(annal::aggregate_name_of<ledger::account> == "ledger.account");
  STATIC_REQUIRE(annal::aggregate_name_of<ledger::large_deposits> == "ledger::large_deposits");
  STATIC_REQUIRE(annal::aggregate_name_of<ledger::account_v2> ==
                 annal::aggregate_name_of<ledger::account>);
}
