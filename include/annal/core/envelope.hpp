// The record that travels with every stored event: where it sits, who caused it, when it happened.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>

#include <boost/uuid/uuid.hpp>

#include <annal/core/detail/chrono.hpp>

namespace annal {

using event_id = boost::uuids::uuid;
using clock = std::chrono::system_clock;
using time_point = clock::time_point;

// User metadata: free-form key/value pairs stored beside the event (user id, tenant, reason...).
using metadata = std::map<std::string, std::string, std::less<>>;

// Everything a store records about an event besides the event itself.
struct envelope_header {
  std::string stream_id;
  std::uint64_t stream_version = 0;  // 1-based and gapless within a stream
  std::uint64_t position = 0;        // global position: increases in read_all order
  event_id id{};
  time_point recorded_at{};
  event_id correlation_id{};  // the conversation this event belongs to
  event_id causation_id{};    // the message (command or event) that caused it
  metadata meta;

  friend bool operator==(const envelope_header&, const envelope_header&) = default;
};

// A decoded event with its envelope.
template <class Event>
struct envelope : envelope_header {
  Event event;
};

}  // namespace annal
