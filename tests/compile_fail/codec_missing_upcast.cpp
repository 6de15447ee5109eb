// An old event version declared without an upcast() to the current type is a compile error that
// names the old type and its stored version.
#include <cstdint>

#include <boost/hana/define_struct.hpp>

#include <annal/codec/registry.hpp>

namespace shop {
struct ordered_v1 {
  BOOST_HANA_DEFINE_STRUCT(ordered_v1, (std::int32_t, qty));
};
ANNAL_EVENT(ordered_v1, "shop.ordered", 1);

struct ordered {
  using previous_versions = annal::events<ordered_v1>;
  BOOST_HANA_DEFINE_STRUCT(ordered, (std::int64_t, qty));
};
ANNAL_EVENT(ordered, "shop.ordered", 2);

#ifndef ANNAL_COMPILE_FAIL
inline ordered upcast(const ordered_v1& e) {
  return {e.qty};
}
#endif
}  // namespace shop

bool read(std::string_view type, std::uint32_t version, std::string_view payload) {
  return annal::event_registry<annal::events<shop::ordered>>::decode(type, version, payload,
                                                                     [](const auto&) {});
}

// expect: an old event version has no upcast\(\) chain to an event of the list
// expect: no_upcast_path_from_old_event_version<shop::ordered_v1, 1U?, shop::ordered_v1>
// first: no_upcast_path_from_old_event_version<shop::ordered_v1, 1U?, shop::ordered_v1>
