// A reflected type's schema as data: member names and types, a readable description and a 64-bit
// fingerprint.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include <annal/codec/detail/reflect.hpp>
#include <annal/codec/detail/unsupported.hpp>
#include <annal/codec/enum_range.hpp>

namespace annal {

namespace detail::schema {

// 64-bit FNV-1a, fed token by token so the fingerprint needs no constexpr string.
struct fnv1a_sink {
  std::uint64_t hash = 14695981039346656037ull;
  constexpr void operator()(std::string_view text) noexcept {
    for (const char c : text) {
      hash ^= static_cast<unsigned char>(c);
      hash *= 1099511628211ull;
    }
  }
};

struct string_sink {
  std::string* out;
  void operator()(std::string_view text) const { out->append(text); }
};

template <class Sink>
constexpr void put_number(Sink& sink, std::uintmax_t n) {
  char digits[24] = {};
  std::size_t len = 0;
  do {
    digits[len++] = static_cast<char>('0' + n % 10);
    n /= 10;
  } while (n != 0);
  for (std::size_t i = 0; i < len / 2; ++i) std::swap(digits[i], digits[len - 1 - i]);
  sink(std::string_view(digits, len));
}

template <class Sink, class Ratio>
constexpr void put_ratio(Sink& sink) {
  put_number(sink, static_cast<std::uintmax_t>(Ratio::num));
  sink("/");
  put_number(sink, static_cast<std::uintmax_t>(Ratio::den));
}

// The description follows the stored layout: types that store the same bytes describe the same
// (std::map and std::unordered_map are both "map", a time point is its duration since the epoch).
template <class T, class Sink>
constexpr void describe(Sink& sink) {
  if constexpr (std::is_same_v<T, bool> || codec_integer<T> || codec_float<T>) {
    sink(scalar_name<T>());
  } else if constexpr (codec_enum<T>) {
    sink("enum<");
    sink(scalar_name<std::underlying_type_t<T>>());
    sink(">");
  } else if constexpr (is_string_v<T>) {
    sink("string");
  } else if constexpr (is_vector_v<T>) {
    sink("vector<");
    describe<typename T::value_type>(sink);
    sink(">");
  } else if constexpr (is_std_array_v<T>) {
    sink("array<");
    describe<typename T::value_type>(sink);
    sink(",");
    put_number(sink, std::tuple_size_v<T>);
    sink(">");
  } else if constexpr (is_optional_v<T>) {
    sink("optional<");
    describe<typename T::value_type>(sink);
    sink(">");
  } else if constexpr (is_map_v<T>) {
    sink("map<");
    describe<typename T::key_type>(sink);
    sink(",");
    describe<typename T::mapped_type>(sink);
    sink(">");
  } else if constexpr (is_variant_v<T>) {
    sink("variant<");
    [&]<std::size_t... I>(std::index_sequence<I...>) {
      ((sink(I == 0 ? "" : ","), describe<std::variant_alternative_t<I, T>>(sink)), ...);
    }(std::make_index_sequence<std::variant_size_v<T>>{});
    sink(">");
  } else if constexpr (is_duration_v<T> || is_time_point_v<T>) {
    sink(is_duration_v<T> ? "duration<" : "time_point<");
    describe<typename T::rep>(sink);
    sink(",");
    put_ratio<Sink, typename T::period>(sink);
    sink(">");
  } else if constexpr (is_uuid_v<T>) {
    sink("uuid");
  } else if constexpr (is_monostate_v<T>) {
    sink("none");
  } else if constexpr (reflected<T>) {
    sink("{");
    bool first = true;
    for_each_member_type<T>([&](const char* name, auto type) {
      if (!first) sink(",");
      first = false;
      sink(name);
      sink(":");
      describe<typename decltype(type)::type>(sink);
    });
    sink("}");
  } else {
    ANNAL_CODEC_REJECT_TYPE(T);
  }
}

template <class T>
consteval std::uint64_t fingerprint() {
  fnv1a_sink sink;
  describe<T>(sink);
  return sink.hash;
}

template <class T>
consteval std::size_t member_count() {
  std::size_t n = 0;
  for_each_member_type<T>([&](const char*, auto) { ++n; });
  return n;
}

template <class T>
consteval auto member_names() {
  std::array<std::string_view, member_count<T>()> names{};
  std::size_t i = 0;
  for_each_member_type<T>([&](const char* name, auto) { names[i++] = name; });
  return names;
}

}  // namespace detail::schema

// The schema of T as text, e.g. "{id:uuid,amount:int64,note:optional<string>}": the exact input of
// schema_fingerprint_v<T>, for logs and error messages.
template <class T>
std::string schema_description() {
  std::string out;
  detail::schema::string_sink sink{&out};
  detail::schema::describe<T>(sink);
  return out;
}

// 64-bit FNV-1a of schema_description<T>(): member names and stored types, recursively. Equal
// fingerprints mean the same stored layout (binary and JSON); renaming the C++ type does not change
// it.
template <class T>
inline constexpr std::uint64_t schema_fingerprint_v = detail::schema::fingerprint<T>();

// The member names of a reflected type, in declaration order.
template <detail::reflected T>
inline constexpr auto member_names_v = detail::schema::member_names<T>();

// Calls f(std::string_view name, std::type_identity<M>{}) for each member of a reflected type;
// usable in constant expressions.
template <detail::reflected T, class F>
constexpr void for_each_member_type(F&& f) {
  detail::for_each_member_type<T>(
      [&](const char* name, auto type) { f(std::string_view(name), type); });
}

}  // namespace annal
