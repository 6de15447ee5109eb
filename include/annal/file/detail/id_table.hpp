// The file log's table of event ids: each id's position, for idempotent appends and lookups by id.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <type_traits>
#include <utility>

#include <annal/core/detail/event_id.hpp>
#include <annal/core/envelope.hpp>
#include <annal/file/detail/huge_page_allocator.hpp>

namespace annal::detail::file_log {

// The design of Boost's unordered_flat_map, which this replaces (it made every includer of the file
// log parse <cmath>, <complex> and <sstream> through boost::hash): slots in groups of 16, and
// beside them a byte per slot holding 7 bits of the id's hash (0: empty, 1: erased). A lookup
// reads its group's 16 bytes, compares ids only where a byte matches, and stops at a group with
// an empty byte: a miss, the usual case when appending, costs one group, and its branches are
// predictable. (Linear probing over the slots themselves made opening a large log 15-25 % slower.)
// A group is picked by the top bits of the hash, so ids entered in hash order fill the table front
// to back (insert_ids), and a growth writes the new groups nearly in order. The bytes are read 8
// at a time with bit tricks rather than SSE2, so no intrinsics header is needed.
class id_table {
  struct slot {
    event_id id;
    std::uint64_t position;
  };
  static_assert(std::is_trivially_copyable_v<slot>, "slots are cleared and copied as bytes");

 public:
  id_table() = default;
  id_table(const id_table&) = delete;
  id_table& operator=(const id_table&) = delete;
  ~id_table() { release(tags_, slots_, capacity_); }

  std::size_t size() const noexcept { return size_; }

  // The position stored for `id`, or 0.
  // Inlined where called, as Boost forces its own: out of line, opening a large log took 10 %
  // longer.
  [[gnu::always_inline]] std::uint64_t find(const event_id& id) const noexcept {
    if (size_ == 0) return 0;
    const std::uint64_t h = event_id_hash{}(id);
    const std::uint8_t t = tag_of(h);
    for (std::size_t g = h >> shift_;; g = (g + 1) & group_mask_) {
      const std::uint64_t w0 = word(g * group), w1 = word(g * group + 8);
      if (const std::size_t at = match(g, w0, w1, t, id); at != npos) return slots_[at].position;
      if ((empties(w0) | empties(w1)) != 0) return 0;
    }
  }

  // Enters `id` at `position` (> 0); false, and nothing changed, if `id` is there already. Inlined
  // as find() is.
  [[gnu::always_inline]] bool insert(const event_id& id, std::uint64_t position) {
    if (capacity_ == 0) grow(min_slots);
    const std::uint64_t h = event_id_hash{}(id);
    const std::uint8_t t = tag_of(h);
    std::size_t free = npos;  // the first empty or erased slot on the way
    for (std::size_t g = h >> shift_;; g = (g + 1) & group_mask_) {
      const std::uint64_t w0 = word(g * group), w1 = word(g * group + 8);
      if (match(g, w0, w1, t, id) != npos) return false;
      if (free == npos) free = first(g, frees(w0), frees(w1));
      if ((empties(w0) | empties(w1)) != 0) break;
    }
    if (tags_[free] == erased) {
      --erased_;
    } else if ((size_ + erased_ + 1) * 4 > capacity_ * 3) {  // under 3/4 full: misses stay short
      // Doubled, or rehashed at the same size when erased slots take the room.
      grow((size_ + 1) * 8 > capacity_ * 3 ? capacity_ * 2 : capacity_);
      free = free_slot(h);
    }
    tags_[free] = t;
    slots_[free] = slot{id, position};
    ++size_;
    return true;
  }

  // Takes `id` out, if it is there.
  void erase(const event_id& id) noexcept {
    if (size_ == 0) return;
    const std::uint64_t h = event_id_hash{}(id);
    for (std::size_t g = h >> shift_;; g = (g + 1) & group_mask_) {
      const std::uint64_t w0 = word(g * group), w1 = word(g * group + 8);
      if (const std::size_t at = match(g, w0, w1, tag_of(h), id); at != npos) {
        // A group that has an empty slot was never full, so no lookup goes on past it: the slot
        // can be empty again. Otherwise it must not stop lookups that went on past it.
        if ((empties(w0) | empties(w1)) != 0) {
          tags_[at] = empty;
        } else {
          tags_[at] = erased;
          ++erased_;
        }
        --size_;
        return;
      }
      if ((empties(w0) | empties(w1)) != 0) return;
    }
  }

  // Starts loading the group where `id` is or would go, for a find or insert to come: a batch's
  // ids land at random places in a table larger than the caches, and loaded one after the other
  // each would wait for memory on its own.
  void prefetch(const event_id& id) const noexcept {
#if defined(__GNUC__) || defined(__clang__)
    if (capacity_ == 0) return;
    const std::size_t g = event_id_hash{}(id) >> shift_;
    __builtin_prefetch(tags_ + g * group);
    __builtin_prefetch(slots_ + g * group);
#endif
  }

  // Room for `n` ids without growing.
  void reserve(std::size_t n) {
    std::size_t want = min_slots;
    while (want * 3 < n * 4) want *= 2;
    if (want > capacity_) grow(want);
  }

 private:
  static constexpr std::size_t group = 16;
  static constexpr std::size_t min_slots = 2 * group;  // two groups: a shift by 64 is undefined
  static constexpr std::size_t npos = ~std::size_t{0};
  static constexpr std::uint8_t empty = 0, erased = 1;  // an id's byte has its high bit set
  static constexpr std::uint64_t ones = 0x0101010101010101ull, highs = 0x8080808080808080ull;

  static std::uint8_t tag_of(std::uint64_t h) noexcept {
    return static_cast<std::uint8_t>(h | 0x80);  // the low bits: the group comes from the high ones
  }
  static bool same(const event_id& a, const event_id& b) noexcept {
    return std::memcmp(a.data, b.data, sizeof a.data) == 0;
  }
  // Bytes i..i+7 of tags_ as a word, tags_[i] its low byte (little-endian, as the log's files).
  std::uint64_t word(std::size_t i) const noexcept {
    std::uint64_t w;
    std::memcpy(&w, tags_ + i, sizeof w);
    return w;
  }
  // The high bit of each zero byte of w set; bytes above a zero one may be set too, so only the
  // lowest is exact (and whether there is one).
  static std::uint64_t zeros(std::uint64_t w) noexcept { return (w - ones) & ~w & highs; }
  static std::uint64_t empties(std::uint64_t w) noexcept { return zeros(w); }
  static std::uint64_t frees(std::uint64_t w) noexcept { return ~w & highs; }  // empty or erased
  // The slot of the lowest byte marked in m0 (bytes 0-7 of group g) or m1 (bytes 8-15), or npos.
  static std::size_t first(std::size_t g, std::uint64_t m0, std::uint64_t m1) noexcept {
    if (m0 != 0) return g * group + static_cast<std::size_t>(std::countr_zero(m0)) / 8;
    if (m1 != 0) return g * group + 8 + static_cast<std::size_t>(std::countr_zero(m1)) / 8;
    return npos;
  }
  // The slot of group g holding `id`, or npos. A byte equal to t is a candidate; the loose bytes
  // zeros() may mark are weeded out by comparing the byte itself.
  std::size_t match(std::size_t g, std::uint64_t w0, std::uint64_t w1, std::uint8_t t,
                    const event_id& id) const noexcept {
    const std::uint64_t spread = ones * t;
    for (std::uint64_t m = zeros(w0 ^ spread); m != 0; m &= m - 1) {
      const std::size_t at = g * group + static_cast<std::size_t>(std::countr_zero(m)) / 8;
      if (tags_[at] == t && same(slots_[at].id, id)) return at;
    }
    for (std::uint64_t m = zeros(w1 ^ spread); m != 0; m &= m - 1) {
      const std::size_t at = g * group + 8 + static_cast<std::size_t>(std::countr_zero(m)) / 8;
      if (tags_[at] == t && same(slots_[at].id, id)) return at;
    }
    return npos;
  }
  // The first empty slot from the hash's group on, in a table without erased slots.
  std::size_t free_slot(std::uint64_t h) const noexcept {
    for (std::size_t g = h >> shift_;; g = (g + 1) & group_mask_)
      if (const std::size_t at = first(g, empties(word(g * group)), empties(word(g * group + 8)));
          at != npos)
        return at;
  }

  // Moves every id into a table of `n` slots (a power of two, at least min_slots). Not vectors: a
  // vector would clear every byte of a new table, where a fresh mapping is zero already.
  void grow(std::size_t n) {
    std::uint8_t* const old_tags =
        std::exchange(tags_, huge_page_allocator<std::uint8_t>{}.allocate_zeroed(n));
    slot* old_slots;
    try {
      old_slots = std::exchange(slots_, huge_page_allocator<slot>{}.allocate_zeroed(n));
    } catch (...) {
      huge_page_allocator<std::uint8_t>{}.deallocate(std::exchange(tags_, old_tags), n);
      throw;
    }
    const std::size_t old_capacity = std::exchange(capacity_, n);
    group_mask_ = n / group - 1;
    shift_ = 64;
    for (std::size_t s = n / group; s > 1; s /= 2) --shift_;
    for (std::size_t i = 0; i < old_capacity; ++i) {
      if ((old_tags[i] & 0x80) == 0) continue;
      const std::uint64_t h = event_id_hash{}(old_slots[i].id);
      const std::size_t at = free_slot(h);
      tags_[at] = old_tags[i];
      slots_[at] = old_slots[i];
    }
    erased_ = 0;
    release(old_tags, old_slots, old_capacity);
  }
  static void release(std::uint8_t* tags, slot* slots, std::size_t capacity) noexcept {
    if (capacity == 0) return;
    huge_page_allocator<std::uint8_t>{}.deallocate(tags, capacity);
    huge_page_allocator<slot>{}.deallocate(slots, capacity);
  }

  std::uint8_t* tags_ = nullptr;
  slot* slots_ = nullptr;
  std::size_t capacity_ = 0;  // 0 or a power of two, at least min_slots
  std::size_t group_mask_ = 0;
  std::size_t size_ = 0;
  std::size_t erased_ = 0;
  unsigned shift_ = 64;  // 64 - log2(groups): a group is the hash's top bits
};

}  // namespace annal::detail::file_log
