// The index file of a sealed segment ("00000003.idx"): what opening would learn by scanning it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <annal/core/envelope.hpp>
#include <annal/file/detail/crc32c.hpp>
#include <annal/file/detail/format.hpp>

namespace annal::detail::file_log {

inline constexpr char index_magic[8] = {'A', 'N', 'N', 'A', 'L', 'I', 'D', 'X'};
// Version 2 adds each record's type; version 1 files (archived segments keep theirs) still load,
// their types unknown.
inline constexpr std::uint32_t index_format_version = 2;
inline constexpr std::uint32_t index_format_version_1 = 1;
inline constexpr std::size_t index_header_size = 80;
inline constexpr std::size_t index_entry_size = 36;
inline constexpr std::size_t index_type_size = 2;
// An entry's type is 0 (unknown) or 1 + an index into the type table, in 16 bits.
inline constexpr std::size_t index_max_types = 0xFFFF;

// Layout, byte offsets (little-endian, as segments):
//   0 magic | 8 format version u32 | 12 segment number u32 | 16 first position u64
//  24 records u64 | 32 segment bytes u64 | 40 chain seed u32 | 44 last record's checksum u32
//  48 last record's offset u64 | 56 last record's recorded_at i64 | 64 streams u32
//  68 stream table bytes u32 | 72 types u32 | 76 type table bytes u32 (both zero in version 1)
//  80 stream table: (size u16, stream id)... | entries: (offset u64, stream version u64,
//     stream u32 (into the table), event id)... | version 2: type table: (size u32, type)... |
//     entry types: u16 each, 0 unknown, else 1 + an index into the type table |
//     crc32c u32 of every byte before it
struct segment_index_header {
  std::uint32_t number = 0;
  std::uint64_t first_position = 0;
  std::uint64_t records = 0;
  std::uint64_t segment_bytes = 0;  // the segment's size when it was sealed
  std::uint32_t chain_seed = 0;
  std::uint32_t last_crc = 0;
  std::uint64_t last_offset = 0;
  std::int64_t last_recorded_at_ns = 0;
};

struct segment_index_entry {
  std::uint64_t offset = 0;
  std::uint64_t version = 0;
  std::uint32_t stream = 0;
  event_id id{};
};

// A decoded index file; views into the bytes it was decoded from.
struct segment_index {
  std::uint32_t format_version = index_format_version;
  segment_index_header header;
  std::vector<std::string_view> streams;
  std::vector<std::string_view> types;  // empty in version 1
  const char* entries = nullptr;
  const char* entry_types = nullptr;  // nullptr in version 1: every type unknown

  segment_index_entry entry(std::uint64_t i) const noexcept {
    const char* at = entries + i * index_entry_size;
    return {get<std::uint64_t>(at), get<std::uint64_t>(at + 8), get<std::uint32_t>(at + 16),
            get_id(at + 20)};
  }
  // 0 (unknown), or 1 + the entry's index into `types`.
  std::uint16_t entry_type(std::uint64_t i) const noexcept {
    return entry_types ? get<std::uint16_t>(entry_types + i * index_type_size) : 0;
  }
};

// The bytes of an index file; `entry_at(i)` gives the segment_index_entry of its i-th record and
// `type_at(i)` its type (0 unknown, else 1 + an index into `types`). Version 1 (for tests of old
// files) leaves the types out.
template <class EntryAt, class TypeAt>
std::string encode_segment_index(const segment_index_header& h,
                                 const std::vector<std::string_view>& streams,
                                 const std::vector<std::string_view>& types, EntryAt&& entry_at,
                                 TypeAt&& type_at, std::uint32_t version = index_format_version) {
  const bool typed = version != index_format_version_1;
  std::size_t table = 0, type_table = 0;
  for (std::string_view s : streams) table += 2 + s.size();
  if (typed)
    for (std::string_view t : types) type_table += 4 + t.size();
  const std::size_t entry_types = typed ? h.records * index_type_size : 0;
  std::string out(
      index_header_size + table + h.records * index_entry_size + type_table + entry_types + 4,
      '\0');
  char* p = out.data();
  std::memcpy(p, index_magic, 8);
  put<std::uint32_t>(p + 8, version);
  put<std::uint32_t>(p + 12, h.number);
  put<std::uint64_t>(p + 16, h.first_position);
  put<std::uint64_t>(p + 24, h.records);
  put<std::uint64_t>(p + 32, h.segment_bytes);
  put<std::uint32_t>(p + 40, h.chain_seed);
  put<std::uint32_t>(p + 44, h.last_crc);
  put<std::uint64_t>(p + 48, h.last_offset);
  put<std::int64_t>(p + 56, h.last_recorded_at_ns);
  put<std::uint32_t>(p + 64, static_cast<std::uint32_t>(streams.size()));
  put<std::uint32_t>(p + 68, static_cast<std::uint32_t>(table));
  put<std::uint32_t>(p + 72, typed ? static_cast<std::uint32_t>(types.size()) : 0);
  put<std::uint32_t>(p + 76, static_cast<std::uint32_t>(type_table));
  p += index_header_size;
  for (std::string_view s : streams) {
    put<std::uint16_t>(p, static_cast<std::uint16_t>(s.size()));
    std::memcpy(p + 2, s.data(), s.size());
    p += 2 + s.size();
  }
  for (std::uint64_t i = 0; i < h.records; ++i) {
    const segment_index_entry e = entry_at(i);
    put<std::uint64_t>(p, e.offset);
    put<std::uint64_t>(p + 8, e.version);
    put<std::uint32_t>(p + 16, e.stream);
    put_id(p + 20, e.id);
    p += index_entry_size;
  }
  if (typed) {
    for (std::string_view t : types) {
      put<std::uint32_t>(p, static_cast<std::uint32_t>(t.size()));
      std::memcpy(p + 4, t.data(), t.size());
      p += 4 + t.size();
    }
    for (std::uint64_t i = 0; i < h.records; ++i) {
      put<std::uint16_t>(p, static_cast<std::uint16_t>(type_at(i)));
      p += index_type_size;
    }
  }
  put<std::uint32_t>(p, crc32c(0, out.data(), out.size() - 4));
  return out;
}

// Returns why `size` bytes at `in` are no usable index file, or nothing and fills `out`.
inline std::optional<std::string> decode_segment_index(const char* in, std::size_t size,
                                                       segment_index& out) {
  if (size < index_header_size + 4) return "shorter than an index header";
  if (get<std::uint32_t>(in + size - 4) != crc32c(0, in, size - 4))
    return "checksum mismatch (a torn or damaged index file)";
  if (std::memcmp(in, index_magic, 8) != 0) return "not an annal segment index (bad magic)";
  const auto version = get<std::uint32_t>(in + 8);
  if (version != index_format_version && version != index_format_version_1)
    return "index format version " + std::to_string(version) + " is not supported";
  const bool typed = version != index_format_version_1;
  out.format_version = version;
  segment_index_header& h = out.header;
  h.number = get<std::uint32_t>(in + 12);
  h.first_position = get<std::uint64_t>(in + 16);
  h.records = get<std::uint64_t>(in + 24);
  h.segment_bytes = get<std::uint64_t>(in + 32);
  h.chain_seed = get<std::uint32_t>(in + 40);
  h.last_crc = get<std::uint32_t>(in + 44);
  h.last_offset = get<std::uint64_t>(in + 48);
  h.last_recorded_at_ns = get<std::int64_t>(in + 56);
  const std::uint32_t streams = get<std::uint32_t>(in + 64);
  const std::uint64_t table = get<std::uint32_t>(in + 68);
  const std::uint32_t types = get<std::uint32_t>(in + 72);
  const std::uint64_t type_table = get<std::uint32_t>(in + 76);
  // Version 1 wrote zeros where version 2 counts its types.
  if (!typed && (types != 0 || type_table != 0)) return "its sizes do not add up";
  // Sizes are checked in 64 bits against the file's, so no claim can make a read overrun.
  const std::uint64_t body = size - index_header_size - 4;
  const std::uint64_t per_record = index_entry_size + (typed ? index_type_size : 0);
  if (h.records == 0 || h.records > body / per_record ||
      table + type_table + h.records * per_record != body)
    return "its sizes do not add up";
  // Each stream id takes at least its 2-byte length: a count the table cannot hold is refused
  // before it sizes anything. So does each type, with its 4-byte length.
  if (streams > table / 2) return "its stream table overruns its bytes";
  if (types > type_table / 4) return "its type table overruns its bytes";
  if (types > index_max_types) return "its type table lists more types than an entry can name";
  out.streams.clear();
  out.streams.reserve(streams);
  const char* p = in + index_header_size;
  const char* table_end = p + table;
  for (std::uint32_t i = 0; i < streams; ++i) {
    if (table_end - p < 2) return "its stream table overruns its bytes";
    const std::size_t n = get<std::uint16_t>(p);
    if (static_cast<std::size_t>(table_end - p - 2) < n)
      return "its stream table overruns its bytes";
    out.streams.emplace_back(p + 2, n);
    p += 2 + n;
  }
  if (p != table_end) return "bytes left over after its stream table";
  out.entries = table_end;
  out.types.clear();
  out.entry_types = nullptr;
  if (!typed) return std::nullopt;
  p = out.entries + h.records * index_entry_size;
  const char* types_end = p + type_table;
  out.types.reserve(types);
  for (std::uint32_t i = 0; i < types; ++i) {
    if (types_end - p < 4) return "its type table overruns its bytes";
    const std::uint64_t n = get<std::uint32_t>(p);
    if (static_cast<std::uint64_t>(types_end - p - 4) < n)
      return "its type table overruns its bytes";
    out.types.emplace_back(p + 4, static_cast<std::size_t>(n));
    p += 4 + n;
  }
  if (p != types_end) return "bytes left over after its type table";
  out.entry_types = types_end;
  for (std::uint64_t i = 0; i < h.records; ++i)
    if (out.entry_type(i) > types) return "an entry's type is not in its type table";
  return std::nullopt;
}

// Whether a stream appears twice in an index file's table (a damaged or forged file): a table of
// indexes into `streams`, probed linearly, sized for under half full.
inline bool listed_twice(const std::vector<std::string_view>& streams) {
  std::size_t n = 16;
  while (n < streams.size() * 2) n *= 2;
  std::vector<std::uint32_t> table(n, 0);  // 1 + an index into streams; 0: empty
  for (std::size_t j = 0; j < streams.size(); ++j) {
    std::size_t i = std::hash<std::string_view>{}(streams[j]) & (n - 1);
    for (; table[i] != 0; i = (i + 1) & (n - 1))
      if (streams[table[i] - 1] == streams[j]) return true;
    table[i] = static_cast<std::uint32_t>(j + 1);
  }
  return false;
}

}  // namespace annal::detail::file_log
