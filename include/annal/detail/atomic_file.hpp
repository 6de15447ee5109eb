// Whole-file replacement that survives crashes (temp + fsync + rename + directory fsync), with a
// checksum.
#pragma once

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/crc.hpp>

#include <annal/core/error.hpp>

namespace annal::detail {

// A file as written by write_checked_file: magic, then the body's size and CRC-32, then the body.
inline constexpr std::size_t checked_header_size = 8 + 8 + 4;

inline std::uint32_t crc32_of(std::string_view bytes) noexcept {
  boost::crc_32_type crc;
  crc.process_bytes(bytes.data(), bytes.size());
  return crc.checksum();
}

inline void put_u32(std::string& out, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
}
inline void put_u64(std::string& out, std::uint64_t v) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
}
inline std::uint64_t get_le(std::string_view in, std::size_t at, std::size_t bytes) noexcept {
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < bytes; ++i)
    v |= std::uint64_t{static_cast<unsigned char>(in[at + i])} << (8 * i);
  return v;
}

[[noreturn]] inline void throw_io(const std::string& what, const std::filesystem::path& path,
                                  int err) {
  throw error(errc::io_error, what + " " + path.string() + ": " + std::strerror(err));
}

class unique_fd {
 public:
  explicit unique_fd(int fd) noexcept : fd_(fd) {}
  unique_fd(const unique_fd&) = delete;
  unique_fd& operator=(const unique_fd&) = delete;
  ~unique_fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const noexcept { return fd_; }

 private:
  int fd_;
};

inline void fsync_directory(const std::filesystem::path& dir) {
  unique_fd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (fd.get() < 0) throw_io("cannot open directory", dir, errno);
  if (::fsync(fd.get()) != 0) throw_io("cannot fsync directory", dir, errno);
}

// Writes `bytes` to a new file `temp` and syncs it.
inline void write_synced(const std::filesystem::path& temp, std::string_view bytes,
                         mode_t mode = 0644) {
  unique_fd fd(::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode));
  if (fd.get() < 0) throw_io("cannot create", temp, errno);
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd.get(), bytes.data() + done, bytes.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw_io("cannot write", temp, errno);
    }
    done += static_cast<std::size_t>(n);
  }
  if (::fsync(fd.get()) != 0) throw_io("cannot fsync", temp, errno);
}

inline std::filesystem::path parent_or_current(const std::filesystem::path& path) {
  return path.has_parent_path() ? path.parent_path() : std::filesystem::path(".");
}

// Replaces `path` with `bytes` so that after a crash the file holds either the old or the new
// content, never a mix: write a temp file, fsync it, rename it over, fsync the directory.
inline void write_file_atomically(const std::filesystem::path& path, std::string_view bytes) {
  std::filesystem::path temp = path;
  temp += ".tmp";
  write_synced(temp, bytes);
  if (::rename(temp.c_str(), path.c_str()) != 0) throw_io("cannot rename over", path, errno);
  fsync_directory(parent_or_current(path));
}

// Creates `path` holding `bytes` unless it exists; false if it did (its content is left as it
// is). Crash-safe, and of several threads or processes creating one path, exactly one succeeds:
// the synced file is linked into place, which fails when the name is taken.
inline bool create_file_exclusively(const std::filesystem::path& path, std::string_view bytes,
                                    mode_t mode = 0644) {
  static std::atomic<std::uint64_t> attempts{0};
  std::filesystem::path temp = path;
  temp += ".tmp." + std::to_string(::getpid()) + "." + std::to_string(attempts++);
  write_synced(temp, bytes, mode);
  const int linked = ::link(temp.c_str(), path.c_str());
  const int err = errno;
  ::unlink(temp.c_str());
  if (linked != 0) {
    if (err == EEXIST) return false;
    throw_io("cannot create", path, err);
  }
  fsync_directory(parent_or_current(path));
  return true;
}

// The whole file, or nullopt when it does not exist.
inline std::optional<std::string> read_whole_file(const std::filesystem::path& path) {
  unique_fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) {
    if (errno == ENOENT) return std::nullopt;
    throw_io("cannot open", path, errno);
  }
  std::string out;
  char buffer[65536];
  for (;;) {
    const ssize_t n = ::read(fd.get(), buffer, sizeof buffer);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw_io("cannot read", path, errno);
    }
    if (n == 0) break;
    out.append(buffer, static_cast<std::size_t>(n));
  }
  return out;
}

// A checked file's bytes: `magic` (8 bytes naming the file's kind and format version), then the
// body's size and CRC-32, then the body.
inline std::string checked_bytes(std::string_view magic, std::string_view body) {
  std::string bytes;
  bytes.reserve(checked_header_size + body.size());
  bytes.append(magic.substr(0, 8));
  put_u64(bytes, body.size());
  put_u32(bytes, crc32_of(body));
  bytes.append(body);
  return bytes;
}

inline void write_checked_file(const std::filesystem::path& path, std::string_view magic,
                               std::string_view body) {
  write_file_atomically(path, checked_bytes(magic, body));
}

struct checked_file {
  enum class state : unsigned char { missing, ok, corrupt } status = state::missing;
  std::string body;    // when ok
  std::string reason;  // when corrupt: what failed, for the warning
};

inline checked_file read_checked_file(const std::filesystem::path& path, std::string_view magic) {
  checked_file out;
  std::optional<std::string> bytes = read_whole_file(path);
  if (!bytes) return out;
  out.status = checked_file::state::corrupt;
  if (bytes->size() < checked_header_size) {
    out.reason = "file is " + std::to_string(bytes->size()) + " bytes, shorter than its header";
    return out;
  }
  if (std::string_view(*bytes).substr(0, 8) != magic.substr(0, 8)) {
    out.reason = "file does not start with the expected magic bytes";
    return out;
  }
  const std::uint64_t size = get_le(*bytes, 8, 8);
  const auto crc = static_cast<std::uint32_t>(get_le(*bytes, 16, 4));
  if (size != bytes->size() - checked_header_size) {
    out.reason = "header says " + std::to_string(size) + " body bytes, file holds " +
                 std::to_string(bytes->size() - checked_header_size);
    return out;
  }
  const std::string_view body = std::string_view(*bytes).substr(checked_header_size);
  if (crc32_of(body) != crc) {
    out.reason = "checksum mismatch";
    return out;
  }
  out.status = checked_file::state::ok;
  out.body.assign(body);
  return out;
}

}  // namespace annal::detail
