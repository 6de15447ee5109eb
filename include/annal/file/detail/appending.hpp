// The file log's appends: checks, encoding, the write at the end and rolling segments.
#pragma once

#include <fcntl.h>
#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <mutex>
#include <shared_mutex>
#include <span>
#include <string>
#include <string_view>

#include <annal/core/error.hpp>
#include <annal/detail/idempotency.hpp>
#include <annal/detail/validate.hpp>
#include <annal/file/detail/format.hpp>
#include <annal/file/log.hpp>

namespace annal {

template <class IO>
append_result basic_file_log<IO>::append(std::string_view stream_id, expected_version expect,
                                         std::span<const event_data> batch) {
  if (options_.read_only) throw_read_only("append");
  detail::validate_batch(stream_id, batch);
  check_sizes(stream_id, batch);
  inflight_.fetch_add(1, std::memory_order_relaxed);
  struct leave {
    std::atomic<int>& n;
    ~leave() { n.fetch_sub(1, std::memory_order_relaxed); }
  } leaving{inflight_};

  std::unique_lock lock(append_mutex_);
  throw_if_failed();
  if (auto dup = detail::check_stored_ids(stream_id, batch,
                                          [&](const event_id& id) { return lookup(id); })) {
    lock.unlock();
    // The original may still be on its way to disk; a retry is acknowledged no sooner than it.
    if (options_.sync != durability::none) wait_durable(dup->last_position);
    return *dup;
  }
  const auto found = stream_index_.find(stream_id);
  const std::uint32_t stream_no = found == stream_index_.end() ? no_stream : found->second;
  const std::uint64_t actual = stream_no == no_stream ? 0 : streams_[stream_no].positions.size();
  if (stream_no != no_stream && ends_in_tombstone(stream_no, actual))
    detail::throw_stream_deleted(stream_id, actual);
  if (!expect.matches(actual)) {
    // The winner's events may still be on their way to disk, unreadable: a conflict returns no
    // sooner than what it names can be read, so a reload decides on the state that beat it.
    const std::uint64_t newest = actual == 0 ? 0 : streams_[stream_no].positions.back();
    lock.unlock();
    if (options_.sync == durability::none) {
      publish(newest);
    } else {
      wait_durable(newest);
    }
    publish_to_readers();
    return {append_status::conflict, actual, 0, 0};
  }

  const std::uint64_t last = write_batch(stream_id, stream_no, actual, batch);
  lock.unlock();
  if (options_.sync == durability::none) {
    publish(last);
  } else {
    wait_durable(last);
  }
  publish_to_readers();
  return {append_status::appended, actual + batch.size(), last - batch.size() + 1, last};
}

template <class IO>
void basic_file_log<IO>::check_sizes(std::string_view stream_id,
                                     std::span<const event_data> batch) {
  for (std::size_t i = 0; i < batch.size(); ++i) {
    const std::size_t size = detail::file_log::record_size(stream_id, batch[i]);
    if (size > detail::file_log::max_record_size)
      throw error(errc::invalid_argument,
                  "event " + std::to_string(i) + " of the batch for stream " +
                      detail::quoted_prefix(stream_id) + " takes " + std::to_string(size) +
                      " bytes as a record; the file log's limit is " +
                      std::to_string(detail::file_log::max_record_size));
  }
}

// Whether the stream's last event is a tombstone. Called with append_mutex_ held. The first time
// a stream loaded from disk is appended to, its last record is read for its type: every record
// of such a stream is published already.
template <class IO>
bool basic_file_log<IO>::ends_in_tombstone(std::uint32_t stream_no, std::uint64_t version) {
  std::int8_t& known = streams_[stream_no].tombstoned;
  if (known < 0) {
    bool tombstone = false;
    read_stream_views(
        streams_[stream_no].id, version,
        [&](const recorded_event_view& e) { tombstone = e.type == tombstone_type; }, 1);
    known = tombstone ? 1 : 0;
  }
  return known == 1;
}

// Encodes and writes one batch at the end of the log and indexes it; returns its last position.
// Called with append_mutex_ held.
template <class IO>
std::uint64_t basic_file_log<IO>::write_batch(std::string_view stream_id, std::uint32_t stream_no,
                                              std::uint64_t actual,
                                              std::span<const event_data> batch) {
  namespace fl = detail::file_log;
  // Before anything is written: a copy's time earlier than the log's last is refused.
  const time_point recorded_at =
      detail::batch_recorded_at(stream_id, batch, last_recorded_at_, clock::now());
  std::size_t total = 0;
  for (const event_data& e : batch) total += fl::record_size(stream_id, e);
  if (segments_.back().size > fl::segment_header_size &&
      segments_.back().size + total > options_.segment_size)
    roll();

  segment& seg = segments_.back();
  // Recorded times never go backwards, so "state as of t" is well defined even if the clock is.
  last_recorded_at_ = recorded_at;
  const std::uint64_t first = written_.load(std::memory_order_relaxed) + 1;
  const std::uint64_t synced = durable_.load(std::memory_order_acquire);
  buffer_.resize(total);
  std::uint32_t chain = seg.last_crc;
  std::size_t at = 0;
  for (std::size_t i = 0; i < batch.size(); ++i) {
    fl::record_fields f;
    f.prev_crc = chain;
    f.position = first + i;
    f.synced_through = synced;
    f.stream_version = actual + i + 1;
    f.recorded_at_ns = fl::to_ns(last_recorded_at_);
    f.flags = i + 1 == batch.size() ? fl::flag_batch_end : 0;
    chain = fl::encode_record(buffer_.data() + at, stream_id, batch[i], f);
    at += fl::record_size(stream_id, batch[i]);
  }

  // The id table's slots load during the write (appenders alone change the table, and this one
  // holds append_mutex_).
  for (const event_data& e : batch) ids_.prefetch(e.id);
  write_or_undo(seg, buffer_.data(), total);

  // A failure from here on would leave the file ahead of the index: stop rather than guess.
  try {
    std::unique_lock lock(index_mutex_);
    std::uint32_t stream = stream_no;
    std::uint64_t offset = seg.size;
    const auto segment_index = static_cast<std::uint32_t>(segments_.size() - 1);
    for (std::size_t i = 0; i < batch.size(); ++i) {
      index_record(stream_id, stream, actual + i + 1, first + i, offset, segment_index,
                   type_names_.intern(batch[i].type));
      ids_.insert(batch[i].id, first + i);
      active_ids_.push_back(batch[i].id);
      offset += fl::record_size(stream_id, batch[i]);
    }
    streams_[stream].tombstoned = batch.back().type == tombstone_type ? 1 : 0;
    seg.size += total;
    seg.last_crc = chain;
    written_.store(first + batch.size() - 1, std::memory_order_release);
  } catch (const std::exception& ex) {
    fail(std::string("indexing an appended batch failed: ") + ex.what());
  }
  return first + batch.size() - 1;
}

// Writes all of `data` at the segment's end. On failure the segment is cut back to where it was,
// so the store stays usable after ENOSPC; if even that fails, the store stops.
template <class IO>
void basic_file_log<IO>::write_or_undo(segment& seg, const char* data, std::size_t size) {
  std::size_t done = 0;
  while (done < size) {
    const std::int64_t rc = io_.pwrite(seg.fd, data + done, size - done, seg.size + done);
    if (rc <= 0) {
      const std::int64_t err = rc < 0 ? rc : -EIO;
      if (const int t = io_.ftruncate(seg.fd, seg.size); t < 0)
        fail("cutting " + seg.name + " back to " + std::to_string(seg.size) +
             " bytes after a failed write failed: " + errno_text(t));
      throw_io("writing " + std::to_string(size) + " bytes to " + path_of(seg.name) +
                   " at offset " + std::to_string(seg.size + done),
               err);
    }
    done += static_cast<std::size_t>(rc);
  }
}

// Seals the current segment (synced) and starts the next. Called with append_mutex_ held.
template <class IO>
void basic_file_log<IO>::roll() {
  segment& old = segments_.back();
  sync_or_fail(old.fd, "fdatasync of " + old.name);
  mark_durable(written_.load(std::memory_order_relaxed));
  // Readers find every record of a segment published once a later segment exists.
  publish_to_readers();
  write_index(old, written_.load(std::memory_order_relaxed));
  segment next =
      create_segment(old.number + 1, written_.load(std::memory_order_relaxed) + 1, old.last_crc);
  active_ids_.clear();
  active_ids_first_ = next.first_position;
  std::unique_lock lock(index_mutex_);
  segments_.push_back(std::move(next));
}

// Creates a segment as a temporary file with its header synced, then renames it into place and
// syncs the directory, so a segment file never exists without a whole header.
template <class IO>
auto basic_file_log<IO>::create_segment(std::uint32_t number, std::uint64_t first_position,
                                        std::uint32_t seed) -> segment {
  namespace fl = detail::file_log;
  segment s;
  s.number = number;
  s.name = segment_name(number);
  s.first_position = first_position;
  s.last_crc = seed;
  s.size = fl::segment_header_size;
  const std::string final_path = path_of(s.name);
  const std::string tmp_path = final_path + ".tmp";
  const int fd = io_.open(tmp_path.c_str(), O_RDWR | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) throw_io("creating " + tmp_path, fd);
  s.fd = fd;
  char header[fl::segment_header_size];
  fl::encode_segment_header(header, {number, first_position, seed});
  const std::int64_t rc = io_.pwrite(fd, header, sizeof header, 0);
  // On failure the temporary file is removed if possible; one left behind holds no events and
  // the next open removes it, so those calls' own errors do not matter.
  if (rc != static_cast<std::int64_t>(sizeof header)) {
    io_.close(fd);
    io_.unlink(tmp_path.c_str());
    throw_io("writing the header of " + tmp_path, rc < 0 ? rc : -EIO);
  }
  sync_or_fail(fd, "fdatasync of " + tmp_path);
  if (const int r = io_.rename(tmp_path.c_str(), final_path.c_str()); r < 0) {
    io_.close(fd);
    io_.unlink(tmp_path.c_str());
    throw_io("renaming " + tmp_path + " to " + final_path, r);
  }
  sync_dir_or_fail();
  return s;
}

}  // namespace annal
