// CRC32C (Castagnoli) for the file log: SSE4.2 instructions where the CPU has them, a table otherwise.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

#include <boost/crc.hpp>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define ANNAL_CRC32C_X86 1
#else
#define ANNAL_CRC32C_X86 0
#endif

namespace annal::detail::file_log {

// The portable path: Boost.CRC's table-driven CRC-32C (reflected, init and final xor all ones).
inline std::uint32_t crc32c_portable(std::uint32_t crc, const void* data, std::size_t size) noexcept {
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
    c = _mm_crc32_u64(c, word);
    p += 8;
    size -= 8;
  }
#endif
  auto c32 = static_cast<std::uint32_t>(c);
  while (size > 0) {
    c32 = _mm_crc32_u8(c32, *p);
    ++p;
    --size;
  }
  return c32 ^ 0xFFFFFFFFu;
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

// CRC-32C of `size` bytes, continuing from `crc` (0 to start); crc32c(crc32c(0,a),b) == crc32c(0,ab).
inline std::uint32_t crc32c(std::uint32_t crc, const void* data, std::size_t size) noexcept {
#if ANNAL_CRC32C_X86
  if (crc32c_hardware()) return crc32c_sse42(crc, data, size);
#endif
  return crc32c_portable(crc, data, size);
}

}  // namespace annal::detail::file_log

#undef ANNAL_CRC32C_X86
