// A retired event whose upcast yields an event that does not declare it: a reader listing only that
// event would skip the retired records without a word, so the registry refuses it.
#include <cstdint>
#include <string>

#include <boost/hana/define_struct.hpp>

#include <annal/codec/registry.hpp>

namespace bank {
struct transferred {
  BOOST_HANA_DEFINE_STRUCT(transferred, (std::int64_t, cents), (std::string, to));
};
ANNAL_EVENT(transferred, "bank.transferred", 1);

struct withdrawn {
#ifndef ANNAL_COMPILE_FAIL
  using previous_versions = annal::events<transferred>;
#endif
  BOOST_HANA_DEFINE_STRUCT(withdrawn, (std::int64_t, cents));
};
ANNAL_EVENT(withdrawn, "bank.withdrawn", 1);

inline withdrawn upcast(const transferred& e) {
  return {e.cents};
}

using account_events = annal::events<withdrawn>;
}  // namespace bank

template <>
struct annal::retired_events_of<bank::account_events> {
  using type = annal::events<bank::transferred>;
};

bool read(std::string_view type, std::uint32_t version, std::string_view payload) {
  return annal::event_registry<bank::account_events>::decode(type, version, payload,
                                                             [](const auto&) {});
}

// expect: a stored type upcasts into an event that does not declare it
// expect: upcasts_into_an_event_that_does_not_declare_it<bank::transferred, 1U?, bank::withdrawn>
// first: upcasts_into_an_event_that_does_not_declare_it<bank::transferred, 1U?, bank::withdrawn>
