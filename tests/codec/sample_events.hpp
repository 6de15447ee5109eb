// Events and values shared by the codec tests: a small bank with old versions, a split and retired
// events.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <variant>
#include <vector>

#include <boost/hana/adapt_struct.hpp>
#include <boost/hana/define_struct.hpp>
#include <boost/uuid/uuid.hpp>

#include <annal/codec/enum_range.hpp>
#include <annal/codec/upcast.hpp>
#include <annal/core/event.hpp>
#include <annal/core/event_list.hpp>

namespace sample {

enum class currency : std::uint8_t { eur, usd, gbp };
ANNAL_ENUM_RANGE(currency, currency::eur, currency::gbp);

enum class level : std::int16_t { low = -1, mid = 0, high = 1 };
ANNAL_ENUM_RANGE(level, level::low, level::high);

struct money {
  BOOST_HANA_DEFINE_STRUCT(money, (std::int64_t, cents), (currency, unit));
  friend bool operator==(const money&, const money&) = default;
};

// --- the bank's current events ---
struct opened {
  BOOST_HANA_DEFINE_STRUCT(opened, (std::string, owner), (boost::uuids::uuid, account));
  friend bool operator==(const opened&, const opened&) = default;
};
ANNAL_EVENT(opened, "bank.opened", 1);

struct withdrawn {
  BOOST_HANA_DEFINE_STRUCT(withdrawn, (money, amount));
  friend bool operator==(const withdrawn&, const withdrawn&) = default;
};
ANNAL_EVENT(withdrawn, "bank.withdrawn", 1);

// --- old versions: v1 stored whole euros as int32, v2 cents without a currency ---
struct deposited_v1 {
  BOOST_HANA_DEFINE_STRUCT(deposited_v1, (std::int32_t, euros));
};
ANNAL_EVENT(deposited_v1, "bank.deposited", 1);

struct deposited_v2 {
  BOOST_HANA_DEFINE_STRUCT(deposited_v2, (std::int64_t, cents));
};
ANNAL_EVENT(deposited_v2, "bank.deposited", 2);

// Renamed: "bank.credited" held signed amounts; it now becomes a deposit or a withdrawal.
struct credited_v1 {
  BOOST_HANA_DEFINE_STRUCT(credited_v1, (std::int64_t, cents));
};
ANNAL_EVENT(credited_v1, "bank.credited", 1);

// Retired: transfers became a withdrawal plus a deposit; interest became a deposit when there was
// any.
struct transferred {
  BOOST_HANA_DEFINE_STRUCT(transferred, (std::int64_t, cents), (std::string, to));
};
ANNAL_EVENT(transferred, "bank.transferred", 1);
struct interest_paid {
  BOOST_HANA_DEFINE_STRUCT(interest_paid, (std::int64_t, cents));
};
ANNAL_EVENT(interest_paid, "bank.interest_paid", 1);

// Every stored type that can become a deposit is declared by it, so every reader of deposits,
// whatever else it lists, reads them too.
struct deposited {
  using previous_versions = annal::events<deposited_v2, credited_v1, transferred, interest_paid>;
  BOOST_HANA_DEFINE_STRUCT(deposited, (money, amount), (std::optional<std::string>, note));
  friend bool operator==(const deposited&, const deposited&) = default;
};
ANNAL_EVENT(deposited, "bank.deposited", 3);

// v1 is reached through v2's own history: chains may be declared step by step.
}  // namespace sample
template <>
struct annal::previous_versions_of<sample::deposited_v2> {
  using type = annal::events<sample::deposited_v1>;
};
// withdrawn is declared before the types that become it, so its history is given by the trait.
template <>
struct annal::previous_versions_of<sample::withdrawn> {
  using type = annal::events<sample::credited_v1, sample::transferred>;
};
namespace sample {

inline deposited_v2 upcast(const deposited_v1& e) {
  return {std::int64_t{e.euros} * 100};
}
inline deposited upcast(const deposited_v2& e) {
  return {money{e.cents, currency::eur}, std::nullopt};
}
inline std::variant<deposited, withdrawn> upcast(const credited_v1& e) {
  if (e.cents >= 0) return deposited{money{e.cents, currency::eur}, std::string("credited")};
  return withdrawn{money{-e.cents, currency::eur}};
}

// --- retired: transfers became a withdrawal plus a deposit; fees are gone, interest sometimes ---
inline annal::upcast_result<withdrawn, deposited> upcast(const transferred& e) {
  return {withdrawn{money{e.cents, currency::eur}},
          deposited{money{e.cents, currency::eur}, "to " + e.to}};
}

struct fee_charged {
  BOOST_HANA_DEFINE_STRUCT(fee_charged, (std::int64_t, cents));
};
ANNAL_EVENT(fee_charged, "bank.fee_charged", 1);

// Interest became a deposit when there was any; zero-interest records are dropped.
inline std::optional<deposited> upcast(const interest_paid& e) {
  if (e.cents == 0) return std::nullopt;
  return deposited{money{e.cents, currency::eur}, std::string("interest")};
}

struct audit_noted {
  BOOST_HANA_DEFINE_STRUCT(audit_noted, (std::string, text));
};
ANNAL_EVENT(audit_noted, "bank.audit_noted", 1);
inline annal::retired_t upcast(const audit_noted&) {
  return annal::retired_t{};
}

using bank_events = annal::events<opened, deposited, withdrawn>;

// Without any history: the same current events, for comparing against the chained registry.
struct plain_deposited {
  BOOST_HANA_DEFINE_STRUCT(plain_deposited, (money, amount), (std::optional<std::string>, note));
};
ANNAL_EVENT(plain_deposited, "bank.deposited", 3);

}  // namespace sample

template <>
struct annal::retired_events_of<sample::bank_events> {
  using type = annal::events<sample::fee_charged, sample::audit_noted>;
};

namespace sample {

// --- every supported member type, for round trips ---
struct inner {
  BOOST_HANA_DEFINE_STRUCT(inner, (std::string, name), (std::vector<std::int16_t>, values),
                           (level, lvl));
};

struct empty {
  BOOST_HANA_DEFINE_STRUCT(empty);
};

struct everything {
  BOOST_HANA_DEFINE_STRUCT(
      everything, (std::int8_t, i8), (std::int16_t, i16), (std::int32_t, i32), (std::int64_t, i64),
      (std::uint8_t, u8), (std::uint16_t, u16), (std::uint32_t, u32), (std::uint64_t, u64),
      (char, c), (float, f32), (double, f64), (bool, flag), (currency, cur), (level, lvl),
      (std::string, text), (std::vector<std::string>, texts), (std::vector<double>, doubles),
      (std::vector<bool>, bits), (std::optional<std::int32_t>, maybe),
      (std::optional<inner>, maybe_inner), (std::array<std::uint8_t, 4>, quad),
      (std::array<inner, 2>, pair), (std::map<std::string, std::int64_t>, by_name),
      (std::unordered_map<std::uint32_t, std::string>, by_id),
      (std::map<std::int32_t, std::vector<inner>>, nested),
      (std::variant<std::monostate, std::int64_t, std::string, inner, empty>, choice),
      (std::chrono::nanoseconds, elapsed), (std::chrono::duration<double>, seconds),
      (std::chrono::system_clock::time_point, at), (std::chrono::sys_seconds, day_start));
};

// Adapted rather than defined: a type whose definition cannot carry the macro.
struct point {
  std::int32_t x = 0;
  std::int32_t y = 0;
  boost::uuids::uuid id{};
  std::vector<std::optional<std::string>> labels;
};

}  // namespace sample

BOOST_HANA_ADAPT_STRUCT(sample::point, x, y, id, labels);
