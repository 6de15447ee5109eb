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

namespace detail {
// Whether an envelope lies after the point a hydration stops at.
constexpr bool after(const envelope_header& e, at_version stop) noexcept {
  return e.stream_version > stop.version;
}
constexpr bool after(const envelope_header& e, at_time stop) noexcept {
  return e.recorded_at > stop.time;
}
template <class S>
concept stop_point = std::is_same_v<S, at_version> || std::is_same_v<S, at_time>;
}  // namespace detail

// Folds envelopes up to and including `stop` (at_version or at_time); later ones are left out.
template <class A, detail::iterable R, detail::stop_point Stop>
  requires std::is_base_of_v<envelope_header, detail::element_t<R>>
constexpr A hydrate(R&& envelopes, Stop stop) {
  static_assert(check_aggregate<A>());
  A state{};
  for (const auto& e : envelopes) {
    if (detail::after(e, stop)) break;
    apply_any(state, e);
  }
  return state;
}

}  // namespace annal
