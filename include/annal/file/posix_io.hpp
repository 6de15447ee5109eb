// The file log's I/O layer: the few POSIX calls it makes, and the concept a replacement must meet.
#pragma once

#include <cerrno>
#include <concepts>
#include <cstddef>
#include <cstdint>

#include <fcntl.h>
#include <stdio.h>  // ::rename
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

// basic_file_log<IO = posix_io>: that default is declared once, in fwd.hpp.
#include <annal/fwd.hpp>

namespace annal {

// Each call returns a non-negative result on success and -errno on failure, so that a test layer
// can fail any one of them without touching the global errno. Short reads and writes are allowed.
struct posix_io {
  int open(const char* path, int flags, unsigned mode = 0644) {
    return retry([&] { return ::open(path, flags | O_CLOEXEC, static_cast<mode_t>(mode)); });
  }
  int close(int fd) {
    // close() must not be retried on EINTR on Linux: the descriptor is gone either way.
    return ::close(fd) == 0 ? 0 : -errno;
  }
  std::int64_t pread(int fd, void* buffer, std::size_t size, std::uint64_t offset) {
    return retry([&] { return ::pread(fd, buffer, size, static_cast<off_t>(offset)); });
  }
  std::int64_t pwrite(int fd, const void* data, std::size_t size, std::uint64_t offset) {
    return retry([&] { return ::pwrite(fd, data, size, static_cast<off_t>(offset)); });
  }
  int fdatasync(int fd) {
    return retry([&] { return ::fdatasync(fd); });
  }
  int fsync(int fd) {
    return retry([&] { return ::fsync(fd); });
  }
  int ftruncate(int fd, std::uint64_t size) {
    return retry([&] { return ::ftruncate(fd, static_cast<off_t>(size)); });
  }
  std::int64_t file_size(int fd) {
    struct stat st {};
    if (::fstat(fd, &st) != 0) return -errno;
    return st.st_size;
  }
  int rename(const char* from, const char* to) { return ::rename(from, to) == 0 ? 0 : -errno; }
  int unlink(const char* path) { return ::unlink(path) == 0 ? 0 : -errno; }
  int mkdir(const char* path) { return ::mkdir(path, 0755) == 0 ? 0 : -errno; }
  int lock(int fd) {
    return retry([&] { return ::flock(fd, LOCK_EX | LOCK_NB); });
  }

 private:
  template <class F>
  static auto retry(F f) -> decltype(f()) {
    for (;;) {
      const auto r = f();
      if (r >= 0) return r;
      if (errno != EINTR) return -errno;
    }
  }
};

// What the file log needs of its I/O layer (posix_io, or a test double that injects faults).
template <class IO>
concept file_io = requires(IO& io, const char* path, int fd, void* out, const void* in,
                           std::size_t n, std::uint64_t off) {
  { io.open(path, 0, 0u) } -> std::convertible_to<int>;
  { io.close(fd) } -> std::convertible_to<int>;
  { io.pread(fd, out, n, off) } -> std::convertible_to<std::int64_t>;
  { io.pwrite(fd, in, n, off) } -> std::convertible_to<std::int64_t>;
  { io.fdatasync(fd) } -> std::convertible_to<int>;
  { io.fsync(fd) } -> std::convertible_to<int>;
  { io.ftruncate(fd, off) } -> std::convertible_to<int>;
  { io.file_size(fd) } -> std::convertible_to<std::int64_t>;
  { io.rename(path, path) } -> std::convertible_to<int>;
  { io.unlink(path) } -> std::convertible_to<int>;
  { io.mkdir(path) } -> std::convertible_to<int>;
  { io.lock(fd) } -> std::convertible_to<int>;
};

}  // namespace annal
