// A stored event as read_all and read_stream receive it: the events table's columns in
// PostgreSQL's binary result format. Integers and times arrive as 8 or 4 bytes and uuids as 16,
// so neither the server prints them nor the client parses text; a field that is not what its
// column's type sends is a decode error naming the column (tests/fuzz/fuzz_postgres.cpp).
#pragma once

#include <array>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>

#include <annal/core/error.hpp>
#include <annal/detail/sql/encoding.hpp>
#include <annal/postgres/schema.hpp>
#include <annal/store/event_store.hpp>

namespace annal::detail::pg {

// Microseconds from 1970-01-01 to 2000-01-01 UTC, the epoch of PostgreSQL's binary timestamps.
inline constexpr std::int64_t postgres_epoch_us = 946'684'800'000'000;

class event_row_decoder {
 public:
  explicit event_row_decoder(postgres_payload_format format) noexcept : format_(format) {}

  // `fields` are the row's values in event_row_columns order.
  recorded_event operator()(const std::array<std::string_view, 11>& fields) const {
    recorded_event e;
    e.position = unsigned_int8(fields, 0);
    e.stream_id = fields[1];
    e.stream_version = unsigned_int8(fields, 2);
    e.id = uuid(fields, 3);
    e.type = fields[4];
    const std::int64_t schema_version = int4(fields, 5);
    if (schema_version < 0)
      fail(5, "holds the negative schema version " + std::to_string(schema_version));
    e.schema_version = static_cast<std::uint32_t>(schema_version);
    e.payload = format_ == postgres_payload_format::jsonb ? std::string(jsonb(fields, 6))
                                                          : std::string(fields[6]);
    e.correlation_id = uuid(fields, 7);
    e.causation_id = uuid(fields, 8);
    e.meta = sql::metadata_from_json(jsonb(fields, 9));
    e.recorded_at = sql::from_micros(timestamp_us(fields, 10));
    return e;
  }

 private:
  [[noreturn]] static void fail(std::size_t col, const std::string& what) {
    throw error(errc::decode_error,
                "stored event's column " + std::string(event_row_columns[col]) + " " + what);
  }

  static std::uint64_t big_endian(std::string_view bytes) noexcept {
    std::uint64_t v = 0;
    for (const char c : bytes) v = v << 8 | static_cast<unsigned char>(c);
    return v;
  }

  static std::int64_t int8(const std::array<std::string_view, 11>& f, std::size_t col) {
    if (f[col].size() != 8)
      fail(col, "holds " + std::to_string(f[col].size()) + " bytes, not an 8-byte integer");
    return static_cast<std::int64_t>(big_endian(f[col]));
  }

  static std::uint64_t unsigned_int8(const std::array<std::string_view, 11>& f, std::size_t col) {
    const std::int64_t v = int8(f, col);
    if (v < 0) fail(col, "holds the negative number " + std::to_string(v));
    return static_cast<std::uint64_t>(v);
  }

  static std::int64_t int4(const std::array<std::string_view, 11>& f, std::size_t col) {
    if (f[col].size() != 4)
      fail(col, "holds " + std::to_string(f[col].size()) + " bytes, not a 4-byte integer");
    return static_cast<std::int32_t>(static_cast<std::uint32_t>(big_endian(f[col])));
  }

  static event_id uuid(const std::array<std::string_view, 11>& f, std::size_t col) {
    if (f[col].size() != 16)
      fail(col, "holds " + std::to_string(f[col].size()) + " bytes, not a 16-byte uuid");
    event_id id{};
    for (std::size_t i = 0; i < 16; ++i) id.data[i] = static_cast<std::uint8_t>(f[col][i]);
    return id;
  }

  // jsonb's binary form: a version byte (1) and the JSON text.
  static std::string_view jsonb(const std::array<std::string_view, 11>& f, std::size_t col) {
    if (f[col].empty() || f[col][0] != '\1')
      fail(col, f[col].empty() ? std::string("is empty, not jsonb")
                               : "is jsonb of version " +
                                     std::to_string(static_cast<unsigned char>(f[col][0])) +
                                     ", which this build cannot read");
    return f[col].substr(1);
  }

  // timestamptz: microseconds since 2000-01-01 UTC, made relative to 1970 and checked to fit the
  // clock's nanoseconds (about 292 years either side of 1970).
  static std::int64_t timestamp_us(const std::array<std::string_view, 11>& f, std::size_t col) {
    const std::int64_t us = int8(f, col);
    constexpr std::int64_t limit = std::numeric_limits<std::int64_t>::max() / 1000;
    if (us > limit - postgres_epoch_us || us < -limit - postgres_epoch_us)
      fail(col,
           "holds a time (" + std::to_string(us) + " us after 2000) beyond this clock's range");
    return us + postgres_epoch_us;
  }

  postgres_payload_format format_;
};

}  // namespace annal::detail::pg
