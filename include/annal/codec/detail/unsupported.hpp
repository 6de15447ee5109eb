// The diagnostics a codec gives for a member type it cannot store, naming the type as {fmt} does.
#pragma once

namespace annal {

// Declared, never defined: an error mentioning this type names the member type no codec can store.
// Supported: integers, float, double, bool, enums with ANNAL_ENUM_RANGE, std::string, std::vector,
// std::array, std::optional, std::map, std::unordered_map, std::variant, std::chrono durations and
// time points, boost::uuids::uuid, and structs reflected with BOOST_HANA_DEFINE_STRUCT or
// BOOST_HANA_ADAPT_STRUCT. See docs/codec.md.
template <class T>
struct codec_cannot_store_type;

// Declared, never defined: the enum needs ANNAL_ENUM_RANGE(type, first, last) in its namespace.
template <class E>
struct enum_needs_a_declared_range;

namespace detail {
template <class>
inline constexpr bool always_false_v = false;
}  // namespace detail

}  // namespace annal

// Used in the final `else` of a codec's dispatch on the shape of T.
#define ANNAL_CODEC_REJECT_TYPE(T)                                                               \
  do {                                                                                           \
    if constexpr (std::is_enum_v<T>) {                                                           \
      (void)sizeof(::annal::enum_needs_a_declared_range<T>);                                     \
      static_assert(::annal::detail::always_false_v<T>,                                          \
                    "annal codecs store an enum only when its valid values are declared: write " \
                    "ANNAL_ENUM_RANGE(type, first, last) beside the enum (see docs/codec.md)");  \
    } else {                                                                                     \
      (void)sizeof(::annal::codec_cannot_store_type<T>);                                         \
      static_assert(::annal::detail::always_false_v<T>,                                          \
                    "annal codecs cannot store this member type; reflect structs with "          \
                    "BOOST_HANA_DEFINE_STRUCT and see docs/codec.md for the supported types");   \
    }                                                                                            \
  } while (false)
