// Sequential and random reads of one segment file through a buffer, so a scan costs few syscalls.
#pragma once

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include <annal/core/error.hpp>

namespace annal::detail::file_log {

// Reads the whole file open as `fd` into `bytes` (resized to fit). Returns the bytes read, or
// -errno (-EIO for a file that shrank under the read).
template <class IO, class Bytes>
std::int64_t read_whole(IO& io, int fd, Bytes& bytes) {
  const std::int64_t size = io.file_size(fd);
  if (size <= 0) return size;
  bytes.resize(static_cast<std::size_t>(size));
  std::int64_t got = 0;
  while (got < size) {
    const std::int64_t rc = io.pread(fd, bytes.data() + got, static_cast<std::size_t>(size - got),
                                     static_cast<std::uint64_t>(got));
    if (rc <= 0) return rc < 0 ? rc : -EIO;
    got += rc;
  }
  return got;
}

template <class IO>
class chunk_reader {
 public:
  chunk_reader(IO& io, std::size_t chunk) : io_(io), chunk_(chunk) {}

  // Reads from `fd` from now on; `name` is what errors call the file.
  void reset(int fd, const std::string* name) {
    fd_ = fd;
    name_ = name;
    start_ = 0;
    size_ = 0;
  }

  // How much each read asks for from now on: a reader that skips about reads less.
  void set_chunk(std::size_t chunk) noexcept { chunk_ = chunk; }

  // A pointer to `n` bytes at `offset` if the buffer holds them already, else nullptr; never reads,
  // so pointers from earlier calls stay good.
  const char* peek(std::uint64_t offset, std::size_t n) const noexcept {
    if (offset >= start_ && offset + n <= start_ + size_) return buffer_.get() + (offset - start_);
    return nullptr;
  }

  // A pointer to `n` bytes at `offset`, or nullptr when the file ends first. The pointer is good
  // until the next call.
  const char* fetch(std::uint64_t offset, std::size_t n) {
    if (offset >= start_ && offset + n <= start_ + size_) return buffer_.get() + (offset - start_);
    const std::size_t want = n > chunk_ ? n : chunk_;
    if (want > capacity_) {
      buffer_ = std::make_unique_for_overwrite<char[]>(want);
      capacity_ = want;
    }
    start_ = offset;
    size_ = 0;
    while (size_ < want) {
      const std::int64_t got = io_.pread(fd_, buffer_.get() + size_, want - size_, offset + size_);
      if (got < 0)
        throw error(errc::io_error, "reading " + *name_ + " at offset " +
                                        std::to_string(offset + size_) + ": " +
                                        std::system_category().message(static_cast<int>(-got)));
      if (got == 0) break;
      size_ += static_cast<std::size_t>(got);
    }
    return size_ >= n ? buffer_.get() : nullptr;
  }

 private:
  IO& io_;
  std::size_t chunk_;
  int fd_ = -1;
  const std::string* name_ = nullptr;
  std::unique_ptr<char[]> buffer_;
  std::size_t capacity_ = 0;
  std::uint64_t start_ = 0;
  std::size_t size_ = 0;
};

}  // namespace annal::detail::file_log
