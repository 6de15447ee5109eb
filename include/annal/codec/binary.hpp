// The binary codec: a fixed little-endian layout derived member by member from Boost.Hana
// reflection.
#pragma once

#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include <annal/codec/detail/field_path.hpp>
#include <annal/codec/detail/reflect.hpp>
#include <annal/codec/detail/unsupported.hpp>
#include <annal/codec/enum_range.hpp>
#include <annal/core/error.hpp>
#include <annal/detail/utf8.hpp>

namespace annal {

namespace detail::binary {

// The bytes being decoded and the read position; every read checks the bytes left first.
struct reader {
  const char* begin;
  const char* pos;
  const char* end;

  std::size_t offset() const noexcept { return static_cast<std::size_t>(pos - begin); }
  std::size_t remaining() const noexcept { return static_cast<std::size_t>(end - pos); }
};

template <class U>
constexpr U byteswap_if_big_endian(U v) noexcept {
  if constexpr (std::endian::native == std::endian::little || sizeof(U) == 1) {
    return v;
  } else {
    U r = 0;
    for (std::size_t i = 0; i < sizeof(U); ++i)
      r = static_cast<U>((r << 8) | ((v >> (8 * i)) & 0xFF));
    return r;
  }
}

template <std::size_t N>
using uint_of_size = std::conditional_t<
    N == 1, std::uint8_t,
    std::conditional_t<N == 2, std::uint16_t,
                       std::conditional_t<N == 4, std::uint32_t, std::uint64_t>>>;

// The fewest bytes a value of T can take: a count larger than the bytes left divided by this is
// refused before anything is allocated.
template <class T>
consteval std::size_t min_size() {
  if constexpr (std::is_same_v<T, bool>) {
    return 1;
  } else if constexpr (codec_integer<T> || codec_float<T>) {
    return sizeof(T);
  } else if constexpr (std::is_enum_v<T>) {
    return sizeof(std::underlying_type_t<T>);
  } else if constexpr (is_string_v<T> || is_vector_v<T> || is_map_v<T>) {
    return 4;
  } else if constexpr (is_optional_v<T>) {
    return 1;
  } else if constexpr (is_std_array_v<T>) {
    return std::tuple_size_v<T> * min_size<typename T::value_type>();
  } else if constexpr (is_variant_v<T>) {
    return 1;  // the index; alternatives may be empty structs
  } else if constexpr (is_duration_v<T>) {
    return sizeof(typename T::rep);
  } else if constexpr (is_time_point_v<T>) {
    return sizeof(typename T::rep);
  } else if constexpr (is_uuid_v<T>) {
    return 16;
  } else if constexpr (is_monostate_v<T>) {
    return 0;
  } else if constexpr (reflected<T>) {
    std::size_t total = 0;
    for_each_member_type<T>(
        [&](const char*, auto type) { total += min_size<typename decltype(type)::type>(); });
    return total;
  } else {
    return 0;
  }
}

// The exact size of T when every value of T takes the same number of bytes, else `variable`.
inline constexpr std::size_t variable = static_cast<std::size_t>(-1);

template <class T>
consteval std::size_t fixed_size() {
  if constexpr (std::is_same_v<T, bool>) {
    return 1;
  } else if constexpr (codec_integer<T> || codec_float<T>) {
    return sizeof(T);
  } else if constexpr (codec_enum<T>) {
    return sizeof(std::underlying_type_t<T>);
  } else if constexpr (is_uuid_v<T>) {
    return 16;
  } else if constexpr (is_monostate_v<T>) {
    return 0;
  } else if constexpr (is_duration_v<T> || is_time_point_v<T>) {
    return fixed_size<typename T::rep>();
  } else if constexpr (is_std_array_v<T>) {
    constexpr std::size_t element = fixed_size<typename T::value_type>();
    return element == variable ? variable : element * std::tuple_size_v<T>;
  } else if constexpr (reflected<T>) {
    std::size_t total = 0;
    for_each_member_type<T>([&](const char*, auto type) {
      constexpr std::size_t member = fixed_size<typename decltype(type)::type>();
      total = (total == variable || member == variable) ? variable : total + member;
    });
    return total;
  } else {
    return variable;
  }
}

// Scalars: fixed width, little-endian, floats as their IEEE 754 bits.
template <class T>
inline void put_scalar(std::string& out, T v) {
  using U = uint_of_size<sizeof(T)>;
  const U bits = byteswap_if_big_endian(std::bit_cast<U>(v));
  char bytes[sizeof(U)];
  std::memcpy(bytes, &bits, sizeof(U));
  out.append(bytes, sizeof(U));
}

template <class T>
[[noreturn]] void fail_truncated(const reader& r, const field_path& path, const char* what) {
  throw_decode_error(r.offset(), path,
                     std::string("truncated ") + what + " (needs " + std::to_string(sizeof(T)) +
                         " bytes, " + std::to_string(r.remaining()) + " left)");
}

template <class T>
inline T get_scalar(reader& r, const field_path& path) {
  using U = uint_of_size<sizeof(T)>;
  if (r.remaining() < sizeof(U)) [[unlikely]]
    fail_truncated<T>(r, path, scalar_name<T>());
  U bits;
  std::memcpy(&bits, r.pos, sizeof(U));
  r.pos += sizeof(U);
  return std::bit_cast<T>(byteswap_if_big_endian(bits));
}

// Lengths and counts: uint32. Anything longer cannot be written, so that it can always be read.
inline void put_count(std::string& out, std::size_t n, const field_path& path) {
  if (n > std::numeric_limits<std::uint32_t>::max()) [[unlikely]]
    throw_encode_error(path,
                       "length " + std::to_string(n) + " exceeds the 2^32-1 limit of the format");
  put_scalar(out, static_cast<std::uint32_t>(n));
}

// Reads a count of elements that each take at least `min_bytes`, refusing one that cannot fit.
inline std::size_t get_count(reader& r, const field_path& path, std::size_t min_bytes,
                             const char* what) {
  const std::size_t at = r.offset();
  if (r.remaining() < 4) [[unlikely]]
    fail_truncated<std::uint32_t>(r, path, "length");
  const std::size_t n = get_scalar<std::uint32_t>(r, path);
  if (n > r.remaining() / min_bytes) [[unlikely]]
    throw_decode_error(at, path,
                       std::string(what) + " length " + std::to_string(n) + " exceeds the " +
                           std::to_string(r.remaining()) + " bytes left");
  return n;
}

template <class T>
void put(std::string& out, const T& v, const field_path& path);
template <class T>
void get(reader& r, T& v, const field_path& path);

template <class Map>
void put_map(std::string& out, const Map& m, const field_path& path) {
  put_count(out, m.size(), path);
  std::size_t i = 0;
  const auto put_entry = [&](const auto& key, const auto& value) {
    const field_path entry(path, i++);
    put(out, key, field_path(entry, "key"));
    put(out, value, field_path(entry, "value"));
  };
  for_each_entry_in_order(m, put_entry);
}

template <class Map>
void get_map(reader& r, Map& m, const field_path& path) {
  using K = typename Map::key_type;
  using V = typename Map::mapped_type;
  static_assert(min_size<K>() + min_size<V>() > 0, "map entries must encode to at least one byte");
  const std::size_t n = get_count(r, path, min_size<K>() + min_size<V>(), "map");
  m.clear();
  if constexpr (is_unordered_map_v<Map>) m.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    const field_path entry(path, i);
    const std::size_t at = r.offset();
    K key{};
    get(r, key, field_path(entry, "key"));
    V value{};
    get(r, value, field_path(entry, "value"));
    if (!m.emplace(std::move(key), std::move(value)).second) [[unlikely]]
      throw_decode_error(at, entry, "duplicate map key");
  }
}

// Reads a fixed-size value whose bytes are known to be there: no bounds checks. Returns false on an
// invalid value (bool, enum) without saying where: the caller re-reads with the checked decoder,
// which names the byte and the field. Errors are rare, so the common path carries no field paths.
template <class T>
inline bool get_fixed(const char*& p, T& v) noexcept {
  if constexpr (std::is_same_v<T, bool>) {
    const auto b = static_cast<unsigned char>(*p++);
    v = b != 0;
    return b <= 1;
  } else if constexpr (codec_integer<T> || codec_float<T>) {
    using U = uint_of_size<sizeof(T)>;
    U bits;
    std::memcpy(&bits, p, sizeof(U));
    p += sizeof(U);
    v = std::bit_cast<T>(byteswap_if_big_endian(bits));
    return true;
  } else if constexpr (codec_enum<T>) {
    std::underlying_type_t<T> raw;
    get_fixed(p, raw);
    v = static_cast<T>(raw);
    return raw >= enum_first_v<T> && raw <= enum_last_v<T>;
  } else if constexpr (is_uuid_v<T>) {
    std::memcpy(v.data, p, 16);
    p += 16;
    return true;
  } else if constexpr (is_monostate_v<T>) {
    return true;
  } else if constexpr (is_duration_v<T>) {
    typename T::rep count;
    get_fixed(p, count);
    v = T(count);
    return true;
  } else if constexpr (is_time_point_v<T>) {
    typename T::rep count;
    get_fixed(p, count);
    v = T(typename T::duration(count));
    return true;
  } else if constexpr (is_std_array_v<T>) {
    bool ok = true;
    for (auto& e : v) ok &= get_fixed(p, e);
    return ok;
  } else {
    static_assert(reflected<T>);
    bool ok = true;
    for_each_member(v, [&](const char*, auto& member) { ok &= get_fixed(p, member); });
    return ok;
  }
}

template <class Variant, std::size_t... I>
void get_alternative(reader& r, Variant& v, std::size_t index, const field_path& path,
                     std::index_sequence<I...>) {
  const field_path alt(path, index, field_path::step::alternative);
  (void)((index == I ? (get(r, v.template emplace<I>(), alt), true) : false) || ...);
}

template <class T>
void put(std::string& out, const T& v, const field_path& path) {
  if constexpr (std::is_same_v<T, bool>) {
    out.push_back(v ? '\1' : '\0');
  } else if constexpr (codec_integer<T> || codec_float<T>) {
    put_scalar(out, v);
  } else if constexpr (codec_enum<T>) {
    put_scalar(out, static_cast<std::underlying_type_t<T>>(v));
  } else if constexpr (is_string_v<T>) {
    if (const std::size_t bad = utf8_invalid_offset(v); bad != v.size()) [[unlikely]]
      throw_encode_error(path, "invalid UTF-8 at offset " + std::to_string(bad) + " of the string");
    put_count(out, v.size(), path);
    out.append(v);
  } else if constexpr (is_vector_v<T>) {
    put_count(out, v.size(), path);
    using E = typename T::value_type;
    if constexpr ((codec_integer<E> && sizeof(E) == 1) ||
                  (std::endian::native == std::endian::little &&
                   (codec_integer<E> || codec_float<E>))) {
      if (!v.empty()) out.append(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(E));
    } else {
      std::size_t i = 0;
      for (const auto& e : v) put(out, static_cast<const E&>(e), field_path(path, i++));
    }
  } else if constexpr (is_std_array_v<T>) {
    for (std::size_t i = 0; i < v.size(); ++i) put(out, v[i], field_path(path, i));
  } else if constexpr (is_optional_v<T>) {
    out.push_back(v.has_value() ? '\1' : '\0');
    if (v) put(out, *v, path);
  } else if constexpr (is_map_v<T>) {
    put_map(out, v, path);
  } else if constexpr (is_variant_v<T>) {
    static_assert(std::variant_size_v<T> <= 255,
                  "a variant stored by annal has at most 255 alternatives");
    if (v.valueless_by_exception()) [[unlikely]]
      throw_encode_error(path, "the variant is valueless (an assignment threw)");
    out.push_back(static_cast<char>(static_cast<std::uint8_t>(v.index())));
    std::visit(
        [&](const auto& alt) {
          put(out, alt, field_path(path, v.index(), field_path::step::alternative));
        },
        v);
  } else if constexpr (is_duration_v<T>) {
    put(out, v.count(), path);
  } else if constexpr (is_time_point_v<T>) {
    put(out, v.time_since_epoch().count(), path);
  } else if constexpr (is_uuid_v<T>) {
    out.append(reinterpret_cast<const char*>(v.data), 16);
  } else if constexpr (is_monostate_v<T>) {
    // std::monostate (an empty variant alternative) takes no bytes.
  } else if constexpr (reflected<T>) {
    for_each_member(
        v, [&](const char* name, const auto& member) { put(out, member, field_path(path, name)); });
  } else {
    ANNAL_CODEC_REJECT_TYPE(T);
  }
}

template <class T>
void get_members(reader& r, T& v, const field_path& path) {
  for_each_member(v,
                  [&](const char* name, auto& member) { get(r, member, field_path(path, name)); });
}

// Out of line so that the fast path of a fixed-size struct stays small enough to inline.
template <class T>
[[gnu::cold, gnu::noinline]] void get_members_cold(reader& r, T& v, const field_path& path) {
  get_members(r, v, path);
}

template <class T>
void get(reader& r, T& v, const field_path& path) {
  if constexpr (std::is_same_v<T, bool>) {
    const auto b = get_scalar<std::uint8_t>(r, path);
    if (b > 1) [[unlikely]]
      throw_decode_error(r.offset() - 1, path,
                         "invalid bool byte " + std::to_string(b) + " (must be 0 or 1)");
    v = b != 0;
  } else if constexpr (codec_integer<T> || codec_float<T>) {
    v = get_scalar<T>(r, path);
  } else if constexpr (codec_enum<T>) {
    using U = std::underlying_type_t<T>;
    const U raw = get_scalar<U>(r, path);
    if (raw < enum_first_v<T> || raw > enum_last_v<T>) [[unlikely]]
      throw_decode_error(r.offset() - sizeof(U), path,
                         "invalid enum value " + std::to_string(raw) +
                             " (valid: " + std::to_string(enum_first_v<T>) + ".." +
                             std::to_string(enum_last_v<T>) + ")");
    v = static_cast<T>(raw);
  } else if constexpr (is_string_v<T>) {
    const std::size_t n = get_count(r, path, 1, "string");
    const std::string_view text(r.pos, n);
    if (const std::size_t bad = utf8_invalid_offset(text); bad != n) [[unlikely]]
      throw_decode_error(r.offset() + bad, path, "invalid UTF-8 in string");
    v.assign(text);
    r.pos += n;
  } else if constexpr (is_vector_v<T>) {
    using E = typename T::value_type;
    static_assert(min_size<E>() > 0, "vector elements must encode to at least one byte");
    const std::size_t n = get_count(r, path, min_size<E>(), "vector");
    if constexpr ((codec_integer<E> && sizeof(E) == 1) ||
                  (std::endian::native == std::endian::little &&
                   (codec_integer<E> || codec_float<E>))) {
      v.resize(n);
      if (n != 0) std::memcpy(v.data(), r.pos, n * sizeof(E));
      r.pos += n * sizeof(E);
    } else {
      v.clear();
      v.reserve(n);
      for (std::size_t i = 0; i < n; ++i) {
        E e{};
        get(r, e, field_path(path, i));
        v.push_back(std::move(e));
      }
    }
  } else if constexpr (is_std_array_v<T>) {
    for (std::size_t i = 0; i < v.size(); ++i) get(r, v[i], field_path(path, i));
  } else if constexpr (is_optional_v<T>) {
    const auto tag = get_scalar<std::uint8_t>(r, path);
    if (tag > 1) [[unlikely]]
      throw_decode_error(r.offset() - 1, path,
                         "invalid optional tag " + std::to_string(tag) + " (must be 0 or 1)");
    if (tag == 0) {
      v.reset();
    } else {
      get(r, v.emplace(), path);
    }
  } else if constexpr (is_map_v<T>) {
    get_map(r, v, path);
  } else if constexpr (is_variant_v<T>) {
    const std::size_t index = get_scalar<std::uint8_t>(r, path);
    if (index >= std::variant_size_v<T>) [[unlikely]]
      throw_decode_error(r.offset() - 1, path,
                         "invalid variant index " + std::to_string(index) + " (the variant has " +
                             std::to_string(std::variant_size_v<T>) + " alternatives)");
    get_alternative(r, v, index, path, std::make_index_sequence<std::variant_size_v<T>>{});
  } else if constexpr (is_duration_v<T>) {
    typename T::rep count{};
    get(r, count, path);
    v = T(count);
  } else if constexpr (is_time_point_v<T>) {
    typename T::rep count{};
    get(r, count, path);
    v = T(typename T::duration(count));
  } else if constexpr (is_uuid_v<T>) {
    if (r.remaining() < 16) [[unlikely]]
      throw_decode_error(
          r.offset(), path,
          "truncated uuid (needs 16 bytes, " + std::to_string(r.remaining()) + " left)");
    std::memcpy(v.data, r.pos, 16);
    r.pos += 16;
  } else if constexpr (is_monostate_v<T>) {
  } else if constexpr (reflected<T>) {
    if constexpr (fixed_size<T>() != variable) {
      // One bounds check for the whole struct; the checked members run only to report an error.
      if (r.remaining() >= fixed_size<T>()) [[likely]] {
        const char* p = r.pos;
        if (get_fixed(p, v)) [[likely]] {
          r.pos = p;
          return;
        }
      }
      get_members_cold(r, v, path);
    } else {
      get_members(r, v, path);
    }
  } else {
    ANNAL_CODEC_REJECT_TYPE(T);
  }
}

[[noreturn, gnu::cold, gnu::noinline]] inline void fail_trailing(const reader& r) {
  throw_decode_error(r.offset(), field_path{},
                     std::to_string(r.remaining()) + " trailing bytes after the value");
}

}  // namespace detail::binary

// Encodes any reflected struct (and the member types listed in docs/codec.md) as fixed
// little-endian bytes with no per-type code. There is no header: the stored (name, version) says
// what the bytes are.
struct binary_codec {
  static constexpr std::string_view name = "binary";

  // Appends the encoding of `value` to `out`; throws annal::error(invalid_argument) for a value
  // that could not be read back (a string that is not UTF-8, a container over 2^32-1 elements).
  template <class T>
  static void encode(const T& value, std::string& out) {
    detail::binary::put(out, value, detail::field_path{});
  }

  template <class T>
  static std::string encode(const T& value) {
    std::string out;
    encode(value, out);
    return out;
  }

  // Decodes exactly `bytes` (trailing bytes are an error); throws annal::error(decode_error) naming
  // the byte offset and the field path.
  template <class T>
  static T decode(std::string_view bytes) {
    static_assert(std::is_default_constructible_v<T>,
                  "annal::binary_codec::decode<T> builds T member by member: T must be "
                  "default-constructible");
    T value{};
    if constexpr (detail::binary::fixed_size<T>() != detail::binary::variable) {
      // Fast path for events of fixed-size members: one size check, no field paths.
      const char* p = bytes.data();
      if (bytes.size() == detail::binary::fixed_size<T>() && detail::binary::get_fixed(p, value))
          [[likely]]
        return value;
    }
    detail::binary::reader r{bytes.data(), bytes.data(), bytes.data() + bytes.size()};
    const detail::field_path root{};
    detail::binary::get(r, value, root);
    if (r.pos != r.end) [[unlikely]]
      detail::binary::fail_trailing(r);
    return value;
  }
};

}  // namespace annal
