// Personal data: sealing and unsealing, shredding by forgetting a key, altered values, codecs,
// and the key stores (in memory, and a directory shared by threads and processes).
#include <catch2/catch.hpp>

#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <annal/codec/binary.hpp>
#include <annal/codec/json.hpp>
#include <annal/codec/registry.hpp>
#include <annal/core/event.hpp>
#include <annal/file/log.hpp>
#include <annal/privacy/file_key_store.hpp>
#include <annal/privacy/key_store.hpp>
#include <annal/privacy/seal.hpp>

#include "snapshot/temp_dir.hpp"

namespace shop {
struct address {
  BOOST_HANA_DEFINE_STRUCT(address, (std::string, street), (std::string, city));
  friend bool operator==(const address&, const address&) = default;
};
// clang-format off
// [event]
struct customer_registered {
  BOOST_HANA_DEFINE_STRUCT(customer_registered,
                           (std::string, customer_id),                  // opaque: the subject
                           (annal::personal<std::string>, name),        // sealed
                           (annal::personal<address>, home),            // sealed, any codec type
                           (std::int64_t, credit_limit_cents));         // plain: still adds up
  friend bool operator==(const customer_registered&, const customer_registered&) = default;
};
ANNAL_EVENT(customer_registered, "shop.customer_registered", 1);
// [event]
// clang-format on
}  // namespace shop

using annal::personal;

TEST_CASE("key stores model key_store", "[privacy]") {
  STATIC_REQUIRE(annal::key_store<annal::memory_key_store>);
  STATIC_REQUIRE(annal::key_store<annal::file_key_store>);
}

TEST_CASE("seal and unseal give back any value the binary codec stores", "[privacy]") {
  annal::memory_key_store keys;
  const auto name = annal::seal(keys, "customer-1", std::string("Ada Lovelace"));
  CHECK(annal::unseal(keys, name) == std::string("Ada Lovelace"));
  const auto home = annal::seal(keys, "customer-1", shop::address{"12 St James's Sq", "London"});
  const auto opened = annal::unseal(keys, home);
  REQUIRE(opened);
  CHECK(opened->street == "12 St James's Sq");
  CHECK(opened->city == "London");
  CHECK(annal::unseal(keys, annal::seal(keys, "customer-1", std::int64_t{-7})) == -7);
  CHECK(annal::unseal(keys, annal::seal(keys, "customer-1", std::string())) == std::string());

  // The text is URL-safe base64 that does not show the value, and no two sealings are alike.
  // Eight letters: random base64 holds three ("Ada") once in ~6,000 sealings, eight never in
  // practice.
  CHECK(name.sealed.find("Lovelace") == std::string::npos);
  CHECK(name.sealed.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                      "0123456789-_") == std::string::npos);
  CHECK(annal::seal(keys, "customer-1", std::string("Ada Lovelace")) != name);
  CHECK(annal::subject_of(name) == "customer-1");
}

TEST_CASE("forgetting a subject's key shreds its values, and only its", "[privacy]") {
  annal::memory_key_store keys;
  const auto ada = annal::seal(keys, "customer-1", std::string("Ada"));
  const auto bob = annal::seal(keys, "customer-2", std::string("Bob"));
  keys.forget("customer-1");
  CHECK_FALSE(annal::unseal(keys, ada));
  CHECK(annal::unseal(keys, bob) == std::string("Bob"));
  keys.forget("customer-1");  // again: nothing left to forget
  // The subject comes back (signs up again): new values get a new key; the old stay shredded.
  const auto again = annal::seal(keys, "customer-1", std::string("Ada L."));
  CHECK(annal::unseal(keys, again) == std::string("Ada L."));
  CHECK_FALSE(annal::unseal(keys, ada));
  // A subject that never had a key reads as shredded too.
  annal::memory_key_store empty;
  CHECK_FALSE(annal::unseal(empty, bob));
}

namespace {

bool is_decode_error(const annal::error& e, const std::string& words) {
  return e.code() == annal::errc::decode_error &&
         std::string(e.what()).find(words) != std::string::npos;
}

std::string base64(const std::string& bytes) {
  std::string out(sodium_base64_ENCODED_LEN(bytes.size(), sodium_base64_VARIANT_URLSAFE_NO_PADDING),
                  '\0');
  sodium_bin2base64(out.data(), out.size(), reinterpret_cast<const unsigned char*>(bytes.data()),
                    bytes.size(), sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  out.pop_back();
  return out;
}

// A key store of the user's own (the concept is the interface): one key for every subject.
struct one_key_store {
  annal::data_key key = annal::data_key::generate();
  annal::data_key key_for(std::string_view) { return key; }
  std::optional<annal::data_key> find_key(std::string_view) { return key; }
  void forget(std::string_view) {}
};

std::string unbase64(const std::string& text) {
  std::string out(text.size(), '\0');
  std::size_t n = 0;
  REQUIRE(sodium_base642bin(reinterpret_cast<unsigned char*>(out.data()), out.size(), text.data(),
                            text.size(), nullptr, &n, nullptr,
                            sodium_base64_VARIANT_URLSAFE_NO_PADDING) == 0);
  out.resize(n);
  return out;
}

}  // namespace

TEST_CASE("a value that was altered, moved or never sealed is a decode error", "[privacy]") {
  annal::memory_key_store keys;
  keys.key_for("customer-2");
  const auto sealed = annal::seal(keys, "customer-1", std::string("Ada"));
  const std::string bytes = unbase64(sealed.sealed);

  // One bit of the ciphertext flipped.
  std::string flipped = bytes;
  flipped.back() = static_cast<char>(flipped.back() ^ 1);
  CHECK_THROWS_MATCHES(annal::unseal(keys, personal<std::string>{base64(flipped)}), annal::error,
                       Catch::Predicate<annal::error>([](const annal::error& e) {
                         return is_decode_error(e, "subject 'customer-1' does not authenticate");
                       }));
  // Moved to another subject: that subject's key is not the one it was sealed under, so it reads
  // as shredded, never as that subject's data.
  std::string moved = bytes;
  moved[3 + 9] = '2';  // "customer-1" -> "customer-2"
  CHECK_FALSE(annal::unseal(keys, personal<std::string>{base64(moved)}));
  // The subject id is authenticated with the data: under a key store that gives every subject the
  // same key, a value moved to another subject still does not open.
  one_key_store shared;
  std::string moved_same_key =
      unbase64(annal::seal(shared, "customer-1", std::string("Ada")).sealed);
  moved_same_key[3 + 9] = '2';
  CHECK_THROWS_MATCHES(annal::unseal(shared, personal<std::string>{base64(moved_same_key)}),
                       annal::error, Catch::Predicate<annal::error>([](const annal::error& e) {
                         return is_decode_error(e, "subject 'customer-2' does not authenticate");
                       }));
  // Read as the wrong type: the binary codec says so.
  CHECK_THROWS_AS(annal::unseal(keys, personal<shop::address>{sealed.sealed}), annal::error);

  const auto not_sealed = [&](const std::string& text, const std::string& words) {
    INFO(text);
    CHECK_THROWS_MATCHES(annal::unseal(keys, personal<std::string>{text}), annal::error,
                         Catch::Predicate<annal::error>([&](const annal::error& e) {
                           return is_decode_error(e, "personal data is not a sealed value: ") &&
                                  is_decode_error(e, words);
                         }));
  };
  not_sealed("", "it is empty");
  not_sealed("Ada Lovelace", "not URL-safe base64");
  not_sealed(base64(std::string("\x02\x01\x00x", 4) + std::string(64, 'a')), "unknown format 2");
  not_sealed(base64(bytes.substr(0, 40)), "too short");
  not_sealed(base64(std::string("\x01\x01\x00", 3) + std::string(1, '\0') + std::string(80, 'k')),
             "subject id holds a NUL byte");
  CHECK_THROWS_MATCHES(annal::subject_of(personal<std::string>{"%%"}), annal::error,
                       Catch::Predicate<annal::error>([](const annal::error& e) {
                         return is_decode_error(e, "not URL-safe base64");
                       }));

  // Whatever the text, unseal answers with a value, nullopt or a decode error, nothing else.
  std::mt19937 random(11);
  std::uniform_int_distribution<int> byte(0, 255), length(0, 120);
  for (int i = 0; i < 20000; ++i) {
    std::string b = i % 2 ? bytes : std::string();
    if (b.empty()) b.resize(static_cast<std::size_t>(length(random)));
    for (int k = 0; k < 1 + i % 4; ++k)
      if (!b.empty())
        b[static_cast<std::size_t>(byte(random)) % b.size()] = static_cast<char>(byte(random));
    try {
      (void)annal::unseal(keys, personal<std::string>{base64(b)});
    } catch (const annal::error& e) {
      REQUIRE(e.code() == annal::errc::decode_error);
    }
  }
}

TEST_CASE("events carry sealed values through codecs and stores unchanged", "[privacy]") {
  annal::memory_key_store keys;
  // [seal]
  // Where personal data comes in: the command carries it sealed, the decider copies it.
  const shop::customer_registered e{
      "customer-42", annal::seal(keys, "customer-42", std::string("Ada Lovelace")),
      annal::seal(keys, "customer-42", shop::address{"12 St James's Sq", "London"}), 500000};
  // [seal]
  CHECK(annal::binary_codec::decode<shop::customer_registered>(annal::binary_codec::encode(e)) ==
        e);
  CHECK(annal::json_codec::decode<shop::customer_registered>(annal::json_codec::encode(e)) == e);
  const std::string json = annal::json_codec::encode(e);
  CHECK(json.find("Lovelace") == std::string::npos);
  CHECK(json.find("\"credit_limit_cents\":500000") != std::string::npos);

  test::temp_dir dir;
  {
    annal::file_log log(dir.path() / "log");
    annal::event_data data;
    data.id = annal::new_event_id();
    data.type = "shop.customer_registered";
    annal::binary_codec::encode(e, data.payload);
    log.append("customer-42", annal::expected_version::no_stream(), std::span(&data, 1));
  }
  annal::file_log log(dir.path() / "log");
  shop::customer_registered back;
  log.read_all(1, [&](const annal::recorded_event& r) {
    back = annal::binary_codec::decode<shop::customer_registered>(r.payload);
  });
  CHECK(back == e);
  // [unseal]
  // Where it goes out: a letter, a screen. After forget(), the value is gone, the rest is not.
  const std::optional<std::string> name = annal::unseal(keys, back.name);
  const std::string addressee = name ? *name : "(erased on request)";
  // [unseal]
  CHECK(addressee == "Ada Lovelace");
  // [forget]
  keys.forget("customer-42");  // the subject asked to be forgotten
  // [forget]
  CHECK_FALSE(annal::unseal(keys, back.name));
  CHECK_FALSE(annal::unseal(keys, back.home));
  CHECK(back.credit_limit_cents == 500000);
}

TEST_CASE("file_key_store keeps keys across reopening and forgets for good", "[privacy]") {
  test::temp_dir dir;
  personal<std::string> ada, bob;
  {
    annal::file_key_store keys(dir.path() / "keys");
    ada = annal::seal(keys, "customer-1", std::string("Ada"));
    bob = annal::seal(keys, "customer-2", std::string("Bob"));
    CHECK(keys.find_key("customer-3") == std::nullopt);
  }
  {
    annal::file_key_store keys(dir.path() / "keys");
    CHECK(annal::unseal(keys, ada) == std::string("Ada"));
    keys.forget("customer-1");
  }
  annal::file_key_store keys(dir.path() / "keys");
  CHECK_FALSE(annal::unseal(keys, ada));
  CHECK(annal::unseal(keys, bob) == std::string("Bob"));

  // No subject id or value is written in clear: file names and contents are hashes and keys.
  for (const auto& f : std::filesystem::directory_iterator(dir.path() / "keys")) {
    std::ifstream in(f.path(), std::ios::binary);
    const std::string content((std::istreambuf_iterator<char>(in)), {});
    CHECK(f.path().filename().string().find("customer") == std::string::npos);
    CHECK(content.find("customer") == std::string::npos);
  }
  CHECK(std::distance(std::filesystem::directory_iterator(dir.path() / "keys"),
                      std::filesystem::directory_iterator()) == 1);
  // Key material is the owner's alone: the directory made for it, and each key file.
  namespace fs = std::filesystem;
  CHECK(fs::status(dir.path() / "keys").permissions() == fs::perms::owner_all);
  for (const auto& f : fs::directory_iterator(dir.path() / "keys"))
    CHECK((f.status().permissions() & (fs::perms::group_all | fs::perms::others_all)) ==
          fs::perms::none);
}

TEST_CASE("file_key_store refuses a damaged key file, naming it", "[privacy]") {
  test::temp_dir dir;
  annal::file_key_store keys(dir.path());
  const auto sealed = annal::seal(keys, "customer-1", std::string("Ada"));
  const auto file = std::filesystem::directory_iterator(dir.path())->path();
  {
    std::fstream f(file, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(-1, std::ios::end);
    f.put('\x7f');
  }
  CHECK_THROWS_MATCHES(annal::unseal(keys, sealed), annal::error,
                       Catch::Predicate<annal::error>([&](const annal::error& e) {
                         const std::string w = e.what();
                         return e.code() == annal::errc::corrupt_log &&
                                w.find(file.string()) != std::string::npos &&
                                w.find("checksum") != std::string::npos;
                       }));
  CHECK_THROWS_AS(annal::file_key_store(dir.path() / "keys" / ".." / file.filename()),
                  annal::error);  // a file is no directory
}

// What makes concurrent first sealings agree on one key, checked directly: the race the test
// below provokes may not happen in a given run.
TEST_CASE("create_file_exclusively never replaces a file that exists", "[privacy]") {
  test::temp_dir dir;
  const auto file = dir.path() / "k";
  CHECK(annal::detail::create_file_exclusively(file, "first", 0600));
  CHECK_FALSE(annal::detail::create_file_exclusively(file, "second", 0600));
  CHECK(annal::detail::read_whole_file(file) == std::string("first"));
  // No temporary file is left behind by either call.
  CHECK(std::distance(std::filesystem::directory_iterator(dir.path()),
                      std::filesystem::directory_iterator()) == 1);
}

TEST_CASE("file_key_store hands every thread and process the same new key",
          "[privacy][concurrency]") {
  test::temp_dir dir;
  for (int round = 0; round < 20; ++round) {
    const std::string subject = "customer-" + std::to_string(round);
    // Another process asks for the same subject's first key at the same time.
    const pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {
      try {
        annal::file_key_store keys(dir.path());
        const auto sealed = annal::seal(keys, subject, std::string("from the child"));
        std::ofstream(dir.path() / ("child-" + std::to_string(round))) << sealed.sealed;
        ::_exit(0);
      } catch (...) {
        ::_exit(1);
      }
    }
    std::vector<std::thread> threads;
    std::vector<personal<std::string>> sealed(4);
    for (std::size_t t = 0; t < sealed.size(); ++t)
      threads.emplace_back([&, t] {
        annal::file_key_store keys(dir.path());  // each its own object, as in its own process
        sealed[t] = annal::seal(keys, subject, std::to_string(t));
      });
    for (auto& t : threads) t.join();
    int status = 0;
    REQUIRE(::waitpid(child, &status, 0) == child);
    REQUIRE(WIFEXITED(status));
    REQUIRE(WEXITSTATUS(status) == 0);
    std::ifstream in(dir.path() / ("child-" + std::to_string(round)));
    const std::string from_child((std::istreambuf_iterator<char>(in)), {});

    // Had two keys been made, one would be lost, and the values sealed under it with it.
    annal::file_key_store keys(dir.path());
    INFO("round " << round);
    for (std::size_t t = 0; t < sealed.size(); ++t)
      CHECK(annal::unseal(keys, sealed[t]) == std::to_string(t));
    CHECK(annal::unseal(keys, personal<std::string>{from_child}) == std::string("from the child"));
  }
}

TEST_CASE("a data subject id must be 1 to 65535 bytes without NUL", "[privacy]") {
  annal::memory_key_store keys;
  CHECK_THROWS_WITH(annal::seal(keys, "", std::string("x")),
                    Catch::Contains("a data subject id must be 1 to 65535 bytes"));
  CHECK_THROWS_WITH(annal::seal(keys, std::string("a\0b", 3), std::string("x")),
                    Catch::Contains("without NUL bytes"));
  CHECK_THROWS_WITH(annal::seal(keys, std::string(65536, 's'), std::string("x")),
                    Catch::Contains("got 65536 bytes"));
  const auto longest = annal::seal(keys, std::string(65535, 's'), std::string("x"));
  CHECK(annal::unseal(keys, longest) == std::string("x"));
}
