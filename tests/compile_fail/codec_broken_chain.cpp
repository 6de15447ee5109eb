// A chain that stops halfway (v1 -> v2, but no v2 -> current) names the old type and where it
// stops.
#include <cstdint>

#include <boost/hana/define_struct.hpp>

#include <annal/codec/registry.hpp>

namespace shop {
struct shipped_v1 {
  BOOST_HANA_DEFINE_STRUCT(shipped_v1, (std::int32_t, parcel));
};
ANNAL_EVENT(shipped_v1, "shop.shipped", 1);
struct shipped_v2 {
  BOOST_HANA_DEFINE_STRUCT(shipped_v2, (std::int64_t, parcel));
};
ANNAL_EVENT(shipped_v2, "shop.shipped", 2);
struct shipped {
  using previous_versions = annal::events<shipped_v1, shipped_v2>;
  BOOST_HANA_DEFINE_STRUCT(shipped, (std::int64_t, parcel), (bool, tracked));
};
ANNAL_EVENT(shipped, "shop.shipped", 3);

inline shipped_v2 upcast(const shipped_v1& e) {
  return {e.parcel};
}
#ifndef ANNAL_COMPILE_FAIL
inline shipped upcast(const shipped_v2& e) {
  return {e.parcel, false};
}
#endif
}  // namespace shop

bool read(std::string_view type, std::uint32_t version, std::string_view payload) {
  return annal::event_registry<annal::events<shop::shipped>>::decode(type, version, payload,
                                                                     [](const auto&) {});
}

// expect: an old event version has no upcast\(\) chain to an event of the list
// expect: no_upcast_path_from_old_event_version<shop::shipped_v1, 1U?, shop::shipped_v2>
