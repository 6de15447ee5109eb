// The JSON codec: member names from reflection, documented shapes, and errors naming the field.
#include <catch2/catch.hpp>

#include <cmath>
#include <string>

#include <boost/json/parse.hpp>

#include <annal/codec/json.hpp>

#include "sample_events.hpp"

using annal::json_codec;
using namespace std::string_literals;

namespace {

struct order_line {
  BOOST_HANA_DEFINE_STRUCT(order_line, (std::string, sku), (std::int64_t, price));
};
struct order {
  BOOST_HANA_DEFINE_STRUCT(order, (std::uint32_t, id), (std::vector<order_line>, items),
                           (std::optional<std::string>, note));
};

template <class T>
std::string json_error_of(std::string_view text) {
  try {
    (void)json_codec::decode<T>(text);
  } catch (const annal::error& e) {
    CHECK(e.code() == annal::errc::decode_error);
    return e.what();
  }
  FAIL("decode did not throw for " << text);
  return {};
}

}  // namespace

TEST_CASE("JSON shapes follow docs/codec.md", "[codec][json]") {
  CHECK(json_codec::encode(order{7, {{"a", -1}}, std::nullopt}) ==
        R"({"id":7,"items":[{"sku":"a","price":-1}],"note":null})");
  CHECK(json_codec::encode(sample::money{5, sample::currency::gbp}) == R"({"cents":5,"unit":2})");
  CHECK(json_codec::encode(std::map<std::string, bool>{{"b", true}}) == R"({"b":true})");
  CHECK(json_codec::encode(std::map<int, bool>{{3, true}}) == R"([[3,true]])");
  CHECK(json_codec::encode(std::variant<std::monostate, std::string>{"x"s}) ==
        R"({"index":1,"value":"x"})");
  CHECK(json_codec::encode(std::chrono::seconds{90}) == "90");
  CHECK(json_codec::encode(std::numeric_limits<double>::infinity()) == R"("Infinity")");
  CHECK(json_codec::encode(std::uint64_t{18446744073709551615ull}) == "18446744073709551615");
  boost::uuids::uuid id{};
  id.data[0] = 0x12;
  id.data[15] = 0xEF;
  CHECK(json_codec::encode(id) == R"("12000000-0000-0000-0000-0000000000ef")");
}

TEST_CASE("JSON decode accepts what other writers produce", "[codec][json]") {
  // Any member order, unknown members ignored, a missing optional is empty, whitespace around.
  const auto o =
      json_codec::decode<order>(R"(  {"items":[{"price":2e0,"sku":"z","extra":[1]}],"id":3.0}  )");
  CHECK(o.id == 3);
  CHECK(o.items.at(0).price == 2);
  CHECK(o.items.at(0).sku == "z");
  CHECK_FALSE(o.note.has_value());
  CHECK(std::isnan(json_codec::decode<double>(R"("NaN")")));
  CHECK(json_codec::decode<boost::uuids::uuid>(R"("12000000-0000-0000-0000-0000000000EF")")
            .data[15] == 0xEF);
}

TEST_CASE("JSON of the wrong shape names the field", "[codec][json]") {
  CHECK_THAT(
      json_error_of<order>(R"({"id":1,"items":[{"sku":"a","price":1},{"sku":"b","price":"2"}]})"),
      Catch::Contains(
          "decode error at field 'items[1].price': expected an integer, found a string"));
  CHECK_THAT(json_error_of<order>(R"({"id":1,"items":[{"sku":"a"}]})"),
             Catch::Contains("field 'items[0].price': missing member"));
  CHECK_THAT((json_error_of<order>(R"({"id":-1,"items":[]})")),
             Catch::Contains("field 'id': -1 is out of range for uint32"));
  CHECK_THAT((json_error_of<order>(R"({"id":1.5,"items":[]})")),
             Catch::Contains("field 'id': expected an integer"));
  CHECK_THAT((json_error_of<order>(R"([1,2])")),
             Catch::Contains("top level: expected an object, found an array"));
  CHECK_THAT((json_error_of<sample::money>(R"({"cents":1,"unit":7})")),
             Catch::Contains("field 'unit': invalid enum value 7 (valid: 0..2)"));
  CHECK_THAT((json_error_of<std::array<int, 2>>("[1]")),
             Catch::Contains("expected an array of 2 elements, found 1"));
  CHECK_THAT(json_error_of<boost::uuids::uuid>(R"("12000000-0000-0000-0000-0000000000eg")"),
             Catch::Contains("expected a UUID"));
  CHECK_THAT((json_error_of<std::variant<int, bool>>(R"({"index":2,"value":1})")),
             Catch::Contains("invalid variant index 2"));
  CHECK_THAT((json_error_of<std::variant<int, bool>>(R"({"index":1})")),
             Catch::Contains("exactly the members"));
  CHECK_THAT((json_error_of<std::map<int, int>>(R"([[1,2],[1,3]])")),
             Catch::Contains("field '[1]': duplicate map key"));
  CHECK_THAT((json_error_of<std::map<int, int>>(R"([[1,2,3]])")),
             Catch::Contains("field '[0]': expected a [key, value] pair"));
  CHECK_THAT(json_error_of<float>("1e300"), Catch::Contains("out of range for float32"));
  CHECK_THAT(json_error_of<std::int8_t>("128"), Catch::Contains("128 is out of range for int8"));
  CHECK_THAT(json_error_of<std::monostate>("0"), Catch::Contains("expected null"));
}

TEST_CASE("JSON syntax errors and trailing data name the byte offset", "[codec][json]") {
  CHECK_THAT((json_error_of<order>(R"({"id":1,"items":[})")),
             Catch::Contains("decode error at byte 17, top level: invalid JSON"));
  CHECK_THAT(json_error_of<int>("1 2"), Catch::Contains("byte 2, top level: invalid JSON"));
  CHECK_THAT(json_error_of<std::string>("\"\xFF\""), Catch::Contains("invalid JSON"));
  CHECK_THAT(json_error_of<int>(""), Catch::Contains("invalid JSON"));
}

TEST_CASE("JSON encode refuses strings that are not UTF-8", "[codec][json]") {
  try {
    (void)json_codec::encode(order{1, {{"\xC3", 1}}, std::nullopt});
    FAIL("encode accepted invalid UTF-8");
  } catch (const annal::error& e) {
    CHECK(e.code() == annal::errc::invalid_argument);
    CHECK_THAT(std::string(e.what()), Catch::Contains("field 'items[0].sku'"));
  }
}

TEST_CASE("JSON values can be read and written without text", "[codec][json]") {
  const boost::json::value v = json_codec::to_value(sample::money{3, sample::currency::usd});
  CHECK(v.at("cents").as_int64() == 3);
  CHECK(json_codec::from_value<sample::money>(boost::json::parse(R"({"cents":4,"unit":0})")) ==
        sample::money{4, sample::currency::eur});
}
