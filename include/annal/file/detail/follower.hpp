// A read-only file log: opening beside the writer and following what it publishes.
#pragma once

#include <fcntl.h>
#include <atomic>
#include <cerrno>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <system_error>
#include <thread>

#include <annal/core/detail/chrono.hpp>
#include <annal/core/error.hpp>
#include <annal/detail/file_write_watch.hpp>
#include <annal/file/detail/format.hpp>
#include <annal/file/detail/reader.hpp>
#include <annal/file/log.hpp>

namespace annal {

// Brings a read-only open's index up to what the writer has published; nothing for a writer.
// The index grows under index_mutex_ as in an append, from reads that are const to their
// callers: what it changes is declared mutable, so this holds for a log defined const too.
template <class IO>
void basic_file_log<IO>::follow_writer() const {
  if (!options_.read_only) return;
  std::lock_guard guard(follow_mutex_);
  const_cast<basic_file_log&>(*this).follow(read_published_position());
}

template <class IO>
std::uint64_t basic_file_log<IO>::read_published_position() const {
  return const_cast<basic_file_log&>(*this).read_published();
}

// A read-only open takes no lock and changes nothing: it indexes what the writer has published (or,
// with no writer ever having published, every whole batch that checks out) and watches PUBLISHED
// for more. The watch starts before the first read of it, so no publish goes unnoticed.
template <class IO>
void basic_file_log<IO>::open_read_only() {
  const auto started = std::chrono::steady_clock::now();
  std::error_code ec;
  if (!std::filesystem::is_directory(dir_, ec))
    throw error(errc::io_error, "file log " + dir_.string() +
                                    ": the directory does not exist (a read-only open never "
                                    "creates it; open the writer first)");
  watch_ = std::make_unique<detail::file_write_watch>(dir_ / published_name);
  read_archive_marker();
  load_archived_segments();
  follow(read_published());
  opened_ = true;
  recovery_.events = slots_.size();
  recovery_.segments = static_cast<std::uint32_t>(segments_.size());
  recovery_.open_time = std::chrono::duration_cast<std::chrono::nanoseconds>(
      std::chrono::steady_clock::now() - started);
}

// The position the writer has published, or no_limit while none is: a log last written before
// read-only opens existed, or a writer between creating PUBLISHED and its first write (it takes no
// appends yet, so every whole batch on disk is one it keeps).
template <class IO>
std::uint64_t basic_file_log<IO>::read_published() {
  const std::string path = path_of(published_name);
  if (published_fd_ < 0) {
    const int fd = io_.open(path.c_str(), O_RDONLY, 0);
    if (fd == -ENOENT) return no_limit;
    if (fd < 0) throw_io("opening " + path, fd);
    published_fd_ = fd;
  }
  for (int attempt = 0;; ++attempt) {
    char bytes[16];
    const std::int64_t got = io_.pread(published_fd_, bytes, sizeof bytes, 0);
    if (got < 0) throw_io("reading " + path, got);
    if (got < static_cast<std::int64_t>(sizeof bytes)) return no_limit;
    const auto position = detail::file_log::get<std::uint64_t>(bytes);
    if (detail::file_log::get<std::uint64_t>(bytes + 8) == ~position) return position;
    // Halves that disagree are a read that met the writer's write half done: read again.
    if (attempt == 1000)
      throw error(errc::corrupt_log, "file log " + dir_.string() + ": " + path +
                                         " holds no position (its two halves disagree); the "
                                         "writer's next open writes it again");
    std::this_thread::yield();
  }
}

// Indexes the records after the index's end up to position `limit`: the rest of the newest segment
// known, then the segments after it. Every published record was whole in its segment before it was
// published, and a segment exists before anything in it is, so a published position that cannot be
// read is damage; a bad spot past `limit` is a write in progress, or a torn tail the writer's next
// open cuts, and the index stops before it.
template <class IO>
void basic_file_log<IO>::follow(std::uint64_t limit) {
  namespace fl = detail::file_log;
  const std::uint64_t known = visible_.load(std::memory_order_relaxed);
  if (limit != no_limit && limit < known)
    throw error(errc::corrupt_log,
                "file log " + dir_.string() + ": the writer publishes position " +
                    std::to_string(limit) + " but this read-only open has read up to " +
                    std::to_string(known) +
                    ": the log was cut under it (a repair?); open it again to read what is there");
  if (limit == known) return;
  std::unique_lock lock(index_mutex_);
  fl::chunk_reader<IO> reader(io_, 1024 * 1024);
  bool scan_newest = !segments_.empty() && !segments_.back().archived;
  while (slots_.size() < limit) {
    if (scan_newest) {
      segment& seg = segments_.back();
      const std::int64_t size = io_.file_size(seg.fd);
      if (size < 0) throw_io("reading the size of " + path_of(seg.name), size);
      reader.reset(seg.fd, &seg.name);
      const auto bad = scan_records(seg, static_cast<std::uint32_t>(segments_.size() - 1),
                                    static_cast<std::uint64_t>(size), reader, limit);
      if (bad) {
        stop_before(*bad, seg.name, limit);
        break;
      }
      if (slots_.size() >= limit) break;
    }
    scan_newest = true;
    // The newest segment is read to its end: what follows is in the next one, if anywhere.
    segment next;
    next.number = segments_.empty() ? 1 : segments_.back().number + 1;
    next.name = segment_name(next.number);
    const std::string path = path_of(next.name);
    next.fd = io_.open(path.c_str(), O_RDONLY, 0);
    if (next.fd == -ENOENT) {
      if (limit == no_limit) break;
      throw_corrupt(next.name, 0,
                    "the segment is missing, yet the writer has published position " +
                        std::to_string(limit) + " and the log before it ends at " +
                        std::to_string(slots_.size()));
    }
    if (next.fd < 0) throw_io("opening " + path, next.fd);
    const std::int64_t size = io_.file_size(next.fd);
    if (size < 0) {
      io_.close(next.fd);
      throw_io("reading the size of " + path, size);
    }
    // Only the open takes sealed segments from their index files: recovery() then stays what the
    // open found, unchanged by reads in other threads (a reader that fell behind scans instead).
    std::error_code ec;
    const bool sealed = std::filesystem::exists(dir_ / segment_name(next.number + 1), ec);
    if (!opened_ && sealed && !options_.verify_on_open &&
        load_index(next, static_cast<std::uint64_t>(size), limit)) {
      segments_.push_back(std::move(next));
      continue;
    }
    reader.reset(next.fd, &next.name);
    const auto bad = scan_segment(next, static_cast<std::uint64_t>(size), reader, limit);
    if (bad && bad->cut == 0) {
      io_.close(next.fd);
      stop_before(*bad, next.name, limit);
      break;
    }
    segments_.push_back(std::move(next));
    if (bad) {
      stop_before(*bad, segments_.back().name, limit);
      break;
    }
  }
  const std::uint64_t last = slots_.size();
  written_.store(last, std::memory_order_relaxed);
  durable_.store(last, std::memory_order_relaxed);
  visible_.store(last, std::memory_order_release);
}

template <class IO>
void basic_file_log<IO>::stop_before(const bad_spot& bad, const std::string& segment_name,
                                     std::uint64_t limit) const {
  if (limit != no_limit && slots_.size() < limit)
    throw_corrupt(segment_name, bad.offset,
                  bad.why + " (the writer has published every position up to " +
                      std::to_string(limit) + ", and this is position " +
                      std::to_string(slots_.size() + 1) + ")");
}

}  // namespace annal
