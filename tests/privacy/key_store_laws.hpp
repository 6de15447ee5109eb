// The laws every key_store obeys, run against each implementation by the privacy tests.
#pragma once

#include <annal/core/error.hpp>
#include <annal/privacy/key_store.hpp>
#include <annal/privacy/seal.hpp>

#include <catch2/catch.hpp>

#include <cstring>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "common/file_damage.hpp"

namespace test {

// A subject of the laws is one implementation with its backing:
//   using store_type = ...;
//   std::unique_ptr<store_type> open();   the store; again after the last one is gone: reopened
//   static constexpr bool persistent;     keys (and their forgetting) outlive the store object
// and, when each key is one file, `std::filesystem::path file_of(subject) const`.

inline bool same_key(const std::optional<annal::data_key>& found, const annal::data_key& key) {
  return found && *found == key &&
         std::memcmp(found->id(), key.id(), annal::data_key::id_size) == 0;
}

template <class Subject>
void check_key_store_laws(Subject& subject) {
  using store_type = typename Subject::store_type;
  STATIC_REQUIRE(annal::key_store<store_type>);

  std::unique_ptr<store_type> keys = subject.open();
  CHECK_FALSE(keys->find_key("alice").has_value());  // finding never makes a key

  // key_for makes the key once; every later call, and find_key, returns that one.
  const annal::data_key alice = keys->key_for("alice");
  CHECK(same_key(keys->key_for("alice"), alice));
  CHECK(same_key(keys->find_key("alice"), alice));
  const annal::data_key bob = keys->key_for("bob");
  CHECK_FALSE(bob == alice);

  // A subject id is any 1 to 65535 bytes without NUL, each its own subject.
  for (const std::string& id :
       {std::string("a"), std::string("../alice"), std::string("Alice"), std::string("alice "),
        std::string("\xff\x01\x7f", 3), std::string(65535, 'x')}) {
    INFO("subject id of " << id.size() << " bytes");
    const annal::data_key k = keys->key_for(id);
    CHECK(same_key(keys->find_key(id), k));
    CHECK_FALSE(k == alice);
  }

  // Anything else is invalid_argument, from each of the three calls, and makes nothing.
  for (const std::string& bad :
       {std::string(), std::string(65536, 'x'), std::string("ali\0ce", 6)}) {
    INFO("bad subject id of " << bad.size() << " bytes");
    const auto invalid = [](auto&& call) {
      try {
        call();
        return false;
      } catch (const annal::error& e) {
        return e.code() == annal::errc::invalid_argument;
      }
    };
    CHECK(invalid([&] { keys->key_for(bad); }));
    CHECK(invalid([&] { (void)keys->find_key(bad); }));
    CHECK(invalid([&] { keys->forget(bad); }));
  }
  CHECK(same_key(keys->find_key("alice"), alice));

  // A value sealed under a key opens while the key lives, and is shredded once it is forgotten.
  const auto sealed = annal::seal(*keys, "carol", std::string("carol's address"));
  CHECK(annal::unseal(*keys, sealed) == std::optional<std::string>("carol's address"));
  keys->forget("carol");
  CHECK_FALSE(keys->find_key("carol").has_value());
  CHECK_FALSE(annal::unseal(*keys, sealed).has_value());

  // Forgetting is for good and for that subject only; forgetting again, or a subject never seen,
  // is no error. A subject that comes back gets a new key, under which old values stay shredded.
  keys->forget("alice");
  CHECK_FALSE(keys->find_key("alice").has_value());
  CHECK(same_key(keys->find_key("bob"), bob));
  keys->forget("alice");
  keys->forget("nobody");
  const annal::data_key carol_again = keys->key_for("carol");
  CHECK_FALSE(annal::unseal(*keys, sealed).has_value());
  CHECK(annal::unseal(*keys, annal::seal(*keys, "carol", std::string("new"))) ==
        std::optional<std::string>("new"));

  // Threads asking at once for a new subject's key all get the same one.
  std::vector<std::optional<annal::data_key>> got(4);
  {
    std::vector<std::jthread> threads;
    for (auto& slot : got) threads.emplace_back([&] { slot = keys->key_for("dave"); });
  }
  for (const auto& k : got) CHECK(same_key(k, *got.front()));

  if constexpr (Subject::persistent) {
    // A new process finds every key, and none of the forgotten ones.
    keys.reset();
    keys = subject.open();
    CHECK(same_key(keys->find_key("bob"), bob));
    CHECK(same_key(keys->find_key("carol"), carol_again));
    CHECK(same_key(keys->find_key("dave"), *got.front()));
    CHECK(
        same_key(keys->key_for(std::string(65535, 'x')), *keys->find_key(std::string(65535, 'x'))));
    CHECK_FALSE(keys->find_key("alice").has_value());
    CHECK_FALSE(annal::unseal(*keys, sealed).has_value());
  }
}

// Each key in a file of its own: a damaged key file is an error naming it (errc::corrupt_log) from
// find_key and key_for, which never replace it with a new key; forget still erases it. Each damage
// is tried on a fresh subject made by make().
template <class Make>
void check_key_file_damage(Make make) {
  std::string good;
  {
    auto subject = make();
    subject.open()->key_for("erin");
    good = *annal::detail::read_whole_file(subject.file_of("erin"));
  }
  for (const damaged_file& damage : damaged_copies(good)) {
    INFO("the key file: " << damage.what);
    auto subject = make();
    auto keys = subject.open();
    const annal::data_key frank = keys->key_for("frank");
    overwrite(subject.file_of("erin"), damage.bytes);
    const auto corrupt = [&](auto&& call) {
      try {
        call();
        return false;
      } catch (const annal::error& e) {
        CHECK_THAT(e.what(), Catch::Contains(subject.file_of("erin").string()));
        return e.code() == annal::errc::corrupt_log;
      }
    };
    CHECK(corrupt([&] { (void)keys->find_key("erin"); }));
    CHECK(corrupt([&] { keys->key_for("erin"); }));
    CHECK(corrupt([&] { (void)keys->find_key("erin"); }));  // key_for left it as it was
    CHECK(same_key(keys->find_key("frank"), frank));        // other subjects are unharmed
    keys->forget("erin");
    CHECK_FALSE(keys->find_key("erin").has_value());
    keys->key_for("erin");
    CHECK(keys->find_key("erin").has_value());
  }
  // Another subject's key file under this subject's name is damage too: its hash tells them apart.
  auto subject = make();
  auto keys = subject.open();
  keys->key_for("grace");
  std::filesystem::copy_file(subject.file_of("grace"), subject.file_of("erin"));
  try {
    (void)keys->find_key("erin");
    FAIL("another subject's key file was taken for erin's");
  } catch (const annal::error& e) {
    CHECK(e.code() == annal::errc::corrupt_log);
  }
}

}  // namespace test
