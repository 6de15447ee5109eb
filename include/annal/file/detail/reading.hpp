// The file log's reads: records fetched by position, checked and handed out as views.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <vector>

#include <annal/detail/validate.hpp>
#include <annal/file/detail/crc32c.hpp>
#include <annal/file/detail/format.hpp>
#include <annal/file/detail/reader.hpp>
#include <annal/file/log.hpp>
#include <annal/store/event_view.hpp>
#include <annal/store/filter.hpp>

namespace annal {

template <class IO>
template <class F>
inline std::size_t basic_file_log<IO>::read_stream_views(std::string_view stream_id,
                                                         std::uint64_t from_version, F&& visit,
                                                         std::size_t max_count) const {
  detail::validate_stream_id(stream_id);
  throw_if_failed();
  follow_writer();
  const read_guard reading(*this);
  std::vector<location> wanted;
  std::vector<segment_ref> segs;
  {
    std::shared_lock lock(index_mutex_);
    const auto found = stream_index_.find(stream_id);
    if (found == stream_index_.end()) return 0;
    const auto& positions = streams_[found->second].positions;
    const std::size_t size = visible_count(positions);
    const std::size_t begin = from_version == 0 ? 0 : from_version - 1;
    if (begin >= size) return 0;
    const std::size_t n = std::min<std::size_t>(size - begin, max_count);
    wanted.reserve(n);
    for (std::size_t i = begin; i < begin + n; ++i) {
      const slot& s = slots_[positions[i] - 1];
      wanted.push_back({positions[i], s.offset, s.segment});
    }
    if (!wanted.empty() && segments_[wanted.front().segment].archived)
      throw_archived(wanted.front().position);
    segs = segment_refs(wanted.empty() ? 0 : wanted.front().segment);
  }
  detail::file_log::chunk_reader<IO> reader(io_, 64 * 1024);
  recorded_event_view e;
  std::size_t visited = 0;
  std::uint32_t current = no_stream;
  for (const location& at : wanted) {
    const segment_ref& seg = segs[at.segment - segs.front().index];
    if (at.segment != current) {
      reader.reset(seg.fd, &seg.name);
      current = at.segment;
    }
    read_record(reader, seg, at.offset, at.position, e);
    ++visited;
    if (!detail::visit_continue(visit, e)) break;
  }
  return visited;
}

template <class IO>
template <class F>
inline std::size_t basic_file_log<IO>::read_all_views(std::uint64_t from_position, F&& visit,
                                                      std::size_t max_count) const {
  throw_if_failed();
  follow_writer();
  std::uint64_t position = from_position == 0 ? 1 : from_position;
  std::uint64_t offset = 0;
  std::size_t n = 0;
  std::vector<segment_ref> segs;
  const read_guard reading(*this);
  {
    std::shared_lock lock(index_mutex_);
    const std::uint64_t visible = visible_.load(std::memory_order_acquire);
    if (position > visible) return 0;
    n = static_cast<std::size_t>(std::min<std::uint64_t>(visible - position + 1, max_count));
    const slot& s = slots_[position - 1];
    if (segments_[s.segment].archived) throw_archived(position);
    offset = s.offset;
    segs = segment_refs(s.segment);
  }
  // Records are contiguous in position order within a segment, so this is one sequential read.
  namespace fl = detail::file_log;
  fl::chunk_reader<IO> reader(io_, 1024 * 1024);
  std::size_t k = 0;
  reader.reset(segs[0].fd, &segs[0].name);
  recorded_event_view e;
  std::size_t visited = 0;
  while (visited < n) {
    while (k + 1 < segs.size() && position >= segs[k + 1].first_position) {
      ++k;
      offset = fl::segment_header_size;
      reader.reset(segs[k].fd, &segs[k].name);
    }
    // Up to three records of this segment that the buffer holds together are checksummed at once;
    // a record that is not whole in the buffer waits for the next round, which reads it.
    const std::uint64_t in_segment =
        k + 1 < segs.size() ? segs[k + 1].first_position - position : n - visited;
    const std::size_t want =
        static_cast<std::size_t>(std::min<std::uint64_t>({3, n - visited, in_segment}));
    const char* rec[3];
    std::size_t size[3];
    std::uint32_t crc[3] = {};
    std::uint32_t first_size = 0;
    rec[0] = fetch_record(reader, segs[k], offset, position, first_size);
    size[0] = first_size;
    std::size_t got = 1;
    for (std::uint64_t at = offset + size[0]; got < want; at += size[got], ++got) {
      const char* head = reader.peek(at, fl::record_header_size);
      const std::uint32_t claimed = head ? fl::claimed_size(head, fl::record_header_size) : 0;
      if (claimed == 0 || !reader.peek(at, claimed)) break;
      rec[got] = head;
      size[got] = claimed;
    }
    if (options_.verify_reads) {
      if (got == 3) {
        const char* bodies[3] = {rec[0] + 12, rec[1] + 12, rec[2] + 12};
        const std::size_t lengths[3] = {size[0] - 12, size[1] - 12, size[2] - 12};
        fl::crc32c_x3(bodies, lengths, crc);
      } else {
        for (std::size_t j = 0; j < got; ++j) crc[j] = fl::crc32c(0, rec[j] + 12, size[j] - 12);
      }
    }
    for (std::size_t j = 0; j < got; ++j) {
      check_and_view(segs[k], offset, position, rec[j], static_cast<std::uint32_t>(size[j]),
                     options_.verify_reads ? &crc[j] : nullptr, e);
      offset += size[j];
      ++position;
      ++visited;
      if (!detail::visit_continue(visit, e)) return visited;
    }
  }
  return n;
}

// Picks the positions to read from the index (each one's type id and stream), a chunk of
// positions per hold of the index lock so appends are not stalled, then reads only those records
// and tests each again: an unknown type id (0) is a "maybe" that only its record can settle.
template <class IO>
template <class F>
inline read_progress basic_file_log<IO>::read_all_views(std::uint64_t from_position,
                                                        const event_filter& filter, F&& visit,
                                                        std::size_t max_count) const {
  filter.validate();
  throw_if_failed();
  follow_writer();
  read_progress progress{0, std::max<std::uint64_t>(from_position, 1)};
  if (max_count == 0) return progress;
  constexpr std::uint64_t positions_per_hold = 64 * 1024;
  const read_guard reading(*this);
  const bool any_type = filter.types.empty();
  const bool any_stream = filter.stream_prefixes.empty();
  // Per type id: whether the filter wants it. Id 0, unknown, is a "maybe".
  std::vector<char> wanted(1, 1);
  std::vector<location> found;
  std::vector<segment_ref> segs;
  constexpr std::size_t dense_read = 64 * 1024, sparse_read = 4 * 1024;
  detail::file_log::chunk_reader<IO> reader(io_, dense_read);
  recorded_event_view e;
  for (;;) {
    std::uint64_t scanned_to = 0;  // the first position this round did not look at
    bool at_end = false;
    found.clear();
    {
      std::shared_lock lock(index_mutex_);
      const std::uint64_t visible = visible_.load(std::memory_order_acquire);
      if (progress.next_position > visible) return progress;
      for (std::size_t id = wanted.size(); id <= type_names_.size(); ++id)
        wanted.push_back(filter.matches_type(type_names_.name(static_cast<std::uint16_t>(id))) ? 1
                                                                                               : 0);
      const std::uint64_t last = std::min(visible, progress.next_position + positions_per_hold - 1);
      const std::size_t room = max_count - progress.visited;
      std::uint64_t p = progress.next_position;
      for (; p <= last && found.size() < room; ++p) {
        if (!any_type && !wanted[types_[p - 1]]) continue;
        const slot& s = slots_[p - 1];
        if (!any_stream && !filter.matches_stream(streams_[s.stream].id)) continue;
        if (segments_[s.segment].archived) throw_archived(p);
        // The next record in the same segment starts where this one ends: one read of exactly
        // its bytes then fetches it.
        const bool next_known = p < slots_.size() && slots_[p].segment == s.segment;
        const std::uint64_t size = next_known ? slots_[p].offset - s.offset : 0;
        found.push_back({p, s.offset, s.segment,
                         size <= detail::file_log::max_record_size
                             ? static_cast<std::uint32_t>(size)
                             : std::uint32_t{0}});
      }
      scanned_to = p;
      at_end = p > visible;
      if (!found.empty()) segs = segment_refs(found.front().segment);
    }
    std::uint32_t current = no_stream;
    for (std::size_t i = 0; i < found.size(); ++i) {
      const location& at = found[i];
      const segment_ref& seg = segs[at.segment - segs.front().index];
      if (at.segment != current) {
        reader.reset(seg.fd, &seg.name);
        current = at.segment;
      }
      // Large reads while the next match is near; a lone match is read alone, in one read of
      // its length when known: a filter that picks 1 event in 100 would otherwise read more
      // bytes than the whole log.
      const bool near = i + 1 < found.size() && found[i + 1].segment == at.segment &&
                        found[i + 1].offset - at.offset < sparse_read;
      reader.set_chunk(near ? dense_read : at.size != 0 ? at.size : sparse_read);
      read_record(reader, seg, at.offset, at.position, e);
      if (!filter.matches(e.stream_id, e.type)) continue;  // a "maybe" that is not
      ++progress.visited;
      if (!detail::visit_continue(visit, e) || progress.visited == max_count) {
        progress.next_position = at.position + 1;
        return progress;
      }
    }
    progress.next_position = scanned_to;
    if (at_end) return progress;
  }
}

}  // namespace annal
