// A file_io layer for tests that fails the Nth I/O call (EIO, ENOSPC...) or tears a write.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include <annal/file/posix_io.hpp>

namespace annal_test_store {

enum io_call : unsigned {
  call_open = 1,
  call_write = 2,
  call_sync = 4,
  call_rename = 8,
  call_truncate = 16,
  call_read = 32,
  call_other = 64,  // mkdir, unlink, lock, file_size
  calls_that_change_disk =
      call_open | call_write | call_sync | call_rename | call_truncate | call_other,
};

// Shared by the test and the log's copy of the layer; set it up before the log is opened.
struct fault_plan {
  unsigned counted = calls_that_change_disk;  // which calls count toward fail_at
  long fail_at = 0;                           // 1-based index among counted calls; 0 never fails
  int error = 5;                              // errno to fail with (EIO)
  bool persist = false;   // after the first failure every counted call fails (a dead disk)
  std::size_t tear = 0;   // a failing write first writes this many bytes for real
  bool real_sync = true;  // false: syncs succeed without reaching the disk (fast walks)
  std::chrono::microseconds sync_time{0};  // each sync takes at least this long (a slow disk)
  // Called with the descriptor at the start of each fdatasync and fsync (set before the log opens).
  std::function<void(int)> on_sync;
  std::atomic<long> calls{0};
  std::atomic<long> syncs{0};  // fdatasync/fsync calls that reached this layer
  std::atomic<bool> fired{false};
  std::atomic<unsigned> failed_call{0};
};

struct faulty_io {
  std::shared_ptr<fault_plan> plan = std::make_shared<fault_plan>();
  annal::posix_io real;

  int open(const char* path, int flags, unsigned mode = 0644) {
    if (const int e = hit(call_open)) return e;
    return real.open(path, flags, mode);
  }
  int close(int fd) { return real.close(fd); }
  std::int64_t pread(int fd, void* buffer, std::size_t size, std::uint64_t offset) {
    if (const int e = hit(call_read)) return e;
    return real.pread(fd, buffer, size, offset);
  }
  std::int64_t pwrite(int fd, const void* data, std::size_t size, std::uint64_t offset) {
    if (const int e = hit(call_write)) {
      if (plan->tear > 0) real.pwrite(fd, data, std::min(plan->tear, size), offset);
      return e;
    }
    return real.pwrite(fd, data, size, offset);
  }
  int fdatasync(int fd) {
    ++plan->syncs;
    if (plan->on_sync) plan->on_sync(fd);
    if (plan->sync_time.count() > 0) std::this_thread::sleep_for(plan->sync_time);
    if (const int e = hit(call_sync)) return e;
    return plan->real_sync ? real.fdatasync(fd) : 0;
  }
  int fsync(int fd) {
    ++plan->syncs;
    if (plan->on_sync) plan->on_sync(fd);
    if (const int e = hit(call_sync)) return e;
    return plan->real_sync ? real.fsync(fd) : 0;
  }
  int ftruncate(int fd, std::uint64_t size) {
    if (const int e = hit(call_truncate)) return e;
    return real.ftruncate(fd, size);
  }
  std::int64_t file_size(int fd) {
    if (const int e = hit(call_other)) return e;
    return real.file_size(fd);
  }
  int rename(const char* from, const char* to) {
    if (const int e = hit(call_rename)) return e;
    return real.rename(from, to);
  }
  int unlink(const char* path) {
    if (const int e = hit(call_other)) return e;
    return real.unlink(path);
  }
  int mkdir(const char* path) {
    if (const int e = hit(call_other)) return e;
    return real.mkdir(path);
  }
  int lock(int fd) {
    if (const int e = hit(call_other)) return e;
    return real.lock(fd);
  }

 private:
  // Returns -errno for a call that fails, 0 for one that goes through.
  int hit(io_call kind) {
    fault_plan& p = *plan;
    if ((p.counted & kind) == 0) return 0;
    const long n = ++p.calls;
    if (p.fired && p.persist) return -p.error;
    if (n == p.fail_at) {
      p.failed_call = kind;
      p.fired = true;
      return -p.error;
    }
    return 0;
  }
};

static_assert(annal::file_io<faulty_io>);

}  // namespace annal_test_store
