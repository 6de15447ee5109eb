// The record vocabulary every store, codec path and reader shares: batches, stored events,
// expectations, append results, and the context a writer attaches. Plain values, no I/O.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>

#include <annal/core/envelope.hpp>

namespace annal {

// One event to append, already encoded: stores deal in bytes so that every backend can hold them.
struct event_data {
  event_id id{};     // must not be nil: it is what makes appends idempotent
  std::string type;  // stored event name
  std::uint32_t schema_version = 1;
  std::string payload;  // encoded event bytes (binary or JSON text, per the codec)
  event_id correlation_id{};
  event_id causation_id{};
  metadata meta;
  // When the event was recorded, for copies of stored events (replication, migration): left at
  // the epoch, the store records its own clock's time. A batch is recorded at one instant, so
  // every event of a batch carries the same value, and it may not be earlier than the store's
  // last recorded event: recorded times never go backwards.
  time_point recorded_at{};
};

// One stored event as read back.
struct recorded_event : envelope_header {
  std::string type;
  std::uint32_t schema_version = 1;
  std::string payload;

  // Every field, envelope included: what a copy of the log must reproduce.
  friend bool operator==(const recorded_event&, const recorded_event&) = default;
};

// What to append to copy a stored event into another store: the same id (so appending it twice
// stores it once), type, version, payload and envelope ids.
inline event_data as_event_data(const recorded_event& e) {
  return event_data{e.id,           e.type, e.schema_version, e.payload, e.correlation_id,
                    e.causation_id, e.meta};
}

// The same, recorded at the time the original was: what a replica or a migrated store holds.
inline event_data as_recorded_event_data(const recorded_event& e) {
  event_data d = as_event_data(e);
  d.recorded_at = e.recorded_at;
  return d;
}

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
      case kind::any:
        return true;
      case kind::no_stream:
        return actual == 0;
      case kind::exact:
        return actual == version_;
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
  std::uint64_t first_position =
      0;  // positions of the batch's first and last events (0 on conflict)
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

// Who asked and why: copied into the envelope of every event a command appends.
struct command_context {
  // When set, event ids derive from it (name-based UUIDs), so re-sending the same command after a
  // lost acknowledgement stores nothing twice.
  event_id command_id{};
  event_id correlation_id{};
  event_id causation_id{};
  metadata meta;
};

}  // namespace annal
