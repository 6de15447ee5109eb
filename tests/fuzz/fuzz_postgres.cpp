// libFuzzer target: the decoder of a stored event's row as PostgreSQL sends it in binary format
// (read_all, read_stream). The input is a payload-format byte, then the row's 11 fields, each a
// 2-byte big-endian length and that many bytes (missing fields are empty). The answer is an event
// or errc::decode_error, nothing else; an event that decodes is encoded again as the server would
// send it and must decode to the same event.
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include <annal/core/error.hpp>
#include <annal/postgres/detail/event_row.hpp>

namespace {

using annal::postgres_payload_format;
using fields = std::array<std::string_view, 11>;

[[noreturn]] void crash(const char* what) {
  std::fprintf(stderr, "event row decoder failure: %s\n", what);
  std::abort();
}

std::string be(std::uint64_t v, int bytes) {
  std::string out(static_cast<std::size_t>(bytes), '\0');
  for (int i = bytes - 1; i >= 0; --i, v >>= 8)
    out[static_cast<std::size_t>(i)] = static_cast<char>(v & 0xff);
  return out;
}

std::string uuid(const annal::event_id& id) {
  return std::string(reinterpret_cast<const char*>(id.data), 16);
}

// The row the server sends for `e`.
std::array<std::string, 11> encode(const annal::recorded_event& e, postgres_payload_format f) {
  const auto us =
      std::chrono::duration_cast<std::chrono::microseconds>(e.recorded_at.time_since_epoch())
          .count() -
      annal::detail::pg::postgres_epoch_us;
  return {be(e.position, 8),
          e.stream_id,
          be(e.stream_version, 8),
          uuid(e.id),
          e.type,
          be(e.schema_version, 4),
          f == postgres_payload_format::jsonb ? '\1' + e.payload : e.payload,
          uuid(e.correlation_id),
          uuid(e.causation_id),
          '\1' + annal::detail::sql::metadata_to_json(e.meta),
          be(static_cast<std::uint64_t>(us), 8)};
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const auto format = static_cast<postgres_payload_format>(data[0] % 3);
  const std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
  fields f;
  std::size_t at = 0;
  for (auto& field : f) {
    if (at + 2 > in.size()) break;
    const std::size_t n =
        static_cast<unsigned char>(in[at]) << 8 | static_cast<unsigned char>(in[at + 1]);
    at += 2;
    field = in.substr(at, n);
    at += field.size();
  }
  const annal::detail::pg::event_row_decoder decode(format);
  annal::recorded_event e;
  try {
    e = decode(f);
  } catch (const annal::error& err) {
    if (err.code() != annal::errc::decode_error) crash("threw an error other than decode_error");
    return 0;
  }
  const auto again = encode(e, format);
  fields g;
  for (std::size_t i = 0; i < 11; ++i) g[i] = again[i];
  try {
    if (decode(g) != e) crash("an event encoded again decodes differently");
  } catch (const annal::error&) {
    crash("an event encoded again does not decode");
  }
  return 0;
}
