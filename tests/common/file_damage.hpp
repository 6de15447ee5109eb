// Damaged copies of a checked file (detail/atomic_file.hpp's format), for the laws' damage cases.
#pragma once

#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <annal/detail/atomic_file.hpp>

namespace test {

struct damaged_file {
  std::string what;   // how it was damaged, for the test's message
  std::string bytes;  // the file's new content
};

// What a disk, a tool or a person can do to a file written by write_checked_file: cut it, grow it,
// flip a bit in its header or body, and (as only a bug or an attacker could) change its body
// behind a checksum that matches.
inline std::vector<damaged_file> damaged_copies(std::string_view good) {
  const std::size_t header = annal::detail::checked_header_size;
  const std::string_view magic = good.substr(0, 8);
  const std::string_view body = good.substr(header);
  const auto flipped = [&](std::size_t at) {
    std::string bytes(good);
    bytes[at] = static_cast<char>(bytes[at] ^ 0x10);
    return bytes;
  };
  std::vector<damaged_file> out{
      {"empty", ""},
      {"cut inside its header", std::string(good.substr(0, header / 2))},
      {"cut by one byte", std::string(good.substr(0, good.size() - 1))},
      {"one byte appended", std::string(good) + '\x01'},
      {"a bit flipped in its magic", flipped(0)},
      {"a bit flipped in its size", flipped(8)},
      {"a bit flipped in its checksum", flipped(16)},
      {"a bit flipped in its body", flipped(good.size() - 1)},
      {"a body one byte longer, its checksum matching",
       annal::detail::checked_bytes(magic, std::string(body) + '\x01')},
  };
  if (!body.empty())
    out.push_back({"a body one byte shorter, its checksum matching",
                   annal::detail::checked_bytes(magic, body.substr(0, body.size() - 1))});
  return out;
}

// Writes `bytes` as the whole file at `path`, making its directory first.
inline void overwrite(const std::filesystem::path& path, std::string_view bytes) {
  std::filesystem::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!out.flush()) throw std::runtime_error("cannot write the test file " + path.string());
}

}  // namespace test
