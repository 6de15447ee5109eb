// Equality for test expectations: operator== where a type has one, else field by field via Hana.
#pragma once

#include <annal/testing/print.hpp>
#include <boost/hana/accessors.hpp>
#include <boost/hana/for_each.hpp>
#include <boost/hana/second.hpp>
#include <concepts>
#include <cstddef>
#include <iterator>
#include <optional>
#include <ranges>
#include <string>
#include <type_traits>
#include <variant>

namespace annal::testing {

namespace diagnostic {
// Never defined: when it appears in an error, its template argument is the type that needs one.
template <class Type>
struct type_has_neither_operator_equals_nor_hana_reflection;
}  // namespace diagnostic

namespace detail {
template <class...>
inline constexpr bool always_false = false;
}

// True when `a` and `b` hold the same value. Users need not write operator== for their events:
// BOOST_HANA_DEFINE_STRUCT is enough. Ranges compare element by element with the same rule, since
// std::vector's operator== claims to exist even when its elements have none.
template <class T>
bool equal(const T& a, const T& b) {
  if constexpr (detail::is_variant_v<T>) {
    if (a.index() != b.index()) return false;
    return std::visit(
        [&](const auto& left) {
          return equal(left, *std::get_if<std::remove_cvref_t<decltype(left)>>(&b));
        },
        a);
  } else if constexpr (detail::is_optional_v<T>) {
    if (a.has_value() != b.has_value()) return false;
    return !a.has_value() || equal(*a, *b);
  } else if constexpr (std::ranges::forward_range<const T> && !detail::string_like<T>) {
    auto left = std::ranges::begin(a);
    auto right = std::ranges::begin(b);
    for (; left != std::ranges::end(a) && right != std::ranges::end(b); ++left, ++right)
      if (!equal(*left, *right)) return false;
    return left == std::ranges::end(a) && right == std::ranges::end(b);
  } else if constexpr (std::equality_comparable<T>) {
    return a == b;
  } else if constexpr (reflected<T>) {
    bool same = true;
    boost::hana::for_each(boost::hana::accessors<T>(), [&](const auto& field) {
      same = same && equal(boost::hana::second(field)(a), boost::hana::second(field)(b));
    });
    return same;
  } else {
    // An error here: the type of an expected value can be compared neither with operator== nor
    // field by field. Give it `friend bool operator==(const T&, const T&) = default;` or declare
    // its fields with BOOST_HANA_DEFINE_STRUCT.
    (void)sizeof(diagnostic::type_has_neither_operator_equals_nor_hana_reflection<T>);
    static_assert(detail::always_false<T>,
                  "annal::testing: cannot compare this type; give it operator== or declare its "
                  "fields with BOOST_HANA_DEFINE_STRUCT");
    return false;
  }
}

}  // namespace annal::testing
