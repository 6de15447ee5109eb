// The file log's archived segments: loading them from their index files at open, retiring them
// after annal::archive has moved them (file/archive.hpp), and refusing reads below the horizon.
#pragma once

#include <fcntl.h>
#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdint>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <vector>

#include <annal/core/error.hpp>
#include <annal/file/detail/archive_marker.hpp>
#include <annal/file/detail/reader.hpp>
#include <annal/file/log.hpp>

namespace annal {

// Reads ARCHIVED, if the log has one, into archive_.
template <class IO>
void basic_file_log<IO>::read_archive_marker() {
  namespace fl = detail::file_log;
  const std::string path = path_of(fl::archive_marker_name);
  const int fd = io_.open(path.c_str(), O_RDONLY, 0);
  if (fd == -ENOENT) return;
  if (fd < 0) throw_io("opening " + path, fd);
  std::string bytes;
  const std::int64_t got = fl::read_whole(io_, fd, bytes);
  io_.close(fd);
  if (got < 0) throw_io("reading " + path, got);
  fl::archive_marker m;
  if (auto why = fl::decode_archive_marker(bytes, m))
    throw error(errc::corrupt_log, "file log " + dir_.string() + ": its archive marker " + path +
                                       " is damaged: " + *why);
  archive_ = std::move(m);
  archive_horizon_.store(archive_.horizon, std::memory_order_release);
}

// Indexes segments 1..archive_.segments from their index files: their events are in the archive,
// but their positions, stream versions and ids stay here, so streams go on where they were and a
// retried append is still a duplicate.
template <class IO>
void basic_file_log<IO>::load_archived_segments() {
  for (std::uint32_t n = 1; n <= archive_.segments; ++n) {
    segment seg;
    seg.number = n;
    seg.name = segment_name(n);
    seg.archived = true;
    if (!load_index(seg, 0))
      throw_corrupt(index_name(n), 0,
                    "archived segment " + std::to_string(n) + " cannot be indexed (" +
                        recovery_.index_ignored.back() + "); its events are in the archive " +
                        archive_.archive + ": copy " + index_name(n) + " back from there");
    segments_.push_back(std::move(seg));
  }
  if (archive_.segments != 0 &&
      (slots_.size() != archive_.horizon || segments_.back().last_crc != archive_.crc))
    throw_corrupt(index_name(archive_.segments), 0,
                  "the archived segments end at position " + std::to_string(slots_.size()) +
                      ", but the archive marker says " + std::to_string(archive_.horizon) +
                      " (or their chain ends in another checksum)");
  recovery_.segments_indexed -= std::min(recovery_.segments_indexed, archive_.segments);
  mark_archived_streams();
}

// Streams whose last event is archived: whether it is a tombstone comes from the marker, since
// there is no record here to read its type from.
template <class IO>
void basic_file_log<IO>::mark_archived_streams() {
  std::vector<std::string_view> deleted(archive_.deleted_streams.begin(),
                                        archive_.deleted_streams.end());
  std::sort(deleted.begin(), deleted.end());
  for (stream_entry& s : streams_)
    if (!s.positions.empty() && s.positions.back() <= archive_.horizon)
      s.tombstoned = std::binary_search(deleted.begin(), deleted.end(), s.id) ? 1 : 0;
}

// After annal::archive copied and checked segments 1..m.segments in the archive and wrote the
// marker: the log stops reading them, their files go (the index files stay), and their descriptors
// are closed as soon as no read in flight can hold one.
template <class IO>
void basic_file_log<IO>::retire_archived(const detail::file_log::archive_marker& m) {
  std::vector<std::string> doomed;
  {
    std::lock_guard appending(append_mutex_);
    std::unique_lock lock(index_mutex_);
    std::lock_guard retiring(retired_mutex_);
    for (std::uint32_t i = archive_.segments; i < m.segments && i + 1 < segments_.size(); ++i) {
      segment& seg = segments_[i];
      if (seg.fd >= 0) retired_fds_.push_back(seg.fd);
      seg.fd = -1;
      seg.archived = true;
      doomed.push_back(seg.name);
    }
    archive_ = m;
    archive_horizon_.store(m.horizon, std::memory_order_release);
    mark_archived_streams();
    retired_pending_.store(!retired_fds_.empty());
  }
  for (const std::string& name : doomed)
    if (const int rc = io_.unlink(path_of(name).c_str()); rc < 0 && rc != -ENOENT)
      throw_io("removing the archived segment " + path_of(name) +
                   " (the next open removes it; the archive holds it)",
               rc);
  if (const int rc = io_.fsync(dir_fd_); rc < 0) throw_io("syncing the directory", rc);
  if (readers_.load() == 0) close_retired();
}

template <class IO>
void basic_file_log<IO>::close_retired() const {
  std::lock_guard lock(retired_mutex_);
  // A read that began before the segments were retired may still use their descriptors, and it
  // counts in readers_; one that begins later cannot get them. So none in flight is enough.
  if (readers_.load() != 0) return;
  for (int fd : retired_fds_) io_.close(fd);
  retired_fds_.clear();
  retired_pending_.store(false);
}

template <class IO>
void basic_file_log<IO>::throw_archived(std::uint64_t position) const {
  throw error(errc::archived,
              "file log " + dir_.string() + ": position " + std::to_string(position) +
                  " is archived: positions 1 to " + std::to_string(archive_.horizon) +
                  " were moved to the archive " + archive_.archive +
                  "; read them there (it opens as a file_log), or read both in one pass with "
                  "annal::with_archive");
}

}  // namespace annal
