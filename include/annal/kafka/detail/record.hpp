// How one recorded_event becomes a Kafka record's headers and back; decoding trusts no byte.
#pragma once

#include <array>
#include <charconv>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <librdkafka/rdkafka.h>

#include <annal/core/detail/chrono.hpp>
#include <annal/core/error.hpp>
#include <annal/detail/utf8.hpp>
#include <annal/kafka/headers.hpp>
#include <annal/store/event_store.hpp>

namespace annal::detail::kafka {

inline constexpr std::array<std::string_view, 10> header_names = {
    kafka_header::event_id,       kafka_header::type,           kafka_header::schema_version,
    kafka_header::stream_id,      kafka_header::stream_version, kafka_header::position,
    kafka_header::correlation_id, kafka_header::causation_id,   kafka_header::recorded_at,
    kafka_header::metadata};

inline std::int64_t nanos_since_epoch(time_point t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

inline std::int64_t millis_since_epoch(time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

inline void append_uuid(std::string& out, const event_id& id) {
  constexpr char hex[] = "0123456789abcdef";
  for (std::size_t i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out += '-';
    out += hex[id.data[i] >> 4];
    out += hex[id.data[i] & 0xf];
  }
}

template <class Int>
void append_decimal(std::string& out, Int value) {
  char digits[24];
  const auto end = std::to_chars(digits, digits + sizeof digits, value).ptr;
  out.append(digits, end);
}

// A JSON string literal; metadata is text, so only quotes, backslashes and controls need escapes.
inline void append_json_string(std::string& out, std::string_view s) {
  constexpr char hex[] = "0123456789abcdef";
  out += '"';
  for (const char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (u < 0x20) {
      out += "\\u00";
      out += hex[u >> 4];
      out += hex[u & 0xf];
    } else {
      out += c;
    }
  }
  out += '"';
}

// Builds the ten header values of one event into one reused buffer: no allocation per event once
// the buffer has grown.
class header_encoder {
 public:
  void encode(const recorded_event& e) {
    buffer_.clear();
    std::size_t i = 0;
    const auto next = [&] { ends_[i++] = buffer_.size(); };
    append_uuid(buffer_, e.id);
    next();
    buffer_ += e.type;
    next();
    append_decimal(buffer_, e.schema_version);
    next();
    buffer_ += e.stream_id;
    next();
    append_decimal(buffer_, e.stream_version);
    next();
    append_decimal(buffer_, e.position);
    next();
    append_uuid(buffer_, e.correlation_id);
    next();
    append_uuid(buffer_, e.causation_id);
    next();
    append_decimal(buffer_, nanos_since_epoch(e.recorded_at));
    next();
    buffer_ += '{';
    bool first = true;
    for (const auto& [key, value] : e.meta) {
      if (!first) buffer_ += ',';
      first = false;
      append_json_string(buffer_, key);
      buffer_ += ':';
      append_json_string(buffer_, value);
    }
    buffer_ += '}';
    next();
  }

  // The value of header_names[i] for the last event encoded.
  std::string_view value(std::size_t i) const noexcept {
    const std::size_t begin = i == 0 ? 0 : ends_[i - 1];
    return std::string_view(buffer_).substr(begin, ends_[i] - begin);
  }

 private:
  std::string buffer_;
  std::array<std::size_t, header_names.size()> ends_{};
};

// Bytes from the wire, shown safely in an error message: printable ASCII as is, the rest escaped.
inline std::string shown_bytes(std::string_view bytes) {
  constexpr std::size_t shown = 40;
  constexpr char hex[] = "0123456789abcdef";
  std::string out = "'";
  for (const char c : bytes.substr(0, shown)) {
    const auto u = static_cast<unsigned char>(c);
    if (u >= 0x20 && u < 0x7f && c != '\\') {
      out += c;
    } else {
      out += "\\x";
      out += hex[u >> 4];
      out += hex[u & 0xf];
    }
  }
  if (bytes.size() > shown) out += "...";
  return out + "'";
}

inline int hex_digit(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Only the canonical form 8-4-4-4-12: anything else did not come from annal.
inline std::optional<event_id> parse_uuid(std::string_view text) {
  if (text.size() != 36) return std::nullopt;
  event_id id{};
  std::size_t n = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (text[i] != '-') return std::nullopt;
      continue;
    }
    const int v = hex_digit(text[i]);
    if (v < 0) return std::nullopt;
    id.data[n / 2] = static_cast<std::uint8_t>(n % 2 == 0 ? v << 4 : id.data[n / 2] | v);
    ++n;
  }
  return id;
}

template <class Int>
std::optional<Int> parse_decimal(std::string_view text) {
  if (text.empty() || text.front() == '+') return std::nullopt;
  Int value{};
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size()) return std::nullopt;
  return value;
}

inline std::optional<metadata> parse_metadata(std::string_view text) {
  boost::system::error_code ec;
  const boost::json::value v = boost::json::parse(text, ec);
  if (ec || !v.is_object()) return std::nullopt;
  metadata meta;
  for (const auto& [key, value] : v.get_object()) {
    if (!value.is_string()) return std::nullopt;
    meta.emplace(std::string(key), std::string(value.get_string()));
  }
  return meta;
}

inline std::string message_place(std::string_view topic, std::int32_t partition,
                                 std::int64_t offset) {
  return "topic '" + std::string(topic) + "' partition " + std::to_string(partition) + " offset " +
         std::to_string(offset);
}

[[noreturn]] inline void not_an_event(const rd_kafka_message_t& m, std::string_view topic,
                                      const std::string& why) {
  throw error(errc::decode_error, "kafka: the message at " +
                                      message_place(topic, m.partition, m.offset) +
                                      " is not an annal event: " + why);
}

inline std::string garbled(std::string_view name, std::string_view value, std::string_view wanted) {
  return "header '" + std::string(name) + "' holds " + shown_bytes(value) + ", not " +
         std::string(wanted);
}

// Rebuilds an event from what a publisher sent: `header(name)` returns the value of header `name`
// (and calls `fail` if it is missing or null), `key` is the message key (nullopt: none), `payload`
// the value. `fail(why)` throws. Into `out`, reused, so its strings keep their capacity.
template <class Header, class Fail>
void decode_event(Header&& header, std::optional<std::string_view> key, std::string_view payload,
                  recorded_event& out, Fail&& fail) {
  const auto uuid = [&](std::string_view name) {
    const std::string_view text = header(name);
    const auto id = parse_uuid(text);
    if (!id) fail(garbled(name, text, "a uuid"));
    return *id;
  };
  const auto number = [&]<class Int>(std::string_view name, Int minimum) {
    const std::string_view text = header(name);
    const auto n = parse_decimal<Int>(text);
    if (!n || *n < minimum)
      fail(garbled(name, text, "a decimal number of at least " + std::to_string(minimum)));
    return *n;
  };

  out.id = uuid(kafka_header::event_id);
  if (out.id.is_nil()) fail("header '" + std::string(kafka_header::event_id) + "' is the nil uuid");
  const std::string_view type = header(kafka_header::type);
  if (type.empty()) fail("header '" + std::string(kafka_header::type) + "' is empty");
  out.type.assign(type);
  out.schema_version = number(kafka_header::schema_version, std::uint32_t{0});
  const std::string_view stream = header(kafka_header::stream_id);
  if (stream.empty() || stream.size() > max_stream_id_size ||
      stream.find('\0') != std::string_view::npos || !is_valid_utf8(stream))
    fail(garbled(kafka_header::stream_id, stream, "a stream id"));
  if (key && *key != stream)
    fail("its key " + shown_bytes(*key) + " differs from header '" +
         std::string(kafka_header::stream_id) + "' " + shown_bytes(stream));
  out.stream_id.assign(stream);
  out.stream_version = number(kafka_header::stream_version, std::uint64_t{1});
  out.position = number(kafka_header::position, std::uint64_t{1});
  out.correlation_id = uuid(kafka_header::correlation_id);
  out.causation_id = uuid(kafka_header::causation_id);
  const std::string_view at = header(kafka_header::recorded_at);
  const auto nanos = parse_decimal<std::int64_t>(at);
  if (!nanos) fail(garbled(kafka_header::recorded_at, at, "nanoseconds since the Unix epoch"));
  out.recorded_at =
      time_point(std::chrono::duration_cast<clock::duration>(std::chrono::nanoseconds(*nanos)));
  const std::string_view meta = header(kafka_header::metadata);
  auto parsed = parse_metadata(meta);
  if (!parsed) fail(garbled(kafka_header::metadata, meta, "a JSON object of strings"));
  out.meta = std::move(*parsed);
  out.payload.assign(payload);
}

// Rebuilds the event a publisher sent from a consumed message's headers, key and value, into `out`
// (reused, so its strings keep their capacity). Throws errc::decode_error naming the message.
inline void decode_message(const rd_kafka_message_t& m, std::string_view topic,
                           recorded_event& out) {
  const auto fail = [&](const std::string& why) { not_an_event(m, topic, why); };
  rd_kafka_headers_t* headers = nullptr;
  if (rd_kafka_message_headers(&m, &headers) != RD_KAFKA_RESP_ERR_NO_ERROR || !headers)
    fail("it has no headers (annal's kafka_publisher writes " +
         std::string(kafka_header::event_id) + " and nine more)");
  const auto header = [&](std::string_view name) {
    const void* value = nullptr;
    std::size_t size = 0;
    if (rd_kafka_header_get_last(headers, name.data(), &value, &size) != RD_KAFKA_RESP_ERR_NO_ERROR)
      fail("header '" + std::string(name) + "' is missing");
    if (!value) fail("header '" + std::string(name) + "' has a null value");
    return std::string_view(static_cast<const char*>(value), size);
  };
  // Built by emplace, not by a conditional expression: g++ 12 at -O2 otherwise warns that the
  // disengaged branch's value may be read (-Wmaybe-uninitialized), which it never is.
  std::optional<std::string_view> key;
  if (m.key) key.emplace(static_cast<const char*>(m.key), m.key_len);
  decode_event(
      header, key,
      m.payload ? std::string_view(static_cast<const char*>(m.payload), m.len) : std::string_view(),
      out, fail);
}

}  // namespace annal::detail::kafka
