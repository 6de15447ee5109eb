// A small pool of database connections shared by threads; each connection serves one at a time.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <memory>
#include <mutex>
#include <utility>
#include <vector>

namespace annal::detail {

// Open() -> std::unique_ptr<Connection> makes a connection; Recycle(Connection&) -> bool readies a
// returned one for the next thread and says whether it may be reused (false closes it).
template <class Connection, class Open, class Recycle>
class connection_pool {
 public:
  connection_pool(Open open, Recycle recycle, std::size_t size)
      : open_(std::move(open)), recycle_(std::move(recycle)), size_(size == 0 ? 1 : size) {}

  // A connection lent to one thread, back to the pool when the lease ends.
  class lease {
   public:
    lease(connection_pool& pool, std::unique_ptr<Connection> c) noexcept
        : pool_(&pool), conn_(std::move(c)) {}
    lease(lease&&) noexcept = default;
    lease& operator=(lease&&) = delete;
    ~lease() {
      if (conn_) pool_->give_back(std::move(conn_));
    }
    Connection* operator->() const noexcept { return conn_.get(); }
    Connection& operator*() const noexcept { return *conn_; }
    // A connection left in an unknown state is closed rather than reused.
    void discard() noexcept {
      conn_.reset();
      pool_->forget();
    }

   private:
    connection_pool* pool_;
    std::unique_ptr<Connection> conn_;
  };

  lease acquire() {
    std::unique_lock lock(mutex_);
    available_.wait(lock, [&] { return !idle_.empty() || open_count_ < size_; });
    if (!idle_.empty()) {
      auto c = std::move(idle_.back());
      idle_.pop_back();
      return lease(*this, std::move(c));
    }
    ++open_count_;
    lock.unlock();
    try {
      return lease(*this, open_());
    } catch (...) {
      forget();  // the slot this thread reserved is free again; the error is the caller's
      throw;
    }
  }

 private:
  void give_back(std::unique_ptr<Connection> c) {
    if (!recycle_(*c)) {
      c.reset();
      forget();
      return;
    }
    {
      std::lock_guard lock(mutex_);
      idle_.push_back(std::move(c));
    }
    available_.notify_one();
  }

  void forget() noexcept {
    {
      std::lock_guard lock(mutex_);
      --open_count_;
    }
    available_.notify_one();
  }

  Open open_;
  Recycle recycle_;
  std::size_t size_;
  std::mutex mutex_;
  std::condition_variable available_;
  std::vector<std::unique_ptr<Connection>> idle_;
  std::size_t open_count_ = 0;
};

}  // namespace annal::detail
