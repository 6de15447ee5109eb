// SHA-1 (FIPS 180-4) for the tool's copy digest, hashing whole 64-byte blocks straight from the
// caller's bytes: Boost's uuid sha1 takes one byte at a time, and was two thirds of `annal copy`.
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <utility>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <cpuid.h>
#include <immintrin.h>
#endif

namespace annal::tool::detail {

class sha1 {
 public:
  // `sha_extensions` false: the portable code even where the CPU has the SHA extensions (tests).
  explicit sha1(bool sha_extensions = true) : sha_extensions_(sha_extensions) {}

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
      compress(block_, 1);
      used_ = 0;
    }
    if (size >= sizeof block_) compress(p, size / sizeof block_);
    p += size / sizeof block_ * sizeof block_;
    size %= sizeof block_;
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

  void compress(const unsigned char* p, std::size_t blocks) {
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
    // The SHA extensions (Intel since Goldmont and Ice Lake, AMD since Zen): ~7x the portable code.
    static const bool sha_ni = has_sha_ni();
    if (sha_ni && sha_extensions_) return compress_sha_ni(h_, p, blocks);
#endif
    for (; blocks != 0; --blocks, p += sizeof block_) compress_portable(p);
  }

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
  // CPUID leaf 7 EBX bit 29: SHA; leaf 1 ECX bit 19: SSE4.1.
  static bool has_sha_ni() {
    unsigned a = 0, b = 0, c = 0, d = 0;
    if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & (1u << 19))) return false;
    return __get_cpuid_count(7, 0, &a, &b, &c, &d) && (b & (1u << 29));
  }

  // Message group j (rounds 4j to 4j + 3).
  template <int j>
  __attribute__((target("sha,sse4.1"), always_inline)) static void sha_ni_group(__m128i (&m)[4],
                                                                                __m128i& abcd,
                                                                                __m128i& e0,
                                                                                __m128i& e1) {
    if constexpr (j >= 4)
      m[j & 3] = _mm_sha1msg2_epu32(
          _mm_xor_si128(_mm_sha1msg1_epu32(m[j & 3], m[(j + 1) & 3]), m[(j + 2) & 3]),
          m[(j + 3) & 3]);
    __m128i& e = j % 2 == 0 ? e0 : e1;
    if constexpr (j == 0)
      e = _mm_add_epi32(e0, m[0]);
    else
      e = _mm_sha1nexte_epu32(e, m[j & 3]);
    (j % 2 == 0 ? e1 : e0) = abcd;
    abcd = _mm_sha1rnds4_epu32(abcd, e, j / 5);
  }

  template <int... j>
  __attribute__((target("sha,sse4.1"), always_inline)) static void sha_ni_groups(
      std::integer_sequence<int, j...>, __m128i (&m)[4], __m128i& abcd, __m128i& e0, __m128i& e1) {
    (sha_ni_group<j>(m, abcd, e0, e1), ...);
  }

  // Four rounds per instruction; message groups m_j for j >= 4 from the four before.
  __attribute__((target("sha,sse4.1"))) static void compress_sha_ni(std::uint32_t* h,
                                                                    const unsigned char* p,
                                                                    std::size_t blocks) {
    const __m128i big_endian = _mm_set_epi64x(0x0001020304050607LL, 0x08090a0b0c0d0e0fLL);
    __m128i abcd = _mm_shuffle_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(h)), 0x1B);
    __m128i e0 = _mm_set_epi32(static_cast<int>(h[4]), 0, 0, 0);
    for (; blocks != 0; --blocks, p += 64) {
      const __m128i abcd_before = abcd, e_before = e0;
      __m128i m[4];
      for (int i = 0; i < 4; ++i)
        m[i] = _mm_shuffle_epi8(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 16 * i)),
                                big_endian);
      __m128i e1 = abcd;  // written before it is read (j = 1); the compiler cannot tell
      // Unrolled: the round function is an immediate, and the loop above kept a switch per group.
      sha_ni_groups(std::make_integer_sequence<int, 20>{}, m, abcd, e0, e1);
      e0 = _mm_sha1nexte_epu32(e0, e_before);
      abcd = _mm_add_epi32(abcd, abcd_before);
    }
    _mm_storeu_si128(reinterpret_cast<__m128i*>(h), _mm_shuffle_epi32(abcd, 0x1B));
    h[4] = static_cast<std::uint32_t>(_mm_extract_epi32(e0, 3));
  }
#endif

  void compress_portable(const unsigned char* p) {
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
    }(std::make_integer_sequence<int, 4>{});
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
  bool sha_extensions_;
};

}  // namespace annal::tool::detail
