// libFuzzer target: file_key_store reading any file as a data subject's key file. find_key and
// key_for give the key the file holds (and leave it as it is), or errc::corrupt_log naming the
// file, never a new key in its place; forget erases it either way. Each input is tried as it is and
// with its checked header fixed up (fuzz_files.hpp), so mutations reach the hash and key behind it.
#include <sodium.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <annal/core/error.hpp>
#include <annal/privacy/file_key_store.hpp>

#include "fuzz_files.hpp"

namespace {

constexpr const char* target = "fuzz_key_file";
constexpr std::string_view subject = "s";

annal::file_key_store& keys() {
  static annal::file_key_store k{fuzz::scratch_dir() / "keys"};
  return k;
}

// The subject's file: named by the first half of a BLAKE2b-256 hash of its id, in hex.
const std::filesystem::path& key_file() {
  static const std::filesystem::path path = [] {
    unsigned char hash[32];
    crypto_generichash(hash, sizeof hash, reinterpret_cast<const unsigned char*>(subject.data()),
                       subject.size(), nullptr, 0);
    char name[33];
    sodium_bin2hex(name, sizeof name, hash, 16);
    return keys().directory() / (std::string(name) + ".key");
  }();
  return path;
}

// The key, or nullopt when the call reported the file as damaged.
template <class Call>
std::optional<annal::data_key> key_or_damage(Call call) {
  try {
    return call();
  } catch (const annal::error& e) {
    if (e.code() != annal::errc::corrupt_log)
      fuzz::fail(target, "a key file threw an error other than corrupt_log");
    if (std::string_view(e.what()).find(key_file().string()) == std::string_view::npos)
      fuzz::fail(target, "the error does not name the key file");
    return std::nullopt;
  }
}

void check(std::string_view bytes) {
  fuzz::write_file(key_file(), bytes);
  const auto found = key_or_damage([] { return keys().find_key(subject); });
  const auto made = key_or_damage([] { return keys().key_for(subject); });
  if (found.has_value() != made.has_value() || (found && !(*found == *made)))
    fuzz::fail(target, "find_key and key_for disagree on one file");
  if (*annal::detail::read_whole_file(key_file()) != bytes)
    fuzz::fail(target, "reading a key file changed it");
  keys().forget(subject);
  if (keys().find_key(subject)) fuzz::fail(target, "a forgotten key is found");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  check(bytes);
  check(fuzz::fixed_up(bytes));
  return 0;
}
