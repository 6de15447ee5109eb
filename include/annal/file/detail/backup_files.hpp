// What file-log backups and restores share: the BACKUP marker, copying files, and a scan that
// checks every record of a run of segments against the chain.
#pragma once

#include <fcntl.h>
#include <sys/file.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <unordered_map>
#include <utility>

#include <annal/core/error.hpp>
#include <annal/detail/atomic_file.hpp>
#include <annal/file/detail/format.hpp>
#include <annal/file/detail/reader.hpp>
#include <annal/file/detail/segment_index.hpp>
#include <annal/file/posix_io.hpp>
#include <annal/store/recovery.hpp>

namespace annal::detail::file_log {

inline std::string segment_file(std::uint32_t number) {
  char name[32];
  std::snprintf(name, sizeof name, "%08u.log", number);
  return name;
}
inline std::string index_file(std::uint32_t number) {
  char name[32];
  std::snprintf(name, sizeof name, "%08u.idx", number);
  return name;
}
inline std::string hex32(std::uint32_t v) {
  char text[16];
  std::snprintf(text, sizeof text, "0x%08x", v);
  return text;
}
inline std::string os_error(int err) {
  return std::system_category().message(err);
}

// Where a log's chain stands after a record: what a backup's marker records, and where an
// incremental backup or a scan goes on from.
struct chain_point {
  std::uint64_t position = 0;       // the last position (0: none)
  std::uint32_t segment = 0;        // the segment holding it (0: no segment yet)
  std::uint64_t segment_bytes = 0;  // where its batch ends in that segment
  std::uint32_t crc = 0;            // its checksum: the chain's head
  std::uint64_t last_offset = 0;    // its offset in the segment
  std::int64_t recorded_at_ns = 0;
  std::uint64_t total_bytes = 0;  // bytes of every segment up to it
  std::int64_t taken_at_ns = 0;   // when the cut was made
};

// The BACKUP file, written atomically (temporary file, sync, rename) and checksummed. While a run
// is under way it says so, with the complete backup the run started from (`base`, position 0 for
// none): an interrupted run is rolled back to it and done again. Once the copy checks out it says
// complete, with the point the backup reaches.
inline constexpr std::string_view marker_magic = "ANNALBK1";
inline constexpr const char* marker_name = "BACKUP";

struct backup_marker {
  bool complete = false;
  chain_point point;   // complete: what the backup holds; under way: the backup it started from
  std::string source;  // the source log's directory when the backup was made, for messages
};

inline void put_point(std::string& out, const chain_point& p) {
  put_u64(out, p.position);
  put_u32(out, p.segment);
  put_u64(out, p.segment_bytes);
  put_u32(out, p.crc);
  put_u64(out, p.last_offset);
  put_u64(out, static_cast<std::uint64_t>(p.recorded_at_ns));
  put_u64(out, p.total_bytes);
  put_u64(out, static_cast<std::uint64_t>(p.taken_at_ns));
}
inline constexpr std::size_t point_bytes = 8 + 4 + 8 + 4 + 8 + 8 + 8 + 8;

inline void write_marker(const std::filesystem::path& dir, const backup_marker& m) {
  std::string body;
  body.push_back(m.complete ? 'C' : 'U');
  put_point(body, m.point);
  body += m.source;
  write_checked_file(dir / marker_name, marker_magic, body);
}

// A backup to read must be a directory: a path that is missing or a file is named as such before
// its marker is looked for (which would only say there is none).
inline void require_backup_directory(const std::filesystem::path& dir) {
  std::error_code ec;
  const std::filesystem::file_type type = std::filesystem::status(dir, ec).type();
  if (type == std::filesystem::file_type::not_found)
    throw error(errc::corrupt_log, "backup " + dir.string() + " does not exist");
  if (type != std::filesystem::file_type::none && type != std::filesystem::file_type::directory)
    throw error(errc::corrupt_log,
                dir.string() +
                    " is not a file log backup: those are directories, and this is not one (a "
                    "SQLite backup is one file, read by verify_sqlite_backup and "
                    "restore_sqlite_backup)");
}

// The marker of `dir`, nullopt when it has none; a damaged marker throws.
inline std::optional<backup_marker> read_marker(const std::filesystem::path& dir) {
  const checked_file f = read_checked_file(dir / marker_name, marker_magic);
  if (f.status == checked_file::state::missing) return std::nullopt;
  const std::string path = (dir / marker_name).string();
  if (f.status == checked_file::state::corrupt || f.body.size() < 1 + point_bytes ||
      (f.body[0] != 'C' && f.body[0] != 'U'))
    throw error(errc::corrupt_log, "backup " + dir.string() + ": its marker file " + path +
                                       " is damaged (" +
                                       (f.reason.empty() ? "bad contents" : f.reason) + ")");
  backup_marker m;
  m.complete = f.body[0] == 'C';
  std::size_t at = 1;
  const auto u = [&](std::size_t n) {
    const std::uint64_t v = get_le(f.body, at, n);
    at += n;
    return v;
  };
  m.point.position = u(8);
  m.point.segment = static_cast<std::uint32_t>(u(4));
  m.point.segment_bytes = u(8);
  m.point.crc = static_cast<std::uint32_t>(u(4));
  m.point.last_offset = u(8);
  m.point.recorded_at_ns = static_cast<std::int64_t>(u(8));
  m.point.total_bytes = u(8);
  m.point.taken_at_ns = static_cast<std::int64_t>(u(8));
  m.source = f.body.substr(at);
  return m;
}

// A file descriptor closed at scope exit.
struct fd_closer {
  int fd = -1;
  explicit fd_closer(int f) : fd(f) {}
  fd_closer(const fd_closer&) = delete;
  fd_closer& operator=(const fd_closer&) = delete;
  ~fd_closer() {
    if (fd >= 0) ::close(fd);
  }
};

[[noreturn]] inline void throw_file(const std::string& what, const std::filesystem::path& path,
                                    int err) {
  throw error(errc::io_error, what + " " + path.string() + ": " + os_error(err));
}

inline std::uint64_t size_of(int fd, const std::filesystem::path& path) {
  struct stat st;
  if (::fstat(fd, &st) != 0) throw_file("reading the size of", path, errno);
  return static_cast<std::uint64_t>(st.st_size);
}

// Copies bytes [from, to) of `in` to the same offsets of `out`: sendfile, which copies in the
// kernel and never shares blocks between the files (copy_file_range may, as a reflink), else
// read and write.
inline void copy_range(int in, const std::filesystem::path& in_path, int out,
                       const std::filesystem::path& out_path, std::uint64_t from,
                       std::uint64_t to) {
  if (::lseek(out, static_cast<off_t>(from), SEEK_SET) < 0)
    throw_file("seeking in", out_path, errno);
  off_t offset = static_cast<off_t>(from);
  bool kernel = true;
  std::unique_ptr<char[]> buffer;
  while (static_cast<std::uint64_t>(offset) < to) {
    const std::size_t want =
        static_cast<std::size_t>(std::min<std::uint64_t>(to - offset, std::uint64_t{1} << 30));
    if (kernel) {
      const ssize_t n = ::sendfile(out, in, &offset, want);
      if (n > 0) continue;
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EINVAL || errno == ENOSYS)) {
        kernel = false;
        continue;
      }
      if (n == 0)
        throw error(errc::io_error, "copying " + in_path.string() + ": it ends at offset " +
                                        std::to_string(offset) + ", before " + std::to_string(to));
      // sendfile does not say which side failed: the read or the write. Most are the write's.
      throw_file("copying " + in_path.string() + " to", out_path, errno);
    }
    if (!buffer) buffer = std::make_unique_for_overwrite<char[]>(std::size_t{1} << 20);
    const std::size_t chunk = std::min<std::size_t>(want, std::size_t{1} << 20);
    const ssize_t n = ::pread(in, buffer.get(), chunk, offset);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw_file("reading", in_path, errno);
    if (n == 0)
      throw error(errc::io_error, "copying " + in_path.string() + ": it ends at offset " +
                                      std::to_string(offset) + ", before " + std::to_string(to));
    for (ssize_t done = 0; done < n;) {
      const ssize_t w =
          ::pwrite(out, buffer.get() + done, static_cast<std::size_t>(n - done), offset + done);
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) throw_file("writing", out_path, w < 0 ? errno : EIO);
      done += w;
    }
    offset += n;
  }
}

// Copies a whole small file (an index file), synced.
inline void copy_file_synced(const std::filesystem::path& from, const std::filesystem::path& to) {
  fd_closer in(::open(from.c_str(), O_RDONLY | O_CLOEXEC));
  if (in.fd < 0) throw_file("opening", from, errno);
  fd_closer out(::open(to.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (out.fd < 0) throw_file("creating", to, errno);
  copy_range(in.fd, from, out.fd, to, 0, size_of(in.fd, from));
  if (::fdatasync(out.fd) != 0) throw_file("syncing", to, errno);
}

// Reads runs of segments of a log directory record by record, checking each one as opening with
// verify_on_open would: its checksum, that it follows the chain, its position, and that batches
// are whole and of one stream. Stream versions are checked too while `versions` is on (a scan
// that starts at position 1). Errors name the file, the position and the offset.
class segment_scanner {
 public:
  // `what` names the directory in errors ("backup /b", "source log /a").
  segment_scanner(std::filesystem::path dir, std::string what, bool versions)
      : dir_(std::move(dir)),
        what_(std::move(what)),
        versions_(versions),
        reader_(io_, 4 * 1024 * 1024) {}

  const chain_point& point() const noexcept { return point_; }
  void start_at(const chain_point& p) { point_ = p; }
  std::uint64_t streams() const noexcept { return stream_versions_.size(); }

  // Checks segment `number` from where the chain stands (its header first, unless the chain
  // stands inside it) to offset `end` (nullopt: the file's end; with `exact`, the file must end
  // there). on_record(const record_view&, offset) may return false to stop before that record,
  // which only a batch's first record may do. Returns whether it went to `end`.
  template <class OnRecord>
  bool scan(std::uint32_t number, std::optional<std::uint64_t> end, bool exact,
            OnRecord&& on_record) {
    const std::filesystem::path path = dir_ / segment_file(number);
    path_ = path.string();
    fd_closer fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (fd.fd < 0)
      throw error(fd_error(errno),
                  what_ + ": segment " + path_ + " cannot be opened: " + os_error(errno));
    const std::uint64_t size = size_of(fd.fd, path);
    const std::uint64_t stop = end ? *end : size;
    if (size < stop || (exact && size != stop))
      throw error(errc::corrupt_log, what_ + ": segment " + path_ + " has " + std::to_string(size) +
                                         " bytes where " + std::to_string(stop) + " belong");
    reader_.reset(fd.fd, &path_);
    std::uint64_t offset = point_.segment_bytes;
    if (point_.segment != number) {
      const char* head = reader_.fetch(0, segment_header_size);
      segment_header h;
      if (!head) fail(0, "the file is shorter than a segment header");
      if (auto why = decode_segment_header(head, h)) fail(0, *why);
      if (h.number != number) fail(0, "its header names segment " + std::to_string(h.number));
      if (h.first_position != point_.position + 1)
        fail(0, "its header says it starts at position " + std::to_string(h.first_position) +
                    ", not " + std::to_string(point_.position + 1));
      if (h.chain_seed != point_.crc)
        fail(0, "hash chain broken: the segment does not follow the one before it");
      point_.segment = number;
      point_.segment_bytes = segment_header_size;
      offset = segment_header_size;
      point_.total_bytes += segment_header_size;
    }
    bool in_batch = false;
    std::string batch_stream;
    while (offset < stop) {
      const char* rec = reader_.fetch(offset, 8);
      const std::uint32_t claimed = rec ? claimed_size(rec, 8) : 0;
      if (claimed == 0) fail(offset, "no record starts here (bad magic or length)");
      if (offset + claimed > stop || !(rec = reader_.fetch(offset, claimed)))
        fail(offset, "the record runs past the end of the copied bytes");
      record_view r;
      if (const char* why = check_record(rec, claimed, r)) fail(offset, why);
      if (r.fields.prev_crc != point_.crc)
        fail(offset, "hash chain broken: the record does not follow the one before it");
      if (r.fields.position != point_.position + 1)
        fail(offset, "the record holds position " + std::to_string(r.fields.position));
      if (!in_batch) {
        if (!on_record(std::as_const(r), offset)) return false;
        batch_stream.assign(r.stream_id());
      } else {
        if (r.stream_id() != batch_stream) fail(offset, "a batch spans two streams");
        on_record(std::as_const(r), offset);
      }
      if (versions_) {
        std::uint64_t& v = stream_versions_[std::string(r.stream_id())];
        if (r.fields.stream_version != v + 1)
          fail(offset, "the record holds version " + std::to_string(r.fields.stream_version) +
                           " of stream " + std::string(r.stream_id()) + " where " +
                           std::to_string(v + 1) + " belongs");
        v = r.fields.stream_version;
      }
      in_batch = !r.batch_end();
      point_.position = r.fields.position;
      point_.crc = r.crc;
      point_.last_offset = offset;
      point_.recorded_at_ns = r.fields.recorded_at_ns;
      offset += claimed;
      point_.segment_bytes = offset;
      point_.total_bytes += claimed;
    }
    if (in_batch) fail(offset, "the copied bytes end inside a batch");
    point_.segment_bytes = stop;
    return true;
  }

  // Whether position `position`'s record at `offset` of segment `number` is intact in `dir`,
  // and why not: said of the source when its copy fails a check.
  static std::optional<std::string> damage_at(const std::filesystem::path& dir,
                                              std::uint32_t number, std::uint64_t offset) {
    const std::filesystem::path path = dir / segment_file(number);
    fd_closer fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (fd.fd < 0) return "it cannot be opened: " + os_error(errno);
    posix_io io;
    chunk_reader<posix_io> reader(io, 0);
    const std::string name = path.string();
    reader.reset(fd.fd, &name);
    if (offset < segment_header_size) {
      segment_header h;
      const char* head = reader.fetch(0, segment_header_size);
      if (!head) return "the file is shorter than a segment header";
      return decode_segment_header(head, h);
    }
    const char* rec = reader.fetch(offset, record_header_size);
    const std::uint32_t claimed = rec ? claimed_size(rec, record_header_size) : 0;
    if (claimed == 0) return "no record starts there (bad magic or length)";
    if (!(rec = reader.fetch(offset, claimed))) return "the record runs past the file's end";
    record_view r;
    if (const char* why = check_record(rec, claimed, r)) return std::string(why);
    return std::nullopt;
  }

  // Where the last failure was: the segment number and offset, and the position it should hold.
  struct failure_spot {
    std::uint32_t segment = 0;
    std::uint64_t offset = 0;
    std::uint64_t position = 0;
  };
  const failure_spot& failed_at() const noexcept { return failed_; }

 private:
  static errc fd_error(int err) { return err == ENOENT ? errc::corrupt_log : errc::io_error; }

  [[noreturn]] void fail(std::uint64_t offset, const std::string& why) {
    failed_ = {point_.segment, offset, point_.position + 1};
    throw error(errc::corrupt_log, what_ + ": segment " + path_ + " offset " +
                                       std::to_string(offset) + " (position " +
                                       std::to_string(point_.position + 1) + "): " + why);
  }

  std::filesystem::path dir_;
  std::string what_;
  bool versions_;
  posix_io io_;
  chunk_reader<posix_io> reader_;
  std::string path_;
  chain_point point_;
  failure_spot failed_;
  std::unordered_map<std::string, std::uint64_t> stream_versions_;
};

// Takes an exclusive lock on a directory for this process's run (flock on the directory itself,
// released when closed), so that two runs cannot write one backup or restore at once.
inline int lock_directory(const std::filesystem::path& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) throw_file("opening the directory", dir, errno);
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    ::close(fd);
    if (err == EWOULDBLOCK)
      throw error(errc::store_locked,
                  "directory " + dir.string() + " is in use by another backup or restore");
    throw_file("locking", dir, err);
  }
  return fd;
}

}  // namespace annal::detail::file_log
