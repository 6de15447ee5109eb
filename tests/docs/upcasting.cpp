// docs/upcasting.md, compiled and run: old event versions reach today's events through upcast().
#include <catch2/catch.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include <boost/hana/define_struct.hpp>

#include <annal/codec/binary.hpp>
#include <annal/codec/enum_range.hpp>
#include <annal/codec/registry.hpp>
#include <annal/codec/upcast.hpp>
#include <annal/core/event.hpp>
#include <annal/core/event_list.hpp>

// What the page's example takes as given: the bank's other events and its money type.
namespace bank {
enum class currency : std::uint8_t { eur, usd, gbp };
ANNAL_ENUM_RANGE(currency, currency::eur, currency::gbp);

struct money {
  BOOST_HANA_DEFINE_STRUCT(money, (std::int64_t, cents), (currency, unit));
  friend bool operator==(const money&, const money&) = default;
};

struct opened {
  BOOST_HANA_DEFINE_STRUCT(opened, (std::string, owner));
};
ANNAL_EVENT(opened, "bank.opened", 1);

struct withdrawn {
  BOOST_HANA_DEFINE_STRUCT(withdrawn, (money, amount));
};
ANNAL_EVENT(withdrawn, "bank.withdrawn", 1);
}  // namespace bank

// [example-events]
namespace bank {
struct deposited_v1 {
  BOOST_HANA_DEFINE_STRUCT(deposited_v1, (std::int32_t, euros));
};
ANNAL_EVENT(deposited_v1, "bank.deposited", 1);

struct deposited_v2 {
  BOOST_HANA_DEFINE_STRUCT(deposited_v2, (std::int64_t, cents));
};
ANNAL_EVENT(deposited_v2, "bank.deposited", 2);

struct transferred;  // retired, see "Retired events"

struct deposited {  // today's event
  using previous_versions = annal::events<deposited_v1, deposited_v2, transferred>;
  BOOST_HANA_DEFINE_STRUCT(deposited, (money, amount), (std::optional<std::string>, note));
};
ANNAL_EVENT(deposited, "bank.deposited", 3);

deposited_v2 upcast(const deposited_v1& e) {
  return {std::int64_t{e.euros} * 100};
}
deposited upcast(const deposited_v2& e) {
  return {money{e.cents, currency::eur}, std::nullopt};
}

using account_events = annal::events<opened, deposited, withdrawn>;
}  // namespace bank
// [example-events]

// Events that are no longer written but may still be stored.
namespace bank {
struct transferred {
  BOOST_HANA_DEFINE_STRUCT(transferred, (std::int64_t, cents), (std::string, to));
};
ANNAL_EVENT(transferred, "bank.transferred", 1);

struct fee_charged {
  BOOST_HANA_DEFINE_STRUCT(fee_charged, (std::int64_t, cents));
};
ANNAL_EVENT(fee_charged, "bank.fee_charged", 1);

struct audit_noted {
  BOOST_HANA_DEFINE_STRUCT(audit_noted, (std::string, text));
};
ANNAL_EVENT(audit_noted, "bank.audit_noted", 1);

// [split-and-retire]
annal::upcast_result<withdrawn, deposited> upcast(const transferred& e) {
  return {withdrawn{money{e.cents, currency::eur}},
          deposited{money{e.cents, currency::eur}, "to " + e.to}};
}
annal::retired_t upcast(const audit_noted&) {
  return annal::retired_t{};
}
// [split-and-retire]
}  // namespace bank

// [retired-events]
// transferred becomes a withdrawal and a deposit: each declares it (deposited does so in its
// member list above; withdrawn, which has none, through the trait).
template <>
struct annal::previous_versions_of<bank::withdrawn> {
  using type = annal::events<bank::transferred>;
};
// fee_charged became nothing: only the account's own list needs to know it, to skip it.
template <>
struct annal::retired_events_of<bank::account_events> {
  using type = annal::events<bank::fee_charged>;
};
// [retired-events]

namespace {

// What a stored event looks like to the registry.
struct stored_record {
  std::string type;
  std::uint32_t schema_version = 1;
  std::string payload;
};

template <class E>
stored_record store(const E& e) {
  return {std::string(annal::event_info_of<E>.name), annal::event_info_of<E>.version,
          annal::binary_codec::encode(e)};
}

// An account's state: what apply() saw, in order.
struct account_state {
  std::vector<std::string> seen;
  std::int64_t balance = 0;
  void apply(const bank::opened& e) { seen.push_back("opened " + e.owner); }
  void apply(const bank::deposited& e) {
    seen.push_back("deposited " + std::to_string(e.amount.cents) + (e.note ? " " + *e.note : ""));
    balance += e.amount.cents;
  }
  void apply(const bank::withdrawn& e) {
    seen.push_back("withdrawn " + std::to_string(e.amount.cents));
    balance -= e.amount.cents;
  }
};

bool read_into(account_state& state, const stored_record& record) {
  // [decode]
  using registry = annal::event_registry<bank::account_events>;  // binary_codec by default
  bool known = registry::decode(record.type, record.schema_version, record.payload,
                                [&](const auto& event) { state.apply(event); });
  // [decode]
  return known;
}

}  // namespace

TEST_CASE("docs/upcasting.md: a v1 record is decoded as today's deposited, once",
          "[docs][upcast]") {
  account_state state;
  const stored_record v1 = store(bank::deposited_v1{12});
  CHECK(v1.type == "bank.deposited");
  CHECK(v1.schema_version == 1);
  CHECK(read_into(state, v1));
  CHECK(state.seen == std::vector<std::string>{"deposited 1200"});  // 12 euros, through v2

  CHECK(read_into(state, store(bank::deposited_v2{99})));
  CHECK(read_into(state, store(bank::deposited{bank::money{5, bank::currency::usd}, "tip"})));
  CHECK(state.seen ==
        std::vector<std::string>{"deposited 1200", "deposited 99", "deposited 5 tip"});
  CHECK(annal::event_info_of<bank::deposited>.version == 3);
}

TEST_CASE("docs/upcasting.md: retired events split or vanish", "[docs][upcast]") {
  account_state state;
  // transferred is retired with an upcast: it becomes a withdrawal then a deposit.
  CHECK(read_into(state, store(bank::transferred{300, "bob"})));
  CHECK(state.seen == std::vector<std::string>{"withdrawn 300", "deposited 300 to bob"});

  // fee_charged is retired without one: known, nothing delivered, its payload not even read.
  state.seen.clear();
  CHECK(read_into(state, stored_record{"bank.fee_charged", 1, "not a payload"}));
  CHECK(state.seen.empty());

  // audit_noted upcasts to retired_t: nothing.
  int delivered = 0;
  annal::upcast_to<bank::account_events>(bank::audit_noted{"checked"},
                                         [&](const auto&) { ++delivered; });
  CHECK(delivered == 0);
  STATIC_REQUIRE(annal::upcastable_to<bank::deposited_v1, bank::account_events>);
  STATIC_REQUIRE(annal::upcastable_to<bank::transferred, bank::account_events>);
  STATIC_REQUIRE(annal::upcastable_to<bank::audit_noted, bank::account_events>);

  // An unknown (name, version) is reported, nothing called.
  CHECK_FALSE(read_into(state, stored_record{"bank.deposited", 9, ""}));
  CHECK(state.seen.empty());
}
