// The ARCHIVED file of a file log whose oldest segments were moved to an archive: how many, the
// chain's head at the horizon, where they went, and which streams they leave deleted.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <annal/file/detail/crc32c.hpp>
#include <annal/file/detail/format.hpp>

namespace annal::detail::file_log {

inline constexpr const char* archive_marker_name = "ARCHIVED";
inline constexpr std::string_view archive_magic = "ANNALAR1";

struct archive_marker {
  std::uint32_t segments = 0;       // segments 1..segments are in the archive
  std::uint64_t horizon = 0;        // their last position
  std::uint32_t crc = 0;            // that record's checksum: the chain's head at the horizon
  std::int64_t recorded_at_ns = 0;  // that record's time
  std::uint64_t last_offset = 0;    // that record's offset in segment `segments`
  std::uint64_t segment_bytes = 0;  // the size of segment `segments`
  std::uint64_t total_bytes = 0;    // of segments 1..segments
  std::string archive;              // the archive's directory, as an absolute path
  // Streams whose last event is at or below the horizon and is a tombstone: the log keeps no
  // record to read their last type from.
  std::vector<std::string> deleted_streams;
};

// magic | u32 CRC-32C of the rest | u64 body size | body.
inline std::string encode_archive_marker(const archive_marker& m) {
  std::string body;
  const auto u32 = [&](std::uint32_t v) {
    char b[4];
    put(b, v);
    body.append(b, 4);
  };
  const auto u64 = [&](std::uint64_t v) {
    char b[8];
    put(b, v);
    body.append(b, 8);
  };
  const auto text = [&](std::string_view s) {
    u32(static_cast<std::uint32_t>(s.size()));
    body.append(s);
  };
  u32(m.segments);
  u64(m.horizon);
  u32(m.crc);
  u64(static_cast<std::uint64_t>(m.recorded_at_ns));
  u64(m.last_offset);
  u64(m.segment_bytes);
  u64(m.total_bytes);
  text(m.archive);
  u32(static_cast<std::uint32_t>(m.deleted_streams.size()));
  for (const std::string& s : m.deleted_streams) text(s);
  std::string out(archive_magic);
  char head[12];
  put(head, crc32c(0, body.data(), body.size()));
  put(head + 4, static_cast<std::uint64_t>(body.size()));
  out.append(head, 12);
  out += body;
  return out;
}

// Why `bytes` is not an archive marker, or nothing when it is one (then `out` holds it).
inline std::optional<std::string> decode_archive_marker(std::string_view bytes,
                                                        archive_marker& out) {
  if (bytes.size() < archive_magic.size() + 12 || bytes.substr(0, 8) != archive_magic)
    return "it does not start with an archive marker's magic";
  const char* head = bytes.data() + 8;
  const auto size = get<std::uint64_t>(head + 4);
  if (size != bytes.size() - 20) return "its length does not match its contents";
  const std::string_view body = bytes.substr(20);
  if (get<std::uint32_t>(head) != crc32c(0, body.data(), body.size()))
    return "its checksum does not match its contents";
  std::size_t at = 0;
  bool short_read = false;
  const auto take = [&](std::size_t n) -> const char* {
    if (at + n > body.size()) {
      short_read = true;
      static const char zeros[8] = {};
      return zeros;
    }
    const char* p = body.data() + at;
    at += n;
    return p;
  };
  const auto text = [&] {
    const auto n = get<std::uint32_t>(take(4));
    const char* p = take(n);
    return short_read ? std::string() : std::string(p, n);
  };
  out.segments = get<std::uint32_t>(take(4));
  out.horizon = get<std::uint64_t>(take(8));
  out.crc = get<std::uint32_t>(take(4));
  out.recorded_at_ns = static_cast<std::int64_t>(get<std::uint64_t>(take(8)));
  out.last_offset = get<std::uint64_t>(take(8));
  out.segment_bytes = get<std::uint64_t>(take(8));
  out.total_bytes = get<std::uint64_t>(take(8));
  out.archive = text();
  const auto streams = get<std::uint32_t>(take(4));
  out.deleted_streams.clear();
  for (std::uint32_t i = 0; i < streams && !short_read; ++i) out.deleted_streams.push_back(text());
  if (short_read || at != body.size()) return "its contents are cut short or run on";
  if (out.segments == 0 || out.horizon == 0) return "it archives nothing";
  return std::nullopt;
}

}  // namespace annal::detail::file_log
