// Counts every allocation through the global operator new, so a test can prove that a path
// allocates nothing (or little). It replaces operator new and delete: include it in exactly one
// translation unit of an executable, and give that executable ASAN_OPTIONS=alloc_dealloc_mismatch=0
// (see tests/core/CMakeLists.txt).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdlib>
#include <new>

namespace annal_test {
inline std::atomic<std::size_t> allocation_count{0};
}  // namespace annal_test

// g++ 12 at -O1 and above sees malloc/free through these replacements and warns that new and
// free are mismatched; they are the matched pair here, so the warning is off for the includer.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

void* operator new(std::size_t size) {
  annal_test::allocation_count.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept {
  std::free(p);
}
void operator delete(void* p, std::size_t) noexcept {
  std::free(p);
}
