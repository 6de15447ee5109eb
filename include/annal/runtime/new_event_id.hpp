// Fresh event ids, drawn from the operating system's entropy (so not in the pure core/).
#pragma once

#include <array>
#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <string>

#include <pthread.h>
#include <unistd.h>

#include <annal/core/detail/chrono.hpp>
#include <annal/core/envelope.hpp>
#include <annal/core/error.hpp>

namespace annal {

namespace detail {

// Counts fork()s: a child inherits its parent's entropy pools, and handing out the same bytes in
// both processes would make the same ids. The handler runs in the child, in the forking thread,
// which is the only thread a child has.
// Without the handler a child could repeat its parent's ids, so failing to register it is an
// error (the next call tries again).
inline std::atomic<std::uint64_t>& fork_count() {
  static std::atomic<std::uint64_t> forks{[] {
    if (const int failed = ::pthread_atfork(
            nullptr, nullptr, [] { fork_count().fetch_add(1, std::memory_order_relaxed); }))
      throw error(errc::io_error, std::string("new_event_id: cannot watch for fork() "
                                              "(pthread_atfork: ") +
                                      std::strerror(failed) + ")");
    return std::uint64_t{0};
  }()};
  return forks;
}

// Operating-system entropy drawn 256 bytes at a time (getentropy's most), one pool per thread:
// one system call per 25 ids instead of one per id (about 0.4 µs each on a small VM).
class entropy_pool {
 public:
  // The next n bytes (n <= 256), valid until the next call.
  const std::uint8_t* take(std::size_t n) {
    const std::uint64_t forks = fork_count().load(std::memory_order_relaxed);
    if (used_ + n > bytes_.size() || forks != forks_) refill(forks);
    const std::uint8_t* out = bytes_.data() + used_;
    used_ += n;
    return out;
  }

 private:
  void refill(std::uint64_t forks) {
    if (::getentropy(bytes_.data(), bytes_.size()) != 0)
      throw error(errc::io_error, std::string("new_event_id: the operating system gave no "
                                              "random bytes (getentropy: ") +
                                      std::strerror(errno) + ")");
    used_ = 0;
    forks_ = forks;
  }

  std::array<std::uint8_t, 256> bytes_{};
  std::size_t used_ = 256;
  std::uint64_t forks_ = 0;
};

}  // namespace detail

namespace detail {
// new_event_id()'s body: a template only so that the separately compiled mode compiles it, its
// entropy pool and its fork handler once (see detail/validate.hpp).
template <class = void>
event_id make_event_id() {
  thread_local entropy_pool pool;
  event_id id;
  const auto ms =
      static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                     std::chrono::system_clock::now().time_since_epoch())
                                     .count());
  for (int i = 0; i < 6; ++i) id.data[i] = static_cast<std::uint8_t>(ms >> (40 - 8 * i));
  std::memcpy(id.data + 6, pool.take(10), 10);
  id.data[6] = static_cast<std::uint8_t>(0x70 | (id.data[6] & 0x0f));  // version 7
  id.data[8] = static_cast<std::uint8_t>(0x80 | (id.data[8] & 0x3f));  // RFC 9562 variant
  return id;
}

#if defined(ANNAL_SEPARATE_COMPILATION)
extern template event_id make_event_id();
#endif
}  // namespace detail

// A fresh time-ordered event id: a UUID version 7 (RFC 9562), 48 bits of Unix milliseconds then 74
// random bits. Ids made later sort later, so a store's unique index on event ids grows at its
// right edge instead of touching a random page per insert (Marten's sequential "COMB" ids exist for
// the same reason); the random bits, from the operating system's entropy, keep ids from different
// threads, processes and machines apart.
inline event_id new_event_id() {
  return detail::make_event_id();
}

}  // namespace annal
