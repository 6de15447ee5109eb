// What the stores need of an event id besides the id itself: a hash for their tables and the
// canonical text for their messages. Boost's own (boost::hash, <boost/uuid/uuid_io.hpp>) would make
// every store's includer parse <complex>, <sstream> and <locale> for these few lines.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>

#include <annal/core/envelope.hpp>

namespace annal::detail {

// Event ids are mostly random (version 4), but need not be: both halves are mixed through a
// finalizer whose high bits depend on every input bit. Boost's open-addressing tables take a
// position from those high bits unmixed (is_avalanching), which lets the file log insert ids in
// table order when it opens.
struct event_id_hash {
  using is_avalanching = void;
  std::size_t operator()(const event_id& id) const noexcept {
    std::uint64_t a, b;
    std::memcpy(&a, id.data, 8);
    std::memcpy(&b, id.data + 8, 8);
    std::uint64_t h = a ^ (b * 0x9E3779B97F4A7C15ull) ^ (b >> 29);
    h ^= h >> 33;
    h *= 0xFF51AFD7ED558CCDull;
    h ^= h >> 33;
    h *= 0xC4CEB9FE1A85EC53ull;
    h ^= h >> 33;
    return static_cast<std::size_t>(h);
  }
};

// Appends "0f8fad5b-d9cb-469f-a165-70867728950e": the canonical form, as boost::uuids::to_string
// writes it.
inline void append_id_text(std::string& out, const event_id& id) {
  static constexpr char digits[] = "0123456789abcdef";
  char text[36];
  char* p = text;
  for (std::size_t i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) *p++ = '-';
    *p++ = digits[id.data[i] >> 4];
    *p++ = digits[id.data[i] & 0xF];
  }
  out.append(text, sizeof text);
}

// A template for the separately compiled mode (see detail/validate.hpp).
template <class = void>
std::string id_text(const event_id& id) {
  std::string out;
  append_id_text(out, id);
  return out;
}

#if defined(ANNAL_SEPARATE_COMPILATION)
extern template std::string id_text(const event_id&);
#endif

}  // namespace annal::detail
