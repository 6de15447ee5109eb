// A chain v1 -> v2 -> v3 whose v3 declares v1 but not v2: stored v2 records would be unreadable to
// the registry, so the chain is refused, naming the step and the event that must declare it.
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
#ifdef ANNAL_COMPILE_FAIL
  using previous_versions = annal::events<shipped_v1>;
#else
  using previous_versions = annal::events<shipped_v1, shipped_v2>;
#endif
  BOOST_HANA_DEFINE_STRUCT(shipped, (std::int64_t, parcel), (bool, tracked));
};
ANNAL_EVENT(shipped, "shop.shipped", 3);

inline shipped_v2 upcast(const shipped_v1& e) {
  return {e.parcel};
}
inline shipped upcast(const shipped_v2& e) {
  return {e.parcel, false};
}
}  // namespace shop

bool read(std::string_view type, std::uint32_t version, std::string_view payload) {
  return annal::event_registry<annal::events<shop::shipped>>::decode(type, version, payload,
                                                                     [](const auto&) {});
}

// expect: a stored type upcasts into an event that does not declare it
// expect: upcasts_into_an_event_that_does_not_declare_it<shop::shipped_v2, 2U?, shop::shipped>
// first: upcasts_into_an_event_that_does_not_declare_it<shop::shipped_v2, 2U?, shop::shipped>
