// The event_store concept and the vocabulary every backend shares: batches, expectations, results.
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

#include <annal/core/envelope.hpp>
#include <annal/core/new_event_id.hpp>

namespace annal {

// One event to append, already encoded: stores deal in bytes so that every backend can hold them.
struct event_data {
  event_id id{};               // must not be nil: it is what makes appends idempotent
  std::string type;            // stored event name
  std::uint32_t schema_version = 1;
  std::string payload;         // encoded event bytes (binary or JSON text, per the codec)
  event_id correlation_id{};
  event_id causation_id{};
  metadata meta;
};

// One stored event as read back.
struct recorded_event : envelope_header {
  std::string type;
  std::uint32_t schema_version = 1;
  std::string payload;

  // Every field, envelope included: what a copy of the log must reproduce.
  friend bool operator==(const recorded_event&, const recorded_event&) = default;
};

// What the writer believes the stream's version to be; checked atomically with the append.
class expected_version {
 public:
  enum class kind : std::uint8_t { any, no_stream, exact };

  static constexpr expected_version any() noexcept { return {kind::any, 0}; }
  static constexpr expected_version no_stream() noexcept { return {kind::no_stream, 0}; }
  static constexpr expected_version exact(std::uint64_t version) noexcept {
    return {kind::exact, version};
  }

  constexpr kind what() const noexcept { return kind_; }
  constexpr std::uint64_t version() const noexcept { return version_; }

  // True when a stream at `actual` (0 = no stream) satisfies this expectation.
  constexpr bool matches(std::uint64_t actual) const noexcept {
    switch (kind_) {
      case kind::any: return true;
      case kind::no_stream: return actual == 0;
      case kind::exact: return actual == version_;
    }
    return false;
  }

  friend constexpr bool operator==(expected_version, expected_version) = default;

 private:
  constexpr expected_version(kind k, std::uint64_t v) noexcept : kind_(k), version_(v) {}
  kind kind_;
  std::uint64_t version_;
};

enum class append_status : std::uint8_t {
  appended,   // the events are stored now
  duplicate,  // the same batch (by event ids) was stored before; nothing was stored twice
  conflict,   // the expectation failed; nothing was stored
};

struct append_result {
  append_status status = append_status::appended;
  std::uint64_t stream_version = 0;  // after the append; the actual version on a conflict
  std::uint64_t first_position = 0;  // positions of the batch's first and last events (0 on conflict)
  std::uint64_t last_position = 0;

  constexpr bool ok() const noexcept { return status != append_status::conflict; }
  constexpr explicit operator bool() const noexcept { return ok(); }
};

inline constexpr std::size_t unlimited = std::numeric_limits<std::size_t>::max();

// The stored type of a tombstone: the event that deletes its stream (annal/store/tombstone.hpp).
// Every store refuses appends to a stream whose last event has this type, except retries of
// batches it already holds.
inline constexpr std::string_view tombstone_type = "annal.stream_deleted";

// Longest stream id a store accepts, in bytes; longer ids are refused with errc::invalid_stream_id.
inline constexpr std::size_t max_stream_id_size = 256;

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
concept event_store = requires(S& s, const S& cs, std::string_view id,
                               std::span<const event_data> batch, expected_version expect,
                               std::uint64_t from, detail::read_visitor_archetype visit) {
  { s.append(id, expect, batch) } -> std::same_as<append_result>;
  { cs.read_stream(id, from, visit) } -> std::same_as<std::size_t>;
  { cs.read_stream(id, from, visit, std::size_t{1}) } -> std::same_as<std::size_t>;
  { cs.read_all(from, visit) } -> std::same_as<std::size_t>;
  { cs.read_all(from, visit, std::size_t{1}) } -> std::same_as<std::size_t>;
  { cs.stream_version(id) } -> std::same_as<std::uint64_t>;
  { cs.last_position() } -> std::same_as<std::uint64_t>;
};

}  // namespace annal
