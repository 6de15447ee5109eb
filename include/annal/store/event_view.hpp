// A stored event read in place: views into a store's read buffer instead of owning copies.
//
// A full scan that copies every event's stream id, type, metadata and payload into owning strings
// spends as long copying as reading. A store that can hand out views (the file log's
// read_all_views / read_stream_views) lets a reader that only looks at each event — a projection
// rebuild, a checker, an export — skip the copies, as LevelDB's iterators hand out slices. A view
// is good only during the visit that received it; `to_owned()` keeps one.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <iterator>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include <annal/core/envelope.hpp>
#include <annal/store/event_store.hpp>

namespace annal {

// Metadata entries in key order, read in place. The bytes are the entries packed one after
// another, each as a 32-bit little-endian key length, a 32-bit value length, the key, the value
// (the file log's record format); the store checks them before handing out a view.
class metadata_view {
 public:
  using value_type = std::pair<std::string_view, std::string_view>;

  class iterator {
   public:
    using iterator_category = std::forward_iterator_tag;
    using value_type = metadata_view::value_type;
    using difference_type = std::ptrdiff_t;
    using pointer = void;
    using reference = value_type;

    iterator() = default;
    value_type operator*() const noexcept {
      const std::uint32_t k = length(at_), v = length(at_ + 4);
      return {{at_ + 8, k}, {at_ + 8 + k, v}};
    }
    iterator& operator++() noexcept {
      at_ += 8 + std::size_t{length(at_)} + length(at_ + 4);
      return *this;
    }
    iterator operator++(int) noexcept {
      iterator old = *this;
      ++*this;
      return old;
    }
    friend bool operator==(const iterator&, const iterator&) = default;

   private:
    friend class metadata_view;
    explicit iterator(const char* at) noexcept : at_(at) {}
    const char* at_ = nullptr;
  };

  metadata_view() = default;
  // `bytes` holds `count` packed entries and nothing else.
  metadata_view(std::string_view bytes, std::size_t count) noexcept
      : bytes_(bytes), count_(count) {}

  iterator begin() const noexcept { return iterator(bytes_.data()); }
  iterator end() const noexcept { return iterator(bytes_.data() + bytes_.size()); }
  std::size_t size() const noexcept { return count_; }
  bool empty() const noexcept { return count_ == 0; }

  // The value stored under `key`, if any.
  std::optional<std::string_view> find(std::string_view key) const noexcept {
    for (const auto [k, v] : *this)
      if (k == key) return v;
    return std::nullopt;
  }

  metadata to_metadata() const {
    metadata out;
    for (const auto [k, v] : *this) out.emplace_hint(out.end(), std::string(k), std::string(v));
    return out;
  }

 private:
  static std::uint32_t length(const char* at) noexcept {
    std::uint32_t n;
    std::memcpy(&n, at, sizeof n);  // little-endian, as the file log's format checks at build time
    return n;
  }
  std::string_view bytes_;
  std::size_t count_ = 0;
};

// The fields of recorded_event, with views where recorded_event owns strings.
struct recorded_event_view {
  std::string_view stream_id;
  std::uint64_t stream_version = 0;
  std::uint64_t position = 0;
  event_id id{};
  time_point recorded_at{};
  event_id correlation_id{};
  event_id causation_id{};
  metadata_view meta;
  std::string_view type;
  std::uint32_t schema_version = 1;
  std::string_view payload;

  // A copy that outlives the visit.
  recorded_event to_owned() const {
    recorded_event e;
    e.stream_id = std::string(stream_id);
    e.stream_version = stream_version;
    e.position = position;
    e.id = id;
    e.recorded_at = recorded_at;
    e.correlation_id = correlation_id;
    e.causation_id = causation_id;
    e.meta = meta.to_metadata();
    e.type = std::string(type);
    e.schema_version = schema_version;
    e.payload = std::string(payload);
    return e;
  }
};

}  // namespace annal
