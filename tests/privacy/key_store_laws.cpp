// The key store laws (key_store_laws.hpp) on memory_key_store and file_key_store.
#include <annal/privacy/file_key_store.hpp>
#include <annal/privacy/key_store.hpp>

#include <catch2/catch.hpp>

#include <sodium.h>

#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include "privacy/key_store_laws.hpp"
#include "snapshot/temp_dir.hpp"

namespace {

struct memory_subject {
  using store_type = annal::memory_key_store;
  static constexpr bool persistent = false;
  std::unique_ptr<store_type> open() { return std::make_unique<store_type>(); }
};

struct file_subject {
  using store_type = annal::file_key_store;
  static constexpr bool persistent = true;
  std::unique_ptr<store_type> open() { return std::make_unique<store_type>(dir.path() / "keys"); }
  // The subject's key file: named by the first half of a BLAKE2b-256 hash of its id, in hex.
  std::filesystem::path file_of(std::string_view subject) const {
    unsigned char hash[32];
    crypto_generichash(hash, sizeof hash, reinterpret_cast<const unsigned char*>(subject.data()),
                       subject.size(), nullptr, 0);
    char name[33];
    sodium_bin2hex(name, sizeof name, hash, 16);
    return dir.path() / "keys" / (std::string(name) + ".key");
  }
  test::temp_dir dir;
};

}  // namespace

TEST_CASE("a memory key store obeys the key store laws", "[privacy][key_store][laws]") {
  memory_subject subject;
  test::check_key_store_laws(subject);
}

TEST_CASE("a file key store obeys the key store laws", "[privacy][key_store][laws][file]") {
  file_subject subject;
  test::check_key_store_laws(subject);
}

TEST_CASE("a damaged key file is an error naming it, which forget still erases",
          "[privacy][key_store][laws][file]") {
  test::check_key_file_damage([] { return file_subject{}; });
}
