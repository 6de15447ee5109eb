// What every codec fuzz target checks: bad input fails with annal::error, good input round-trips
// exactly.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include <annal/core/error.hpp>

#include "random_values.hpp"

namespace fuzz {

[[noreturn]] inline void fail(const char* what) {
  std::fprintf(stderr, "round-trip failure: %s\n", what);
  std::abort();
}

// Decodes `data` as T; when it decodes, encode -> decode must give an equal value and encoding
// that again the same bytes. Any exception other than annal::error(decode_error) escapes and is
// reported by libFuzzer as a crash.
template <class T, class Codec>
void check(std::string_view data) {
  T value;
  try {
    value = Codec::template decode<T>(data);
  } catch (const annal::error& e) {
    if (e.code() != annal::errc::decode_error)
      fail("decode threw an error other than decode_error");
    return;
  }
  const std::string once = Codec::encode(value);  // must not throw: the value came from valid bytes
  const T again = Codec::template decode<T>(once);
  if (!test_support::same(value, again)) fail("decode(encode(v)) != v");
  if (Codec::encode(again) != once) fail("encode is not deterministic");
}

}  // namespace fuzz
