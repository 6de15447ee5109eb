// Where the keys of data subjects live: the key_store concept and an in-memory store.
#pragma once

#include <sodium.h>

#include <algorithm>
#include <array>
#include <concepts>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include <annal/core/error.hpp>

namespace annal {

namespace detail::privacy {

inline void init_sodium() {
  // Safe to call from any thread, any number of times; it picks the fastest implementations.
  static const bool ready = sodium_init() >= 0;
  if (!ready)
    throw error(errc::io_error, "libsodium could not be initialized (sodium_init failed)");
}

inline void check_subject(std::string_view subject) {
  if (subject.empty() || subject.size() > 65535 || subject.find('\0') != std::string_view::npos)
    throw error(errc::invalid_argument,
                "a data subject id must be 1 to 65535 bytes without NUL bytes (got " +
                    std::to_string(subject.size()) + " bytes)");
}

}  // namespace detail::privacy

// A data subject's key: 32 random bytes, wiped from memory when it goes, and its id (a hash of
// it), which sealed values carry to tell which key sealed them.
class data_key {
 public:
  static constexpr std::size_t size = 32;
  static constexpr std::size_t id_size = crypto_generichash_BYTES_MIN;

  // A new random key.
  static data_key generate() {
    detail::privacy::init_sodium();
    data_key k;
    randombytes_buf(k.bytes_.data(), size);
    k.make_id();
    return k;
  }
  // A key from its bytes, as a key store read them.
  static data_key from_bytes(const unsigned char* bytes) {
    detail::privacy::init_sodium();
    data_key k;
    std::copy(bytes, bytes + size, k.bytes_.begin());
    k.make_id();
    return k;
  }

  data_key(const data_key&) = default;
  data_key& operator=(const data_key&) = default;
  ~data_key() { sodium_memzero(bytes_.data(), size); }

  const unsigned char* data() const noexcept { return bytes_.data(); }
  const unsigned char* id() const noexcept { return id_.data(); }
  friend bool operator==(const data_key& a, const data_key& b) noexcept {
    return sodium_memcmp(a.bytes_.data(), b.bytes_.data(), size) == 0;
  }

 private:
  data_key() = default;
  void make_id() { crypto_generichash(id_.data(), id_size, bytes_.data(), size, nullptr, 0); }

  std::array<unsigned char, size> bytes_{};
  std::array<unsigned char, id_size> id_{};
};

// Keeps one key per data subject. key_for creates the subject's key the first time (of threads or
// processes asking at once, all get the same one); find_key returns nullopt for a subject whose
// key was never made or was forgotten; forget erases it for good, which shreds every value sealed
// under it. A store backed by a KMS or an HSM models this concept too.
template <class K>
concept key_store = requires(K& keys, std::string_view subject) {
  { keys.key_for(subject) } -> std::same_as<data_key>;
  { keys.find_key(subject) } -> std::same_as<std::optional<data_key>>;
  { keys.forget(subject) } -> std::same_as<void>;
};

// Keys in memory, for tests and for processes whose personal data need not outlive them.
class memory_key_store {
 public:
  data_key key_for(std::string_view subject) {
    detail::privacy::check_subject(subject);
    std::lock_guard lock(mutex_);
    const auto found = keys_.find(subject);
    if (found != keys_.end()) return found->second;
    return keys_.emplace(std::string(subject), data_key::generate()).first->second;
  }
  std::optional<data_key> find_key(std::string_view subject) {
    detail::privacy::check_subject(subject);
    std::lock_guard lock(mutex_);
    const auto found = keys_.find(subject);
    if (found == keys_.end()) return std::nullopt;
    return found->second;
  }
  void forget(std::string_view subject) {
    detail::privacy::check_subject(subject);
    std::lock_guard lock(mutex_);
    const auto found = keys_.find(subject);
    if (found != keys_.end()) keys_.erase(found);
  }

 private:
  std::mutex mutex_;
  std::map<std::string, data_key, std::less<>> keys_;
};

}  // namespace annal
