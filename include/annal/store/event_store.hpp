// The event_store concept: what every backend provides (the vocabulary it speaks is
// core/record.hpp).
#pragma once

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include <annal/core/record.hpp>
#include <annal/runtime/new_event_id.hpp>

namespace annal {

namespace detail {
// What the concept checks reads with; real callers pass lambdas returning void or bool.
struct read_visitor_archetype {
  bool operator()(const recorded_event&) const { return true; }
};

// A read visitor returns void (read on) or bool (false stops the read).
template <class F, class E>
bool visit_continue(F& f, const E& e) {
  if constexpr (std::is_void_v<std::invoke_result_t<F&, const E&>>) {
    f(e);
    return true;
  } else {
    return static_cast<bool>(f(e));
  }
}
}  // namespace detail

// A store of event streams. Every backend provides:
//   append(stream_id, expected_version, span<const event_data>) -> append_result
//       atomic: the whole batch or nothing; a batch whose ids are all stored already returns the
//       original result with status `duplicate`.
//   read_stream(stream_id, from_version, visitor[, max_count]) -> events visited
//       versions from `from_version` (1-based, inclusive) in order.
//   read_all(from_position, visitor[, max_count]) -> events visited
//       every stream, in global position order from `from_position` (inclusive).
//   stream_version(stream_id) -> current version (0 = no stream)
//   last_position() -> the highest position stored (0 = empty)
// A visitor is called with `const recorded_event&` and returns void or bool (false stops).
template <class S>
concept event_store =
    requires(S& s, const S& cs, std::string_view id, std::span<const event_data> batch,
             expected_version expect, std::uint64_t from, detail::read_visitor_archetype visit) {
      { s.append(id, expect, batch) } -> std::same_as<append_result>;
      { cs.read_stream(id, from, visit) } -> std::same_as<std::size_t>;
      { cs.read_stream(id, from, visit, std::size_t{1}) } -> std::same_as<std::size_t>;
      { cs.read_all(from, visit) } -> std::same_as<std::size_t>;
      { cs.read_all(from, visit, std::size_t{1}) } -> std::same_as<std::size_t>;
      { cs.stream_version(id) } -> std::same_as<std::uint64_t>;
      { cs.last_position() } -> std::same_as<std::uint64_t>;
    };

}  // namespace annal
