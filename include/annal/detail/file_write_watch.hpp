// Waits until some process writes a given file, so a waiter need not poll it. Linux only
// (inotify); elsewhere, or if inotify is out of instances, active() is false and the caller polls.
#pragma once

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <string>

#if defined(__linux__)
#include <poll.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <annal/core/detail/chrono.hpp>
#endif

namespace annal::detail {

class file_write_watch {
 public:
  // Watches the file's directory rather than the file: the file may not exist yet, or be deleted
  // and made again (SQLite removes its WAL when the last connection closes), and a watch on the
  // file itself would follow the old inode.
  explicit file_write_watch(const std::filesystem::path& file) : name_(file.filename().string()) {
#if defined(__linux__)
    fd_ = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (fd_ < 0) return;
    const std::filesystem::path dir = file.has_parent_path() ? file.parent_path() : ".";
    if (inotify_add_watch(fd_, dir.c_str(), IN_MODIFY | IN_CREATE | IN_MOVED_TO) < 0) {
      ::close(fd_);
      fd_ = -1;
    }
#endif
  }
  file_write_watch(const file_write_watch&) = delete;
  file_write_watch& operator=(const file_write_watch&) = delete;
  ~file_write_watch() {
#if defined(__linux__)
    if (fd_ >= 0) ::close(fd_);
#endif
  }

  bool active() const noexcept { return fd_ >= 0; }

  // Returns true once the file has been written since the watch began or since the last true,
  // false at `until`. Writes to other files of the directory are read and ignored.
  template <class Clock, class Duration>
  bool wait_until(std::chrono::time_point<Clock, Duration> until) {
#if defined(__linux__)
    for (;;) {
      if (drain()) return true;
      const auto left = std::chrono::ceil<std::chrono::milliseconds>(until - Clock::now()).count();
      if (left <= 0) return false;
      pollfd p{fd_, POLLIN, 0};
      ::poll(&p, 1, static_cast<int>(std::min<long long>(left, 1 << 30)));
    }
#else
    (void)until;
    return false;
#endif
  }

 private:
#if defined(__linux__)
  // Reads every queued event; true if one was about the watched file (or the queue overflowed,
  // which may have dropped one).
  bool drain() {
    alignas(inotify_event) char buf[4096];
    bool hit = false;
    for (;;) {
      const ssize_t n = ::read(fd_, buf, sizeof buf);
      if (n <= 0) return hit;
      for (ssize_t at = 0; at < n;) {
        inotify_event e;
        std::memcpy(&e, buf + at, sizeof e);
        if (e.mask & IN_Q_OVERFLOW) hit = true;
        if (e.len > 0 && name_ == buf + at + sizeof e) hit = true;
        at += static_cast<ssize_t>(sizeof e + e.len);
      }
    }
  }
#endif

  std::string name_;
  int fd_ = -1;
};

}  // namespace annal::detail
