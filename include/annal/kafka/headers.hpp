// The Kafka record headers annal writes beside each event: the envelope, readable by any client.
#pragma once

#include <string_view>

namespace annal::kafka_header {

// Every value is UTF-8 text so that consumers in any language (Kafka Connect, kcat, Java) can read
// it: uuids in their canonical 36-character form, numbers in decimal.
inline constexpr std::string_view event_id = "annal.event_id";  // consumers dedupe by it
inline constexpr std::string_view type = "annal.type";          // stored event name
inline constexpr std::string_view schema_version = "annal.schema_version";
inline constexpr std::string_view stream_id = "annal.stream_id";  // also the record key
inline constexpr std::string_view stream_version = "annal.stream_version";
inline constexpr std::string_view position = "annal.position";  // the store's global order
inline constexpr std::string_view correlation_id = "annal.correlation_id";
inline constexpr std::string_view causation_id = "annal.causation_id";
inline constexpr std::string_view recorded_at = "annal.recorded_at";  // ns since the Unix epoch
inline constexpr std::string_view metadata = "annal.metadata";        // JSON object of strings

}  // namespace annal::kafka_header
