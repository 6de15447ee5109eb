// What makes a type an event: a stable stored name and a schema version, declared three ways.
#pragma once

#include <concepts>
#include <cstdint>
#include <string_view>
#include <type_traits>

namespace annal {

// The identity an event keeps in storage, whatever the C++ type is called today.
struct event_info {
  std::string_view name;
  std::uint32_t version = 1;
};

// Declare an event's stored name and schema version. Write it in the event's own namespace
// (it defines a function found by argument-dependent lookup):
//   struct deposited { ... };
//   ANNAL_EVENT(deposited, "bank.deposited", 1);
#define ANNAL_EVENT(type, stored_name, schema_version)                                    \
  [[maybe_unused]] constexpr ::annal::event_info annal_event_info(const type*) noexcept { \
    return ::annal::event_info{stored_name, schema_version};                              \
  }

// The customization point; rarely needed by hand. Specialize it for a type you cannot change:
//   template <> struct annal::event_traits<their::thing> {
//     static constexpr annal::event_info info{"their.thing", 1}; };
// The primary template finds, in order: the ANNAL_EVENT declaration, or the members
// `static constexpr std::string_view event_name` and `static constexpr std::uint32_t
// event_version`.
template <class E>
struct event_traits {};

namespace detail {
template <class E>
concept has_adl_event_info = requires(const E* p) {
  { annal_event_info(p) } -> std::same_as<event_info>;
};
template <class E>
concept has_member_event_info = requires {
  { E::event_name } -> std::convertible_to<std::string_view>;
};
template <class E>
concept has_traits_event_info = requires {
  { event_traits<E>::info } -> std::convertible_to<event_info>;
};

template <class E>
consteval event_info find_event_info() {
  if constexpr (has_traits_event_info<E>) {
    return event_traits<E>::info;
  } else if constexpr (has_adl_event_info<E>) {
    return annal_event_info(static_cast<const E*>(nullptr));
  } else if constexpr (requires { E::event_version; }) {
    return event_info{E::event_name, static_cast<std::uint32_t>(E::event_version)};
  } else {
    return event_info{E::event_name, 1};
  }
}
}  // namespace detail

// A type is an event when it is a plain value type that declares its stored name.
template <class E>
concept event = std::is_object_v<E> && !std::is_const_v<E> && std::copy_constructible<E> &&
                std::is_nothrow_move_constructible_v<E> &&
                (detail::has_traits_event_info<E> || detail::has_adl_event_info<E> ||
                 detail::has_member_event_info<E>);

template <event E>
inline constexpr event_info event_info_of = detail::find_event_info<E>();

template <event E>
inline constexpr std::string_view event_name_of = event_info_of<E>.name;

template <event E>
inline constexpr std::uint32_t event_version_of = event_info_of<E>.version;

}  // namespace annal
