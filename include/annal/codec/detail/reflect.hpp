// Shapes a codec understands (reflected struct, vector, optional...), shared by both codecs and the
// fingerprint.
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <variant>
#include <vector>

#include <boost/hana/accessors.hpp>
#include <boost/hana/concept/struct.hpp>
#include <boost/hana/first.hpp>
#include <boost/hana/for_each.hpp>
#include <boost/hana/length.hpp>
#include <boost/hana/second.hpp>
#include <boost/hana/string.hpp>
#include <boost/uuid/uuid.hpp>

#include <annal/codec/detail/unsupported.hpp>
#include <annal/core/detail/chrono.hpp>

namespace annal {

// Declared, never defined: an error mentioning this type names a struct whose Boost.Hana
// reflection lists `Listed` members while the struct has more data members. A member left out is
// never stored: events and snapshots lose it and a load gives it its default value. List every
// data member in BOOST_HANA_ADAPT_STRUCT(type, members...) or BOOST_HANA_DEFINE_STRUCT.
template <class T, std::size_t Listed>
struct reflection_leaves_out_a_data_member;

}  // namespace annal

namespace annal::detail {

// A type whose members Boost.Hana can list (BOOST_HANA_DEFINE_STRUCT or BOOST_HANA_ADAPT_STRUCT).
template <class T>
concept reflected = boost::hana::Struct<T>::value;

// Converts only to a base class of T: `T{to_base_of<T>{}}` compiles exactly when T's first
// aggregate element is a base, that is when T has one (bases come before members).
template <class T>
struct to_base_of {
  template <class U>
    requires(std::is_class_v<U> && std::is_base_of_v<U, T> && !std::is_same_v<U, T>)
  operator U&() const noexcept;
  template <class U>
    requires(std::is_class_v<U> && std::is_base_of_v<U, T> && !std::is_same_v<U, T>)
  operator U&&() const noexcept;
};

// Initializers for any member, as Boost.PFR counts fields: an lvalue of any type for copyable
// aggregates, a prvalue for move-only ones. (Boost.PFR's own tuple_size_v makes g++ 12 crash on a
// member of type std::array<std::string, N>, so annal counts with the same idea, in one step.)
struct any_lvalue {
  template <class U>
  operator U&() const&& noexcept;
  template <class U>
  operator U&() const& noexcept;
};
struct any_rvalue {
  template <class U>
  operator U() const&& noexcept;
};

template <class T, std::size_t... I>
constexpr bool initializable_from(std::index_sequence<I...>) {
  using any = std::conditional_t<std::is_copy_constructible_v<T>, any_lvalue, any_rvalue>;
  return requires { T{(void(I), any{})...}; };
}

template <class T>
constexpr std::size_t reflected_member_count() {
  return decltype(boost::hana::length(boost::hana::accessors<T>()))::value;
}

template <class T>
constexpr bool reflects_a_c_array() {
  bool found = false;
  boost::hana::for_each(boost::hana::accessors<T>(), [&](auto pair) {
    using member = decltype(boost::hana::second(pair)(std::declval<T&>()));
    found = found || std::is_array_v<std::remove_cvref_t<member>>;
  });
  return found;
}

// Whether T's data members can be counted: an aggregate class without base classes (a base is
// one more element of aggregate initialization, whatever its members), copyable or movable, and
// without C arrays among the listed members (brace elision spreads an array over several
// initializers; the codecs reject C arrays with their own message).
template <class T>
constexpr bool member_count_checkable() {
  if constexpr (!std::is_class_v<T> || std::is_union_v<T> || !std::is_aggregate_v<T>) {
    return false;
  } else if constexpr (requires { T{to_base_of<T>{}}; }) {
    return false;
  } else if constexpr (!std::is_copy_constructible_v<T> && !std::is_move_constructible_v<T>) {
    return false;
  } else {
    return !reflects_a_c_array<T>();
  }
}

// True when T's reflection lists all its data members, or when they cannot be counted (a type
// with constructors or base classes: see docs/codec.md); otherwise stops compilation. An aggregate
// that accepts one initializer more than its reflection lists has a data member left out.
template <class T>
constexpr bool check_every_member_reflected() {
  if constexpr (!member_count_checkable<T>()) {
    return true;
  } else if constexpr (initializable_from<T>(
                           std::make_index_sequence<reflected_member_count<T>() + 1>{})) {
    // An error here: the struct has a data member its BOOST_HANA_ADAPT_STRUCT does not list; the
    // type and the number listed are named by reflection_leaves_out_a_data_member<T, listed>.
    (void)sizeof(reflection_leaves_out_a_data_member<T, reflected_member_count<T>()>);
    static_assert(always_false_v<T>,
                  "annal: a reflected struct has a data member its reflection does not list, so it "
                  "would be silently lost from stored events and snapshots; every data member must "
                  "be listed in BOOST_HANA_ADAPT_STRUCT / BOOST_HANA_DEFINE_STRUCT");
    return false;
  } else {
    return true;
  }
}

// Calls f(name, member) for each member of a reflected object, in declaration order.
template <class T, class F>
constexpr void for_each_member(T& object, F&& f) {
  static_assert(check_every_member_reflected<std::remove_const_t<T>>());
  boost::hana::for_each(boost::hana::accessors<std::remove_const_t<T>>(), [&](auto pair) {
    f(boost::hana::to<char const*>(boost::hana::first(pair)), boost::hana::second(pair)(object));
  });
}

// Calls f(name, std::type_identity<M>{}) for each member type M of a reflected type, without an
// object.
template <class T, class F>
constexpr void for_each_member_type(F&& f) {
  static_assert(check_every_member_reflected<T>());
  boost::hana::for_each(boost::hana::accessors<T>(), [&](auto pair) {
    using member = std::remove_cvref_t<decltype(boost::hana::second(pair)(std::declval<T&>()))>;
    f(boost::hana::to<char const*>(boost::hana::first(pair)), std::type_identity<member>{});
  });
}

template <class T>
inline constexpr bool is_vector_v = false;
template <class T, class A>
inline constexpr bool is_vector_v<std::vector<T, A>> = true;

template <class T>
inline constexpr bool is_std_array_v = false;
template <class T, std::size_t N>
inline constexpr bool is_std_array_v<std::array<T, N>> = true;

template <class T>
inline constexpr bool is_optional_v = false;
template <class T>
inline constexpr bool is_optional_v<std::optional<T>> = true;

template <class T>
inline constexpr bool is_variant_v = false;
template <class... T>
inline constexpr bool is_variant_v<std::variant<T...>> = true;

template <class T>
inline constexpr bool is_ordered_map_v = false;
template <class K, class V, class C, class A>
inline constexpr bool is_ordered_map_v<std::map<K, V, C, A>> = true;

template <class T>
inline constexpr bool is_unordered_map_v = false;
template <class K, class V, class H, class E, class A>
inline constexpr bool is_unordered_map_v<std::unordered_map<K, V, H, E, A>> = true;

template <class T>
inline constexpr bool is_map_v = is_ordered_map_v<T> || is_unordered_map_v<T>;

template <class T>
inline constexpr bool is_duration_v = false;
template <class R, class P>
inline constexpr bool is_duration_v<std::chrono::duration<R, P>> = true;

template <class T>
inline constexpr bool is_time_point_v = false;
template <class C, class D>
inline constexpr bool is_time_point_v<std::chrono::time_point<C, D>> = true;

template <class T>
inline constexpr bool is_uuid_v = std::is_same_v<T, boost::uuids::uuid>;

template <class T>
inline constexpr bool is_monostate_v = std::is_same_v<T, std::monostate>;

template <class T>
inline constexpr bool is_string_v = std::is_same_v<T, std::string>;

// Calls f(key, value) for each entry; unordered maps in key order, so that equal maps encode to
// equal bytes (golden files, hashes, deduplication).
template <class Map, class F>
void for_each_entry_in_order(const Map& m, F&& f) {
  if constexpr (is_unordered_map_v<Map> && requires(const typename Map::key_type& k) { k < k; }) {
    std::vector<const typename Map::value_type*> sorted;
    sorted.reserve(m.size());
    for (const auto& kv : m) sorted.push_back(&kv);
    std::sort(sorted.begin(), sorted.end(), [](auto* a, auto* b) { return a->first < b->first; });
    for (const auto* kv : sorted) f(kv->first, kv->second);
  } else {
    for (const auto& [key, value] : m) f(key, value);
  }
}

// Integers of 1, 2, 4 or 8 bytes (char types included), never bool.
template <class T>
concept codec_integer = std::is_integral_v<T> && !std::is_same_v<T, bool> &&
                        (sizeof(T) == 1 || sizeof(T) == 2 || sizeof(T) == 4 || sizeof(T) == 8);

// IEEE 754 binary32 and binary64 only: long double has no portable layout.
template <class T>
concept codec_float = std::is_floating_point_v<T> && std::numeric_limits<T>::is_iec559 &&
                      (sizeof(T) == 4 || sizeof(T) == 8);

// The name a scalar has in error messages and in docs/codec.md.
template <class T>
consteval const char* scalar_name() {
  if constexpr (std::is_same_v<T, bool>) {
    return "bool";
  } else if constexpr (codec_float<T>) {
    return sizeof(T) == 4 ? "float32" : "float64";
  } else if constexpr (std::is_signed_v<T>) {
    constexpr const char* names[] = {"int8", "int16", "", "int32", "", "", "", "int64"};
    return names[sizeof(T) - 1];
  } else {
    constexpr const char* names[] = {"uint8", "uint16", "", "uint32", "", "", "", "uint64"};
    return names[sizeof(T) - 1];
  }
}

}  // namespace annal::detail
