// Printing values for test messages: events as `stored.name{field=value, ...}` via Hana reflection.
#pragma once

#include <annal/core/event.hpp>
#include <boost/core/demangle.hpp>
#include <boost/hana/accessors.hpp>
#include <boost/hana/concept/struct.hpp>
#include <boost/hana/first.hpp>
#include <boost/hana/for_each.hpp>
#include <boost/hana/second.hpp>
#include <boost/hana/string.hpp>
#include <concepts>
#include <cstddef>
#include <optional>
#include <ostream>
#include <ranges>
#include <sstream>
#include <string>
#include <string_view>
#include <type_traits>
#include <typeinfo>
#include <utility>
#include <variant>

namespace annal::testing {

// A type whose fields Hana can list: declared with BOOST_HANA_DEFINE_STRUCT or
// BOOST_HANA_ADAPT_STRUCT.
template <class T>
concept reflected = boost::hana::Struct<T>::value;

template <class T>
concept streamable = requires(std::ostream& os, const T& value) { os << value; };

namespace detail {
template <class T>
inline constexpr bool is_variant_v = false;
template <class... T>
inline constexpr bool is_variant_v<std::variant<T...>> = true;

template <class T>
inline constexpr bool is_optional_v = false;
template <class T>
inline constexpr bool is_optional_v<std::optional<T>> = true;

template <class T>
concept string_like = std::is_convertible_v<const T&, std::string_view>;

inline void print_quoted(std::ostream& os, std::string_view text) {
  os << '"';
  for (const char c : text) {
    switch (c) {
      case '"':
        os << "\\\"";
        break;
      case '\\':
        os << "\\\\";
        break;
      case '\n':
        os << "\\n";
        break;
      case '\t':
        os << "\\t";
        break;
      default:
        os << c;
    }
  }
  os << '"';
}
}  // namespace detail

// The C++ name of a type, readable (demangled).
template <class T>
std::string type_name() {
  return boost::core::demangle(typeid(T).name());
}

// The name a value prints under: an event's stored name, which is what the log holds, else its
// C++ type name.
template <class T>
std::string printed_name() {
  if constexpr (event<T>)
    return std::string(event_name_of<T>);
  else
    return type_name<T>();
}

template <class T>
void print(std::ostream& os, const T& value);

// `name{field=value, ...}` for a reflected type.
template <reflected T>
void print_fields(std::ostream& os, const T& value) {
  os << printed_name<T>() << '{';
  bool first = true;
  boost::hana::for_each(boost::hana::accessors<T>(), [&](const auto& field) {
    if (!first) os << ", ";
    first = false;
    os << boost::hana::to<const char*>(boost::hana::first(field)) << '=';
    print(os, boost::hana::second(field)(value));
  });
  os << '}';
}

// Prints any value as readably as its type allows: reflected structs field by field, then
// operator<<, then an event's stored name; strings quoted, variants as their alternative.
template <class T>
void print(std::ostream& os, const T& value) {
  if constexpr (std::is_same_v<T, bool>) {
    os << (value ? "true" : "false");
  } else if constexpr (std::is_same_v<T, char>) {
    os << '\'' << value << '\'';
  } else if constexpr (std::is_arithmetic_v<T>) {
    os << +value;  // promoted, so that small integer types print as numbers
  } else if constexpr (detail::string_like<T>) {
    detail::print_quoted(os, std::string_view(value));
  } else if constexpr (detail::is_variant_v<T>) {
    std::visit([&](const auto& alternative) { print(os, alternative); }, value);
  } else if constexpr (detail::is_optional_v<T>) {
    if (value)
      print(os, *value);
    else
      os << "nullopt";
  } else if constexpr (reflected<T>) {
    print_fields(os, value);
  } else if constexpr (streamable<T>) {
    os << value;
  } else if constexpr (event<T>) {
    os << event_name_of<T>;  // not reflected: its fields are unknown, its stored name is not
  } else if constexpr (std::is_enum_v<T>) {
    os << type_name<T>() << '(' << +static_cast<std::underlying_type_t<T>>(value) << ')';
  } else if constexpr (std::ranges::input_range<const T>) {
    os << '[';
    bool first = true;
    for (const auto& element : value) {
      if (!first) os << ", ";
      first = false;
      print(os, element);
    }
    os << ']';
  } else {
    os << type_name<T>() << "{?}";  // nothing to show but its type
  }
}

template <class T>
std::string to_text(const T& value) {
  std::ostringstream os;
  print(os, value);
  return os.str();
}

}  // namespace annal::testing
