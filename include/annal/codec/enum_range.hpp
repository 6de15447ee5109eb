// How a codec knows which values of an enum are valid: a declared contiguous range, checked on
// decode.
#pragma once

#include <concepts>
#include <type_traits>

namespace annal {

// The valid values of an enum are first..last inclusive (by underlying value).
template <class E>
struct enum_range {
  E first;
  E last;
};

// Declare an enum's valid range. Write it in the enum's own namespace (it defines a function found
// by argument-dependent lookup):
//   enum class side : std::uint8_t { buy, sell };
//   ANNAL_ENUM_RANGE(side, side::buy, side::sell);
#define ANNAL_ENUM_RANGE(type, first_value, last_value)                                         \
  [[maybe_unused]] constexpr ::annal::enum_range<type> annal_enum_range(const type*) noexcept { \
    return ::annal::enum_range<type>{first_value, last_value};                                  \
  }

// For an enum you cannot change, specialize:
//   template <> struct annal::enum_traits<their::color> {
//     static constexpr annal::enum_range<their::color> range{their::color::red,
//     their::color::blue}; };
template <class E>
struct enum_traits {};

namespace detail {
template <class E>
concept has_traits_enum_range = requires {
  { enum_traits<E>::range } -> std::convertible_to<enum_range<E>>;
};
template <class E>
concept has_adl_enum_range = requires(const E* p) {
  { annal_enum_range(p) } -> std::same_as<enum_range<E>>;
};

template <class E>
consteval enum_range<E> find_enum_range() {
  if constexpr (has_traits_enum_range<E>)
    return enum_traits<E>::range;
  else
    return annal_enum_range(static_cast<const E*>(nullptr));
}
}  // namespace detail

// An enum the codecs can store: its valid range is declared, so a stray value is refused on decode.
template <class E>
concept codec_enum =
    std::is_enum_v<E> && (detail::has_traits_enum_range<E> || detail::has_adl_enum_range<E>);

template <codec_enum E>
inline constexpr std::underlying_type_t<E> enum_first_v =
    static_cast<std::underlying_type_t<E>>(detail::find_enum_range<E>().first);
template <codec_enum E>
inline constexpr std::underlying_type_t<E> enum_last_v =
    static_cast<std::underlying_type_t<E>>(detail::find_enum_range<E>().last);

}  // namespace annal
