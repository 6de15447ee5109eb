// SHA-1 (FIPS 180-4) for the tool's copy digest, hashing whole 64-byte blocks straight from the
// caller's bytes: Boost's uuid sha1 takes one byte at a time, and was two thirds of `annal copy`.
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <utility>

namespace annal::tool::detail {

class sha1 {
 public:
  void update(const void* data, std::size_t size) {
    const auto* p = static_cast<const unsigned char*>(data);
    bytes_ += size;
    if (used_ != 0) {
      const std::size_t take = std::min(size, sizeof block_ - used_);
      std::memcpy(block_ + used_, p, take);
      used_ += take;
      p += take;
      size -= take;
      if (used_ < sizeof block_) return;
      compress(block_);
      used_ = 0;
    }
    for (; size >= sizeof block_; p += sizeof block_, size -= sizeof block_) compress(p);
    if (size != 0) std::memcpy(block_, p, size);
    used_ = size;
  }

  // The 20-byte digest of everything given; the object is spent after it.
  std::array<unsigned char, 20> finish() {
    const std::uint64_t bits = bytes_ * 8;
    const unsigned char one = 0x80;
    update(&one, 1);
    const unsigned char zeros[64] = {};
    update(zeros, used_ <= 56 ? 56 - used_ : 120 - used_);
    unsigned char length[8];
    for (int i = 0; i < 8; ++i) length[i] = static_cast<unsigned char>(bits >> (56 - 8 * i));
    update(length, sizeof length);
    std::array<unsigned char, 20> out{};
    for (int i = 0; i < 20; ++i)
      out[i] = static_cast<unsigned char>(h_[i / 4] >> (24 - 8 * (i % 4)));
    return out;
  }

 private:
  static std::uint32_t rotl(std::uint32_t x, int n) { return (x << n) | (x >> (32 - n)); }

  // Five rounds per step with the working variables renamed instead of moved.
  template <int first, class F>
  static void five_rounds(std::uint32_t (&w)[80], std::uint32_t& a, std::uint32_t& b,
                          std::uint32_t& c, std::uint32_t& d, std::uint32_t& e, std::uint32_t k,
                          F f) {
    const auto round = [&](std::uint32_t& v, std::uint32_t& x, std::uint32_t y, std::uint32_t z,
                           std::uint32_t& t, int i) {
      t += rotl(v, 5) + f(x, y, z) + k + w[i];
      x = rotl(x, 30);
    };
    round(a, b, c, d, e, first);
    round(e, a, b, c, d, first + 1);
    round(d, e, a, b, c, first + 2);
    round(c, d, e, a, b, first + 3);
    round(b, c, d, e, a, first + 4);
  }

  void compress(const unsigned char* p) {
    std::uint32_t w[80];
    for (int i = 0; i < 16; ++i)
      w[i] = static_cast<std::uint32_t>(p[4 * i]) << 24 |
             static_cast<std::uint32_t>(p[4 * i + 1]) << 16 |
             static_cast<std::uint32_t>(p[4 * i + 2]) << 8 | p[4 * i + 3];
    for (int i = 16; i < 80; ++i) w[i] = rotl(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
    std::uint32_t a = h_[0], b = h_[1], c = h_[2], d = h_[3], e = h_[4];
    const auto choose = [](std::uint32_t x, std::uint32_t y, std::uint32_t z) {
      return z ^ (x & (y ^ z));
    };
    const auto parity = [](std::uint32_t x, std::uint32_t y, std::uint32_t z) { return x ^ y ^ z; };
    const auto majority = [](std::uint32_t x, std::uint32_t y, std::uint32_t z) {
      return (x & y) | (z & (x | y));
    };
    [&]<int... step>(std::integer_sequence<int, step...>) {
      (five_rounds<step * 5>(w, a, b, c, d, e, 0x5A827999, choose), ...);
      (five_rounds<20 + step * 5>(w, a, b, c, d, e, 0x6ED9EBA1, parity), ...);
      (five_rounds<40 + step * 5>(w, a, b, c, d, e, 0x8F1BBCDC, majority), ...);
      (five_rounds<60 + step * 5>(w, a, b, c, d, e, 0xCA62C1D6, parity), ...);
    }
    (std::make_integer_sequence<int, 4>{});
    h_[0] += a;
    h_[1] += b;
    h_[2] += c;
    h_[3] += d;
    h_[4] += e;
  }

  std::uint32_t h_[5] = {0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476, 0xC3D2E1F0};
  unsigned char block_[64] = {};
  std::size_t used_ = 0;
  std::uint64_t bytes_ = 0;
};

}  // namespace annal::tool::detail
