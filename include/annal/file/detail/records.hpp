// The file log's record fetching: one record read, checked against its checksum and position,
// viewed. Not generic over the visitor, so compiled once in the separately compiled mode
// (annal/src.hpp).
#pragma once

#include <cstdint>
#include <string>

#include <annal/file/detail/crc32c.hpp>
#include <annal/file/detail/format.hpp>
#include <annal/file/detail/reader.hpp>
#include <annal/file/log.hpp>
#include <annal/store/event_view.hpp>

namespace annal {

// Reads and checks the record at `offset` and views it; returns its size.
template <class IO>
std::uint32_t basic_file_log<IO>::read_record(detail::file_log::chunk_reader<IO>& reader,
                                              const segment_ref& seg, std::uint64_t offset,
                                              std::uint64_t position,
                                              recorded_event_view& e) const {
  std::uint32_t size = 0;
  const char* data = fetch_record(reader, seg, offset, position, size);
  const std::uint32_t crc =
      options_.verify_reads ? detail::file_log::crc32c(0, data + 12, size - 12) : 0;
  check_and_view(seg, offset, position, data, size, options_.verify_reads ? &crc : nullptr, e);
  return size;
}

// The whole record at `offset` (its claimed length in `size`), or an error naming the spot.
template <class IO>
const char* basic_file_log<IO>::fetch_record(detail::file_log::chunk_reader<IO>& reader,
                                             const segment_ref& seg, std::uint64_t offset,
                                             std::uint64_t position, std::uint32_t& size) const {
  namespace fl = detail::file_log;
  const char* head = reader.fetch(offset, fl::record_header_size);
  size = head ? fl::claimed_size(head, fl::record_header_size) : 0;
  if (size == 0)
    throw_corrupt(seg.name, offset,
                  "no record where position " + std::to_string(position) + " should be");
  const char* data = reader.fetch(offset, size);
  if (!data) throw_corrupt(seg.name, offset, "record runs past the end of the file");
  return data;
}

// Checks a fetched record (against `crc`, its body's checksum, if given) and views it.
template <class IO>
void basic_file_log<IO>::check_and_view(const segment_ref& seg, std::uint64_t offset,
                                        std::uint64_t position, const char* data,
                                        std::uint32_t size, const std::uint32_t* crc,
                                        recorded_event_view& e) const {
  namespace fl = detail::file_log;
  if (crc && *crc != fl::get<std::uint32_t>(data + 8))
    throw_corrupt(seg.name, offset, "checksum mismatch");
  fl::record_view r;
  if (const char* why = fl::check_record(data, size, r, false))
    throw_corrupt(seg.name, offset, why);
  if (r.fields.position != position)
    throw_corrupt(seg.name, offset,
                  "record holds position " + std::to_string(r.fields.position) + " where " +
                      std::to_string(position) + " belongs");
  if (const char* why = fl::view_record(r, e)) throw_corrupt(seg.name, offset, why);
}

}  // namespace annal
