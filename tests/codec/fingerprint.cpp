// Schema fingerprints: stable, layout-sensitive, name-sensitive, blind to the C++ type's own name.
#include <catch2/catch.hpp>

#include <annal/codec/fingerprint.hpp>

#include "sample_events.hpp"

namespace {
struct money_renamed {
  BOOST_HANA_DEFINE_STRUCT(money_renamed, (std::int64_t, cents), (sample::currency, unit));
};
struct money_wider {
  BOOST_HANA_DEFINE_STRUCT(money_wider, (std::int64_t, cents), (sample::currency, unit),
                           (bool, pending));
};
struct money_field_renamed {
  BOOST_HANA_DEFINE_STRUCT(money_field_renamed, (std::int64_t, amount), (sample::currency, unit));
};
struct money_narrow {
  BOOST_HANA_DEFINE_STRUCT(money_narrow, (std::int32_t, cents), (sample::currency, unit));
};
}  // namespace

TEST_CASE("schema descriptions spell out the stored layout", "[codec][fingerprint]") {
  CHECK(annal::schema_description<sample::money>() == "{cents:int64,unit:enum<uint8>}");
  CHECK(annal::schema_description<sample::deposited>() ==
        "{amount:{cents:int64,unit:enum<uint8>},note:optional<string>}");
  CHECK(
      annal::schema_description<std::map<std::string, std::vector<std::chrono::milliseconds>>>() ==
      "map<string,vector<duration<int64,1/1000>>>");
  CHECK(annal::schema_description<std::variant<std::monostate, boost::uuids::uuid>>() ==
        "variant<none,uuid>");
}

TEST_CASE("schema fingerprints are compile-time FNV-1a over the description",
          "[codec][fingerprint]") {
  STATIC_REQUIRE(annal::schema_fingerprint_v<sample::money> ==
                 annal::schema_fingerprint_v<money_renamed>);
  STATIC_REQUIRE(annal::schema_fingerprint_v<sample::money> !=
                 annal::schema_fingerprint_v<money_wider>);
  STATIC_REQUIRE(annal::schema_fingerprint_v<sample::money> !=
                 annal::schema_fingerprint_v<money_field_renamed>);
  STATIC_REQUIRE(annal::schema_fingerprint_v<sample::money> !=
                 annal::schema_fingerprint_v<money_narrow>);
  // FNV-1a 64 of "{cents:int64,unit:enum<uint8>}", computed independently.
  std::uint64_t h = 14695981039346656037ull;
  for (char c : std::string("{cents:int64,unit:enum<uint8>}")) {
    h ^= static_cast<unsigned char>(c);
    h *= 1099511628211ull;
  }
  CHECK(annal::schema_fingerprint_v<sample::money> == h);
  CHECK(annal::schema_fingerprint_v<sample::everything> != 0);
}

TEST_CASE("member names and types are enumerable at compile time", "[codec][fingerprint]") {
  STATIC_REQUIRE(annal::member_names_v<sample::deposited>.size() == 2);
  STATIC_REQUIRE(annal::member_names_v<sample::deposited>[0] == "amount");
  STATIC_REQUIRE(annal::member_names_v<sample::point>[3] == "labels");
  constexpr std::size_t int64_members = [] {
    std::size_t n = 0;
    annal::for_each_member_type<sample::everything>([&](std::string_view, auto type) {
      if (std::is_same_v<typename decltype(type)::type, std::int64_t>) ++n;
    });
    return n;
  }();
  STATIC_REQUIRE(int64_members == 1);
}
