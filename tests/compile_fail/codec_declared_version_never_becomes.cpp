// An event that declares a previous version whose upcast leads elsewhere: records of that version
// would never reach its readers, so the declaration is refused, naming both types.
#include <cstdint>

#include <boost/hana/define_struct.hpp>

#include <annal/codec/registry.hpp>

namespace shop {
struct ordered_v1 {
  BOOST_HANA_DEFINE_STRUCT(ordered_v1, (std::int32_t, qty));
};
ANNAL_EVENT(ordered_v1, "shop.ordered", 1);
struct cancelled {
  BOOST_HANA_DEFINE_STRUCT(cancelled, (std::int64_t, qty));
};
ANNAL_EVENT(cancelled, "shop.cancelled", 1);
struct ordered {
  using previous_versions = annal::events<ordered_v1>;
  BOOST_HANA_DEFINE_STRUCT(ordered, (std::int64_t, qty));
};
ANNAL_EVENT(ordered, "shop.ordered", 2);

#ifdef ANNAL_COMPILE_FAIL
inline cancelled upcast(const ordered_v1& e) {
  return {e.qty};
}
#else
inline ordered upcast(const ordered_v1& e) {
  return {e.qty};
}
#endif
}  // namespace shop

bool read(std::string_view type, std::uint32_t version, std::string_view payload) {
  return annal::event_registry<annal::events<shop::ordered, shop::cancelled>>::decode(
      type, version, payload, [](const auto&) {});
}

// expect: declares_a_previous_version_that_never_becomes_it<shop::ordered, shop::ordered_v1>
