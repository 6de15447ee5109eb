// An enum stored without a declared range is a compile error naming the enum and the fix.
#include <cstdint>
#include <string>

#include <boost/hana/define_struct.hpp>

#include <annal/codec/json.hpp>

namespace shop {
enum class tier : std::uint8_t { bronze, silver, gold };
#ifndef ANNAL_COMPILE_FAIL
ANNAL_ENUM_RANGE(tier, tier::bronze, tier::gold);
#endif
struct upgraded {
  BOOST_HANA_DEFINE_STRUCT(upgraded, (tier, to));
};
}  // namespace shop

std::string store(const shop::upgraded& u) {
  return annal::json_codec::encode(u);
}

// expect: write ANNAL_ENUM_RANGE\(type, first, last\) beside the enum
// expect: enum_needs_a_declared_range<shop::tier>
// first: enum_needs_a_declared_range<shop::tier>
