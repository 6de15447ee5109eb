// docs/codec.md, compiled and run: an event's encoding derived from its members.
#include <catch2/catch.hpp>

#include <cstdint>
#include <optional>
#include <string>

// [codec-event]
#include <annal/codec/binary.hpp>
#include <annal/codec/json.hpp>
#include <annal/core/event.hpp>
#include <boost/hana/define_struct.hpp>

namespace bank {
enum class currency : std::uint8_t { eur, usd, gbp };
ANNAL_ENUM_RANGE(currency, currency::eur, currency::gbp);  // valid values, checked on decode

struct deposited {
  BOOST_HANA_DEFINE_STRUCT(deposited, (std::int64_t, cents), (currency, unit),
                           (std::optional<std::string>, note));
};
ANNAL_EVENT(deposited, "bank.deposited", 3);
}  // namespace bank
// [codec-event]

TEST_CASE("docs/codec.md: encode, decode, JSON", "[docs][codec]") {
  // [codec-use]
  std::string bytes;
  // encode appends to `bytes`; decode throws annal::error on bad bytes
  annal::binary_codec::encode(bank::deposited{250, bank::currency::usd, "salary"}, bytes);
  auto e = annal::binary_codec::decode<bank::deposited>(bytes);
  std::string json = annal::json_codec::encode(e);  // {"cents":250,"unit":1,"note":"salary"}
  // [codec-use]
  CHECK(e.cents == 250);
  CHECK(e.unit == bank::currency::usd);
  CHECK(e.note == std::optional<std::string>("salary"));
  CHECK(json == R"({"cents":250,"unit":1,"note":"salary"})");

  // The byte layout the page spells out for this value.
  const std::string expected(
      "\xfa\0\0\0\0\0\0\0"
      "\x01"
      "\x01"
      "\x06\0\0\0"
      "salary",
      20);
  CHECK(bytes == expected);

  // Bad bytes throw annal::error.
  CHECK_THROWS_AS(annal::binary_codec::decode<bank::deposited>(bytes.substr(0, 5)), annal::error);
}
