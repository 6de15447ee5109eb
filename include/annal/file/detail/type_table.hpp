// The file log's event type names interned as 16-bit ids, so it keeps one type per position in two
// bytes and a filtered read tests a type without reading its record.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace annal::detail::file_log {

// Id 0 is "unknown": the record must be read to learn its type. A name met once the table is full
// gets 0, never another name's id, so a filtered read reads it rather than drops it.
class type_table {
 public:
  static constexpr std::uint16_t unknown = 0;
  static constexpr std::size_t max_types = 0xFFFF;

  // `capacity` below max_types lets tests fill the table cheaply.
  explicit type_table(std::size_t capacity = max_types) noexcept
      : capacity_(capacity < max_types ? capacity : max_types) {}
  type_table(const type_table&) = delete;
  type_table& operator=(const type_table&) = delete;

  std::uint16_t intern(std::string_view name) {
    if (name == last_name_ && last_id_ != unknown) return last_id_;
    const auto found = ids_.find(name);
    std::uint16_t id = unknown;
    if (found != ids_.end()) {
      id = found->second;
    } else if (names_.size() < capacity_) {
      names_.emplace_back(name);
      id = static_cast<std::uint16_t>(names_.size());
      ids_.emplace(names_.back(), id);
    }
    if (id != unknown) {
      last_name_ = names_[id - 1];
      last_id_ = id;
    }
    return id;
  }

  // Ids 1 to size() are in use.
  std::size_t size() const noexcept { return names_.size(); }
  // The name of id 1 to size(); a deque, so a view stays good while the table grows.
  std::string_view name(std::uint16_t id) const noexcept { return names_[id - 1]; }

 private:
  struct string_hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept {
      return std::hash<std::string_view>{}(s);
    }
  };
  std::size_t capacity_;
  std::deque<std::string> names_;
  std::unordered_map<std::string_view, std::uint16_t, string_hash, std::equal_to<>> ids_;
  // Appends and scans meet one type many times in a row: its id is kept at hand.
  std::string_view last_name_;
  std::uint16_t last_id_ = unknown;
};

}  // namespace annal::detail::file_log
