// libFuzzer target: unseal on any text, as a stored event or a read model may hand it over. The
// answer is the value, nullopt (shredded) or errc::decode_error, nothing else; the first half of
// the input is tried as the text itself, the whole as the bytes inside the base64, so mutations
// reach the header checks behind the base64 decoder. Keys exist for the subjects "s" and
// "customer-1" (made afresh each run: no input can carry their ids or tags, so nothing opens).
#include <sodium.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include <annal/core/error.hpp>
#include <annal/privacy/key_store.hpp>
#include <annal/privacy/seal.hpp>

namespace {

[[noreturn]] void crash(const char* what) {
  std::fprintf(stderr, "unseal failure: %s\n", what);
  std::abort();
}

annal::memory_key_store& keys() {
  static annal::memory_key_store k;
  static const bool made = (k.key_for("s"), k.key_for("customer-1"), true);
  (void)made;
  return k;
}

void check(const std::string& text) {
  try {
    const auto value = annal::unseal(keys(), annal::personal<std::string>{text});
    if (value) crash("a value opened that was never sealed under these keys");
  } catch (const annal::error& e) {
    if (e.code() != annal::errc::decode_error)
      crash("unseal threw an error other than decode_error");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  check(bytes.substr(0, size / 2));
  std::string text(sodium_base64_ENCODED_LEN(size, sodium_base64_VARIANT_URLSAFE_NO_PADDING), '\0');
  sodium_bin2base64(text.data(), text.size(), data, size, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  text.pop_back();
  check(text);
  return 0;
}
