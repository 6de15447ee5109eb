// Text forms the SQL backends share for envelope fields: uuids, metadata as JSON, times in µs.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include <boost/json.hpp>

#include <annal/core/detail/chrono.hpp>
#include <annal/core/envelope.hpp>
#include <annal/core/error.hpp>

namespace annal::detail::sql {

// Canonical 36-character text form, without going through iostreams (it runs once per column).
inline void uuid_to_text(const event_id& id, std::string& out) {
  constexpr char hex[] = "0123456789abcdef";
  for (std::size_t i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out += '-';
    out += hex[id.data[i] >> 4];
    out += hex[id.data[i] & 0xf];
  }
}

inline std::string uuid_to_text(const event_id& id) {
  std::string out;
  out.reserve(36);
  uuid_to_text(id, out);
  return out;
}

inline int hex_value(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Parses the text form the server prints (dashes anywhere are skipped, 32 hex digits).
inline event_id uuid_from_text(std::string_view text) {
  event_id id{};
  std::size_t n = 0;
  for (char c : text) {
    if (c == '-') continue;
    const int v = hex_value(c);
    if (v < 0 || n >= 32)
      throw error(errc::decode_error, "stored event id '" + std::string(text) + "' is not a uuid");
    id.data[n / 2] = static_cast<std::uint8_t>(n % 2 == 0 ? v << 4 : id.data[n / 2] | v);
    ++n;
  }
  if (n != 32)
    throw error(errc::decode_error, "stored event id '" + std::string(text) + "' is not a uuid");
  return id;
}

inline std::string metadata_to_json(const metadata& meta) {
  if (meta.empty()) return "{}";
  boost::json::object obj;
  for (const auto& [k, v] : meta) obj[k] = v;
  return boost::json::serialize(obj);
}

inline metadata metadata_from_json(std::string_view text) {
  metadata meta;
  if (text.empty() || text == "{}") return meta;
  boost::system::error_code ec;
  const boost::json::value v = boost::json::parse(text, ec);
  if (ec || !v.is_object())
    throw error(errc::decode_error, "stored metadata is not a JSON object: " + std::string(text));
  for (const auto& [k, val] : v.get_object()) {
    if (!val.is_string())
      throw error(errc::decode_error,
                  "stored metadata value for key '" + std::string(k) + "' is not a string");
    meta.emplace(std::string(k), std::string(val.get_string()));
  }
  return meta;
}

// Times travel as microseconds since the epoch: PostgreSQL's timestamptz resolution.
inline std::int64_t to_micros(time_point t) {
  return std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()).count();
}

// Rounded up, so a stored time is never earlier than the clock reading taken before the append.
inline std::int64_t to_micros_ceil(time_point t) {
  return std::chrono::ceil<std::chrono::microseconds>(t.time_since_epoch()).count();
}

inline time_point from_micros(std::int64_t us) {
  return time_point(std::chrono::duration_cast<clock::duration>(std::chrono::microseconds(us)));
}

}  // namespace annal::detail::sql
