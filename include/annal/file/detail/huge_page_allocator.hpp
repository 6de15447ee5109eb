// An allocator for the file log's large index arrays that asks for transparent huge pages.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <new>

#include <sys/mman.h>

namespace annal::detail::file_log {

// Opening a large log fills index arrays of hundreds of megabytes at once; touched 4 KiB page by
// 4 KiB page, the page faults cost more than the indexing (measured: 10x on a VM). Arrays of 2 MiB
// or more are mapped 2 MiB-aligned and marked MADV_HUGEPAGE, which a kernel whose transparent huge
// pages are set to "madvise" (a common default) needs before it uses them. Smaller ones, and
// systems without THP, get ordinary memory.
template <class T>
struct huge_page_allocator {
  using value_type = T;
  static constexpr std::size_t huge = std::size_t{2} << 20;

  huge_page_allocator() = default;
  template <class U>
  huge_page_allocator(const huge_page_allocator<U>&) noexcept {}

  T* allocate(std::size_t n) {
    if (n > static_cast<std::size_t>(-1) / sizeof(T) - huge) throw std::bad_array_new_length();
    const std::size_t bytes = n * sizeof(T);
    if (bytes < huge) return std::allocator<T>{}.allocate(n);
    const std::size_t length = round_up(bytes);
    // Over-map by one huge page and trim both ends, so the block starts on a 2 MiB boundary.
    void* raw =
        ::mmap(nullptr, length + huge, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (raw == MAP_FAILED) throw std::bad_alloc();
    const auto start = reinterpret_cast<std::uintptr_t>(raw);
    const std::uintptr_t aligned = (start + huge - 1) & ~(std::uintptr_t{huge} - 1);
    if (aligned > start) ::munmap(raw, aligned - start);
    if (const std::uintptr_t tail = start + length + huge - (aligned + length); tail > 0)
      ::munmap(reinterpret_cast<void*>(aligned + length), tail);
    ::madvise(reinterpret_cast<void*>(aligned), length,
              MADV_HUGEPAGE);  // a hint: errors do not matter
    return reinterpret_cast<T*>(aligned);
  }

  // allocate(n) with every byte zero, for a T whose all-zero bytes are a valid value. A fresh
  // mapping is zero already: clearing it again would touch every page before its first use.
  T* allocate_zeroed(std::size_t n) {
    T* p = allocate(n);
    if (n * sizeof(T) < huge) std::memset(static_cast<void*>(p), 0, n * sizeof(T));
    return p;
  }

  void deallocate(T* p, std::size_t n) noexcept {
    const std::size_t bytes = n * sizeof(T);
    if (bytes < huge) return std::allocator<T>{}.deallocate(p, n);
    ::munmap(p, round_up(bytes));
  }

  template <class U>
  bool operator==(const huge_page_allocator<U>&) const noexcept {
    return true;
  }

 private:
  static std::size_t round_up(std::size_t bytes) noexcept {
    return (bytes + huge - 1) & ~(huge - 1);
  }
};

}  // namespace annal::detail::file_log
