// The file log's in-memory index (streams, positions, the id map) and its per-segment index files.
#pragma once

#include <fcntl.h>
#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include <annal/file/detail/format.hpp>
#include <annal/file/detail/huge_page_allocator.hpp>
#include <annal/file/detail/reader.hpp>
#include <annal/file/detail/segment_index.hpp>
#include <annal/file/log.hpp>

namespace annal {

template <class IO>
std::optional<detail::stored_ref> basic_file_log<IO>::lookup(const event_id& id) const {
  const std::uint64_t position = ids_.find(id);
  if (position == 0) return std::nullopt;
  const slot& s = slots_[position - 1];
  return detail::stored_ref{streams_[s.stream].id, s.version, position};
}

template <class IO>
std::size_t basic_file_log<IO>::visible_count(const std::vector<std::uint64_t>& positions) const {
  const std::uint64_t visible = visible_.load(std::memory_order_acquire);
  if (positions.empty() || positions.back() <= visible) return positions.size();
  return static_cast<std::size_t>(std::upper_bound(positions.begin(), positions.end(), visible) -
                                  positions.begin());
}

template <class IO>
auto basic_file_log<IO>::segment_refs(std::uint32_t from) const -> std::vector<segment_ref> {
  std::vector<segment_ref> out;
  out.reserve(segments_.size() - from);
  for (std::uint32_t i = from; i < segments_.size(); ++i)
    out.push_back({i, segments_[i].fd, segments_[i].first_position, segments_[i].name});
  return out;
}

// Adds one record to the stream and position indexes (its id goes into ids_ separately).
template <class IO>
void basic_file_log<IO>::index_record(std::string_view stream_id, std::uint32_t& stream_no,
                                      std::uint64_t version, std::uint64_t position,
                                      std::uint64_t offset, std::uint32_t segment_index,
                                      std::uint16_t type) {
  if (stream_no == no_stream) {
    stream_no = static_cast<std::uint32_t>(streams_.size());
    streams_.push_back({std::string(stream_id), {}});
    stream_index_.emplace(std::string(stream_id), stream_no);
  }
  streams_[stream_no].positions.push_back(position);
  slots_.push_back({offset, version, segment_index, stream_no});
  types_.push_back(type);
}

// Writes the index file of a sealed segment (the newest in segments_, holding positions up to
// `last`), so that opening can skip scanning it; returns whether it did. Like a segment, it is
// written as a temporary file, synced, renamed into place and the directory synced: a crash
// leaves the old index or the new one, never a torn one under its name. A failed write fails the
// roll-over (and so the append) like any other I/O error, and the next append tries again; the
// segment's records are durable already, and an open scans a segment whose index is missing.
template <class IO>
bool basic_file_log<IO>::write_index(const segment& seg, std::uint64_t last) {
  namespace fl = detail::file_log;
  fl::segment_index_header h;
  h.number = seg.number;
  h.first_position = seg.first_position;
  h.records = last + 1 - seg.first_position;
  // Only a segment this process wrote or scanned whole has its ids at hand; one that became the
  // newest again (a repair moved the one after it aside) goes without an index.
  if (active_ids_first_ != seg.first_position || active_ids_.size() != h.records) return false;
  h.segment_bytes = seg.size;
  h.chain_seed = segments_.size() > 1 ? segments_[segments_.size() - 2].last_crc : 0;
  h.last_crc = seg.last_crc;
  h.last_offset = slots_[last - 1].offset;
  h.last_recorded_at_ns = fl::to_ns(last_recorded_at_);
  std::vector<std::string_view> streams, types;
  std::unordered_map<std::uint32_t, std::uint32_t> local;
  // A type's number in the file is 1 + its place in `types`; unknown stays 0.
  std::vector<std::uint16_t> local_type(type_names_.size() + 1, 0);
  for (std::uint64_t p = seg.first_position; p <= last; ++p) {
    const std::uint32_t global = slots_[p - 1].stream;
    if (local.emplace(global, static_cast<std::uint32_t>(streams.size())).second)
      streams.push_back(streams_[global].id);
    if (const std::uint16_t t = types_[p - 1]; t != 0 && local_type[t] == 0) {
      types.push_back(type_names_.name(t));
      local_type[t] = static_cast<std::uint16_t>(types.size());
    }
  }
  const std::string bytes = fl::encode_segment_index(
      h, streams, types,
      [&](std::uint64_t i) {
        const slot& s = slots_[seg.first_position - 1 + i];
        return fl::segment_index_entry{s.offset, s.version, local[s.stream], active_ids_[i]};
      },
      [&](std::uint64_t i) { return local_type[types_[seg.first_position - 1 + i]]; });
  const std::string path = path_of(index_name(seg.number)), tmp = path + ".tmp";
  const int fd = io_.open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) throw_io("creating the index file " + tmp, fd);
  // On failure the temporary file is removed if possible; one left behind is removed at open.
  const auto give_up = [&](const std::string& what, std::int64_t rc) {
    io_.close(fd);
    io_.unlink(tmp.c_str());
    throw_io(what, rc);
  };
  for (std::size_t done = 0; done < bytes.size();) {
    const std::int64_t rc = io_.pwrite(fd, bytes.data() + done, bytes.size() - done, done);
    if (rc <= 0) give_up("writing the index file " + tmp, rc < 0 ? rc : -EIO);
    done += static_cast<std::size_t>(rc);
  }
  if (const int rc = io_.fdatasync(fd); rc < 0) give_up("fdatasync of " + tmp, rc);
  io_.close(fd);
  if (const int rc = io_.rename(tmp.c_str(), path.c_str()); rc < 0) {
    io_.unlink(tmp.c_str());
    throw_io("renaming " + tmp + " to " + path, rc);
  }
  if (const int rc = io_.fsync(dir_fd_); rc < 0)
    throw_io("fsync of the directory after writing " + path, rc);
  return true;
}

// Writes the index file of a sealed segment just scanned at open. Failing to is no reason to
// refuse the open (the scan gave the index in memory): it is said in recovery().index_ignored.
template <class IO>
void basic_file_log<IO>::reindex(const segment& seg) {
  try {
    if (write_index(seg, slots_.size())) ++recovery_.segments_reindexed;
  } catch (const error& e) {
    recovery_.index_ignored.push_back(index_name(seg.number) + ": not rewritten: " + e.what());
  }
}

// Takes a sealed segment's events from its index file instead of scanning it, if the index checks
// out: its own checksum, the segment's size, header and chain seed, and the segment's last record
// read and checksummed whole. Each record's checksum covers the one before it, so that last
// checksum pins the index to the segment's contents. Returns false, saying why in recovery(), to
// have the segment scanned; nothing is indexed then.
template <class IO>
bool basic_file_log<IO>::load_index(segment& seg, std::uint64_t file_size, std::uint64_t limit) {
  namespace fl = detail::file_log;
  const std::string name = index_name(seg.number);
  const auto ignore = [&](const std::string& why) {
    recovery_.index_ignored.push_back(name + ": " + why);
    return false;
  };
  const std::string path = path_of(name);
  const int fd = io_.open(path.c_str(), O_RDONLY, 0);
  if (fd < 0) return ignore(fd == -ENOENT ? "missing" : "cannot be opened: " + errno_text(fd));
  std::vector<char, fl::huge_page_allocator<char>> bytes;
  const std::int64_t got = fl::read_whole(io_, fd, bytes);
  io_.close(fd);
  if (got < 0) return ignore("cannot be read: " + errno_text(got));
  fl::segment_index idx;
  if (auto why = fl::decode_segment_index(bytes.data(), static_cast<std::size_t>(got), idx))
    return ignore(*why);
  // A version 1 file knows no types, so every filtered read would read all of its segment: the
  // writer scans the segment once and writes it again as version 2. An archived segment's file is
  // not here to scan, and a read-only open writes nothing: they take it, types unknown.
  if (idx.format_version == fl::index_format_version_1 && !seg.archived && !options_.read_only)
    return ignore("format version 1 has no event types; the segment is scanned to write them");
  const fl::segment_index_header& h = idx.header;
  // An archived segment's file is in the archive: its index file, pinned by the chain (its last
  // checksum seeds the next segment, and the ARCHIVED marker holds the one at the horizon), is all
  // the log keeps of it.
  if (seg.archived) file_size = h.segment_bytes;
  const std::uint32_t seed = segments_.empty() ? 0 : segments_.back().last_crc;
  const std::uint64_t first = slots_.size() + 1;
  if (h.number != seg.number || h.first_position != first || h.chain_seed != seed)
    return ignore("it describes another segment than the one that follows the log so far");
  if (first + h.records - 1 > limit)
    return ignore("it goes past position " + std::to_string(limit) +
                  ", the last the writer has published");
  if (h.segment_bytes != file_size)
    return ignore("stale: the segment has " + std::to_string(file_size) + " bytes, the index " +
                  std::to_string(h.segment_bytes));
  if (h.last_offset < fl::segment_header_size || h.last_offset >= file_size)
    return ignore("its last record's offset is outside the segment");

  if (!seg.archived) {
    fl::chunk_reader<IO> reader(io_, 0);
    reader.reset(seg.fd, &seg.name);
    fl::segment_header sh;
    const char* head = reader.fetch(0, fl::segment_header_size);
    if (!head || fl::decode_segment_header(head, sh) || sh.number != seg.number ||
        sh.first_position != first || sh.chain_seed != seed)
      return ignore("the segment's header does not match it");
    const std::uint64_t last_size = file_size - h.last_offset;
    // The length field first: a stale offset must not make this read most of the segment.
    const char* last_head = last_size >= fl::record_header_size
                                ? reader.fetch(h.last_offset, fl::record_header_size)
                                : nullptr;
    if (!last_head || fl::claimed_size(last_head, fl::record_header_size) != last_size)
      return ignore("stale: the segment's last record is not the one it knew");
    const char* last = reader.fetch(h.last_offset, static_cast<std::size_t>(last_size));
    fl::record_view r;
    const fl::segment_index_entry final_entry = idx.entry(h.records - 1);
    if (!last || fl::claimed_size(last, fl::record_header_size) != last_size ||
        fl::check_record(last, static_cast<std::uint32_t>(last_size), r) || r.crc != h.last_crc ||
        r.fields.position != first + h.records - 1 || !r.batch_end() ||
        final_entry.stream >= idx.streams.size() ||
        r.stream_id() != idx.streams[final_entry.stream] ||
        r.fields.stream_version != final_entry.version || fl::get_id(last + 48) != final_entry.id ||
        (idx.entry_type(h.records - 1) != 0 &&
         idx.types[idx.entry_type(h.records - 1) - 1] != r.type()))
      return ignore("stale: the segment's last record is not the one it knew");
  }

  // Its entries must read as a scan would have found them: offsets rising from the header to the
  // last record, each stream's versions going on from where the log so far leaves them.
  std::vector<std::uint32_t> stream_no(idx.streams.size(), no_stream);
  std::vector<std::uint64_t> next_version(idx.streams.size(), 1);
  if (fl::listed_twice(idx.streams)) return ignore("a stream is listed twice");
  for (std::size_t j = 0; j < idx.streams.size(); ++j) {
    if (const auto found = stream_index_.find(idx.streams[j]); found != stream_index_.end()) {
      stream_no[j] = found->second;
      next_version[j] = streams_[found->second].positions.size() + 1;
    }
  }
  std::uint64_t prev_offset = 0;
  for (std::uint64_t i = 0; i < h.records; ++i) {
    const fl::segment_index_entry e = idx.entry(i);
    const bool last_one = i + 1 == h.records;
    if (e.stream >= idx.streams.size() || e.version != next_version[e.stream]++)
      return ignore("its stream versions do not follow on");
    if (i == 0 ? e.offset != fl::segment_header_size
               : e.offset < prev_offset + fl::record_header_size ||
                     (last_one ? e.offset != h.last_offset : e.offset >= h.last_offset))
      return ignore("its record offsets do not add up");
    prev_offset = e.offset;
  }
  if (!insert_ids(idx, first)) return ignore("an event id is stored twice");
  // The file's type numbers as this log's ids; a version 1 file's are all unknown (0).
  std::vector<std::uint16_t> type_id(idx.types.size() + 1, fl::type_table::unknown);
  for (std::size_t t = 0; t < idx.types.size(); ++t)
    type_id[t + 1] = type_names_.intern(idx.types[t]);
  const auto segment_index = static_cast<std::uint32_t>(segments_.size());
  for (std::uint64_t i = 0; i < h.records; ++i) {
    const fl::segment_index_entry e = idx.entry(i);
    index_record(idx.streams[e.stream], stream_no[e.stream], e.version, first + i, e.offset,
                 segment_index, type_id[idx.entry_type(i)]);
  }
  seg.first_position = first;
  seg.size = file_size;
  seg.last_crc = h.last_crc;
  last_recorded_at_ = detail::file_log::from_ns(h.last_recorded_at_ns);
  ++recovery_.segments_indexed;
  return true;
}

// Enters a sealed segment's ids in ids_, or none of them if one is there already. In position order
// every insert would touch a random spot of a table far larger than the caches; grouped by the top
// bits of their hashes, which pick their place in the table, they fill it front to back.
template <class IO>
bool basic_file_log<IO>::insert_ids(const detail::file_log::segment_index& idx,
                                    std::uint64_t first) {
  const std::uint64_t n = idx.header.records;
  constexpr unsigned bits = 12;  // 4096 runs: few enough that filling them stays in cache
  std::vector<std::uint32_t> count(std::size_t{1} << bits, 0);
  for (std::uint64_t i = 0; i < n; ++i) ++count[id_hash{}(idx.entry(i).id) >> (64 - bits)];
  std::uint32_t start = 0;
  for (std::uint32_t& c : count) start += std::exchange(c, start);
  std::vector<std::pair<event_id, std::uint64_t>,
              detail::file_log::huge_page_allocator<std::pair<event_id, std::uint64_t>>>
      sorted(n);
  for (std::uint64_t i = 0; i < n; ++i) {
    const event_id id = idx.entry(i).id;
    sorted[count[id_hash{}(id) >> (64 - bits)]++] = {id, first + i};
  }
  for (std::uint64_t k = 0; k < n; ++k) {
    if (!ids_.insert(sorted[k].first, sorted[k].second)) {
      for (std::uint64_t j = 0; j < k; ++j) ids_.erase(sorted[j].first);
      return false;
    }
  }
  return true;
}

}  // namespace annal
