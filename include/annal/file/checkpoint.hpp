// file_checkpoint: a checkpoint_store in one small checksummed file, replaced atomically on each
// save.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include <annal/core/error.hpp>
#include <annal/detail/atomic_file.hpp>
#include <annal/store/checkpoint.hpp>

namespace annal {

namespace detail {
inline constexpr std::string_view checkpoint_file_magic = "ANNCKPT1";
}

// One small checksummed file, replaced atomically on each save. A damaged file is an error, not a
// warning: guessing a reactor's position would fire side effects twice or skip them.
class file_checkpoint {
 public:
  explicit file_checkpoint(std::filesystem::path path) : path_(std::move(path)) {}

  std::optional<std::uint64_t> load() const {
    const detail::checked_file file =
        detail::read_checked_file(path_, detail::checkpoint_file_magic);
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
