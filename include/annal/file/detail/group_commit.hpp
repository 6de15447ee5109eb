// The file log's durability: syncs shared by appenders, publishing to readers, fail-stop.
#pragma once

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <thread>

#include <annal/core/detail/chrono.hpp>
#include <annal/detail/file_write_watch.hpp>
#include <annal/file/detail/format.hpp>
#include <annal/file/log.hpp>

namespace annal {

template <class IO>
bool basic_file_log<IO>::wait_for_append(std::uint64_t after, time_point deadline) const {
  const auto until = detail::steady_deadline(deadline);
  if (options_.read_only) {
    for (;;) {
      follow_writer();
      if (visible_.load(std::memory_order_acquire) > after) return true;
      const auto now = std::chrono::steady_clock::now();
      if (now >= until) return false;
      // One waiter at a time reads the watch's events; the others look again after a pause.
      std::unique_lock watching(watch_mutex_, std::try_to_lock);
      if (watching && watch_->active()) {
        // A publish the waiter before drained from the watch is seen here.
        follow_writer();
        if (visible_.load(std::memory_order_acquire) > after) return true;
        watch_->wait_until(until);
      } else {
        std::this_thread::sleep_until(std::min(until, now + read_only_poll_interval));
      }
    }
  }
  std::unique_lock lock(wait_mutex_);
  return appended_.wait_until(lock, until, [&] {
    return failed_.load(std::memory_order_acquire) ||
           visible_.load(std::memory_order_acquire) > after;
  }) && !failed_.load(std::memory_order_acquire);
}

template <class IO>
void basic_file_log<IO>::sync() {
  if (options_.read_only) throw_read_only("sync");
  throw_if_failed();
  wait_durable(written_.load(std::memory_order_acquire));
}

// Fail-stop: after a failed sync the kernel may have dropped the dirty pages and cleared the
// error, so a retried sync could "succeed" over lost data. Nothing is retried; every call fails.
template <class IO>
void basic_file_log<IO>::fail(const std::string& why) {
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

template <class IO>
void basic_file_log<IO>::sync_or_fail(int fd, const std::string& what) {
  if (const int rc = io_.fdatasync(fd); rc < 0) fail(what + " failed: " + errno_text(rc));
}

template <class IO>
void basic_file_log<IO>::sync_dir_or_fail() {
  if (const int rc = io_.fsync(dir_fd_); rc < 0)
    fail("fsync of directory " + dir_.string() + " failed: " + errno_text(rc));
}

template <class IO>
void basic_file_log<IO>::publish(std::uint64_t upto) {
  std::uint64_t seen = visible_.load(std::memory_order_relaxed);
  while (seen < upto && !visible_.compare_exchange_weak(seen, upto, std::memory_order_release,
                                                        std::memory_order_relaxed)) {
  }
  // Taking wait_mutex_ orders this notify after any waiter's predicate check: no lost wake-up.
  { std::lock_guard wake(wait_mutex_); }
  appended_.notify_all();
}

template <class IO>
void basic_file_log<IO>::mark_durable(std::uint64_t upto) {
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
template <class IO>
void basic_file_log<IO>::publish_to_readers() {
  std::lock_guard guard(published_mutex_);
  const std::uint64_t upto = visible_.load(std::memory_order_acquire);
  if (upto <= published_) return;
  if (const std::int64_t rc = write_published(upto); rc < 0)
    fail("writing position " + std::to_string(upto) + " to " + path_of(published_name) +
         " failed: " + errno_text(rc));
  published_ = upto;
}

// The position, then its complement: a read torn by a concurrent write shows as a mismatch.
template <class IO>
std::int64_t basic_file_log<IO>::write_published(std::uint64_t upto) {
  char bytes[16];
  detail::file_log::put<std::uint64_t>(bytes, upto);
  detail::file_log::put<std::uint64_t>(bytes + 8, ~upto);
  const std::int64_t rc = io_.pwrite(published_fd_, bytes, sizeof bytes, 0);
  return rc == static_cast<std::int64_t>(sizeof bytes) ? 0 : rc < 0 ? rc : -EIO;
}

// Returns once position `target` is on disk. fdatasync flushes everything written to the file
// before it was called, so one sync covers every appender that wrote before it started:
//   durable: an appender waits for a sync in flight that covers it, else starts its own at once,
//            beside those in flight (the kernel batches concurrent syncs into one journal
//            commit);
//   group:   the same, but an appender about to start a sync first waits group_commit_window
//            while others are appending, and those arriving meanwhile wait for its sync.
template <class IO>
void basic_file_log<IO>::wait_durable(std::uint64_t target) {
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

}  // namespace annal
