// What the atomic-file fuzz targets share: a scratch directory, the input written as a file (as it
// is and with its checked header fixed up), a count of annal::log messages, and failing loudly.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <system_error>

#include <annal/detail/atomic_file.hpp>
#include <annal/runtime/log.hpp>

namespace fuzz {

[[noreturn]] inline void fail(const char* target, const char* what) {
  std::fprintf(stderr, "%s: %s\n", target, what);
  std::abort();
}

// One directory per fuzzing process, removed when it exits; in memory where the system has it,
// since every save the targets make syncs.
inline const std::filesystem::path& scratch_dir() {
  static const std::filesystem::path dir = [] {
    std::error_code ec;
    const std::filesystem::path base = std::filesystem::is_directory("/dev/shm", ec)
                                           ? "/dev/shm"
                                           : std::filesystem::temp_directory_path();
    std::string pattern = (base / "annal-fuzz-XXXXXX").string();
    if (!::mkdtemp(pattern.data())) fail("fuzz", "cannot make a scratch directory");
    return std::filesystem::path(pattern);
  }();
  static const bool cleanup = (std::atexit([] {
                                 std::error_code ignored;  // a scratch directory: nothing to report
                                 std::filesystem::remove_all(scratch_dir(), ignored);
                               }),
                               true);
  (void)cleanup;
  return dir;
}

inline void write_file(const std::filesystem::path& path, std::string_view bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!out.flush()) fail("fuzz", "cannot write the input file");
}

// The input with the size and CRC-32 of its checked header (detail/atomic_file.hpp) recomputed,
// so mutations reach the body's decoding behind the checksum; the magic bytes stay as they came.
inline std::string fixed_up(std::string_view bytes) {
  std::string out(bytes);
  if (out.size() < annal::detail::checked_header_size) return out;
  const std::string_view body = std::string_view(bytes).substr(annal::detail::checked_header_size);
  std::string header;
  annal::detail::put_u64(header, body.size());
  annal::detail::put_u32(header, annal::detail::crc32_of(body));
  out.replace(8, header.size(), header);
  return out;
}

// Counts what annal::log reports while alive.
class counted_log {
 public:
  counted_log() {
    annal::set_log_handler([this](annal::log_level level, std::string_view) {
      ++(level >= annal::log_level::warning ? warnings : infos);
    });
  }
  counted_log(const counted_log&) = delete;
  counted_log& operator=(const counted_log&) = delete;
  ~counted_log() {
    annal::set_log_handler([](annal::log_level, std::string_view) {});
  }

  int warnings = 0;
  int infos = 0;
};

}  // namespace fuzz
