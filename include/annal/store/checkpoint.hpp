// The checkpoint_store concept: where a subscriber remembers the last global position it processed.
#pragma once

#include <concepts>
#include <cstdint>
#include <mutex>
#include <optional>
#include <utility>

namespace annal {

// A checkpoint store provides
//   load() const -> optional<uint64_t>: the last position processed, nullopt when never saved;
//   save(uint64_t): durable when it returns.
// Reactors use one; projections keep their checkpoint inside their read model store instead, so
// that model and checkpoint are written together.
template <class C>
concept checkpoint_store = requires(C& c, const C& cc, std::uint64_t position) {
  { cc.load() } -> std::same_as<std::optional<std::uint64_t>>;
  { c.save(position) } -> std::same_as<void>;
};

class memory_checkpoint {
 public:
  memory_checkpoint() = default;
  explicit memory_checkpoint(std::uint64_t position) : position_(position) {}

  std::optional<std::uint64_t> load() const {
    std::lock_guard lock(mutex_);
    return position_;
  }
  void save(std::uint64_t position) {
    std::lock_guard lock(mutex_);
    position_ = position;
  }

 private:
  mutable std::mutex mutex_;
  std::optional<std::uint64_t> position_;
};

}  // namespace annal
