// Random values of every type the codecs support, and an equality that treats NaN as equal to NaN.
#pragma once

#include <bit>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <random>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>

#include <annal/codec/detail/reflect.hpp>
#include <annal/codec/enum_range.hpp>

namespace test_support {

using rng_t = std::mt19937_64;

// The seed from ANNAL_TEST_SEED when set (to replay a failure), else a fresh one; tests print it.
inline std::uint64_t test_seed() {
  if (const char* env = std::getenv("ANNAL_TEST_SEED")) return std::strtoull(env, nullptr, 10);
  return std::random_device{}() * 0x100000001ull ^ std::random_device{}();
}

inline void append_utf8(std::string& s, std::uint32_t cp) {
  if (cp < 0x80) {
    s += static_cast<char>(cp);
  } else if (cp < 0x800) {
    s += static_cast<char>(0xC0 | (cp >> 6));
    s += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    s += static_cast<char>(0xE0 | (cp >> 12));
    s += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    s += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    s += static_cast<char>(0xF0 | (cp >> 18));
    s += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    s += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    s += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

// Valid UTF-8 with the characters codecs get wrong: NUL, quotes, backslashes, controls, all widths.
inline std::string random_text(rng_t& rng) {
  std::string s;
  const std::size_t n = rng() % 12;
  for (std::size_t i = 0; i < n; ++i) {
    std::uint32_t cp = 0;
    switch (rng() % 6) {
      case 0:
        cp = static_cast<std::uint32_t>(rng() % 0x20);
        break;
      case 1:
        cp = "\"\\/'{}"[rng() % 6];
        break;
      case 2:
        cp = 0x20 + static_cast<std::uint32_t>(rng() % 0x5F);
        break;
      case 3:
        cp = 0x80 + static_cast<std::uint32_t>(rng() % (0x800 - 0x80));
        break;
      case 4:
        cp = 0x800 + static_cast<std::uint32_t>(rng() % (0x10000 - 0x800));
        break;
      default:
        cp = 0x10000 + static_cast<std::uint32_t>(rng() % (0x110000 - 0x10000));
        break;
    }
    if (cp >= 0xD800 && cp <= 0xDFFF) cp = 0xFFFD;
    append_utf8(s, cp);
  }
  return s;
}

template <class T>
T random_value(rng_t& rng, int depth = 0);

template <class T>
T random_integer(rng_t& rng) {
  using lim = std::numeric_limits<T>;
  switch (rng() % 8) {
    case 0:
      return lim::min();
    case 1:
      return lim::max();
    case 2:
      return T{};
    default:
      return static_cast<T>(rng());
  }
}

template <class T>
T random_float(rng_t& rng) {
  using U = std::conditional_t<sizeof(T) == 4, std::uint32_t, std::uint64_t>;
  switch (rng() % 10) {
    case 0:
      return std::numeric_limits<T>::infinity();
    case 1:
      return -std::numeric_limits<T>::infinity();
    case 2:
      return std::numeric_limits<T>::quiet_NaN();
    case 3:
      return T(-0.0);
    case 4:
      return std::numeric_limits<T>::denorm_min();
    case 5:
      return static_cast<T>(static_cast<std::int32_t>(rng()) % 100000) / T(100);
    default:
      return std::bit_cast<T>(static_cast<U>(rng()));
  }
}

template <class V, std::size_t... I>
V random_alternative(rng_t& rng, int depth, std::index_sequence<I...>) {
  const std::size_t pick = rng() % sizeof...(I);
  V v;
  (void)((pick == I ? (v.template emplace<I>(
                           random_value<std::variant_alternative_t<I, V>>(rng, depth + 1)),
                       true)
                    : false) ||
         ...);
  return v;
}

template <class T>
T random_value(rng_t& rng, int depth) {
  using namespace annal::detail;
  const std::size_t max_len = depth > 2 ? 1 : 4;
  if constexpr (std::is_same_v<T, bool>) {
    return (rng() & 1) != 0;
  } else if constexpr (codec_integer<T>) {
    return random_integer<T>(rng);
  } else if constexpr (codec_float<T>) {
    return random_float<T>(rng);
  } else if constexpr (std::is_enum_v<T>) {
    const auto lo = static_cast<std::int64_t>(annal::enum_first_v<T>);
    const auto hi = static_cast<std::int64_t>(annal::enum_last_v<T>);
    return static_cast<T>(
        lo + static_cast<std::int64_t>(rng() % static_cast<std::uint64_t>(hi - lo + 1)));
  } else if constexpr (is_string_v<T>) {
    return random_text(rng);
  } else if constexpr (is_vector_v<T>) {
    T v;
    const std::size_t n = rng() % (max_len + 1);
    for (std::size_t i = 0; i < n; ++i)
      v.push_back(random_value<typename T::value_type>(rng, depth + 1));
    return v;
  } else if constexpr (is_std_array_v<T>) {
    T v{};
    for (auto& e : v) e = random_value<typename T::value_type>(rng, depth + 1);
    return v;
  } else if constexpr (is_optional_v<T>) {
    if (rng() & 1) return T{};
    return T{random_value<typename T::value_type>(rng, depth + 1)};
  } else if constexpr (is_map_v<T>) {
    T m;
    const std::size_t n = rng() % (max_len + 1);
    for (std::size_t i = 0; i < n; ++i)
      m.emplace(random_value<typename T::key_type>(rng, depth + 1),
                random_value<typename T::mapped_type>(rng, depth + 1));
    return m;
  } else if constexpr (is_variant_v<T>) {
    return random_alternative<T>(rng, depth, std::make_index_sequence<std::variant_size_v<T>>{});
  } else if constexpr (is_duration_v<T>) {
    return T(random_value<typename T::rep>(rng, depth));
  } else if constexpr (is_time_point_v<T>) {
    return T(typename T::duration(random_value<typename T::rep>(rng, depth)));
  } else if constexpr (is_uuid_v<T>) {
    T id{};
    for (auto& b : id.data) b = static_cast<std::uint8_t>(rng());
    return id;
  } else if constexpr (is_monostate_v<T>) {
    return T{};
  } else {
    static_assert(reflected<T>);
    T v{};
    for_each_member(v, [&](const char*, auto& m) {
      m = random_value<std::remove_cvref_t<decltype(m)>>(rng, depth + 1);
    });
    return v;
  }
}

// Equality for round trips: NaN equals NaN (JSON keeps no NaN payload), other floats bit for bit.
template <class T>
bool same(const T& a, const T& b) {
  using namespace annal::detail;
  if constexpr (codec_float<T>) {
    if (std::isnan(a) || std::isnan(b)) return std::isnan(a) && std::isnan(b);
    return std::bit_cast<std::conditional_t<sizeof(T) == 4, std::uint32_t, std::uint64_t>>(a) ==
           std::bit_cast<std::conditional_t<sizeof(T) == 4, std::uint32_t, std::uint64_t>>(b);
  } else if constexpr (is_vector_v<T> || is_std_array_v<T>) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i)
      if (!same<typename T::value_type>(a[i], b[i])) return false;
    return true;
  } else if constexpr (is_optional_v<T>) {
    return a.has_value() == b.has_value() && (!a || same(*a, *b));
  } else if constexpr (is_map_v<T>) {
    if (a.size() != b.size()) return false;
    for (const auto& [k, v] : a) {
      const auto it = b.find(k);
      if (it == b.end() || !same(v, it->second)) return false;
    }
    return true;
  } else if constexpr (is_variant_v<T>) {
    return a.index() == b.index() &&
           std::visit(
               [&](const auto& x) {
                 return same(x, std::get<std::remove_cvref_t<decltype(x)>>(b));
               },
               a);
  } else if constexpr (is_duration_v<T>) {
    return same(a.count(), b.count());
  } else if constexpr (is_time_point_v<T>) {
    return same(a.time_since_epoch().count(), b.time_since_epoch().count());
  } else if constexpr (reflected<T>) {
    bool equal = true;
    boost::hana::for_each(boost::hana::accessors<T>(), [&](auto pair) {
      const auto get = boost::hana::second(pair);
      equal = equal && same(get(a), get(b));
    });
    return equal;
  } else {
    return a == b;
  }
}

}  // namespace test_support
