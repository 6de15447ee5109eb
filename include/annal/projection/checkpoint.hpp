// The checkpoint_store concept: where a subscriber remembers the last global position it processed.
#pragma once

#include <concepts>
#include <cstdint>
#include <filesystem>
#include <mutex>
#include <optional>
#include <string>
#include <utility>

#include <annal/core/error.hpp>
#include <annal/core/log.hpp>
#include <annal/detail/atomic_file.hpp>

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

namespace detail {
inline constexpr std::string_view checkpoint_file_magic = "ANNCKPT1";
}

// One small checksummed file, replaced atomically on each save. A damaged file is an error, not a
// warning: guessing a reactor's position would fire side effects twice or skip them.
class file_checkpoint {
 public:
  explicit file_checkpoint(std::filesystem::path path) : path_(std::move(path)) {}

  std::optional<std::uint64_t> load() const {
    const detail::checked_file file = detail::read_checked_file(path_, detail::checkpoint_file_magic);
    if (file.status == detail::checked_file::state::missing) return std::nullopt;
    if (file.status == detail::checked_file::state::corrupt || file.body.size() != 8)
      throw error(errc::corrupt_log, "checkpoint file " + path_.string() + " is damaged (" +
                                         (file.reason.empty() ? "wrong size" : file.reason) + ")");
    return detail::get_le(file.body, 0, 8);
  }

  void save(std::uint64_t position) {
    std::string body;
    detail::put_u64(body, position);
    detail::write_checked_file(path_, detail::checkpoint_file_magic, body);
  }

  const std::filesystem::path& path() const noexcept { return path_; }

 private:
  std::filesystem::path path_;
};

}  // namespace annal
