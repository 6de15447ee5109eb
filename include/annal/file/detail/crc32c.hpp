// CRC32C (Castagnoli) for the file log: SSE4.2 instructions where the CPU has them, a table
// otherwise.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include <boost/crc.hpp>

// The SSE4.2 crc32 instruction through the compiler's builtins (GCC and Clang name them alike):
// <immintrin.h> would make every includer parse all of x86's intrinsics, AVX-512 among them.
#if defined(__x86_64__) || defined(__i386__)
#define ANNAL_CRC32C_X86 1
#else
#define ANNAL_CRC32C_X86 0
#endif

namespace annal::detail::file_log {

// The portable path: Boost.CRC's table-driven CRC-32C (reflected, init and final xor all ones).
inline std::uint32_t crc32c_portable(std::uint32_t crc, const void* data,
                                     std::size_t size) noexcept {
  boost::crc_optimal<32, 0x1EDC6F41, 0xFFFFFFFF, 0xFFFFFFFF, true, true> engine;
  // Resume from a previous result: undo the final xor that `crc` carries.
  engine.reset(crc ^ 0xFFFFFFFFu);
  engine.process_bytes(data, size);
  return engine.checksum();
}

#if ANNAL_CRC32C_X86
__attribute__((target("sse4.2"))) inline std::uint32_t crc32c_sse42(std::uint32_t crc,
                                                                    const void* data,
                                                                    std::size_t size) noexcept {
  const auto* p = static_cast<const unsigned char*>(data);
  std::uint64_t c = crc ^ 0xFFFFFFFFu;
#if defined(__x86_64__)
  while (size >= 8) {
    std::uint64_t word;
    std::memcpy(&word, p, 8);
    c = __builtin_ia32_crc32di(c, word);
    p += 8;
    size -= 8;
  }
#endif
  auto c32 = static_cast<std::uint32_t>(c);
  while (size > 0) {
    c32 = __builtin_ia32_crc32qi(c32, *p);
    ++p;
    --size;
  }
  return c32 ^ 0xFFFFFFFFu;
}

// Three independent checksums at once: the crc32 instruction takes 3 cycles but can start one per
// cycle, so interleaving three records keeps it busy where one record alone would wait on itself.
__attribute__((target("sse4.2"))) inline void crc32c_sse42_x3(const char* const data[3],
                                                              const std::size_t size[3],
                                                              std::uint32_t out[3]) noexcept {
  const char* a = data[0];
  const char* b = data[1];
  const char* c = data[2];
  std::uint64_t ca = 0xFFFFFFFFu, cb = 0xFFFFFFFFu, cc = 0xFFFFFFFFu;
#if defined(__x86_64__)
  std::size_t common = std::min(size[0], std::min(size[1], size[2])) / 8;
#else
  std::size_t common = 0;  // 32-bit x86 has no 8-byte crc32 step
#endif
  const std::size_t done = common * 8;
#if defined(__x86_64__)
  for (; common > 0; --common, a += 8, b += 8, c += 8) {
    std::uint64_t wa, wb, wc;
    std::memcpy(&wa, a, 8);
    std::memcpy(&wb, b, 8);
    std::memcpy(&wc, c, 8);
    ca = __builtin_ia32_crc32di(ca, wa);
    cb = __builtin_ia32_crc32di(cb, wb);
    cc = __builtin_ia32_crc32di(cc, wc);
  }
#endif
  // The rest of each, resumed from its state (crc32c_sse42 takes a finished checksum).
  out[0] = crc32c_sse42(static_cast<std::uint32_t>(ca) ^ 0xFFFFFFFFu, a, size[0] - done);
  out[1] = crc32c_sse42(static_cast<std::uint32_t>(cb) ^ 0xFFFFFFFFu, b, size[1] - done);
  out[2] = crc32c_sse42(static_cast<std::uint32_t>(cc) ^ 0xFFFFFFFFu, c, size[2] - done);
}
#endif

inline bool crc32c_hardware() noexcept {
#if ANNAL_CRC32C_X86
  static const bool has = __builtin_cpu_supports("sse4.2");
  return has;
#else
  return false;
#endif
}

// CRC-32C of `size` bytes, continuing from `crc` (0 to start); crc32c(crc32c(0,a),b) ==
// crc32c(0,ab).
inline std::uint32_t crc32c(std::uint32_t crc, const void* data, std::size_t size) noexcept {
#if ANNAL_CRC32C_X86
  if (crc32c_hardware()) return crc32c_sse42(crc, data, size);
#endif
  return crc32c_portable(crc, data, size);
}

// crc32c(0, data[i], size[i]) for three separate buffers, faster than three calls.
inline void crc32c_x3(const char* const data[3], const std::size_t size[3],
                      std::uint32_t out[3]) noexcept {
#if ANNAL_CRC32C_X86
  if (crc32c_hardware()) return crc32c_sse42_x3(data, size, out);
#endif
  for (int i = 0; i < 3; ++i) out[i] = crc32c_portable(0, data[i], size[i]);
}

}  // namespace annal::detail::file_log

#undef ANNAL_CRC32C_X86
