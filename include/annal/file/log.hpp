// The embedded default store: a durable, crash-safe, segmented append-only log in one directory.
#pragma once

#include <atomic>
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
#include <unordered_map>
#include <utility>
#include <vector>

#include <annal/core/detail/chrono.hpp>
#include <annal/core/detail/event_id.hpp>
#include <annal/core/envelope.hpp>
#include <annal/core/error.hpp>
#include <annal/detail/file_write_watch.hpp>
#include <annal/detail/idempotency.hpp>
#include <annal/detail/validate.hpp>
#include <annal/file/detail/archive_marker.hpp>
#include <annal/file/detail/format.hpp>
#include <annal/file/detail/huge_page_allocator.hpp>
#include <annal/file/detail/id_table.hpp>
#include <annal/file/detail/reader.hpp>
#include <annal/file/detail/segment_index.hpp>
#include <annal/file/detail/type_table.hpp>
#include <annal/file/options.hpp>
#include <annal/file/posix_io.hpp>
#include <annal/file/salvage.hpp>
#include <annal/store/event_store.hpp>
#include <annal/store/event_view.hpp>
#include <annal/store/filter.hpp>

namespace annal {

namespace detail::file_log {
struct archive_access;  // file/archive.hpp: moves sealed segments out
}

// A directory of segment files "00000001.log", "00000002.log"... written by one process at a time,
// read beside it by any number of read-only opens (file_log_options::read_only). Thread-safe. `IO`
// is the I/O layer (posix_io; tests pass one that injects faults); it is called from several
// threads at once.
//   annal::file_log log{"./data"};
template <class IO>
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
                       std::span<const event_data> batch);

  template <class F>
  std::size_t read_stream(std::string_view stream_id, std::uint64_t from_version, F&& visit,
                          std::size_t max_count = unlimited) const {
    return read_stream_views(stream_id, from_version, copying(visit), max_count);
  }

  // read_stream handing out views into the read buffer (see annal/store/event_view.hpp), good only
  // during the visit: no copies of stream ids, types, metadata or payloads.
  template <class F>
  std::size_t read_stream_views(std::string_view stream_id, std::uint64_t from_version, F&& visit,
                                std::size_t max_count = unlimited) const;

  template <class F>
  std::size_t read_all(std::uint64_t from_position, F&& visit,
                       std::size_t max_count = unlimited) const {
    return read_all_views(from_position, copying(visit), max_count);
  }

  // read_all handing out views into the read buffer (see annal/store/event_view.hpp), good only
  // during the visit. A scan that only looks at each event skips copying it.
  template <class F>
  std::size_t read_all_views(std::uint64_t from_position, F&& visit,
                             std::size_t max_count = unlimited) const;

  // The events `filter` selects from `from_position` on (see annal/store/filter.hpp). The index
  // knows each position's stream and type, so only matching records are read from disk.
  template <class F>
  read_progress read_all(std::uint64_t from_position, const event_filter& filter, F&& visit,
                         std::size_t max_count = unlimited) const {
    return read_all_views(from_position, filter, copying(visit), max_count);
  }

  // The filtered read_all handing out views, good only during the visit.
  template <class F>
  read_progress read_all_views(std::uint64_t from_position, const event_filter& filter, F&& visit,
                               std::size_t max_count = unlimited) const;

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
  bool wait_for_append(std::uint64_t after, time_point deadline) const;

  // Makes every appended event durable now. Only durability::none needs it, at the end of an
  // import.
  void sync();

  // What opening found and did: a torn tail cut, or a repair.
  const file_log_recovery& recovery() const noexcept { return recovery_; }
  const std::filesystem::path& directory() const noexcept { return dir_; }
  const file_log_options& options() const noexcept { return options_; }
  // True once a failed sync stopped the store; reopen it to go on with what is durable.
  bool failed() const noexcept { return failed_.load(std::memory_order_acquire); }

  // Positions 1 to archive_horizon() were moved to an archive (file/archive.hpp): reading them
  // from this log throws errc::archived naming archive_directory(). 0 while nothing is archived.
  std::uint64_t archive_horizon() const noexcept {
    return archive_horizon_.load(std::memory_order_acquire);
  }
  std::filesystem::path archive_directory() const {
    std::shared_lock lock(index_mutex_);
    return archive_.archive;
  }

  // For annal::backup (file/backup.hpp, which defines it): calls cut(position, segment, bytes,
  // as_of) with the last published position, the number of the segment holding it, where its
  // batch ends there, and a time no later event is recorded before (time_point{}: unknown).
  template <class F>
  void consistent_cut(F&& cut) const;

 private:
  friend struct detail::file_log::archive_access;
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
    bool archived = false;       // moved to the archive: only its index file is here (fd -1)
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
    std::uint32_t size = 0;  // the record's length when the index knows it, else 0
  };
  // Ids in the table order the file log inserts them in when it opens (see load_index).
  using id_hash = detail::event_id_hash;
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

  // ---- file names -----------------------------------------------------------------------------

  static std::string segment_name(std::uint32_t number) {
    char name[32];
    std::snprintf(name, sizeof name, "%08u.log", number);
    return name;
  }
  static std::string index_name(std::uint32_t number) {
    char name[32];
    std::snprintf(name, sizeof name, "%08u.idx", number);
    return name;
  }

  // ---- the index (detail/index.hpp) -----------------------------------------------------------

  std::optional<detail::stored_ref> lookup(const event_id& id) const;
  std::size_t visible_count(const std::vector<std::uint64_t>& positions) const;
  std::vector<segment_ref> segment_refs(std::uint32_t from) const;
  void index_record(std::string_view stream_id, std::uint32_t& stream_no, std::uint64_t version,
                    std::uint64_t position, std::uint64_t offset, std::uint32_t segment_index,
                    std::uint16_t type);
  bool insert_ids(const detail::file_log::segment_index& idx, std::uint64_t first);
  bool write_index(const segment& seg, std::uint64_t last);
  bool load_index(segment& seg, std::uint64_t file_size, std::uint64_t limit = no_limit);
  void reindex(const segment& seg);

  // ---- archived segments (detail/archived.hpp) ------------------------------------------------

  void read_archive_marker();
  void load_archived_segments();
  void mark_archived_streams();
  void retire_archived(const detail::file_log::archive_marker& m);
  void close_retired() const;
  [[noreturn]] void throw_archived(std::uint64_t position) const;
  // Counts reads in flight, so that descriptors of archived segments are closed only when no read
  // can be using them (a read copies its segments' descriptors and reads without the index lock).
  struct read_guard {
    explicit read_guard(const basic_file_log& log) noexcept : log_(log) {
      log_.readers_.fetch_add(1);
    }
    ~read_guard() {
      if (log_.readers_.fetch_sub(1) == 1 && log_.retired_pending_.load()) log_.close_retired();
    }
    read_guard(const read_guard&) = delete;
    read_guard& operator=(const read_guard&) = delete;
    const basic_file_log& log_;
  };

  // ---- reading (detail/reading.hpp) -----------------------------------------------------------

  // Adapts a visitor of recorded_event to views: each view is copied into one reused event.
  template <class F>
  static auto copying(F& visit) {
    return [&visit, e = recorded_event{}](const recorded_event_view& v) mutable {
      detail::file_log::copy_view(v, e);
      return detail::visit_continue(visit, e);
    };
  }
  std::uint32_t read_record(detail::file_log::chunk_reader<IO>& reader, const segment_ref& seg,
                            std::uint64_t offset, std::uint64_t position,
                            recorded_event_view& e) const;
  const char* fetch_record(detail::file_log::chunk_reader<IO>& reader, const segment_ref& seg,
                           std::uint64_t offset, std::uint64_t position, std::uint32_t& size) const;
  void check_and_view(const segment_ref& seg, std::uint64_t offset, std::uint64_t position,
                      const char* data, std::uint32_t size, const std::uint32_t* crc,
                      recorded_event_view& e) const;

  // ---- appending (detail/appending.hpp) -------------------------------------------------------

  static void check_sizes(std::string_view stream_id, std::span<const event_data> batch);
  bool ends_in_tombstone(std::uint32_t stream_no, std::uint64_t version);
  std::uint64_t write_batch(std::string_view stream_id, std::uint32_t stream_no,
                            std::uint64_t actual, std::span<const event_data> batch);
  void write_or_undo(segment& seg, const char* data, std::size_t size);
  void roll();
  segment create_segment(std::uint32_t number, std::uint64_t first_position, std::uint32_t seed);

  // ---- durability and group commit (detail/group_commit.hpp) ----------------------------------

  [[noreturn]] void fail(const std::string& why);
  void sync_or_fail(int fd, const std::string& what);
  void sync_dir_or_fail();
  void publish(std::uint64_t upto);
  void mark_durable(std::uint64_t upto);
  void publish_to_readers();
  std::int64_t write_published(std::uint64_t upto);
  void wait_durable(std::uint64_t target);

  // ---- opening and recovery (detail/recovery.hpp) ---------------------------------------------

  struct bad_spot {
    std::uint64_t offset;  // of the first bad byte
    std::uint64_t cut;     // where the log would be cut: the start of the batch holding it
    std::string why;
  };

  void open();
  std::vector<std::uint32_t> list_segments();
  segment open_segment(std::uint32_t number);
  std::optional<bad_spot> scan_segment(segment& seg, std::uint64_t file_size,
                                       detail::file_log::chunk_reader<IO>& reader,
                                       std::uint64_t limit = no_limit);
  std::optional<bad_spot> scan_records(segment& seg, std::uint32_t segment_index,
                                       std::uint64_t file_size,
                                       detail::file_log::chunk_reader<IO>& reader,
                                       std::uint64_t limit);
  void cut_log(std::vector<std::uint32_t>& numbers, std::size_t index, segment& seg,
               std::uint64_t file_size, const bad_spot& bad);
  void save_bytes(const segment& seg, std::uint64_t from, std::uint64_t to);
  std::string cut_path(const std::string& name) const;
  void close_all() noexcept {
    // Errors from close() cannot lose acknowledged data (it was synced) and a destructor cannot
    // report them, so they are not checked.
    for (segment& s : segments_)
      if (s.fd >= 0) io_.close(s.fd);
    segments_.clear();
    for (int fd : retired_fds_) io_.close(fd);
    retired_fds_.clear();
    if (dir_fd_ >= 0) io_.close(dir_fd_);
    if (lock_fd_ >= 0) io_.close(lock_fd_);
    if (published_fd_ >= 0) io_.close(published_fd_);
    dir_fd_ = lock_fd_ = published_fd_ = -1;
  }

  // ---- reading beside the writer, read-only (detail/follower.hpp) -----------------------------

  void open_read_only();
  void follow_writer() const;
  std::uint64_t read_published_position() const;
  std::uint64_t read_published();
  void follow(std::uint64_t limit);
  void stop_before(const bad_spot& bad, const std::string& segment_name, std::uint64_t limit) const;

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

  // append_mutex_ serializes appenders: checks, encoding, the write, and rolling segments. Mutable:
  // a backup's consistent_cut, a const read, holds it too.
  mutable std::mutex append_mutex_;
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
  // Position p's type is types_[p - 1], an id of type_names_ (0: unknown, read the record).
  mutable std::vector<std::uint16_t, detail::file_log::huge_page_allocator<std::uint16_t>> types_;
  mutable detail::file_log::type_table type_names_;
  mutable std::vector<stream_entry> streams_;
  mutable std::unordered_map<std::string, std::uint32_t, string_hash, std::equal_to<>>
      stream_index_;
  mutable detail::file_log::id_table ids_;

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

  // Archived segments (detail/archived.hpp): the marker, under index_mutex_, and its horizon.
  detail::file_log::archive_marker archive_;
  std::atomic<std::uint64_t> archive_horizon_{0};
  mutable std::atomic<int> readers_{0};
  mutable std::atomic<bool> retired_pending_{false};
  mutable std::mutex retired_mutex_;
  mutable std::vector<int> retired_fds_;  // descriptors of archived segments, closed once idle
};

using file_log = basic_file_log<posix_io>;

}  // namespace annal

// The member functions, one header per concern (as {fmt} keeps format-inl.h beside format.h). The
// reads templated on the visitor depend on the caller's types; the rest does not, so with
// ANNAL_SEPARATE_COMPILATION basic_file_log<posix_io> is an extern template: compiled once, in the
// translation unit that includes <annal/src.hpp>, and never instantiated by the others. Another IO
// (a test's fault injector) is instantiated where it is used, in either mode.
#include <annal/file/detail/log_impl.hpp>
#include <annal/file/detail/reading.hpp>

#if defined(ANNAL_SEPARATE_COMPILATION)
namespace annal {
extern template class basic_file_log<posix_io>;
}  // namespace annal
#endif
