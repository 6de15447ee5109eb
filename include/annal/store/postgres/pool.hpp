// A small pool of PostgreSQL connections, so one store object can be shared by threads.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <annal/store/postgres/connection.hpp>

namespace annal::detail::pg {

class pool {
 public:
  pool(std::string conninfo, std::size_t size)
      : conninfo_(std::move(conninfo)), size_(size == 0 ? 1 : size) {}

  // A connection lent to one thread; back to the pool when it goes, unless it is broken or left
  // inside a transaction, in which case it is closed and a fresh one is made when needed.
  class lease {
   public:
    lease(pool& p, std::unique_ptr<connection> c) noexcept : pool_(&p), conn_(std::move(c)) {}
    lease(lease&&) noexcept = default;
    lease& operator=(lease&&) = delete;
    ~lease() {
      if (conn_) pool_->give_back(std::move(conn_));
    }
    connection* operator->() const noexcept { return conn_.get(); }
    connection& operator*() const noexcept { return *conn_; }

   private:
    pool* pool_;
    std::unique_ptr<connection> conn_;
  };

  lease acquire() {
    std::unique_lock lock(mutex_);
    available_.wait(lock, [&] { return !idle_.empty() || open_ < size_; });
    if (!idle_.empty()) {
      auto c = std::move(idle_.back());
      idle_.pop_back();
      return lease(*this, std::move(c));
    }
    ++open_;
    lock.unlock();
    try {
      return lease(*this, std::make_unique<connection>(conninfo_));
    } catch (...) {
      forget();
      throw;
    }
  }

  const std::string& conninfo() const noexcept { return conninfo_; }

 private:
  void give_back(std::unique_ptr<connection> c) {
    if (!c->healthy()) {
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
      --open_;
    }
    available_.notify_one();
  }

  std::string conninfo_;
  std::size_t size_;
  std::mutex mutex_;
  std::condition_variable available_;
  std::vector<std::unique_ptr<connection>> idle_;
  std::size_t open_ = 0;
};

}  // namespace annal::detail::pg
