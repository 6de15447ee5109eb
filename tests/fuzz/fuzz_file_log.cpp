// libFuzzer target: the file log's decoders — records, segment index files and the ARCHIVED
// marker — on arbitrary bytes.
//
// Checksums guard both on disk, so random bytes would almost never get past them: records are
// checked here with the checksum test off, and an index file gets its checksum fixed up first, so
// the fuzzer reaches the length and structure checks behind them. Whatever they accept must be
// readable without overrun (AddressSanitizer) and encode back to the same bytes.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include <annal/file/detail/archive_marker.hpp>
#include <annal/file/detail/format.hpp>
#include <annal/file/detail/segment_index.hpp>
#include <annal/store/event_view.hpp>

namespace {

namespace fl = annal::detail::file_log;

volatile std::uint64_t sink = 0;

void require(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "fuzz_file_log: %s\n", what);
    std::abort();
  }
}

// Records one after another, as in a segment after its header.
void records(std::string_view bytes) {
  annal::recorded_event reused;  // one event for every record, as a scan reuses it
  for (std::size_t at = 0; at < bytes.size();) {
    const char* in = bytes.data() + at;
    const std::size_t available = bytes.size() - at;
    const std::uint32_t size = fl::claimed_size(in, available);
    if (size == 0 || size > available) return;
    at += size;
    fl::record_view r;
    if (fl::check_record(in, size, r, false)) continue;
    annal::recorded_event_view v;
    if (fl::view_record(r, v)) continue;

    const char* end = in + size;
    const auto inside = [&](std::string_view s) {
      return s.data() >= in && s.data() + s.size() <= end;
    };
    require(inside(v.stream_id) && inside(v.type) && inside(v.payload), "a view leaves its record");
    std::size_t entries = 0;
    std::string_view previous;
    for (const auto [key, value] : v.meta) {
      require(inside(key) && inside(value), "a metadata view leaves its record");
      require(entries == 0 || previous < key, "a metadata view's keys are not in order");
      previous = key;
      ++entries;
    }
    require(entries == v.meta.size(), "metadata_view counts other entries than it iterates");

    fl::copy_view(v, reused);
    const annal::recorded_event owned = v.to_owned();
    require(reused.payload == owned.payload && reused.meta == owned.meta &&
                reused.stream_id == owned.stream_id && reused.type == owned.type,
            "copying into a reused event differs from a fresh copy");

    const annal::event_data e{owned.id,      owned.type,           owned.schema_version,
                              owned.payload, owned.correlation_id, owned.causation_id,
                              owned.meta};
    require(fl::record_size(owned.stream_id, e) == size,
            "a decoded record re-encodes to another size");
    std::string again(size, '\0');
    fl::encode_record(again.data(), owned.stream_id, e, r.fields);
    // Bytes 8..12 hold the checksum, which was not checked here.
    require(std::memcmp(again.data(), in, 8) == 0 &&
                std::memcmp(again.data() + 12, in + 12, size - 12) == 0,
            "a decoded record re-encodes to other bytes");
  }
}

void index_file(std::string_view bytes) {
  if (bytes.size() < 4) return;
  std::string file(bytes);
  fl::put<std::uint32_t>(file.data() + file.size() - 4,
                         fl::crc32c(0, file.data(), file.size() - 4));
  fl::segment_index index;
  if (fl::decode_segment_index(file.data(), file.size(), index)) return;
  const char* end = file.data() + file.size();
  for (std::string_view s : index.streams)
    require(s.data() >= file.data() && s.data() + s.size() <= end, "a stream id leaves the file");
  // Opening refuses an index that lists a stream twice: its check agrees with a plain sorted one.
  std::vector<std::string_view> sorted(index.streams);
  std::sort(sorted.begin(), sorted.end());
  require(fl::listed_twice(index.streams) ==
              (std::adjacent_find(sorted.begin(), sorted.end()) != sorted.end()),
          "listed_twice disagrees with a sorted copy of the stream table");
  for (std::string_view t : index.types)
    require(t.data() >= file.data() && t.data() + t.size() <= end, "a type name leaves the file");
  for (std::uint64_t i = 0; i < index.header.records; ++i) {
    const fl::segment_index_entry e = index.entry(i);  // in bounds, or AddressSanitizer says so
    sink = sink + e.offset + e.version + e.stream;
    require(index.entry_type(i) <= index.types.size(), "an entry's type is past the type table");
  }
  const bool typed = index.format_version != fl::index_format_version_1;
  require(typed == (index.entry_types != nullptr), "a version 1 index claims entry types");
  const char* after = index.entries + index.header.records * fl::index_entry_size;
  if (typed) {
    require(index.entry_types > index.entries &&
                index.entry_types + index.header.records * fl::index_type_size + 4 == end,
            "index entry types do not end at the checksum");
  } else {
    require(after + 4 == end, "index entries do not end at the checksum");
  }
  // Re-encoding what was decoded, at its version, gives the same file: version 1's reserved bytes
  // 72..80 are checked to be zero by decoding.
  const std::string again = fl::encode_segment_index(
      index.header, index.streams, index.types, [&](std::uint64_t i) { return index.entry(i); },
      [&](std::uint64_t i) { return index.entry_type(i); }, index.format_version);
  require(again == file, "a decoded index file re-encodes to other bytes");
}

// An archive marker, its magic, length and checksum made right so that the body's fields are what
// the fuzzer varies: whatever decodes must encode back to the same bytes.
void archive_marker(std::string_view bytes) {
  std::string file(fl::archive_magic);
  file.append(12, '\0');
  file.append(bytes);
  fl::put<std::uint64_t>(file.data() + 12, file.size() - 20);
  fl::put<std::uint32_t>(file.data() + 8, fl::crc32c(0, file.data() + 20, file.size() - 20));
  fl::archive_marker m;
  if (fl::decode_archive_marker(file, m)) return;
  require(fl::encode_archive_marker(m) == file,
          "a decoded archive marker re-encodes to other bytes");
}

}  // namespace

// The first byte picks the decoder, so one corpus (seeded with every kind) serves them all.
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::string_view bytes(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 3) {
    case 0:
      records(bytes);
      break;
    case 1:
      index_file(bytes);
      break;
    default:
      archive_marker(bytes);
  }
  return 0;
}
