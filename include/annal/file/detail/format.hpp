// The file log's on-disk format: segment headers and event records (see docs/file_log.md).
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>

#include <annal/core/detail/chrono.hpp>
#include <annal/core/envelope.hpp>
#include <annal/core/error.hpp>
#include <annal/file/detail/crc32c.hpp>
#include <annal/store/event_store.hpp>
#include <annal/store/event_view.hpp>

namespace annal::detail::file_log {

// All integers are little-endian; x86-64 and AArch64 Linux are, and the byte order is checked here
// so that a big-endian build fails loudly instead of writing logs nobody else can read.
static_assert(std::endian::native == std::endian::little,
              "annal's file log stores little-endian integers and is built for little-endian CPUs");

inline constexpr char segment_magic[8] = {'A', 'N', 'N', 'A', 'L', 'L', 'O', 'G'};
inline constexpr std::uint32_t format_version = 1;
inline constexpr std::size_t segment_header_size = 32;

inline constexpr std::uint32_t record_magic = 0x52'4C'4E'41;  // "ANLR" in file order
inline constexpr std::size_t record_header_size = 120;
inline constexpr std::uint16_t flag_batch_end = 1;  // the last record of an appended batch
// Records are at most this long: a length field is 32 bits, and a bound keeps a corrupt length from
// asking for gigabytes.
inline constexpr std::size_t max_record_size = std::size_t{1} << 30;

template <class T>
inline void put(char* at, T value) noexcept {
  std::memcpy(at, &value, sizeof value);
}
template <class T>
inline T get(const char* at) noexcept {
  T value;
  std::memcpy(&value, at, sizeof value);
  return value;
}

struct segment_header {
  std::uint32_t number = 0;
  std::uint64_t first_position = 0;  // of its first record (the one after the previous segment)
  std::uint32_t chain_seed = 0;      // checksum of the previous segment's last record
};

inline void encode_segment_header(char* out, const segment_header& h) noexcept {
  std::memcpy(out, segment_magic, 8);
  put<std::uint32_t>(out + 8, format_version);
  put<std::uint32_t>(out + 12, h.number);
  put<std::uint64_t>(out + 16, h.first_position);
  put<std::uint32_t>(out + 24, h.chain_seed);
  put<std::uint32_t>(out + 28, crc32c(0, out, 28));
}

// Returns the reason a header is unusable, or nothing when it is sound.
inline std::optional<std::string> decode_segment_header(const char* in, segment_header& h) {
  if (std::memcmp(in, segment_magic, 8) != 0) return "not an annal log segment (bad magic)";
  if (get<std::uint32_t>(in + 28) != crc32c(0, in, 28)) return "segment header checksum mismatch";
  if (const auto v = get<std::uint32_t>(in + 8); v != format_version)
    return "segment format version " + std::to_string(v) + " is not supported (this build reads " +
           std::to_string(format_version) + ")";
  h.number = get<std::uint32_t>(in + 12);
  h.first_position = get<std::uint64_t>(in + 16);
  h.chain_seed = get<std::uint32_t>(in + 24);
  return std::nullopt;
}

// Record layout, byte offsets:
//   0 magic u32 | 4 length u32 (whole record) | 8 crc u32 over bytes [12, length)
//  12 prev_crc u32 (the hash chain) | 16 position u64 | 24 synced_through u64 | 32 stream_version
//  u64 40 recorded_at i64 (ns since the Unix epoch) | 48 event id | 64 correlation id | 80
//  causation id 96 schema_version u32 | 100 flags u16 | 102 stream id size u16 | 104 type size u32
// 108 metadata entries u32 | 112 metadata bytes u32 | 116 payload size u32
// 120 stream id, type, metadata (key size u32, value size u32, key, value)..., payload
struct record_fields {
  std::uint32_t prev_crc = 0;
  std::uint64_t position = 0;
  std::uint64_t synced_through = 0;  // every position up to here was durable when this was written
  std::uint64_t stream_version = 0;
  std::int64_t recorded_at_ns = 0;
  std::uint16_t flags = 0;
};

inline std::size_t metadata_bytes(const metadata& meta) noexcept {
  std::size_t n = 0;
  for (const auto& [k, v] : meta) n += 8 + k.size() + v.size();
  return n;
}

inline std::size_t record_size(std::string_view stream_id, const event_data& e) noexcept {
  return record_header_size + stream_id.size() + e.type.size() + metadata_bytes(e.meta) +
         e.payload.size();
}

inline void put_id(char* at, const event_id& id) noexcept {
  std::memcpy(at, id.data, 16);
}
inline event_id get_id(const char* at) noexcept {
  event_id id;
  std::memcpy(id.data, at, 16);
  return id;
}

// Writes one record at `out` (record_size bytes) and returns its checksum.
inline std::uint32_t encode_record(char* out, std::string_view stream_id, const event_data& e,
                                   const record_fields& f) noexcept {
  const std::size_t meta_size = metadata_bytes(e.meta);
  const std::size_t size = record_size(stream_id, e);
  put<std::uint32_t>(out + 0, record_magic);
  put<std::uint32_t>(out + 4, static_cast<std::uint32_t>(size));
  put<std::uint32_t>(out + 12, f.prev_crc);
  put<std::uint64_t>(out + 16, f.position);
  put<std::uint64_t>(out + 24, f.synced_through);
  put<std::uint64_t>(out + 32, f.stream_version);
  put<std::int64_t>(out + 40, f.recorded_at_ns);
  put_id(out + 48, e.id);
  put_id(out + 64, e.correlation_id);
  put_id(out + 80, e.causation_id);
  put<std::uint32_t>(out + 96, e.schema_version);
  put<std::uint16_t>(out + 100, f.flags);
  put<std::uint16_t>(out + 102, static_cast<std::uint16_t>(stream_id.size()));
  put<std::uint32_t>(out + 104, static_cast<std::uint32_t>(e.type.size()));
  put<std::uint32_t>(out + 108, static_cast<std::uint32_t>(e.meta.size()));
  put<std::uint32_t>(out + 112, static_cast<std::uint32_t>(meta_size));
  put<std::uint32_t>(out + 116, static_cast<std::uint32_t>(e.payload.size()));
  char* p = out + record_header_size;
  const auto append = [&](std::string_view s) {
    std::memcpy(p, s.data(), s.size());
    p += s.size();
  };
  append(stream_id);
  append(e.type);
  for (const auto& [k, v] : e.meta) {
    put<std::uint32_t>(p, static_cast<std::uint32_t>(k.size()));
    put<std::uint32_t>(p + 4, static_cast<std::uint32_t>(v.size()));
    p += 8;
    append(k);
    append(v);
  }
  append(e.payload);
  const std::uint32_t crc = crc32c(0, out + 12, size - 12);
  put<std::uint32_t>(out + 8, crc);
  return crc;
}

// What a record's fixed header says, read before the checksum is known to hold.
struct record_view {
  const char* data = nullptr;
  std::uint32_t size = 0;
  std::uint32_t crc = 0;
  record_fields fields;

  std::string_view stream_id() const noexcept {
    return {data + record_header_size, get<std::uint16_t>(data + 102)};
  }
  std::string_view type() const noexcept {
    return {data + record_header_size + get<std::uint16_t>(data + 102),
            get<std::uint32_t>(data + 104)};
  }
  bool batch_end() const noexcept { return (fields.flags & flag_batch_end) != 0; }
};

// The length a record at `in` claims, or 0 when the claim cannot be a record (bad magic or size).
inline std::uint32_t claimed_size(const char* in, std::size_t available_header) noexcept {
  if (available_header < 8) return 0;
  if (get<std::uint32_t>(in) != record_magic) return 0;
  const auto size = get<std::uint32_t>(in + 4);
  if (size < record_header_size || size > max_record_size) return 0;
  return size;
}

// Checks a complete record (`size` bytes at `in`): checksum and internal sizes. Returns the reason
// it is unusable, or nothing and fills `out`.
inline const char* check_record(const char* in, std::uint32_t size, record_view& out,
                                bool verify_checksum = true) noexcept {
  const auto crc = get<std::uint32_t>(in + 8);
  if (verify_checksum && crc32c(0, in + 12, size - 12) != crc) return "checksum mismatch";
  const std::uint64_t body = std::uint64_t{get<std::uint16_t>(in + 102)} +
                             get<std::uint32_t>(in + 104) + get<std::uint32_t>(in + 112) +
                             get<std::uint32_t>(in + 116);
  if (record_header_size + body != size) return "field sizes do not add up to the record length";
  out.data = in;
  out.size = size;
  out.crc = crc;
  out.fields.prev_crc = get<std::uint32_t>(in + 12);
  out.fields.position = get<std::uint64_t>(in + 16);
  out.fields.synced_through = get<std::uint64_t>(in + 24);
  out.fields.stream_version = get<std::uint64_t>(in + 32);
  out.fields.recorded_at_ns = get<std::int64_t>(in + 40);
  out.fields.flags = get<std::uint16_t>(in + 100);
  return nullptr;
}

// Copies bytes into a string. Within its capacity (as when a scan reuses one event) this is a
// plain copy, inline for the short fields most events have (a library memcpy call costs more than
// copying a dozen bytes); std::string::assign goes through a general replace that costs more still.
inline void assign_bytes(std::string& s, const char* p, std::size_t n) {
  if (n > s.capacity()) {
    s.assign(p, n);
    return;
  }
  s.resize(n);
  char* d = s.data();
  if (n > 16) {
    std::memcpy(d, p, n);
  } else if (n >= 8) {
    std::uint64_t head, tail;  // two overlapping moves cover 8 to 16 bytes
    std::memcpy(&head, p, 8);
    std::memcpy(&tail, p + n - 8, 8);
    std::memcpy(d, &head, 8);
    std::memcpy(d + n - 8, &tail, 8);
  } else if (n >= 4) {
    std::uint32_t head, tail;
    std::memcpy(&head, p, 4);
    std::memcpy(&tail, p + n - 4, 4);
    std::memcpy(d, &head, 4);
    std::memcpy(d + n - 4, &tail, 4);
  } else {
    for (std::size_t i = 0; i < n; ++i) d[i] = p[i];
  }
}

// Fills `v` with views into a checked record, or returns why its fields do not fit.
inline const char* view_record(const record_view& r, recorded_event_view& v) noexcept {
  const char* in = r.data;
  const char* p = in + record_header_size;
  const std::size_t sid = get<std::uint16_t>(in + 102);
  const std::size_t type = get<std::uint32_t>(in + 104);
  const std::size_t entries = get<std::uint32_t>(in + 108);
  const std::size_t meta_size = get<std::uint32_t>(in + 112);
  const std::size_t payload = get<std::uint32_t>(in + 116);
  // check_record has matched the field sizes to the record's length; the entries are checked here,
  // once, so that iterating a metadata_view never needs to.
  // Keys are written from a std::map, so in increasing order and unique; a record that says
  // otherwise is damaged (and would decode differently depending on which duplicate wins).
  const char* meta = p + sid + type;
  const char* q = meta;
  const char* meta_end = meta + meta_size;
  std::string_view previous;
  for (std::size_t i = 0; i < entries; ++i) {
    if (meta_end - q < 8) return "metadata entries overrun their bytes";
    const std::size_t k = get<std::uint32_t>(q), n = get<std::uint32_t>(q + 4);
    q += 8;
    if (static_cast<std::size_t>(meta_end - q) < k + n)
      return "metadata entries overrun their bytes";
    const std::string_view key(q, k);
    if (i > 0 && !(previous < key)) return "metadata keys out of order or repeated";
    previous = key;
    q += k + n;
  }
  if (q != meta_end) return "metadata bytes left over after the last entry";
  v.stream_id = {p, sid};
  v.type = {p + sid, type};
  v.meta = metadata_view({meta, meta_size}, entries);
  v.payload = {meta_end, payload};
  v.position = r.fields.position;
  v.stream_version = r.fields.stream_version;
  v.recorded_at = time_point(std::chrono::duration_cast<clock::duration>(
      std::chrono::nanoseconds(r.fields.recorded_at_ns)));
  v.id = get_id(in + 48);
  v.correlation_id = get_id(in + 64);
  v.causation_id = get_id(in + 80);
  v.schema_version = get<std::uint32_t>(in + 96);
  return nullptr;
}

// Copies a view into `e`, reusing `e`'s string buffers, so a scan into one event allocates little.
// A template for the separately compiled mode (see detail/validate.hpp).
template <class = void>
void copy_view(const recorded_event_view& v, recorded_event& e) {
  assign_bytes(e.stream_id, v.stream_id.data(), v.stream_id.size());
  assign_bytes(e.type, v.type.data(), v.type.size());
  // Entries come in key order, as std::map holds them: when the keys are those of the event copied
  // before (the usual case in a scan), only the values are assigned, without allocating.
  bool reuse = e.meta.size() == v.meta.size();
  if (!reuse) e.meta.clear();
  auto slot = e.meta.begin();
  for (const auto [key, value] : v.meta) {
    if (reuse && slot->first == key) {
      assign_bytes(slot->second, value.data(), value.size());
      ++slot;
    } else {
      if (reuse) {
        // Keep the entries already matched; replace the rest.
        e.meta.erase(slot, e.meta.end());
        reuse = false;
      }
      e.meta.insert_or_assign(std::string(key), std::string(value));
    }
  }
  if (reuse && slot != e.meta.end()) e.meta.erase(slot, e.meta.end());
  assign_bytes(e.payload, v.payload.data(), v.payload.size());
  e.position = v.position;
  e.stream_version = v.stream_version;
  e.recorded_at = v.recorded_at;
  e.id = v.id;
  e.correlation_id = v.correlation_id;
  e.causation_id = v.causation_id;
  e.schema_version = v.schema_version;
}

// Fills `e` from a checked record, or returns why its fields do not fit.
inline const char* decode_record(const record_view& r, recorded_event& e) {
  recorded_event_view v;
  if (const char* why = view_record(r, v)) return why;
  copy_view(v, e);
  return nullptr;
}

inline std::int64_t to_ns(time_point t) noexcept {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

inline time_point from_ns(std::int64_t ns) noexcept {
  return time_point(std::chrono::duration_cast<clock::duration>(std::chrono::nanoseconds(ns)));
}

#if defined(ANNAL_SEPARATE_COMPILATION)
extern template void copy_view(const recorded_event_view&, recorded_event&);
#endif

}  // namespace annal::detail::file_log
