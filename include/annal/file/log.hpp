// The embedded default store: a durable, crash-safe, segmented append-only log in one directory.
#pragma once

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include <boost/container_hash/hash.hpp>
#include <boost/unordered/unordered_flat_map.hpp>

#include <annal/core/envelope.hpp>
#include <annal/core/error.hpp>
#include <annal/core/log.hpp>
#include <annal/file/detail/format.hpp>
#include <annal/file/detail/huge_page_allocator.hpp>
#include <annal/file/detail/reader.hpp>
#include <annal/file/detail/segment_index.hpp>
#include <annal/file/detail/walk.hpp>
#include <annal/detail/file_write_watch.hpp>
#include <annal/detail/idempotency.hpp>
#include <annal/detail/validate.hpp>
#include <annal/store/event_store.hpp>
#include <annal/store/event_view.hpp>
#include <annal/file/options.hpp>
#include <annal/file/posix_io.hpp>
#include <annal/file/salvage.hpp>

namespace annal {

// A directory of segment files "00000001.log", "00000002.log"... written by one process at a time,
// read beside it by any number of read-only opens (file_log_options::read_only). Thread-safe. `IO`
// is the I/O layer (posix_io; tests pass one that injects faults); it is called from several
// threads at once.
//   annal::file_log log{"./data"};
template <class IO = posix_io>
class basic_file_log {
  static_assert(file_io<IO>,
                "basic_file_log<IO> requires IO to provide the calls of annal::posix_io "
                "(open, close, pread, pwrite, fdatasync, fsync, ftruncate, file_size, rename, "
                "unlink, mkdir, lock), each returning -errno on failure");

 public:
  explicit basic_file_log(std::filesystem::path directory, file_log_options options = {},
                          IO io = {})
      : dir_(std::move(directory)), options_(options), io_(std::move(io)) {
    if (options_.segment_size < detail::file_log::segment_header_size)
      throw error(errc::invalid_argument, "file_log_options::segment_size " +
                                              std::to_string(options_.segment_size) +
                                              " is smaller than a segment header");
    try {
      if (options_.read_only) {
        open_read_only();
      } else {
        open();
      }
    } catch (...) {
      close_all();
      throw;
    }
  }

  // How often a read-only open's waiters look for new events when no inotify watch wakes them.
  static constexpr std::chrono::milliseconds read_only_poll_interval{10};

  basic_file_log(const basic_file_log&) = delete;
  basic_file_log& operator=(const basic_file_log&) = delete;

  // Closing needs no sync: in durable and group modes everything acknowledged is on disk already.
  ~basic_file_log() { close_all(); }

  append_result append(std::string_view stream_id, expected_version expect,
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

  template <class F>
  std::size_t read_stream(std::string_view stream_id, std::uint64_t from_version, F&& visit,
                          std::size_t max_count = unlimited) const {
    return read_stream_views(stream_id, from_version, copying(visit), max_count);
  }

  // read_stream handing out views into the read buffer (see annal/store/event_view.hpp), good only
  // during the visit: no copies of stream ids, types, metadata or payloads.
  template <class F>
  std::size_t read_stream_views(std::string_view stream_id, std::uint64_t from_version, F&& visit,
                                std::size_t max_count = unlimited) const {
    detail::validate_stream_id(stream_id);
    throw_if_failed();
    follow_writer();
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

  template <class F>
  std::size_t read_all(std::uint64_t from_position, F&& visit,
                       std::size_t max_count = unlimited) const {
    return read_all_views(from_position, copying(visit), max_count);
  }

  // read_all handing out views into the read buffer (see annal/store/event_view.hpp), good only
  // during the visit. A scan that only looks at each event skips copying it.
  template <class F>
  std::size_t read_all_views(std::uint64_t from_position, F&& visit,
                             std::size_t max_count = unlimited) const {
    throw_if_failed();
    follow_writer();
    std::uint64_t position = from_position == 0 ? 1 : from_position;
    std::uint64_t offset = 0;
    std::size_t n = 0;
    std::vector<segment_ref> segs;
    {
      std::shared_lock lock(index_mutex_);
      const std::uint64_t visible = visible_.load(std::memory_order_acquire);
      if (position > visible) return 0;
      n = static_cast<std::size_t>(std::min<std::uint64_t>(visible - position + 1, max_count));
      const slot& s = slots_[position - 1];
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

  std::uint64_t stream_version(std::string_view stream_id) const {
    detail::validate_stream_id(stream_id);
    throw_if_failed();
    follow_writer();
    std::shared_lock lock(index_mutex_);
    const auto found = stream_index_.find(stream_id);
    return found == stream_index_.end() ? 0 : visible_count(streams_[found->second].positions);
  }

  std::uint64_t last_position() const {
    throw_if_failed();
    follow_writer();
    return visible_.load(std::memory_order_acquire);
  }

  // Blocks until an event with position > `after` is readable or `deadline` passes; returns whether
  // one is. Subscriptions use it so that a live reader sleeps instead of polling. A read-only open
  // wakes when the writer publishes (inotify on Linux), else looks every read_only_poll_interval.
  bool wait_for_append(std::uint64_t after, time_point deadline) const {
    if (options_.read_only) {
      for (;;) {
        follow_writer();
        if (visible_.load(std::memory_order_acquire) > after) return true;
        const time_point now = clock::now();
        if (now >= deadline) return false;
        // One waiter at a time reads the watch's events; the others look again after a pause.
        std::unique_lock watching(watch_mutex_, std::try_to_lock);
        if (watching && watch_->active()) {
          // A publish the waiter before drained from the watch is seen here.
          follow_writer();
          if (visible_.load(std::memory_order_acquire) > after) return true;
          watch_->wait_until(deadline);
        } else {
          std::this_thread::sleep_until(
              std::min<time_point>(deadline, now + read_only_poll_interval));
        }
      }
    }
    std::unique_lock lock(wait_mutex_);
    return appended_.wait_until(lock, deadline, [&] {
      return failed_.load(std::memory_order_acquire) ||
             visible_.load(std::memory_order_acquire) > after;
    }) && !failed_.load(std::memory_order_acquire);
  }

  // Makes every appended event durable now. Only durability::none needs it, at the end of an
  // import.
  void sync() {
    if (options_.read_only) throw_read_only("sync");
    throw_if_failed();
    wait_durable(written_.load(std::memory_order_acquire));
  }

  // What opening found and did: a torn tail cut, or a repair.
  const file_log_recovery& recovery() const noexcept { return recovery_; }
  const std::filesystem::path& directory() const noexcept { return dir_; }
  const file_log_options& options() const noexcept { return options_; }
  // True once a failed sync stopped the store; reopen it to go on with what is durable.
  bool failed() const noexcept { return failed_.load(std::memory_order_acquire); }

 private:
  static constexpr std::uint32_t no_stream = 0xFFFFFFFFu;
  static constexpr std::uint64_t no_limit = ~std::uint64_t{0};

  struct slot {
    std::uint64_t offset;   // of the record in its segment
    std::uint64_t version;  // the event's stream version
    std::uint32_t segment;  // index into segments_
    std::uint32_t stream;   // index into streams_
  };
  struct stream_entry {
    std::string id;
    std::vector<std::uint64_t> positions;  // ascending; the newest may not be published yet
    // Whether the last event is a tombstone: -1 until an append asks (the index loads without
    // reading types), then 0 or 1. Read and written only under append_mutex_.
    std::int8_t tombstoned = -1;
  };
  struct segment {
    std::string name;  // "00000003.log"
    std::uint32_t number = 0;
    int fd = -1;
    std::uint64_t first_position = 0;
    std::uint64_t size = 0;      // bytes in the file (appenders only)
    std::uint32_t last_crc = 0;  // checksum of its last record, or its chain seed (appenders only)
  };
  struct segment_ref {
    std::uint32_t index;
    int fd;
    std::uint64_t first_position;
    std::string name;
  };
  struct location {
    std::uint64_t position;
    std::uint64_t offset;
    std::uint32_t segment;
  };
  // Event ids are mostly random (version 4), but need not be: mix both halves through a finalizer
  // whose high bits depend on every input bit. The table takes its position from those high bits
  // unmixed (is_avalanching), which lets opening insert ids in table order (see load_index).
  struct id_hash {
    using is_avalanching = void;
    std::size_t operator()(const event_id& id) const noexcept {
      std::uint64_t a, b;
      std::memcpy(&a, id.data, 8);
      std::memcpy(&b, id.data + 8, 8);
      std::uint64_t h = a ^ (b * 0x9E3779B97F4A7C15ull) ^ (b >> 29);
      h ^= h >> 33;
      h *= 0xFF51AFD7ED558CCDull;
      h ^= h >> 33;
      h *= 0xC4CEB9FE1A85EC53ull;
      h ^= h >> 33;
      return static_cast<std::size_t>(h);
    }
  };
  struct string_hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept {
      return std::hash<std::string_view>{}(s);
    }
  };

  // ---- errors ---------------------------------------------------------------------------------

  static std::string errno_text(std::int64_t rc) {
    return std::system_category().message(static_cast<int>(-rc));
  }
  std::string path_of(const std::string& name) const { return (dir_ / name).string(); }
  [[noreturn]] void throw_io(const std::string& what, std::int64_t rc) const {
    throw error(errc::io_error, "file log " + dir_.string() + ": " + what + ": " + errno_text(rc));
  }
  [[noreturn]] void throw_corrupt(const std::string& segment_name, std::uint64_t offset,
                                  const std::string& why) const {
    throw error(errc::corrupt_log, "file log " + dir_.string() + ": segment " + segment_name +
                                       " offset " + std::to_string(offset) + ": " + why);
  }
  [[noreturn]] void throw_read_only(const char* call) const {
    throw error(errc::invalid_argument,
                std::string("file log ") + dir_.string() +
                    " is open read-only (file_log_options::read_only): " + call +
                    " is refused; only the directory's writer appends");
  }
  void throw_if_failed() const {
    if (failed_.load(std::memory_order_acquire))
      throw error(errc::store_failed, "file log " + dir_.string() + " has stopped: " + failure_ +
                                          "; reopen it to continue from what is durable");
  }

  // Fail-stop: after a failed sync the kernel may have dropped the dirty pages and cleared the
  // error, so a retried sync could "succeed" over lost data. Nothing is retried; every call fails.
  [[noreturn]] void fail(const std::string& why) {
    {
      std::lock_guard guard(sync_mutex_);
      if (!failed_.load(std::memory_order_relaxed)) {
        failure_ = why;
        failed_.store(true, std::memory_order_release);
      }
    }
    synced_.notify_all();
    { std::lock_guard wake(wait_mutex_); }
    appended_.notify_all();
    throw_if_failed();
    throw error(errc::store_failed, why);  // unreachable: failed_ is set
  }

  void sync_or_fail(int fd, const std::string& what) {
    if (const int rc = io_.fdatasync(fd); rc < 0) fail(what + " failed: " + errno_text(rc));
  }
  void sync_dir_or_fail() {
    if (const int rc = io_.fsync(dir_fd_); rc < 0)
      fail("fsync of directory " + dir_.string() + " failed: " + errno_text(rc));
  }

  // ---- input limits ---------------------------------------------------------------------------

  static void check_sizes(std::string_view stream_id, std::span<const event_data> batch) {
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

  // ---- the index ------------------------------------------------------------------------------

  std::optional<detail::stored_ref> lookup(const event_id& id) const {
    const auto it = ids_.find(id);
    if (it == ids_.end()) return std::nullopt;
    const slot& s = slots_[it->second - 1];
    return detail::stored_ref{streams_[s.stream].id, s.version, it->second};
  }

  std::size_t visible_count(const std::vector<std::uint64_t>& positions) const {
    const std::uint64_t visible = visible_.load(std::memory_order_acquire);
    if (positions.empty() || positions.back() <= visible) return positions.size();
    return static_cast<std::size_t>(std::upper_bound(positions.begin(), positions.end(), visible) -
                                    positions.begin());
  }

  std::vector<segment_ref> segment_refs(std::uint32_t from) const {
    std::vector<segment_ref> out;
    out.reserve(segments_.size() - from);
    for (std::uint32_t i = from; i < segments_.size(); ++i)
      out.push_back({i, segments_[i].fd, segments_[i].first_position, segments_[i].name});
    return out;
  }

  // Adds one record to the stream and position indexes (its id goes into ids_ separately).
  void index_record(std::string_view stream_id, std::uint32_t& stream_no, std::uint64_t version,
                    std::uint64_t position, std::uint64_t offset, std::uint32_t segment_index) {
    if (stream_no == no_stream) {
      stream_no = static_cast<std::uint32_t>(streams_.size());
      streams_.push_back({std::string(stream_id), {}});
      stream_index_.emplace(std::string(stream_id), stream_no);
    }
    streams_[stream_no].positions.push_back(position);
    slots_.push_back({offset, version, segment_index, stream_no});
  }

  // ---- reading --------------------------------------------------------------------------------

  // Adapts a visitor of recorded_event to views: each view is copied into one reused event.
  template <class F>
  static auto copying(F& visit) {
    return [&visit, e = recorded_event{}](const recorded_event_view& v) mutable {
      detail::file_log::copy_view(v, e);
      return detail::visit_continue(visit, e);
    };
  }

  // Reads and checks the record at `offset` and views it; returns its size.
  std::uint32_t read_record(detail::file_log::chunk_reader<IO>& reader, const segment_ref& seg,
                            std::uint64_t offset, std::uint64_t position,
                            recorded_event_view& e) const {
    std::uint32_t size = 0;
    const char* data = fetch_record(reader, seg, offset, position, size);
    const std::uint32_t crc =
        options_.verify_reads ? detail::file_log::crc32c(0, data + 12, size - 12) : 0;
    check_and_view(seg, offset, position, data, size, options_.verify_reads ? &crc : nullptr, e);
    return size;
  }

  // The whole record at `offset` (its claimed length in `size`), or an error naming the spot.
  const char* fetch_record(detail::file_log::chunk_reader<IO>& reader, const segment_ref& seg,
                           std::uint64_t offset, std::uint64_t position,
                           std::uint32_t& size) const {
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
  void check_and_view(const segment_ref& seg, std::uint64_t offset, std::uint64_t position,
                      const char* data, std::uint32_t size, const std::uint32_t* crc,
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

  // ---- appending ------------------------------------------------------------------------------

  // Whether the stream's last event is a tombstone. Called with append_mutex_ held. The first time
  // a stream loaded from disk is appended to, its last record is read for its type: every record
  // of such a stream is published already.
  bool ends_in_tombstone(std::uint32_t stream_no, std::uint64_t version) {
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
  std::uint64_t write_batch(std::string_view stream_id, std::uint32_t stream_no,
                            std::uint64_t actual, std::span<const event_data> batch) {
    namespace fl = detail::file_log;
    std::size_t total = 0;
    for (const event_data& e : batch) total += fl::record_size(stream_id, e);
    if (segments_.back().size > fl::segment_header_size &&
        segments_.back().size + total > options_.segment_size)
      roll();

    segment& seg = segments_.back();
    // Recorded times never go backwards, so "state as of t" is well defined even if the clock is.
    last_recorded_at_ = std::max(clock::now(), last_recorded_at_);
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

    write_or_undo(seg, buffer_.data(), total);

    // A failure from here on would leave the file ahead of the index: stop rather than guess.
    try {
      std::unique_lock lock(index_mutex_);
      std::uint32_t stream = stream_no;
      std::uint64_t offset = seg.size;
      const auto segment_index = static_cast<std::uint32_t>(segments_.size() - 1);
      for (std::size_t i = 0; i < batch.size(); ++i) {
        index_record(stream_id, stream, actual + i + 1, first + i, offset, segment_index);
        ids_.emplace(batch[i].id, first + i);
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
  void write_or_undo(segment& seg, const char* data, std::size_t size) {
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
  void roll() {
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

  // Writes the index file of a sealed segment (the newest in segments_, holding positions up to
  // `last`), so that opening can skip scanning it; returns whether it did. Like a segment, it is
  // written as a temporary file, synced, renamed into place and the directory synced: a crash
  // leaves the old index or the new one, never a torn one under its name. A failed write fails the
  // roll-over (and so the append) like any other I/O error, and the next append tries again; the
  // segment's records are durable already, and an open scans a segment whose index is missing.
  bool write_index(const segment& seg, std::uint64_t last) {
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
    std::vector<std::string_view> streams;
    std::unordered_map<std::uint32_t, std::uint32_t> local;
    for (std::uint64_t p = seg.first_position; p <= last; ++p) {
      const std::uint32_t global = slots_[p - 1].stream;
      if (local.emplace(global, static_cast<std::uint32_t>(streams.size())).second)
        streams.push_back(streams_[global].id);
    }
    const std::string bytes = fl::encode_segment_index(h, streams, [&](std::uint64_t i) {
      const slot& s = slots_[seg.first_position - 1 + i];
      return fl::segment_index_entry{s.offset, s.version, local[s.stream], active_ids_[i]};
    });
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

  // Creates a segment as a temporary file with its header synced, then renames it into place and
  // syncs the directory, so a segment file never exists without a whole header.
  segment create_segment(std::uint32_t number, std::uint64_t first_position, std::uint32_t seed) {
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

  static std::string segment_name(std::uint32_t number) {
    char name[32];
    std::snprintf(name, sizeof name, "%08u.log", number);
    return name;
  }
  // Where cut bytes of the file `name` are kept: "<name>.cut", or "<name>.N.cut" if earlier cuts
  // hold that name already (nothing cut is ever overwritten).
  std::string cut_path(const std::string& name) const {
    std::string path = path_of(name) + ".cut";
    std::error_code ec;
    for (int n = 2; std::filesystem::exists(path, ec); ++n)
      path = path_of(name) + "." + std::to_string(n) + ".cut";
    return path;
  }
  static std::string index_name(std::uint32_t number) {
    char name[32];
    std::snprintf(name, sizeof name, "%08u.idx", number);
    return name;
  }

  // ---- durability -----------------------------------------------------------------------------

  void publish(std::uint64_t upto) {
    std::uint64_t seen = visible_.load(std::memory_order_relaxed);
    while (seen < upto && !visible_.compare_exchange_weak(seen, upto, std::memory_order_release,
                                                          std::memory_order_relaxed)) {
    }
    // Taking wait_mutex_ orders this notify after any waiter's predicate check: no lost wake-up.
    { std::lock_guard wake(wait_mutex_); }
    appended_.notify_all();
  }

  void mark_durable(std::uint64_t upto) {
    {
      std::lock_guard guard(sync_mutex_);
      if (durable_.load(std::memory_order_relaxed) < upto)
        durable_.store(upto, std::memory_order_release);
    }
    if (options_.sync != durability::none) publish(upto);
    synced_.notify_all();
  }

  // Writes the visible position to the PUBLISHED file, where read-only opens learn what they may
  // read: one 16-byte pwrite per sync, which the appenders it covered find done. A failed write
  // stops the store, as a failed sync does: readers would otherwise fall behind without a word.
  void publish_to_readers() {
    std::lock_guard guard(published_mutex_);
    const std::uint64_t upto = visible_.load(std::memory_order_acquire);
    if (upto <= published_) return;
    if (const std::int64_t rc = write_published(upto); rc < 0)
      fail("writing position " + std::to_string(upto) + " to " + path_of(published_name) +
           " failed: " + errno_text(rc));
    published_ = upto;
  }
  // The position, then its complement: a read torn by a concurrent write shows as a mismatch.
  std::int64_t write_published(std::uint64_t upto) {
    char bytes[16];
    detail::file_log::put<std::uint64_t>(bytes, upto);
    detail::file_log::put<std::uint64_t>(bytes + 8, ~upto);
    const std::int64_t rc = io_.pwrite(published_fd_, bytes, sizeof bytes, 0);
    return rc == static_cast<std::int64_t>(sizeof bytes) ? 0 : rc < 0 ? rc : -EIO;
  }

  // ---- reading beside the writer (read-only) --------------------------------------------------

  // Brings a read-only open's index up to what the writer has published; nothing for a writer.
  // The index grows under index_mutex_ as in an append, from reads that are const to their
  // callers: what it changes is declared mutable, so this holds for a log defined const too.
  void follow_writer() const {
    if (!options_.read_only) return;
    std::lock_guard guard(follow_mutex_);
    const_cast<basic_file_log&>(*this).follow(read_published_position());
  }
  std::uint64_t read_published_position() const {
    return const_cast<basic_file_log&>(*this).read_published();
  }

  // Returns once position `target` is on disk. fdatasync flushes everything written to the file
  // before it was called, so one sync covers every appender that wrote before it started:
  //   durable: an appender waits for a sync in flight that covers it, else starts its own at once,
  //            beside those in flight (the kernel batches concurrent syncs into one journal
  //            commit);
  //   group:   the same, but an appender about to start a sync first waits group_commit_window
  //            while others are appending, and those arriving meanwhile wait for its sync.
  void wait_durable(std::uint64_t target) {
    std::unique_lock lock(sync_mutex_);
    for (;;) {
      throw_if_failed();
      if (durable_.load(std::memory_order_relaxed) >= target) return;
      if (covering_ >= target || gathering_) {
        synced_.wait(lock);
        continue;
      }
      if (options_.sync == durability::group && inflight_.load(std::memory_order_relaxed) > 1) {
        gathering_ = true;
        lock.unlock();
        std::this_thread::sleep_for(options_.group_commit_window);
        lock.lock();
        gathering_ = false;
        synced_.notify_all();  // those who wrote after the sync below reads `upto` start their own
      }
      std::uint64_t upto = 0;
      int fd = -1;
      std::string name;
      {
        std::shared_lock index(index_mutex_);
        upto = written_.load(std::memory_order_acquire);
        fd = segments_.back().fd;
        name = segments_.back().name;
      }
      covering_ = std::max(covering_, upto);
      lock.unlock();
      // Earlier segments need no sync here: each was synced before the next one was created.
      const int rc = io_.fdatasync(fd);
      lock.lock();
      if (rc < 0) {
        lock.unlock();
        fail("fdatasync of " + name + " failed: " + errno_text(rc));
      }
      if (durable_.load(std::memory_order_relaxed) < upto)
        durable_.store(upto, std::memory_order_release);
      if (options_.sync != durability::none) publish(upto);
      synced_.notify_all();
    }
  }

  // ---- opening and recovery -------------------------------------------------------------------

  struct bad_spot {
    std::uint64_t offset;  // of the first bad byte
    std::uint64_t cut;     // where the log would be cut: the start of the batch holding it
    std::string why;
  };

  void open();
  void open_read_only();
  std::uint64_t read_published();
  void follow(std::uint64_t limit);
  void stop_before(const bad_spot& bad, const std::string& segment_name, std::uint64_t limit) const;
  std::vector<std::uint32_t> list_segments();
  segment open_segment(std::uint32_t number);
  std::optional<bad_spot> scan_segment(segment& seg, std::uint64_t file_size,
                                       detail::file_log::chunk_reader<IO>& reader,
                                       std::uint64_t limit = no_limit);
  std::optional<bad_spot> scan_records(segment& seg, std::uint32_t segment_index,
                                       std::uint64_t file_size,
                                       detail::file_log::chunk_reader<IO>& reader,
                                       std::uint64_t limit);
  bool load_index(segment& seg, std::uint64_t file_size, std::uint64_t limit = no_limit);
  bool insert_ids(const detail::file_log::segment_index& idx, std::uint64_t first);
  void cut_log(std::vector<std::uint32_t>& numbers, std::size_t index, segment& seg,
               std::uint64_t file_size, const bad_spot& bad);
  void save_bytes(const segment& seg, std::uint64_t from, std::uint64_t to);
  // Writes the index file of a sealed segment just scanned at open. Failing to is no reason to
  // refuse the open (the scan gave the index in memory): it is said in recovery().index_ignored.
  void reindex(const segment& seg) {
    try {
      if (write_index(seg, slots_.size())) ++recovery_.segments_reindexed;
    } catch (const error& e) {
      recovery_.index_ignored.push_back(index_name(seg.number) + ": not rewritten: " + e.what());
    }
  }
  void close_all() noexcept {
    // Errors from close() cannot lose acknowledged data (it was synced) and a destructor cannot
    // report them, so they are not checked.
    for (segment& s : segments_)
      if (s.fd >= 0) io_.close(s.fd);
    segments_.clear();
    if (dir_fd_ >= 0) io_.close(dir_fd_);
    if (lock_fd_ >= 0) io_.close(lock_fd_);
    if (published_fd_ >= 0) io_.close(published_fd_);
    dir_fd_ = lock_fd_ = published_fd_ = -1;
  }

  std::filesystem::path dir_;
  file_log_options options_;
  mutable IO io_;
  int dir_fd_ = -1;
  int lock_fd_ = -1;
  file_log_recovery recovery_;

  // "PUBLISHED": the writer's visible position for read-only opens (see publish_to_readers).
  static constexpr const char* published_name = "PUBLISHED";
  mutable int published_fd_ = -1;
  std::mutex published_mutex_;
  std::uint64_t published_ = 0;  // the position the file holds (writer)
  // Read-only: one follow at a time; one waiter at a time reads the watch on PUBLISHED.
  mutable std::mutex follow_mutex_;
  mutable std::mutex watch_mutex_;
  std::unique_ptr<detail::file_write_watch> watch_;
  bool opened_ = false;  // read-only: the open has indexed what was published then

  // append_mutex_ serializes appenders: checks, encoding, the write, and rolling segments.
  std::mutex append_mutex_;
  std::vector<char> buffer_;
  // Mutable from here on: a read-only open's const reads grow the index (see follow_writer).
  mutable time_point last_recorded_at_{};
  // Ids of the newest segment's events in position order, for its index file when it is sealed.
  mutable std::vector<event_id> active_ids_;
  mutable std::uint64_t active_ids_first_ = 1;  // the position of active_ids_[0]
  std::atomic<int> inflight_{0};

  // index_mutex_ guards the index against readers; only appenders (holding append_mutex_) change
  // it.
  mutable std::shared_mutex index_mutex_;
  mutable std::vector<segment> segments_;
  // Position p is slots_[p - 1].
  mutable std::vector<slot, detail::file_log::huge_page_allocator<slot>> slots_;
  mutable std::vector<stream_entry> streams_;
  mutable std::unordered_map<std::string, std::uint32_t, string_hash, std::equal_to<>>
      stream_index_;
  mutable boost::unordered_flat_map<
      event_id, std::uint64_t, id_hash, std::equal_to<event_id>,
      detail::file_log::huge_page_allocator<std::pair<const event_id, std::uint64_t>>>
      ids_;

  // Positions: written_ (in the file) >= durable_ (synced) ; visible_ (readable) is durable_ in
  // durable and group modes, written_ in durability::none.
  mutable std::atomic<std::uint64_t> written_{0};
  mutable std::atomic<std::uint64_t> durable_{0};
  mutable std::atomic<std::uint64_t> visible_{0};

  mutable std::mutex sync_mutex_;
  std::condition_variable synced_;
  std::uint64_t covering_ = 0;  // the highest position a started sync will make durable
  bool gathering_ = false;      // group mode: a sync is about to start; wait for it
  std::atomic<bool> failed_{false};
  std::string failure_;  // written once, before failed_ is set

  mutable std::mutex wait_mutex_;
  mutable std::condition_variable appended_;
};

using file_log = basic_file_log<posix_io>;

// ---- opening and recovery -----------------------------------------------------------------------

template <class IO>
void basic_file_log<IO>::open() {
  namespace fl = detail::file_log;
  const auto started = std::chrono::steady_clock::now();
  const std::string dir = dir_.string();
  std::error_code ec;
  if (!std::filesystem::exists(dir_, ec)) {
    if (!options_.create_if_missing)
      throw error(errc::io_error, "file log " + dir + ": the directory does not exist");
    if (const int rc = io_.mkdir(dir.c_str()); rc < 0 && rc != -EEXIST)
      throw_io("creating the directory", rc);
  }
  dir_fd_ = io_.open(dir.c_str(), O_RDONLY | O_DIRECTORY, 0);
  if (dir_fd_ < 0) throw_io("opening the directory", dir_fd_);
  const std::string lock_path = path_of("LOCK");
  lock_fd_ = io_.open(lock_path.c_str(), O_RDWR | O_CREAT, 0644);
  if (lock_fd_ < 0) throw_io("opening " + lock_path, lock_fd_);
  if (const int rc = io_.lock(lock_fd_); rc < 0) {
    if (rc == -EWOULDBLOCK)
      throw error(errc::store_locked, "file log " + dir +
                                          " is in use: another process (or another file_log in "
                                          "this one) holds the lock on " +
                                          lock_path);
    throw_io("locking " + lock_path, rc);
  }

  std::vector<std::uint32_t> numbers = list_segments();
  // Sizing the index up front spares a large log most of its rehashing; 160 bytes is a small
  // record, so this rarely over-reserves by much and an under-estimate merely grows as usual.
  std::uint64_t log_bytes = 0;
  for (std::uint32_t n : numbers) {
    std::error_code size_ec;
    const auto size = std::filesystem::file_size(dir_ / segment_name(n), size_ec);
    if (!size_ec) log_bytes += size;
  }
  ids_.reserve(static_cast<std::size_t>(log_bytes / 160));
  slots_.reserve(static_cast<std::size_t>(log_bytes / 160));
  fl::chunk_reader<IO> reader(io_, 4 * 1024 * 1024);
  for (std::size_t i = 0; i < numbers.size(); ++i) {
    segment seg = open_segment(numbers[i]);
    const std::int64_t size = io_.file_size(seg.fd);
    if (size < 0) {
      io_.close(seg.fd);
      throw_io("reading the size of " + path_of(seg.name), size);
    }
    // A sealed segment (any but the newest) whose index file checks out is not scanned. A repair
    // scans everything, to find every bad spot, and so does a paranoid open.
    const bool index_tried = i + 1 < numbers.size() && !options_.repair && !options_.verify_on_open;
    if (index_tried && load_index(seg, static_cast<std::uint64_t>(size))) {
      segments_.push_back(std::move(seg));
      continue;
    }
    reader.reset(seg.fd, &seg.name);
    std::optional<bad_spot> bad = scan_segment(seg, static_cast<std::uint64_t>(size), reader);
    if (bad) {
      cut_log(numbers, i, seg, static_cast<std::uint64_t>(size), *bad);
      if (seg.fd >= 0) segments_.push_back(std::move(seg));
      break;
    }
    segments_.push_back(std::move(seg));
    // A sealed segment scanned for want of a usable index gets one, so the next open need not scan.
    if (index_tried) reindex(segments_.back());
  }

  if (segments_.empty()) {
    segments_.push_back(create_segment(1, 1, 0));
  } else if (const int rc = io_.fdatasync(segments_.back().fd); rc < 0) {
    // What a crashed process wrote may still be only in the page cache: make it durable before
    // anyone reads it, or refuse to open.
    throw_io("fdatasync of " + path_of(segments_.back().name), rc);
  }
  const std::uint64_t last = slots_.size();
  written_.store(last);
  durable_.store(last);
  visible_.store(last);
  // Everything up to `last` is durable now: read-only opens may read it. The file is never
  // replaced, only written in place, so a reader's descriptor stays good across writers.
  const std::string published_path = path_of(published_name);
  published_fd_ = io_.open(published_path.c_str(), O_RDWR | O_CREAT, 0644);
  if (published_fd_ < 0) throw_io("opening " + published_path, published_fd_);
  if (const std::int64_t rc = write_published(last); rc < 0)
    throw_io("writing position " + std::to_string(last) + " to " + published_path, rc);
  published_ = last;
  recovery_.events = last;
  recovery_.segments = static_cast<std::uint32_t>(segments_.size());
  recovery_.open_time = std::chrono::duration_cast<std::chrono::nanoseconds>(
      std::chrono::steady_clock::now() - started);
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
  bool scan_newest = !segments_.empty();
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

template <class IO>
std::vector<std::uint32_t> basic_file_log<IO>::list_segments() {
  std::vector<std::uint32_t> numbers;
  std::error_code ec;
  for (std::filesystem::directory_iterator it(dir_, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    const bool digits =
        name.size() >= 12 &&
        std::all_of(name.begin(), name.begin() + 8, [](char c) { return c >= '0' && c <= '9'; });
    if (!digits) continue;
    if (name.size() == 12 && name.ends_with(".log")) {
      numbers.push_back(static_cast<std::uint32_t>(std::stoul(name.substr(0, 8))));
    } else if (name.size() == 16 && name.ends_with(".idx.tmp")) {
      // An index file whose writing was cut short; its segment is scanned and indexed again.
      if (const int rc = io_.unlink(path_of(name).c_str()); rc < 0)
        throw_io("removing the unfinished index file " + path_of(name), rc);
    } else if (name.size() == 16 && name.ends_with(".log.tmp")) {
      // A segment whose creation was cut short: it was never renamed into place, so holds nothing.
      if (const int rc = io_.unlink(path_of(name).c_str()); rc < 0)
        throw_io("removing the unfinished segment " + path_of(name), rc);
    }
  }
  if (ec) throw_io("listing the directory", -ec.value());
  std::sort(numbers.begin(), numbers.end());
  for (std::size_t i = 0; i < numbers.size(); ++i)
    if (numbers[i] != i + 1)
      throw_corrupt(segment_name(static_cast<std::uint32_t>(i + 1)), 0,
                    "the segment is missing (found " + segment_name(numbers[i]) + ")");
  return numbers;
}

template <class IO>
typename basic_file_log<IO>::segment basic_file_log<IO>::open_segment(std::uint32_t number) {
  segment seg;
  seg.number = number;
  seg.name = segment_name(number);
  const std::string path = path_of(seg.name);
  seg.fd = io_.open(path.c_str(), options_.read_only ? O_RDONLY : O_RDWR, 0);
  if (seg.fd < 0) throw_io("opening " + path, seg.fd);
  return seg;
}

// Reads a segment record by record, indexing each batch once its last record checks out, up to
// position `limit`. Returns the first bad spot, if any.
template <class IO>
auto basic_file_log<IO>::scan_segment(segment& seg, std::uint64_t file_size,
                                      detail::file_log::chunk_reader<IO>& reader,
                                      std::uint64_t limit) -> std::optional<bad_spot> {
  namespace fl = detail::file_log;
  const std::uint32_t seed = segments_.empty() ? 0 : segments_.back().last_crc;
  const std::uint64_t expect_first = slots_.size() + 1;
  const char* head = reader.fetch(0, fl::segment_header_size);
  if (!head) return bad_spot{0, 0, "the file is shorter than a segment header"};
  fl::segment_header h;
  if (auto why = fl::decode_segment_header(head, h)) return bad_spot{0, 0, *why};
  if (h.number != seg.number)
    return bad_spot{0, 0, "the header names segment " + std::to_string(h.number)};
  if (h.first_position != expect_first)
    return bad_spot{0, 0,
                    "the header says the segment starts at position " +
                        std::to_string(h.first_position) + ", not " + std::to_string(expect_first)};
  if (h.chain_seed != seed)
    return bad_spot{0, 0, "hash chain broken: the segment does not follow the one before it"};
  seg.first_position = h.first_position;
  seg.last_crc = seed;
  seg.size = fl::segment_header_size;
  active_ids_.clear();
  active_ids_first_ = h.first_position;
  return scan_records(seg, static_cast<std::uint32_t>(segments_.size()), file_size, reader, limit);
}

// Goes on scanning a segment whose header checked out from seg.size, the end of its last indexed
// batch, to `file_size` or position `limit`; `segment_index` is its place in segments_.
template <class IO>
auto basic_file_log<IO>::scan_records(segment& seg, std::uint32_t segment_index,
                                      std::uint64_t file_size,
                                      detail::file_log::chunk_reader<IO>& reader,
                                      std::uint64_t limit) -> std::optional<bad_spot> {
  namespace fl = detail::file_log;
  struct pending_record {
    std::uint64_t offset;
    std::uint64_t version;
  };
  std::vector<pending_record> batch;
  std::vector<event_id> batch_ids;  // entered in ids_ as read, taken out again if the batch is cut
  std::string batch_stream;
  std::uint32_t batch_stream_no = no_stream;
  std::uint64_t batch_base_version = 0;
  std::uint32_t chain = seg.last_crc;
  std::uint64_t offset = seg.size;
  const auto bad = [&](std::string why) {
    for (const event_id& id : batch_ids) ids_.erase(id);
    return bad_spot{offset, seg.size, std::move(why)};
  };
  while (offset < file_size && slots_.size() + batch.size() < limit) {
    const char* rec = reader.fetch(offset, 8);
    const std::uint32_t size = rec ? fl::claimed_size(rec, 8) : 0;
    if (size == 0) return bad("no record starts here (bad magic or length)");
    rec = reader.fetch(offset, size);
    if (!rec) return bad("the record runs past the end of the file");
    fl::record_view r;
    if (const char* why = fl::check_record(rec, size, r)) return bad(why);
    if (r.fields.prev_crc != chain)
      return bad("hash chain broken: the record does not follow the one before it");
    const std::uint64_t position = slots_.size() + batch.size() + 1;
    if (r.fields.position != position)
      return bad("the record holds position " + std::to_string(r.fields.position) + " where " +
                 std::to_string(position) + " belongs");
    const std::string_view sid = r.stream_id();
    if (batch.empty()) {
      const auto found = stream_index_.find(sid);
      batch_stream.assign(sid);
      batch_stream_no = found == stream_index_.end() ? no_stream : found->second;
      batch_base_version =
          batch_stream_no == no_stream ? 0 : streams_[batch_stream_no].positions.size();
    } else if (sid != batch_stream) {
      return bad("a batch spans two streams");
    }
    const std::uint64_t version = batch_base_version + batch.size() + 1;
    if (r.fields.stream_version != version)
      return bad("the record holds version " + std::to_string(r.fields.stream_version) +
                 " of its stream where " + std::to_string(version) + " belongs");
    const event_id id = fl::get_id(rec + 48);
    if (!ids_.emplace(id, position).second)
      return bad("event id " + boost::uuids::to_string(id) + " is stored twice");
    batch_ids.push_back(id);
    batch.push_back({offset, version});
    chain = r.crc;
    last_recorded_at_ = time_point(std::chrono::duration_cast<clock::duration>(
        std::chrono::nanoseconds(r.fields.recorded_at_ns)));
    offset += size;
    if (r.batch_end()) {
      for (const pending_record& p : batch)
        index_record(batch_stream, batch_stream_no, p.version, slots_.size() + 1, p.offset,
                     segment_index);
      active_ids_.insert(active_ids_.end(), batch_ids.begin(), batch_ids.end());
      batch.clear();
      batch_ids.clear();
      seg.size = offset;
      seg.last_crc = chain;
    }
  }
  if (!batch.empty()) return bad("the last batch is incomplete");
  return std::nullopt;
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
  const std::int64_t size = io_.file_size(fd);
  std::vector<char, fl::huge_page_allocator<char>> bytes;
  std::int64_t got = size < 0 ? size : 0;
  if (size > 0) {
    bytes.resize(static_cast<std::size_t>(size));
    while (got < size) {
      const std::int64_t rc =
          io_.pread(fd, bytes.data() + got, static_cast<std::size_t>(size - got),
                    static_cast<std::uint64_t>(got));
      if (rc <= 0) {
        got = rc < 0 ? rc : -EIO;
        break;
      }
      got += rc;
    }
  }
  io_.close(fd);
  if (got < 0) return ignore("cannot be read: " + errno_text(got));
  fl::segment_index idx;
  if (auto why = fl::decode_segment_index(bytes.data(), static_cast<std::size_t>(got), idx))
    return ignore(*why);
  const fl::segment_index_header& h = idx.header;
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
      r.fields.stream_version != final_entry.version || fl::get_id(last + 48) != final_entry.id)
    return ignore("stale: the segment's last record is not the one it knew");

  // Its entries must read as a scan would have found them: offsets rising from the header to the
  // last record, each stream's versions going on from where the log so far leaves them.
  std::vector<std::uint32_t> stream_no(idx.streams.size(), no_stream);
  std::vector<std::uint64_t> next_version(idx.streams.size(), 1);
  {
    boost::unordered_flat_map<std::string_view, std::uint32_t> seen;
    for (std::size_t j = 0; j < idx.streams.size(); ++j) {
      if (!seen.emplace(idx.streams[j], 0).second) return ignore("a stream is listed twice");
      if (const auto found = stream_index_.find(idx.streams[j]); found != stream_index_.end()) {
        stream_no[j] = found->second;
        next_version[j] = streams_[found->second].positions.size() + 1;
      }
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
  const auto segment_index = static_cast<std::uint32_t>(segments_.size());
  for (std::uint64_t i = 0; i < h.records; ++i) {
    const fl::segment_index_entry e = idx.entry(i);
    index_record(idx.streams[e.stream], stream_no[e.stream], e.version, first + i, e.offset,
                 segment_index);
  }
  seg.first_position = first;
  seg.size = file_size;
  seg.last_crc = h.last_crc;
  last_recorded_at_ = time_point(
      std::chrono::duration_cast<clock::duration>(std::chrono::nanoseconds(h.last_recorded_at_ns)));
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
    if (!ids_.emplace(sorted[k].first, sorted[k].second).second) {
      for (std::uint64_t j = 0; j < k; ++j) ids_.erase(sorted[j].first);
      return false;
    }
  }
  return true;
}

// Decides what a bad spot is. A torn write can only be at the very end of the log and cannot be
// followed by anything that was durable: every record carries the position up to which the log was
// synced when it was written, so an intact record after the bad spot that claims the bad spot was
// synced proves the damage hit acknowledged events. A torn tail is cut; damage refuses to open
// unless options.repair asks for the cut.
template <class IO>
void basic_file_log<IO>::cut_log(std::vector<std::uint32_t>& numbers, std::size_t index,
                                 segment& seg, std::uint64_t file_size, const bad_spot& bad) {
  namespace fl = detail::file_log;
  const std::uint64_t first_lost = slots_.size() + 1;
  std::uint64_t intact = 0, acknowledged = 0, bytes = file_size - bad.cut;
  // The bad spot is one damaged event if a record starts there, none if the bytes are no record's.
  std::uint64_t damaged = 0;
  // Records of the cut batch before the bad one are intact too.
  {
    fl::chunk_reader<IO> scan(io_, 1024 * 1024);
    scan.reset(seg.fd, &seg.name);
    for (std::uint64_t at = bad.cut; at < bad.offset;) {
      const char* rec = scan.fetch(at, 8);
      at += fl::get<std::uint32_t>(rec + 4);
      ++intact;
    }
    if (bad.cut > 0) {
      const char* head = scan.fetch(bad.offset, 4);
      damaged = head && fl::get<std::uint32_t>(head) == fl::record_magic ? 1 : 0;
    }
  }
  std::vector<segment> later;
  for (std::size_t j = index; j < numbers.size(); ++j) {
    segment other = j == index ? segment{} : open_segment(numbers[j]);
    const segment& s = j == index ? seg : other;
    const std::int64_t size =
        j == index ? static_cast<std::int64_t>(file_size) : io_.file_size(s.fd);
    if (size < 0) throw_io("reading the size of " + path_of(s.name), size);
    if (j != index) bytes += static_cast<std::uint64_t>(size);
    fl::chunk_reader<IO> scan(io_, 1024 * 1024);
    scan.reset(s.fd, &s.name);
    fl::walk_records(
        scan, j == index ? bad.offset + 1 : 0, static_cast<std::uint64_t>(size),
        [&](std::uint64_t, const fl::record_view& r) {
          if (r.fields.position < first_lost) return;
          ++intact;
          if (r.fields.synced_through >= first_lost) ++acknowledged;
        },
        [](std::uint64_t, std::uint64_t) {});
    if (j != index) later.push_back(std::move(other));
  }
  // Segments after the first are created only once the one before is synced.
  const bool damage = acknowledged > 0 || !later.empty() || bad.cut == 0;
  if (damage && !options_.repair) {
    for (segment& s : later) io_.close(s.fd);
    io_.close(seg.fd);
    seg.fd = -1;
    throw_corrupt(
        seg.name, bad.offset,
        bad.why + "; " + std::to_string(intact) + " intact records from position " +
            std::to_string(first_lost) + " on" +
            (later.empty() ? "" : " and " + std::to_string(later.size()) + " later segments") +
            " follow it, so this is damage to stored events, not a torn write at the "
            "end; open with file_log_options::repair to cut the log there (the cut "
            "bytes are kept as *.cut files)");
  }
  recovery_.cut = true;
  recovery_.reason = "offset " + std::to_string(bad.offset) + ": " + bad.why;
  recovery_.segment = seg.name;
  recovery_.offset = bad.cut;
  recovery_.bytes_cut = bytes;
  recovery_.first_position_cut = first_lost;
  recovery_.intact_records_cut = damage ? intact : 0;
  recovery_.events_cut = intact + damaged;
  // Whatever is cut, a torn tail too, is kept: a torn tail cannot be told from a damaged last
  // record.
  if (bad.cut > 0) save_bytes(seg, bad.cut, file_size);
  for (segment& s : later) {
    io_.close(s.fd);
    const std::string from = path_of(s.name), to = cut_path(s.name);
    if (const int rc = io_.rename(from.c_str(), to.c_str()); rc < 0)
      throw_io("renaming " + from + " to " + to, rc);
    recovery_.saved_as.push_back(to);
  }
  if (bad.cut == 0) {
    // Nothing of this segment is usable, header included: move it aside whole.
    io_.close(seg.fd);
    seg.fd = -1;
    const std::string from = path_of(seg.name), to = cut_path(seg.name);
    if (const int rc = io_.rename(from.c_str(), to.c_str()); rc < 0)
      throw_io("renaming " + from + " aside", rc);
    recovery_.saved_as.insert(recovery_.saved_as.begin(), to);
  } else {
    if (const int rc = io_.ftruncate(seg.fd, bad.cut); rc < 0)
      throw_io("cutting " + path_of(seg.name) + " at offset " + std::to_string(bad.cut), rc);
    if (const int rc = io_.fdatasync(seg.fd); rc < 0)
      throw_io("fdatasync of " + path_of(seg.name) + " after cutting it", rc);
  }
  if (const int rc = io_.fsync(dir_fd_); rc < 0) throw_io("fsync of the directory", rc);
  numbers.resize(index + 1);
  std::string kept;
  for (const std::string& path : recovery_.saved_as) kept += (kept.empty() ? "" : ", ") + path;
  annal::log(
      log_level::warning,
      "file log " + dir_.string() + ": cut " + std::to_string(bytes) + " bytes from segment " +
          seg.name + " offset " + std::to_string(bad.cut) + " on (" +
          std::to_string(file_size - bad.cut) + " bytes of " + seg.name +
          (later.empty() ? "" : " and " + std::to_string(later.size()) + " later segments") +
          "), " + std::to_string(recovery_.events_cut) +
          (recovery_.events_cut == 1 ? " event" : " events") + " from position " +
          std::to_string(first_lost) + " on (" + std::to_string(intact) + " of them intact), " +
          (damage ? "repairing damage to stored events" : "taking it for a torn write at the end") +
          " at offset " + std::to_string(bad.offset) + ": " + bad.why +
          "; the cut bytes are kept in " + kept);
}

// Copies bytes [from, to) of a segment to "<segment>.cut" (or "<segment>.N.cut" beside earlier
// ones) before they are cut off. Written as a temporary file, synced and renamed: a crash leaves no
// half-saved copy under that name, and the next open saves them again before it cuts.
template <class IO>
void basic_file_log<IO>::save_bytes(const segment& seg, std::uint64_t from, std::uint64_t to) {
  const std::string path = cut_path(seg.name), tmp = path + ".tmp";
  const int fd = io_.open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) throw_io("creating " + tmp, fd);
  detail::file_log::chunk_reader<IO> scan(io_, 1024 * 1024);
  scan.reset(seg.fd, &seg.name);
  for (std::uint64_t at = from; at < to;) {
    const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(to - at, 1024 * 1024));
    const char* bytes = scan.fetch(at, n);
    const std::int64_t rc = bytes ? io_.pwrite(fd, bytes, n, at - from) : -EIO;
    if (rc <= 0) {
      io_.close(fd);
      throw_io("saving the cut bytes to " + tmp, rc < 0 ? rc : -EIO);
    }
    at += static_cast<std::uint64_t>(rc);
  }
  const int rc = io_.fsync(fd);
  io_.close(fd);
  if (rc < 0) throw_io("fsync of " + tmp, rc);
  if (const int r = io_.rename(tmp.c_str(), path.c_str()); r < 0)
    throw_io("renaming " + tmp + " to " + path, r);
  recovery_.saved_as.push_back(path);
}

}  // namespace annal
