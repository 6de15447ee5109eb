// UTF-8 validation shared by stream-id checks and the codecs.
#pragma once

#include <cstddef>
#include <string_view>

namespace annal::detail {

// Returns the offset of the first byte that is not part of valid UTF-8 (RFC 3629: no overlongs, no
// surrogates, nothing above U+10FFFF), or text.size() when all of it is valid.
inline constexpr std::size_t utf8_invalid_offset(std::string_view text) noexcept {
  const std::size_t n = text.size();
  const auto s = [&](std::size_t k) { return static_cast<unsigned char>(text[k]); };
  std::size_t i = 0;
  while (i < n) {
    const unsigned char c = s(i);
    if (c < 0x80) {
      ++i;
      continue;
    }
    std::size_t len = 0;
    unsigned char lo = 0x80, hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) {
      len = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
      len = 3;
      if (c == 0xE0) lo = 0xA0;
      if (c == 0xED) hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      len = 4;
      if (c == 0xF0) lo = 0x90;
      if (c == 0xF4) hi = 0x8F;
    } else {
      return i;
    }
    if (n - i < len) return i;
    if (s(i + 1) < lo || s(i + 1) > hi) return i;
    for (std::size_t k = 2; k < len; ++k)
      if (s(i + k) < 0x80 || s(i + k) > 0xBF) return i;
    i += len;
  }
  return n;
}

constexpr bool is_valid_utf8(std::string_view text) noexcept {
  return utf8_invalid_offset(text) == text.size();
}

}  // namespace annal::detail
