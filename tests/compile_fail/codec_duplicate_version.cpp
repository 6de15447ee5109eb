// Two event types stored under the same (name, version) cannot be told apart: a compile error
// naming both.
#include <cstdint>

#include <boost/hana/define_struct.hpp>

#include <annal/codec/registry.hpp>

namespace shop {
struct paid_v1 {
  BOOST_HANA_DEFINE_STRUCT(paid_v1, (std::int32_t, cents));
};
#ifdef ANNAL_COMPILE_FAIL
ANNAL_EVENT(paid_v1, "shop.paid", 2);
#else
ANNAL_EVENT(paid_v1, "shop.paid", 1);
#endif
struct paid {
  using previous_versions = annal::events<paid_v1>;
  BOOST_HANA_DEFINE_STRUCT(paid, (std::int64_t, cents));
};
ANNAL_EVENT(paid, "shop.paid", 2);
inline paid upcast(const paid_v1& e) {
  return {e.cents};
}
}  // namespace shop

bool read(std::string_view type, std::uint32_t version, std::string_view payload) {
  return annal::event_registry<annal::events<shop::paid>>::decode(type, version, payload,
                                                                  [](const auto&) {});
}

// expect: two event types have the same stored name and version
// expect: two_event_types_share_a_stored_name_and_version<shop::paid, shop::paid_v1>
// first: two_event_types_share_a_stored_name_and_version<shop::paid, shop::paid_v1>
