// The file snapshot store: one checksummed file per stream in a directory, replaced atomically.
#pragma once

#include <cstdint>
#include <filesystem>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <annal/core/error.hpp>
#include <annal/detail/atomic_file.hpp>
#include <annal/detail/validate.hpp>
#include <annal/runtime/log.hpp>
#include <annal/snapshot/snapshot_store.hpp>

namespace annal {

namespace detail {
// The body of a snapshot file: the stream id again (long ids share hashed file names) and the kept
// snapshots of every aggregate reading the stream, sorted by (aggregate name, version), as
// little-endian integers and length-prefixed byte strings.
struct snapshot_file {
  std::string stream_id;
  std::vector<snapshot_record> snapshots;
};

// Version 2 names each snapshot's aggregate. Version 1 files (annal before aggregate names) are
// ignored: their snapshots could belong to any aggregate reading the stream.
inline constexpr std::string_view snapshot_file_magic = "ANNSNAP2";
inline constexpr std::string_view snapshot_file_magic_v1 = "ANNSNAP1";

inline void put_bytes(std::string& out, std::string_view bytes) {
  put_u64(out, bytes.size());
  out.append(bytes);
}

inline std::string encode_snapshot_file(const snapshot_file& file) {
  std::string out;
  put_bytes(out, file.stream_id);
  put_u64(out, file.snapshots.size());
  for (const snapshot_record& r : file.snapshots) {
    put_bytes(out, r.aggregate_name);
    put_u64(out, r.version);
    put_u64(out, static_cast<std::uint64_t>(r.event_time.time_since_epoch().count()));
    put_u64(out, r.fingerprint);
    put_u32(out, r.revision);
    put_bytes(out, r.state);
  }
  return out;
}

// Bounds-checked reading of what encode_snapshot_file wrote; nullopt when the bytes do not parse.
inline std::optional<snapshot_file> decode_snapshot_file(std::string_view in,
                                                         std::string_view stream_id) {
  std::size_t at = 0;
  bool ok = true;
  const auto number = [&](std::size_t bytes) -> std::uint64_t {
    if (!ok || in.size() - at < bytes) return ok = false, 0;
    const std::uint64_t v = get_le(in, at, bytes);
    at += bytes;
    return v;
  };
  const auto text = [&]() -> std::string {
    const std::uint64_t size = number(8);
    if (!ok || in.size() - at < size) return ok = false, std::string();
    std::string out(in.substr(at, size));
    at += size;
    return out;
  };
  snapshot_file file;
  file.stream_id = text();
  const std::uint64_t count = number(8);
  for (std::uint64_t i = 0; ok && i < count; ++i) {
    snapshot_record& r = file.snapshots.emplace_back();
    r.aggregate_name = text();
    r.stream_id = file.stream_id;
    r.version = number(8);
    r.event_time = time_point(time_point::duration(static_cast<time_point::rep>(number(8))));
    r.fingerprint = number(8);
    r.revision = static_cast<std::uint32_t>(number(4));
    r.state = text();
  }
  if (!ok || at != in.size() || file.stream_id != stream_id) return std::nullopt;
  return file;
}

// Whether the records are in the order saves keep them, by (aggregate name, version) with no
// version twice: loads and retention rely on it.
inline bool snapshot_records_in_order(const snapshot_file& file) {
  const auto& r = file.snapshots;
  for (std::size_t i = 1; i < r.size(); ++i)
    if (r[i - 1].aggregate_name > r[i].aggregate_name ||
        (r[i - 1].aggregate_name == r[i].aggregate_name && r[i - 1].version >= r[i].version))
      return false;
  return true;
}

inline std::string peek_stream_id(std::string_view in) {
  if (in.size() < 8) return {};
  const std::uint64_t size = get_le(in, 0, 8);
  return in.size() - 8 < size ? std::string() : std::string(in.substr(8, size));
}
}  // namespace detail

// One file per stream holds the snapshots of every aggregate reading it, each under its aggregate
// name. Each save rewrites its stream's file (temp file, fsync, rename, directory fsync), so a
// crash leaves the old file or the new one. A file that fails its checksum is reported through
// annal::log, ignored, and replaced by the next save: the state is rebuilt from events meanwhile.
class file_snapshot_store {
 public:
  explicit file_snapshot_store(std::filesystem::path directory, snapshot_retention retention = {})
      : dir_(std::move(directory)), retention_(detail::checked(retention)) {
    std::error_code ec;
    std::filesystem::create_directories(dir_, ec);
    if (ec)
      throw error(errc::io_error,
                  "cannot create snapshot directory " + dir_.string() + ": " + ec.message());
  }
  file_snapshot_store(const file_snapshot_store&) = delete;
  file_snapshot_store& operator=(const file_snapshot_store&) = delete;

  void save(const snapshot_record& record) {
    detail::validate_stream_id(record.stream_id);
    detail::validate_aggregate_name(record.aggregate_name);
    std::lock_guard lock(mutex_);
    // A damaged file was reported when loading; saving replaces it without a second warning.
    detail::snapshot_file file = read(record.stream_id, false).value_or(detail::snapshot_file{});
    file.stream_id = record.stream_id;
    detail::keep_snapshot(file.snapshots, record, retention_);
    detail::write_checked_file(path_of(record.stream_id), detail::snapshot_file_magic,
                               detail::encode_snapshot_file(file));
  }

  std::optional<snapshot_record> load(std::string_view aggregate_name, std::string_view stream_id,
                                      snapshot_query q = {}) const {
    detail::validate_stream_id(stream_id);
    std::lock_guard lock(mutex_);
    const std::optional<detail::snapshot_file> file = read(stream_id);
    if (!file) return std::nullopt;
    if (const snapshot_record* r = detail::find_snapshot(file->snapshots, aggregate_name, q))
      return *r;
    return std::nullopt;
  }

  // Every snapshot kept for an aggregate and stream, oldest first: for tests and tools.
  std::vector<snapshot_record> list(std::string_view aggregate_name,
                                    std::string_view stream_id) const {
    std::lock_guard lock(mutex_);
    const auto file = read(stream_id);
    return file ? detail::snapshots_of(file->snapshots, aggregate_name)
                : std::vector<snapshot_record>{};
  }

  // The file holding a stream's snapshots: the stream id in hex, or a hash of it when too long for
  // a file name.
  std::filesystem::path path_of(std::string_view stream_id) const {
    static constexpr char digits[] = "0123456789abcdef";
    std::string name;
    if (stream_id.size() <= max_plain_name) {
      for (const char c : stream_id) {
        name.push_back(digits[static_cast<unsigned char>(c) >> 4]);
        name.push_back(digits[static_cast<unsigned char>(c) & 0xF]);
      }
    } else {
      std::uint64_t h = 14695981039346656037ull;
      for (const char c : stream_id) h = (h ^ static_cast<unsigned char>(c)) * 1099511628211ull;
      name = "h";
      for (int i = 60; i >= 0; i -= 4) name.push_back(digits[(h >> i) & 0xF]);
    }
    return dir_ / (name + ".snap");
  }

  const std::filesystem::path& directory() const noexcept { return dir_; }

 private:
  // Stream ids up to this long name their file themselves (in hex); longer ones by a hash.
  static constexpr std::size_t max_plain_name = 100;

  // The stream's file, or nullopt when there is none, it is damaged (reported as a warning) or it
  // predates aggregate names (reported as info).
  std::optional<detail::snapshot_file> read(std::string_view stream_id, bool warn = true) const {
    const std::filesystem::path path = path_of(stream_id);
    detail::checked_file raw = detail::read_checked_file(path, detail::snapshot_file_magic);
    if (raw.status == detail::checked_file::state::missing) return std::nullopt;
    if (raw.status == detail::checked_file::state::corrupt &&
        detail::read_checked_file(path, detail::snapshot_file_magic_v1).status ==
            detail::checked_file::state::ok) {
      if (warn)
        log(log_level::info,
            "snapshot file " + path.string() + " for stream " + detail::quoted_prefix(stream_id) +
                " was written by an older annal without aggregate names; ignored, "
                "the state will be rebuilt from events and the next save replaces it");
      return std::nullopt;
    }
    std::string reason = std::move(raw.reason);
    if (raw.status == detail::checked_file::state::ok) {
      const std::string held = detail::peek_stream_id(raw.body);
      if (auto file = detail::decode_snapshot_file(raw.body, stream_id)) {
        if (detail::snapshot_records_in_order(*file)) return file;
        reason = "snapshot records out of order";
      } else if (detail::decode_snapshot_file(raw.body, held)) {
        // A long stream id whose hashed file name another stream's file took is not damage; a
        // short one's name is the id itself, so a file holding another id was put there.
        if (stream_id.size() > max_plain_name) return std::nullopt;
        reason = "the file holds the snapshots of stream " + detail::quoted_prefix(held);
      } else {
        reason = "snapshot records do not parse";
      }
    }
    if (warn)
      log(log_level::warning, "corrupt snapshot file " + path.string() + " for stream " +
                                  detail::quoted_prefix(stream_id) + " ignored (" + reason +
                                  "); the state will be rebuilt from events");
    return std::nullopt;
  }

  std::filesystem::path dir_;
  snapshot_retention retention_;
  mutable std::mutex mutex_;
};

}  // namespace annal
