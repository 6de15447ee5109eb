// The LISTEN side of live wake-ups: one thread per store that turns NOTIFYs into a known position.
#pragma once

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>

#include <annal/core/detail/chrono.hpp>
#include <annal/core/envelope.hpp>
#include <annal/core/error.hpp>
#include <annal/postgres/connection.hpp>
#include <annal/postgres/schema.hpp>

namespace annal::detail::pg {

class listener {
 public:
  listener(std::string conninfo, const statements& sql)
      : conninfo_(std::move(conninfo)), sql_(sql) {}
  listener(const listener&) = delete;
  listener& operator=(const listener&) = delete;
  ~listener() {
    std::unique_lock lock(mutex_);
    if (!thread_.joinable()) return;
    stopping_ = true;
    lock.unlock();
    const std::uint64_t one = 1;
    [[maybe_unused]] const auto written = ::write(wake_fd_, &one, sizeof one);
    stop_cv_.notify_all();
    thread_.join();
    ::close(wake_fd_);
  }

  // Blocks until a notification (or the listener's own look at the table) shows a position
  // above `after`, or `deadline` passes.
  bool wait(std::uint64_t after, time_point deadline) {
    const auto until = steady_deadline(deadline);
    std::unique_lock lock(mutex_);
    if (!thread_.joinable()) {
      wake_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
      if (wake_fd_ < 0) throw error(errc::io_error, "eventfd for the PostgreSQL listener failed");
      thread_ = std::thread([this] { run(); });
    }
    return known_cv_.wait_until(lock, until, [&] { return known_ > after; });
  }

  // Why the listener last failed to (re)connect; empty while it is listening.
  std::string last_error() const {
    std::lock_guard lock(mutex_);
    return last_error_;
  }

 private:
  void publish(std::uint64_t position) {
    {
      std::lock_guard lock(mutex_);
      if (position <= known_) return;
      known_ = position;
    }
    known_cv_.notify_all();
  }

  void run() {
    auto backoff = std::chrono::milliseconds(50);
    for (;;) {
      {
        std::lock_guard lock(mutex_);
        if (stopping_) return;
      }
      try {
        listen_until_broken();
        backoff = std::chrono::milliseconds(50);
      } catch (const error& e) {
        // The server went away: waiters time out meanwhile; the listener reconnects with backoff
        // and keeps the reason for last_error().
        std::unique_lock lock(mutex_);
        last_error_ = e.what();
        if (stop_cv_.wait_for(lock, backoff, [&] { return stopping_; })) return;
        backoff = std::min(backoff * 2, std::chrono::milliseconds(2000));
      }
    }
  }

  void listen_until_broken() {
    connection conn(conninfo_);
    conn.exec("LISTEN " + sql_.s, "LISTEN for appends");
    // Registered before this look: an append committed after it is notified, one before is seen.
    publish(static_cast<std::uint64_t>(
        conn.exec(sql_.last_position, "reading the last position").get_int(0, 0)));
    {
      std::lock_guard lock(mutex_);
      last_error_.clear();
    }
    PGconn* c = conn.handle();
    for (;;) {
      // Notifications queued already come first: one that arrived during the look above was read
      // by libpq with the look's answer, and the socket will not signal it again (an append that
      // committed just after the look's snapshot would otherwise wake no one).
      while (PGnotify* n = PQnotifies(c)) {
        std::uint64_t pos = 0;
        const std::string_view extra = n->extra ? n->extra : "";
        std::from_chars(extra.data(), extra.data() + extra.size(), pos);
        PQfreemem(n);
        publish(pos);
      }
      pollfd fds[2] = {{PQsocket(c), POLLIN, 0}, {wake_fd_, POLLIN, 0}};
      if (::poll(fds, 2, -1) < 0 && errno != EINTR)
        throw error(errc::io_error, "poll on the PostgreSQL listener failed");
      {
        std::lock_guard lock(mutex_);
        if (stopping_) return;
      }
      if (!PQconsumeInput(c))
        throw error(errc::connection_error,
                    "listener lost " + describe(c) + ": " + trimmed(PQerrorMessage(c)));
    }
  }

  std::string conninfo_;
  const statements& sql_;
  mutable std::mutex mutex_;
  std::condition_variable known_cv_;
  std::condition_variable stop_cv_;
  std::uint64_t known_ = 0;
  bool stopping_ = false;
  std::string last_error_;
  int wake_fd_ = -1;
  std::thread thread_;
};

}  // namespace annal::detail::pg
