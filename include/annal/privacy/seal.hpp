// Sealing personal data under its subject's key, and opening it again while the key exists.
#pragma once

#include <sodium.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <annal/codec/binary.hpp>
#include <annal/core/error.hpp>
#include <annal/privacy/key_store.hpp>
#include <annal/privacy/personal.hpp>

namespace annal {

namespace detail::privacy {

// A sealed value, before its URL-safe base64 text: a format byte, the subject id (16-bit length,
// then its bytes), the key's id, a random nonce, then the value's binary encoding encrypted and
// authenticated with XChaCha20-Poly1305 (libsodium's crypto_aead_xchacha20poly1305_ietf).
// Everything before the nonce is authenticated too, so a value cannot be moved to another subject.
// The key id (a hash of the key) tells a value sealed under a key since forgotten, whose subject
// may have a new key now, from a value that was altered.
inline constexpr unsigned char sealed_format = 1;
inline constexpr std::size_t key_id_size = data_key::id_size;
inline constexpr std::size_t nonce_size = crypto_aead_xchacha20poly1305_ietf_NPUBBYTES;
inline constexpr std::size_t tag_size = crypto_aead_xchacha20poly1305_ietf_ABYTES;
inline constexpr int base64_variant = sodium_base64_VARIANT_URLSAFE_NO_PADDING;

struct opened_header {
  std::string subject;
  std::string_view key_id;
  std::size_t header_size = 0;  // format byte, subject and key id: the authenticated prefix
};

[[noreturn]] inline void not_sealed(const std::string& why) {
  throw error(errc::decode_error, "personal data is not a sealed value: " + why);
}

inline std::string from_base64(std::string_view text) {
  if (text.empty()) not_sealed("it is empty (never sealed)");
  std::string bytes(text.size(), '\0');
  std::size_t length = 0;
  const char* end = nullptr;
  if (sodium_base642bin(reinterpret_cast<unsigned char*>(bytes.data()), bytes.size(), text.data(),
                        text.size(), nullptr, &length, &end, base64_variant) != 0 ||
      end != text.data() + text.size())
    not_sealed("it is not URL-safe base64");
  bytes.resize(length);
  return bytes;
}

inline opened_header read_header(std::string_view bytes) {
  if (bytes.size() < 3) not_sealed("it is " + std::to_string(bytes.size()) + " bytes long");
  if (static_cast<unsigned char>(bytes[0]) != sealed_format)
    not_sealed("unknown format " + std::to_string(static_cast<unsigned char>(bytes[0])));
  const std::size_t n =
      static_cast<unsigned char>(bytes[1]) | std::size_t{static_cast<unsigned char>(bytes[2])} << 8;
  if (n == 0 || bytes.size() < 3 + n + key_id_size + nonce_size + tag_size)
    not_sealed("it is too short for its subject id, key id, nonce and tag");
  const std::string_view subject = bytes.substr(3, n);
  if (subject.find('\0') != std::string_view::npos) not_sealed("its subject id holds a NUL byte");
  return {std::string(subject), bytes.substr(3 + n, key_id_size), 3 + n + key_id_size};
}

}  // namespace detail::privacy

// Seals `value` (any type the binary codec stores) for data subject `subject` under the subject's
// key, which the key store makes on first use. Use opaque ids as subjects ("customer-42", not an
// email address): the id stays readable in the sealed value, so that unseal can find its key.
template <class T, key_store K>
personal<T> seal(K& keys, std::string_view subject, const T& value) {
  namespace p = detail::privacy;
  p::check_subject(subject);
  p::init_sodium();
  std::string plain;
  binary_codec::encode(value, plain);
  const data_key key = keys.key_for(subject);

  std::string bytes;
  bytes.reserve(3 + subject.size() + p::key_id_size + p::nonce_size + plain.size() + p::tag_size);
  bytes += static_cast<char>(p::sealed_format);
  bytes += static_cast<char>(subject.size() & 0xff);
  bytes += static_cast<char>(subject.size() >> 8);
  bytes += subject;
  bytes.append(reinterpret_cast<const char*>(key.id()), p::key_id_size);
  const std::size_t header = bytes.size();
  bytes.resize(header + p::nonce_size + plain.size() + p::tag_size);
  auto* nonce = reinterpret_cast<unsigned char*>(bytes.data() + header);
  randombytes_buf(nonce, p::nonce_size);
  unsigned long long written = 0;
  crypto_aead_xchacha20poly1305_ietf_encrypt(
      nonce + p::nonce_size, &written, reinterpret_cast<const unsigned char*>(plain.data()),
      plain.size(), reinterpret_cast<const unsigned char*>(bytes.data()), header, nullptr, nonce,
      key.data());
  sodium_memzero(plain.data(), plain.size());

  personal<T> out;
  out.sealed.resize(sodium_base64_ENCODED_LEN(bytes.size(), p::base64_variant));
  sodium_bin2base64(out.sealed.data(), out.sealed.size(),
                    reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(),
                    p::base64_variant);
  out.sealed.resize(out.sealed.size() - 1);  // the terminating NUL
  return out;
}

// The data subject a sealed value belongs to. Throws errc::decode_error if it is not sealed.
template <class T>
std::string subject_of(const personal<T>& sealed) {
  return detail::privacy::read_header(detail::privacy::from_base64(sealed.sealed)).subject;
}

// The value, or nullopt once the key it was sealed under is forgotten (the value is shredded; its
// subject may have a new key since). Throws errc::decode_error for text that is not a sealed value
// or that does not authenticate under its key (altered).
template <class T, key_store K>
std::optional<T> unseal(K& keys, const personal<T>& sealed) {
  namespace p = detail::privacy;
  p::init_sodium();
  const std::string bytes = p::from_base64(sealed.sealed);
  const p::opened_header h = p::read_header(bytes);
  const std::optional<data_key> key = keys.find_key(h.subject);
  if (!key) return std::nullopt;
  if (sodium_memcmp(key->id(), h.key_id.data(), p::key_id_size) != 0) return std::nullopt;

  const auto* nonce = reinterpret_cast<const unsigned char*>(bytes.data() + h.header_size);
  const auto* cipher = nonce + p::nonce_size;
  const std::size_t cipher_size = bytes.size() - h.header_size - p::nonce_size;
  std::string plain(cipher_size - p::tag_size, '\0');
  unsigned long long length = 0;
  if (crypto_aead_xchacha20poly1305_ietf_decrypt(
          reinterpret_cast<unsigned char*>(plain.data()), &length, nullptr, cipher, cipher_size,
          reinterpret_cast<const unsigned char*>(bytes.data()), h.header_size, nonce,
          key->data()) != 0)
    throw error(errc::decode_error, "personal data of subject '" + h.subject +
                                        "' does not authenticate under its key: it was "
                                        "altered");
  plain.resize(length);
  try {
    T value = binary_codec::decode<T>(plain);
    sodium_memzero(plain.data(), plain.size());
    return value;
  } catch (...) {
    sodium_memzero(plain.data(), plain.size());
    throw;
  }
}

}  // namespace annal
