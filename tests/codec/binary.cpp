// The binary codec: the documented byte layout, and a clear error for every kind of bad input.
#include <catch2/catch.hpp>

#include <cstring>
#include <string>
#include <string_view>

#include <annal/codec/binary.hpp>

#include "sample_events.hpp"

using annal::binary_codec;
using namespace std::string_literals;

namespace {

std::string bytes(std::initializer_list<int> list) {
  std::string s;
  for (int b : list) s += static_cast<char>(b);
  return s;
}

struct order_line {
  BOOST_HANA_DEFINE_STRUCT(order_line, (std::string, sku), (std::int64_t, price));
};
struct order {
  BOOST_HANA_DEFINE_STRUCT(order, (std::uint32_t, id), (std::vector<order_line>, items));
};

// Runs decode and returns the error message, failing the test when decode does not throw
// annal::error.
template <class T>
std::string decode_error_of(std::string_view data) {
  try {
    (void)binary_codec::decode<T>(data);
  } catch (const annal::error& e) {
    CHECK(e.code() == annal::errc::decode_error);
    return e.what();
  }
  FAIL("decode did not throw");
  return {};
}

}  // namespace

TEST_CASE("binary layout of scalars is fixed-width little-endian", "[codec][binary]") {
  CHECK(binary_codec::encode(std::int8_t{-2}) == bytes({0xFE}));
  CHECK(binary_codec::encode(std::uint16_t{0x0102}) == bytes({0x02, 0x01}));
  CHECK(binary_codec::encode(std::int32_t{-1}) == bytes({0xFF, 0xFF, 0xFF, 0xFF}));
  CHECK(binary_codec::encode(std::uint64_t{0x0102030405060708}) == bytes({8, 7, 6, 5, 4, 3, 2, 1}));
  CHECK(binary_codec::encode(1.0) == bytes({0, 0, 0, 0, 0, 0, 0xF0, 0x3F}));
  CHECK(binary_codec::encode(1.0f) == bytes({0, 0, 0x80, 0x3F}));
  CHECK(binary_codec::encode(true) == bytes({1}));
  CHECK(binary_codec::encode(sample::level::low) == bytes({0xFF, 0xFF}));
}

TEST_CASE("binary layout of strings, containers and structs", "[codec][binary]") {
  CHECK(binary_codec::encode("h\xC3\xA9"s) == bytes({3, 0, 0, 0, 'h', 0xC3, 0xA9}));
  CHECK(binary_codec::encode(std::vector<std::uint16_t>{1, 2}) == bytes({2, 0, 0, 0, 1, 0, 2, 0}));
  CHECK(binary_codec::encode(std::array<std::uint8_t, 2>{7, 9}) == bytes({7, 9}));
  CHECK(binary_codec::encode(std::optional<std::uint8_t>{}) == bytes({0}));
  CHECK(binary_codec::encode(std::optional<std::uint8_t>{5}) == bytes({1, 5}));
  CHECK(binary_codec::encode(std::map<std::uint8_t, bool>{{2, true}, {1, false}}) ==
        bytes({2, 0, 0, 0, 1, 0, 2, 1}));
  CHECK(binary_codec::encode(std::variant<std::monostate, std::uint8_t>{std::uint8_t{4}}) ==
        bytes({1, 4}));
  CHECK(binary_codec::encode(std::variant<std::monostate, std::uint8_t>{}) == bytes({0}));
  CHECK(binary_codec::encode(std::chrono::milliseconds{258}) == bytes({2, 1, 0, 0, 0, 0, 0, 0}));
  CHECK(binary_codec::encode(sample::money{1, sample::currency::gbp}) ==
        bytes({1, 0, 0, 0, 0, 0, 0, 0, 2}));
  boost::uuids::uuid id{};
  for (int i = 0; i < 16; ++i) id.data[i] = static_cast<std::uint8_t>(i);
  CHECK(binary_codec::encode(id) == bytes({0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}));
  CHECK(binary_codec::encode(sample::empty{}).empty());
}

TEST_CASE("unordered maps are written in key order so equal values are equal bytes",
          "[codec][binary]") {
  std::unordered_map<std::uint32_t, std::string> a, b;
  for (std::uint32_t i = 0; i < 50; ++i) a.emplace(i, std::to_string(i));
  for (std::uint32_t i = 50; i-- > 0;) b.emplace(i, std::to_string(i));
  CHECK(binary_codec::encode(a) == binary_codec::encode(b));
  CHECK(binary_codec::decode<decltype(a)>(binary_codec::encode(a)) == a);
}

TEST_CASE("encode appends to the buffer", "[codec][binary]") {
  std::string out = "xy";
  binary_codec::encode(std::uint8_t{3}, out);
  CHECK(out == "xy\x03");
}

TEST_CASE("truncated input names the byte offset and the field path", "[codec][binary]") {
  const order o{7, {{"a", 1}, {"bc", 2}}};
  const std::string full = binary_codec::encode(o);
  REQUIRE(binary_codec::decode<order>(full).items.at(1).sku == "bc");
  // id(4) count(4) "a"(4+1) price(8) "bc"(4+2) price(8): the last price starts at byte 27.
  REQUIRE(full.size() == 35);
  const std::string msg = decode_error_of<order>(std::string_view(full).substr(0, 32));
  CHECK_THAT(msg, Catch::Contains("decode error at byte 27, field 'items[1].price': truncated "
                                  "int64 (needs 8 bytes, 5 left)"));
  // Every prefix fails cleanly.
  for (std::size_t n = 0; n < full.size(); ++n) {
    INFO("prefix " << n);
    CHECK_THROWS_AS(binary_codec::decode<order>(std::string_view(full).substr(0, n)), annal::error);
  }
}

TEST_CASE("trailing bytes are an error", "[codec][binary]") {
  const std::string data = binary_codec::encode(std::uint16_t{1}) + "zz";
  CHECK_THAT(decode_error_of<std::uint16_t>(data),
             Catch::Contains("byte 2, top level: 2 trailing bytes"));
}

TEST_CASE("a length past the end is refused before allocating", "[codec][binary]") {
  const std::string huge = bytes({0xFF, 0xFF, 0xFF, 0xFF, 1, 2});
  CHECK_THAT(
      decode_error_of<std::vector<std::int64_t>>(huge),
      Catch::Contains("byte 0, top level: vector length 4294967295 exceeds the 2 bytes left"));
  CHECK_THAT(decode_error_of<std::string>(huge),
             Catch::Contains("string length 4294967295 exceeds"));
  CHECK_THAT((decode_error_of<std::map<std::string, std::string>>(huge)),
             Catch::Contains("map length"));
  // 3 elements of at least 8 bytes cannot fit in 16 bytes, even though 3 < 16.
  const std::string three = bytes({3, 0, 0, 0}) + std::string(16, '\0');
  CHECK_THAT(decode_error_of<std::vector<sample::money>>(three),
             Catch::Contains("vector length 3 exceeds"));
  // Nested: the path says which vector lied.
  std::string nested = binary_codec::encode(order{1, {{"x", 5}}});
  nested[8] = '\x7F';  // the sku's length
  CHECK_THAT(decode_error_of<order>(nested),
             Catch::Contains("byte 8, field 'items[0].sku': string length 127 exceeds"));
}

TEST_CASE("enum values outside the declared range are refused", "[codec][binary]") {
  CHECK(binary_codec::decode<sample::currency>(bytes({2})) == sample::currency::gbp);
  CHECK_THAT(decode_error_of<sample::currency>(bytes({3})),
             Catch::Contains("invalid enum value 3 (valid: 0..2)"));
  CHECK_THAT((decode_error_of<sample::level>(bytes({0xFE, 0xFF}))),
             Catch::Contains("invalid enum value -2 (valid: -1..1)"));
  std::string money = binary_codec::encode(sample::money{5, sample::currency::usd});
  money[8] = 9;
  CHECK_THAT(decode_error_of<sample::money>(money),
             Catch::Contains("byte 8, field 'unit': invalid enum value 9"));
}

TEST_CASE("invalid UTF-8 is refused on decode and on encode", "[codec][binary]") {
  const std::string bad = bytes({4, 0, 0, 0, 'o', 'k', 0xC0, 0xAF});  // overlong '/'
  CHECK_THAT(decode_error_of<std::string>(bad),
             Catch::Contains("byte 6, top level: invalid UTF-8"));
  const std::string surrogate = bytes({3, 0, 0, 0, 0xED, 0xA0, 0x80});
  CHECK_THAT(decode_error_of<std::string>(surrogate), Catch::Contains("invalid UTF-8"));
  order o{1, {{"\xFF", 1}}};
  try {
    (void)binary_codec::encode(o);
    FAIL("encode accepted invalid UTF-8");
  } catch (const annal::error& e) {
    CHECK(e.code() == annal::errc::invalid_argument);
    CHECK_THAT(std::string(e.what()),
               Catch::Contains("field 'items[0].sku': invalid UTF-8 at offset 0"));
  }
}

TEST_CASE("bool, optional and variant tags outside their range are refused", "[codec][binary]") {
  CHECK_THAT(decode_error_of<bool>(bytes({2})), Catch::Contains("invalid bool byte 2"));
  CHECK_THAT(decode_error_of<std::optional<bool>>(bytes({7})),
             Catch::Contains("invalid optional tag 7"));
  using choice = std::variant<std::int8_t, std::string>;
  CHECK_THAT((decode_error_of<choice>(bytes({2, 0}))),
             Catch::Contains("invalid variant index 2 (the variant has 2 alternatives)"));
  CHECK_THAT((decode_error_of<choice>(bytes({1, 9, 0, 0, 0}))),
             Catch::Contains("field '<1>': string length 9 exceeds"));
}

TEST_CASE("duplicate map keys are refused", "[codec][binary]") {
  const std::string dup = bytes({2, 0, 0, 0, 1, 10, 1, 11});
  CHECK_THAT((decode_error_of<std::map<std::uint8_t, std::uint8_t>>(dup)),
             Catch::Contains("byte 6, field '[1]': duplicate map key"));
}

TEST_CASE("a reflected struct and an adapted struct round-trip", "[codec][binary]") {
  sample::point p{3, -4, {}, {std::string("a"), std::nullopt}};
  p.id.data[0] = 0xAB;
  const auto back = binary_codec::decode<sample::point>(binary_codec::encode(p));
  CHECK(back.x == 3);
  CHECK(back.y == -4);
  CHECK(back.id == p.id);
  CHECK(back.labels == p.labels);
}

TEST_CASE("any single corrupted byte gives a value or annal::error, nothing else",
          "[codec][binary]") {
  sample::deposited d{{12345, sample::currency::usd}, std::string("note")};
  const std::string good = binary_codec::encode(d);
  for (std::size_t i = 0; i < good.size(); ++i) {
    for (int v : {0x00, 0x01, 0x7F, 0x80, 0xFF}) {
      std::string bad = good;
      bad[i] = static_cast<char>(v);
      try {
        (void)binary_codec::decode<sample::deposited>(bad);
      } catch (const annal::error& e) {
        CHECK(e.code() == annal::errc::decode_error);
      }
    }
  }
}

TEST_CASE("fixed-size structs take the fast path and still report errors precisely",
          "[codec][binary]") {
  struct flags {
    BOOST_HANA_DEFINE_STRUCT(flags, (std::uint16_t, id), (bool, on), (sample::currency, unit));
  };
  CHECK(annal::detail::binary::fixed_size<flags>() == 4);
  CHECK(annal::detail::binary::fixed_size<sample::deposited>() == annal::detail::binary::variable);
  const auto good = binary_codec::decode<flags>(bytes({1, 2, 1, 2}));
  CHECK(good.id == 0x0201);
  CHECK(good.on);
  CHECK(good.unit == sample::currency::gbp);
  CHECK_THAT(decode_error_of<flags>(bytes({1, 2, 5, 2})),
             Catch::Contains("byte 2, field 'on': invalid bool byte 5"));
  CHECK_THAT(decode_error_of<flags>(bytes({1, 2, 1, 3})),
             Catch::Contains("byte 3, field 'unit': invalid enum value 3"));
  CHECK_THAT(decode_error_of<flags>(bytes({1, 2, 1})),
             Catch::Contains("byte 3, field 'unit': truncated uint8"));
  CHECK_THAT(decode_error_of<flags>(bytes({1, 2, 1, 0, 0})),
             Catch::Contains("byte 4, top level: 1 trailing bytes"));
  // Nested inside a variable-size value.
  std::vector<flags> many{{1, true, sample::currency::eur}, {2, false, sample::currency::usd}};
  std::string data = binary_codec::encode(many);
  CHECK(binary_codec::decode<std::vector<flags>>(data).at(1).id == 2);
  data[4 + 4 + 2] = 9;
  CHECK_THAT(decode_error_of<std::vector<flags>>(data),
             Catch::Contains("byte 10, field '[1].on': invalid bool byte 9"));
}
