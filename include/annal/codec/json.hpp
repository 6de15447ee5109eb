// The JSON codec on Boost.JSON: member names from reflection, for jsonb columns, inspectors and
// interop.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <boost/uuid/uuid.hpp>

#include <annal/codec/detail/field_path.hpp>
#include <annal/codec/detail/json_parse.hpp>
#include <annal/codec/detail/reflect.hpp>
#include <annal/codec/detail/unsupported.hpp>
#include <annal/codec/enum_range.hpp>
#include <annal/core/error.hpp>
#include <annal/detail/utf8.hpp>

namespace annal {

namespace detail::json {

namespace bj = boost::json;

inline const char* kind_name(const bj::value& j) noexcept {
  switch (j.kind()) {
    case bj::kind::null:
      return "null";
    case bj::kind::bool_:
      return "a bool";
    case bj::kind::int64:
    case bj::kind::uint64:
      return "an integer";
    case bj::kind::double_:
      return "a number with a fraction or exponent";
    case bj::kind::string:
      return "a string";
    case bj::kind::array:
      return "an array";
    case bj::kind::object:
      return "an object";
  }
  return "an unknown JSON value";
}

[[noreturn]] inline void fail_expected(const field_path& path, std::string_view expected,
                                       const bj::value& j) {
  throw_json_shape_error(path, "expected " + std::string(expected) + ", found " + kind_name(j));
}

// A JSON number converted to the integer T when it is exactly an integer in T's range.
template <class T>
T to_integer(const bj::value& j, const field_path& path) {
  using lim = std::numeric_limits<T>;
  const auto out_of_range = [&](const std::string& shown) -> T {
    throw_json_shape_error(path, shown + " is out of range for " + scalar_name<T>());
  };
  if (j.is_int64()) {
    const std::int64_t x = j.get_int64();
    if constexpr (std::is_signed_v<T>) {
      if (x < static_cast<std::int64_t>(lim::min()) || x > static_cast<std::int64_t>(lim::max()))
        return out_of_range(std::to_string(x));
    } else {
      if (x < 0 || static_cast<std::uint64_t>(x) > static_cast<std::uint64_t>(lim::max()))
        return out_of_range(std::to_string(x));
    }
    return static_cast<T>(x);
  }
  if (j.is_uint64()) {
    const std::uint64_t x = j.get_uint64();
    if (x > static_cast<std::uint64_t>(lim::max())) return out_of_range(std::to_string(x));
    return static_cast<T>(x);
  }
  if (j.is_double()) {
    const double d = j.get_double();
    // 2^63 and 2^64 are exact doubles; a double below them and integral converts without loss.
    if (std::isfinite(d) && std::trunc(d) == d) {
      if (d >= -9223372036854775808.0 && d < 9223372036854775808.0)
        return to_integer<T>(bj::value(static_cast<std::int64_t>(d)), path);
      if (d >= 0 && d < 18446744073709551616.0)
        return to_integer<T>(bj::value(static_cast<std::uint64_t>(d)), path);
    }
    throw_json_shape_error(path, "expected an integer, found " + bj::serialize(j));
  }
  fail_expected(path, "an integer", j);
}

template <class T>
bj::value to_json(const T& v, const field_path& path);
template <class T>
void from_json(const bj::value& j, T& v, const field_path& path);

inline bj::value uuid_to_json(const boost::uuids::uuid& id) {
  static constexpr char digits[] = "0123456789abcdef";
  char text[36];
  std::size_t k = 0;
  for (std::size_t i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) text[k++] = '-';
    text[k++] = digits[id.data[i] >> 4];
    text[k++] = digits[id.data[i] & 0xF];
  }
  return bj::string(text, 36);
}

// Accepts the canonical 8-4-4-4-12 form only (either case), so that every id has one spelling.
inline void uuid_from_json(const bj::value& j, boost::uuids::uuid& id, const field_path& path) {
  if (!j.is_string()) fail_expected(path, "a UUID string", j);
  const bj::string& s = j.get_string();
  const auto bad = [&]() {
    throw_json_shape_error(path,
                           "expected a UUID as 36 characters: 8-4-4-4-12 hex digits with dashes");
  };
  if (s.size() != 36) bad();
  const auto hex = [&](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    bad();
    return 0;
  };
  std::size_t k = 0;
  for (std::size_t i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) {
      if (s[k] != '-') bad();
      ++k;
    }
    const int hi = hex(s[k]);
    const int lo = hex(s[k + 1]);
    id.data[i] = static_cast<std::uint8_t>(hi * 16 + lo);
    k += 2;
  }
}

template <class Variant, std::size_t... I>
void variant_from_json(const bj::value& j, Variant& v, std::size_t index, const field_path& path,
                       std::index_sequence<I...>) {
  const field_path alt(path, index, field_path::step::alternative);
  (void)((index == I ? (from_json(j, v.template emplace<I>(), alt), true) : false) || ...);
}

template <class T>
bj::value to_json(const T& v, const field_path& path) {
  if constexpr (std::is_same_v<T, bool>) {
    return bj::value(v);
  } else if constexpr (codec_integer<T>) {
    if constexpr (std::is_signed_v<T>)
      return bj::value(static_cast<std::int64_t>(v));
    else
      return bj::value(static_cast<std::uint64_t>(v));
  } else if constexpr (codec_float<T>) {
    // JSON has no NaN or infinities: they travel as the strings JavaScript prints for them.
    if (std::isnan(v)) return bj::value("NaN");
    if (std::isinf(v)) return bj::value(v > 0 ? "Infinity" : "-Infinity");
    return bj::value(static_cast<double>(v));
  } else if constexpr (codec_enum<T>) {
    return to_json(static_cast<std::underlying_type_t<T>>(v), path);
  } else if constexpr (is_string_v<T>) {
    if (const std::size_t bad = utf8_invalid_offset(v); bad != v.size()) [[unlikely]]
      throw_encode_error(path, "invalid UTF-8 at offset " + std::to_string(bad) + " of the string");
    return bj::string(v);
  } else if constexpr (is_vector_v<T> || is_std_array_v<T>) {
    bj::array a;
    a.reserve(v.size());
    std::size_t i = 0;
    for (const auto& e : v)
      a.push_back(to_json(static_cast<const typename T::value_type&>(e), field_path(path, i++)));
    return a;
  } else if constexpr (is_optional_v<T>) {
    static_assert(
        !is_optional_v<typename T::value_type>,
        "annal::json_codec cannot tell an empty outer std::optional from an empty inner one "
        "(both are null): use one optional, or std::variant");
    return v ? to_json(*v, path) : bj::value(nullptr);
  } else if constexpr (is_map_v<T>) {
    if constexpr (is_string_v<typename T::key_type>) {
      bj::object o;
      o.reserve(v.size());
      for_each_entry_in_order(v, [&](const auto& key, const auto& value) {
        const field_path entry(path, key.c_str());
        if (const std::size_t bad = utf8_invalid_offset(key); bad != key.size()) [[unlikely]]
          throw_encode_error(entry, "invalid UTF-8 in a map key");
        o.emplace(key, to_json(value, entry));
      });
      return o;
    } else {
      // Non-string keys: an array of [key, value] pairs.
      bj::array a;
      a.reserve(v.size());
      std::size_t i = 0;
      for_each_entry_in_order(v, [&](const auto& key, const auto& value) {
        const field_path entry(path, i++);
        a.push_back(bj::array{to_json(key, field_path(entry, "key")),
                              to_json(value, field_path(entry, "value"))});
      });
      return a;
    }
  } else if constexpr (is_variant_v<T>) {
    if (v.valueless_by_exception()) [[unlikely]]
      throw_encode_error(path, "the variant is valueless (an assignment threw)");
    const field_path alt(path, v.index(), field_path::step::alternative);
    return bj::object{{"index", static_cast<std::uint64_t>(v.index())},
                      {"value", std::visit([&](const auto& x) { return to_json(x, alt); }, v)}};
  } else if constexpr (is_duration_v<T>) {
    return to_json(v.count(), path);
  } else if constexpr (is_time_point_v<T>) {
    return to_json(v.time_since_epoch().count(), path);
  } else if constexpr (is_uuid_v<T>) {
    return uuid_to_json(v);
  } else if constexpr (is_monostate_v<T>) {
    return bj::value(nullptr);
  } else if constexpr (reflected<T>) {
    bj::object o;
    for_each_member(v, [&](const char* name, const auto& member) {
      o.emplace(name, to_json(member, field_path(path, name)));
    });
    return o;
  } else {
    ANNAL_CODEC_REJECT_TYPE(T);
  }
}

template <class T>
void from_json(const bj::value& j, T& v, const field_path& path) {
  if constexpr (std::is_same_v<T, bool>) {
    if (!j.is_bool()) fail_expected(path, "a bool", j);
    v = j.get_bool();
  } else if constexpr (codec_integer<T>) {
    v = to_integer<T>(j, path);
  } else if constexpr (codec_float<T>) {
    if (j.is_string()) {
      const bj::string& s = j.get_string();
      if (s == "NaN")
        v = std::numeric_limits<T>::quiet_NaN();
      else if (s == "Infinity")
        v = std::numeric_limits<T>::infinity();
      else if (s == "-Infinity")
        v = -std::numeric_limits<T>::infinity();
      else
        throw_json_shape_error(
            path,
            "expected a number, found a string other than \"NaN\", \"Infinity\", \"-Infinity\"");
      return;
    }
    double d = 0;
    if (j.is_double())
      d = j.get_double();
    else if (j.is_int64())
      d = static_cast<double>(j.get_int64());
    else if (j.is_uint64())
      d = static_cast<double>(j.get_uint64());
    else
      fail_expected(path, "a number", j);
    if constexpr (sizeof(T) == 4) {
      if (std::isfinite(d) && std::fabs(d) > static_cast<double>(std::numeric_limits<float>::max()))
        throw_json_shape_error(path, "number out of range for float32");
    }
    v = static_cast<T>(d);
  } else if constexpr (codec_enum<T>) {
    using U = std::underlying_type_t<T>;
    const U raw = to_integer<U>(j, path);
    if (raw < enum_first_v<T> || raw > enum_last_v<T>) [[unlikely]]
      throw_json_shape_error(path, "invalid enum value " + std::to_string(raw) +
                                       " (valid: " + std::to_string(enum_first_v<T>) + ".." +
                                       std::to_string(enum_last_v<T>) + ")");
    v = static_cast<T>(raw);
  } else if constexpr (is_string_v<T>) {
    if (!j.is_string()) fail_expected(path, "a string", j);
    v.assign(j.get_string().data(), j.get_string().size());
  } else if constexpr (is_vector_v<T>) {
    if (!j.is_array()) fail_expected(path, "an array", j);
    const bj::array& a = j.get_array();
    v.clear();
    v.reserve(a.size());
    for (std::size_t i = 0; i < a.size(); ++i) {
      typename T::value_type e{};
      from_json(a[i], e, field_path(path, i));
      v.push_back(std::move(e));
    }
  } else if constexpr (is_std_array_v<T>) {
    if (!j.is_array()) fail_expected(path, "an array", j);
    const bj::array& a = j.get_array();
    if (a.size() != v.size())
      throw_json_shape_error(path, "expected an array of " + std::to_string(v.size()) +
                                       " elements, found " + std::to_string(a.size()));
    for (std::size_t i = 0; i < a.size(); ++i) from_json(a[i], v[i], field_path(path, i));
  } else if constexpr (is_optional_v<T>) {
    if (j.is_null()) {
      v.reset();
    } else {
      from_json(j, v.emplace(), path);
    }
  } else if constexpr (is_map_v<T>) {
    using K = typename T::key_type;
    using V = typename T::mapped_type;
    v.clear();
    if constexpr (is_string_v<K>) {
      if (!j.is_object()) fail_expected(path, "an object", j);
      for (const auto& kv : j.get_object()) {
        K key(kv.key().data(), kv.key().size());
        V value{};
        from_json(kv.value(), value, field_path(path, key.c_str()));
        if (!v.emplace(std::move(key), std::move(value)).second)
          throw_json_shape_error(path, "duplicate key \"" + std::string(kv.key()) + "\"");
      }
    } else {
      if (!j.is_array()) fail_expected(path, "an array of [key, value] pairs", j);
      const bj::array& a = j.get_array();
      for (std::size_t i = 0; i < a.size(); ++i) {
        const field_path entry(path, i);
        if (!a[i].is_array() || a[i].get_array().size() != 2)
          fail_expected(entry, "a [key, value] pair", a[i]);
        K key{};
        from_json(a[i].get_array()[0], key, field_path(entry, "key"));
        V value{};
        from_json(a[i].get_array()[1], value, field_path(entry, "value"));
        if (!v.emplace(std::move(key), std::move(value)).second)
          throw_json_shape_error(entry, "duplicate map key");
      }
    }
  } else if constexpr (is_variant_v<T>) {
    if (!j.is_object()) fail_expected(path, "an object {\"index\": n, \"value\": ...}", j);
    const bj::object& o = j.get_object();
    const bj::value* index = o.if_contains("index");
    const bj::value* value = o.if_contains("value");
    if (index == nullptr || value == nullptr || o.size() != 2)
      throw_json_shape_error(path,
                             "expected an object with exactly the members \"index\" and \"value\"");
    const auto i = to_integer<std::uint8_t>(*index, path);
    if (i >= std::variant_size_v<T>)
      throw_json_shape_error(path, "invalid variant index " + std::to_string(i) +
                                       " (the variant has " +
                                       std::to_string(std::variant_size_v<T>) + " alternatives)");
    variant_from_json(*value, v, i, path, std::make_index_sequence<std::variant_size_v<T>>{});
  } else if constexpr (is_duration_v<T>) {
    typename T::rep count{};
    from_json(j, count, path);
    v = T(count);
  } else if constexpr (is_time_point_v<T>) {
    typename T::rep count{};
    from_json(j, count, path);
    v = T(typename T::duration(count));
  } else if constexpr (is_uuid_v<T>) {
    uuid_from_json(j, v, path);
  } else if constexpr (is_monostate_v<T>) {
    if (!j.is_null()) fail_expected(path, "null", j);
  } else if constexpr (reflected<T>) {
    if (!j.is_object()) fail_expected(path, "an object", j);
    const bj::object& o = j.get_object();
    // Unknown members are ignored (a newer writer may add fields); a missing member is an error
    // unless it is a std::optional, which then reads as empty.
    for_each_member(v, [&](const char* name, auto& member) {
      const field_path at(path, name);
      if (const bj::value* m = o.if_contains(name)) {
        from_json(*m, member, at);
      } else if constexpr (is_optional_v<std::remove_cvref_t<decltype(member)>>) {
        member.reset();
      } else {
        throw_json_shape_error(at, "missing member");
      }
    });
  } else {
    ANNAL_CODEC_REJECT_TYPE(T);
  }
}

}  // namespace detail::json

// Encodes reflected structs as JSON objects (member names from reflection) and reads them back with
// the same checks as the binary codec. Layout: docs/codec.md.
struct json_codec {
  static constexpr std::string_view name = "json";

  template <class T>
  static boost::json::value to_value(const T& value) {
    return detail::json::to_json(value, detail::field_path{});
  }

  template <class T>
  static T from_value(const boost::json::value& json) {
    static_assert(
        std::is_default_constructible_v<T>,
        "annal::json_codec::decode<T> builds T member by member: T must be default-constructible");
    T value{};
    detail::json::from_json(json, value, detail::field_path{});
    return value;
  }

  // Appends compact JSON text to `out`.
  template <class T>
  static void encode(const T& value, std::string& out) {
    out += boost::json::serialize(to_value(value));
  }

  template <class T>
  static std::string encode(const T& value) {
    std::string out;
    encode(value, out);
    return out;
  }

  // Parses exactly one JSON value (surrounding whitespace allowed, anything else after it is an
  // error) and converts it to T. Syntax errors name the byte offset; shape errors the field path.
  template <class T>
  static T decode(std::string_view text) {
    detail::json::parse_result parsed = detail::json::parse_precise(text);
    if (parsed.error) [[unlikely]]
      throw error(errc::decode_error, "decode error at byte " + std::to_string(parsed.offset) +
                                          ", top level: invalid JSON (" + parsed.error.message() +
                                          ")");
    return from_value<T>(parsed.value);
  }
};

}  // namespace annal
