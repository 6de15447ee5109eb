// A small pool of PostgreSQL connections, so one store object can be shared by threads.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <annal/detail/connection_pool.hpp>
#include <annal/postgres/connection.hpp>

namespace annal::detail::pg {

struct opener {
  std::string conninfo;
  std::unique_ptr<connection> operator()() const { return std::make_unique<connection>(conninfo); }
};
// A connection broken or left inside a transaction is closed; a fresh one is made when needed.
struct recycler {
  bool operator()(connection& c) const noexcept { return c.healthy(); }
};

class pool : public connection_pool<connection, opener, recycler> {
 public:
  pool(std::string conninfo, std::size_t size)
      : connection_pool({conninfo}, {}, size), conninfo_(std::move(conninfo)) {}

  const std::string& conninfo() const noexcept { return conninfo_; }

 private:
  std::string conninfo_;
};

}  // namespace annal::detail::pg
