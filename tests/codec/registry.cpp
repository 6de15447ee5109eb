// The registry and upcasting: stored (name, version) to current events, through chains, splits and
// retirements.
#include <catch2/catch.hpp>

#include <string>
#include <variant>
#include <vector>

#include <annal/codec/json.hpp>
#include <annal/codec/registry.hpp>

#include "sample_events.hpp"

using namespace sample;
using annal::binary_codec;
using registry = annal::event_registry<bank_events>;
using seen_event = annal::event_variant_t<bank_events>;

namespace {

template <class Registry = registry>
std::vector<seen_event> read(std::string_view type, std::uint32_t version, std::string_view payload,
                             bool expect_known = true) {
  std::vector<seen_event> seen;
  const bool known =
      Registry::decode(type, version, payload, [&](const auto& e) { seen.emplace_back(e); });
  CHECK(known == expect_known);
  return seen;
}

template <class E, class Codec = binary_codec>
std::string stored(const E& e) {
  return Codec::encode(e);
}

}  // namespace

TEST_CASE("a current event decodes to itself, once", "[codec][registry]") {
  const deposited d{{250, currency::usd}, std::string("salary")};
  const auto seen = read("bank.deposited", 3, stored(d));
  REQUIRE(seen.size() == 1);
  CHECK(std::get<deposited>(seen[0]) == d);

  const opened o{"ada", {}};
  const auto seen_opened = read("bank.opened", 1, stored(o));
  REQUIRE(seen_opened.size() == 1);
  CHECK(std::get<opened>(seen_opened[0]) == o);
}

TEST_CASE("old versions are upcast through the whole chain", "[codec][registry][upcast]") {
  const auto from_v1 = read("bank.deposited", 1, stored(deposited_v1{12}));
  REQUIRE(from_v1.size() == 1);
  CHECK(std::get<deposited>(from_v1[0]) == deposited{{1200, currency::eur}, std::nullopt});

  const auto from_v2 = read("bank.deposited", 2, stored(deposited_v2{99}));
  REQUIRE(from_v2.size() == 1);
  CHECK(std::get<deposited>(from_v2[0]) == deposited{{99, currency::eur}, std::nullopt});
}

TEST_CASE("a renamed event may become one of several current events", "[codec][registry][upcast]") {
  const auto positive = read("bank.credited", 1, stored(credited_v1{40}));
  REQUIRE(positive.size() == 1);
  CHECK(std::get<deposited>(positive[0]) ==
        deposited{{40, currency::eur}, std::string("credited")});
  const auto negative = read("bank.credited", 1, stored(credited_v1{-40}));
  REQUIRE(negative.size() == 1);
  CHECK(std::get<withdrawn>(negative[0]) == withdrawn{{40, currency::eur}});
}

TEST_CASE("a split delivers several events in order", "[codec][registry][upcast]") {
  const auto seen = read("bank.transferred", 1, stored(transferred{70, "bob"}));
  REQUIRE(seen.size() == 2);
  CHECK(std::get<withdrawn>(seen[0]) == withdrawn{{70, currency::eur}});
  CHECK(std::get<deposited>(seen[1]) == deposited{{70, currency::eur}, std::string("to bob")});
}

// Upcasting belongs to the stored type: a reader whose list differs from the aggregate's, and
// declares no retired events of its own, reads a transfer as the parts it lists.
TEST_CASE("every reader of an event reads what upcasts into it, whatever else it lists",
          "[codec][registry][upcast]") {
  using withdrawals = annal::event_registry<annal::events<withdrawn>>;
  using deposits = annal::event_registry<annal::events<deposited>>;
  std::vector<withdrawn> out;
  CHECK(withdrawals::decode("bank.transferred", 1, stored(transferred{70, "bob"}),
                            [&](const withdrawn& w) { out.push_back(w); }));
  CHECK(withdrawals::decode("bank.credited", 1, stored(credited_v1{-5}),
                            [&](const withdrawn& w) { out.push_back(w); }));
  // A positive credit becomes a deposit: known to this reader, and nothing it lists.
  CHECK(withdrawals::decode("bank.credited", 1, stored(credited_v1{5}),
                            [&](const withdrawn& w) { out.push_back(w); }));
  CHECK(out ==
        std::vector<withdrawn>{withdrawn{{70, currency::eur}}, withdrawn{{5, currency::eur}}});

  std::vector<deposited> in;
  CHECK(deposits::decode("bank.transferred", 1, stored(transferred{70, "bob"}),
                         [&](const deposited& d) { in.push_back(d); }));
  CHECK(deposits::decode("bank.interest_paid", 1, stored(interest_paid{3}),
                         [&](const deposited& d) { in.push_back(d); }));
  CHECK(in == std::vector<deposited>{deposited{{70, currency::eur}, std::string("to bob")},
                                     deposited{{3, currency::eur}, std::string("interest")}});
  // What the bank's own list reads is the same for those records: one upcast result per type.
  const auto seen = read("bank.transferred", 1, stored(transferred{70, "bob"}));
  REQUIRE(seen.size() == 2);
  CHECK(std::get<withdrawn>(seen[0]) == out[0]);
  CHECK(std::get<deposited>(seen[1]) == in[0]);
}

TEST_CASE("a registry knows each stored name it reads, and at which versions",
          "[codec][registry]") {
  CHECK(registry::knows_name("bank.deposited"));
  CHECK(registry::knows_name("bank.transferred"));
  CHECK_FALSE(registry::knows_name("bank.closed"));
  CHECK(registry::versions_of("bank.deposited") == "3, 2, 1");
  using withdrawals = annal::event_registry<annal::events<withdrawn>>;
  CHECK(withdrawals::knows_name("bank.credited"));
  CHECK_FALSE(withdrawals::knows_name("bank.deposited"));
}

TEST_CASE("retired events yield nothing", "[codec][registry][upcast]") {
  // Without an upcast, the payload is not even read.
  CHECK(read("bank.fee_charged", 1, "not a valid payload").empty());
  CHECK(read("bank.audit_noted", 1, stored(audit_noted{"checked"})).empty());
  // An optional result drops some records and keeps others.
  CHECK(read("bank.interest_paid", 1, stored(interest_paid{0})).empty());
  const auto kept = read("bank.interest_paid", 1, stored(interest_paid{3}));
  REQUIRE(kept.size() == 1);
  CHECK(std::get<deposited>(kept[0]).note == std::string("interest"));
  // A retired event with an upcast is decoded, so its bad bytes are still reported.
  CHECK_THROWS_AS(read("bank.audit_noted", 1, "\x01"), annal::error);
}

TEST_CASE("unknown names and versions return false and deliver nothing", "[codec][registry]") {
  CHECK(read("bank.closed", 1, "", false).empty());
  CHECK(read("bank.deposited", 4, stored(deposited{}), false).empty());
  CHECK(read("bank.deposited", 0, "", false).empty());
  CHECK(read("", 1, "", false).empty());
  CHECK(read("bank.deposite", 3, "", false).empty());
  CHECK(read(std::string_view("bank.deposited\0", 15), 3, "", false).empty());
  CHECK(registry::knows("bank.deposited", 1));
  CHECK(registry::knows("bank.fee_charged", 1));
  CHECK_FALSE(registry::knows("bank.fee_charged", 2));
  STATIC_REQUIRE(registry::size == 10);
}

TEST_CASE("decode errors name the stored event, the byte and the field", "[codec][registry]") {
  std::string payload = stored(deposited{{5, currency::eur}, std::nullopt});
  payload[8] = 7;
  try {
    (void)read("bank.deposited", 3, payload);
    FAIL("no error");
  } catch (const annal::error& e) {
    CHECK(e.code() == annal::errc::decode_error);
    CHECK_THAT(std::string(e.what()),
               Catch::StartsWith("event 'bank.deposited' v3: decode error at byte 8, field "
                                 "'amount.unit': invalid enum value 7"));
    CHECK_THAT(std::string(e.what()), Catch::EndsWith("(valid: 0..2)"));
  }
  CHECK_THROWS_WITH(
      read("bank.deposited", 1, "\x01\x02"),
      Catch::Contains(
          "event 'bank.deposited' v1: decode error at byte 0, field 'euros': truncated int32"));
}

TEST_CASE("upcastable_to is a constraint usable in requires clauses", "[codec][upcast]") {
  STATIC_REQUIRE(annal::upcastable_to<deposited_v1, bank_events>);
  STATIC_REQUIRE(annal::upcastable_to<transferred, bank_events>);
  STATIC_REQUIRE(annal::upcastable_to<audit_noted, bank_events>);
  STATIC_REQUIRE_FALSE(annal::upcastable_to<fee_charged, bank_events>);  // no upcast at all
  // A reader of deposits alone takes the deposits a credit may become; withdrawals are not its own.
  STATIC_REQUIRE(annal::upcastable_to<credited_v1, annal::events<deposited>>);
  STATIC_REQUIRE_FALSE(
      annal::upcastable_to<deposited_v1, annal::events<opened>>);  // never an opening

  std::vector<seen_event> seen;
  annal::upcast_to<bank_events>(deposited_v1{1}, [&](const auto& e) { seen.emplace_back(e); });
  REQUIRE(seen.size() == 1);
  CHECK(std::get<deposited>(seen[0]).amount.cents == 100);
}

TEST_CASE("the registry works over the JSON codec too", "[codec][registry][json]") {
  using json_registry = annal::event_registry<bank_events, annal::json_codec>;
  const auto seen = read<json_registry>("bank.deposited", 1, R"({"euros":3})");
  REQUIRE(seen.size() == 1);
  CHECK(std::get<deposited>(seen[0]).amount.cents == 300);
  CHECK_THROWS_WITH(read<json_registry>("bank.deposited", 1, R"({"euros":"3"})"),
                    Catch::Contains("event 'bank.deposited' v1: decode error at field 'euros'"));
  std::string out;
  json_registry::encode(withdrawn{{1, currency::eur}}, out);
  CHECK(out == R"({"amount":{"cents":1,"unit":0}})");
}

namespace hashes {
// Same length, same first and last 8 bytes: the lookup hash collides and names must be compared.
struct left {
  BOOST_HANA_DEFINE_STRUCT(left, (std::uint8_t, v));
};
ANNAL_EVENT(left, "shop.aaaa.L.ordered", 1);
struct right {
  BOOST_HANA_DEFINE_STRUCT(right, (std::uint16_t, v));
};
ANNAL_EVENT(right, "shop.aaaa.R.ordered", 1);
struct tiny {
  BOOST_HANA_DEFINE_STRUCT(tiny, (bool, v));
};
ANNAL_EVENT(tiny, "t", 7);
struct sixteen {
  BOOST_HANA_DEFINE_STRUCT(sixteen, (std::uint8_t, v));
};
ANNAL_EVENT(sixteen, "shop.1234567.abc", 1);  // 16 bytes: head and tail cover it exactly
struct long_name {
  BOOST_HANA_DEFINE_STRUCT(long_name, (std::uint8_t, v));
};
ANNAL_EVENT(long_name, "shop.aaaa.catalogue.item_repriced", 2);
using list = annal::events<left, right, tiny, sixteen, long_name>;
}  // namespace hashes

TEST_CASE("names whose lookup hashes collide are still told apart", "[codec][registry]") {
  using reg = annal::event_registry<hashes::list>;
  int which = 0;
  auto on = [&](const auto& e) {
    using E = std::remove_cvref_t<decltype(e)>;
    which = std::is_same_v<E, hashes::left> ? 1 : std::is_same_v<E, hashes::right> ? 2 : 3;
  };
  CHECK(reg::decode("shop.aaaa.R.ordered", 1, binary_codec::encode(hashes::right{9}), on));
  CHECK(which == 2);
  CHECK(reg::decode("shop.aaaa.L.ordered", 1, binary_codec::encode(hashes::left{9}), on));
  CHECK(which == 1);
  CHECK(reg::decode("t", 7, binary_codec::encode(hashes::tiny{true}), on));
  CHECK(which == 3);
  CHECK_FALSE(reg::decode("shop.aaaa.X.ordered", 1, "", on));
  CHECK(reg::decode("shop.1234567.abc", 1, binary_codec::encode(hashes::sixteen{1}), on));
  CHECK(reg::decode("shop.aaaa.catalogue.item_repriced", 2,
                    binary_codec::encode(hashes::long_name{1}), on));
  CHECK_FALSE(reg::decode("shop.1234567.abd", 1, "", on));
  CHECK_FALSE(reg::decode("shop.1234567.ab", 1, "", on));
  CHECK_FALSE(
      reg::decode("shop.aaaa.catalogue.item_Repriced", 2, "", on));  // differs in the middle only
  CHECK_FALSE(reg::decode("shop.aaaa.catalogue.item_repriced", 1, "", on));
  CHECK_FALSE(reg::decode("t", 6, "", on));
  CHECK_FALSE(reg::decode("u", 7, "", on));
}

TEST_CASE("the registry lists every type it reads", "[codec][registry]") {
  std::vector<std::string> names;
  registry::for_each_stored_type([&](auto type) {
    using T = typename decltype(type)::type;
    names.push_back(std::string(annal::event_name_of<T>) + " v" +
                    std::to_string(annal::event_version_of<T>));
  });
  std::sort(names.begin(), names.end());
  CHECK(names == std::vector<std::string>{"bank.audit_noted v1", "bank.credited v1",
                                          "bank.deposited v1", "bank.deposited v2",
                                          "bank.deposited v3", "bank.fee_charged v1",
                                          "bank.interest_paid v1", "bank.opened v1",
                                          "bank.transferred v1", "bank.withdrawn v1"});
}
