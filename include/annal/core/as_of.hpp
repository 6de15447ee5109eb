// Time travel: hydrating envelopes up to a stream version or a recorded time ("state as of").
// Apart from hydrate.hpp, which needs no envelope definitions.
#pragma once

#include <cstdint>
#include <type_traits>

#include <annal/core/envelope.hpp>
#include <annal/core/hydrate.hpp>

namespace annal {

// Where to stop when loading: at a stream version, or at a recorded time ("state as of").
struct at_version {
  std::uint64_t version;
};
struct at_time {
  time_point time;
};

// Folds envelopes up to and including `stop`; later ones are left out.
template <class A, detail::iterable R>
  requires std::is_base_of_v<envelope_header, detail::element_t<R>>
constexpr A hydrate(R&& envelopes, at_version stop) {
  static_assert(check_aggregate<A>());
  A state{};
  for (const auto& e : envelopes) {
    if (e.stream_version > stop.version) break;
    apply_any(state, e);
  }
  return state;
}

template <class A, detail::iterable R>
  requires std::is_base_of_v<envelope_header, detail::element_t<R>>
constexpr A hydrate(R&& envelopes, at_time stop) {
  static_assert(check_aggregate<A>());
  A state{};
  for (const auto& e : envelopes) {
    if (e.recorded_at > stop.time) break;
    apply_any(state, e);
  }
  return state;
}

}  // namespace annal
