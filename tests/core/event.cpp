// Tests for core/event.hpp: the three ways to declare an event's identity, and the event concept.
#include <annal/core/event.hpp>
#include <catch2/catch.hpp>
#include <memory>
#include <string>
#include <string_view>

// [annal-event-macro]
namespace shop {
struct item_added {
  std::string sku;
  int quantity = 1;
};
// In the event's own namespace: the macro defines a function found by argument-dependent lookup.
ANNAL_EVENT(item_added, "shop.item_added", 2);
}  // namespace shop
// [annal-event-macro]

// [member-event-name]
namespace shop {
struct item_removed {
  static constexpr std::string_view event_name = "shop.item_removed";
  static constexpr std::uint32_t event_version = 3;
  std::string sku;
};
}  // namespace shop
// [member-event-name]

namespace shop {
struct cart_cleared {  // a member name without a version: version 1
  static constexpr std::string_view event_name = "shop.cart_cleared";
};
}  // namespace shop

// [event-traits]
namespace vendor {
struct price_changed {  // a type we cannot edit
  long cents;
};
}  // namespace vendor

template <>
struct annal::event_traits<vendor::price_changed> {
  static constexpr annal::event_info info{"vendor.price_changed", 4};
};
// [event-traits]

namespace shop {
// Declared both ways: the event_traits specialization is the override and wins.
struct discounted {
  int percent;
};
ANNAL_EVENT(discounted, "shop.discounted.macro", 1);
}  // namespace shop
template <>
struct annal::event_traits<shop::discounted> {
  static constexpr annal::event_info info{"shop.discounted.traits", 7};
};

namespace elsewhere {
struct shipped {
  int parcel;
};
}  // namespace elsewhere
namespace shop {
// Wrong namespace: argument-dependent lookup for elsewhere::shipped never looks in shop.
ANNAL_EVENT(elsewhere::shipped, "shop.shipped", 1);
}  // namespace shop

namespace bad {
struct no_name {
  int x;
};
struct wrong_name_type {
  static constexpr int event_name = 4;
};
struct move_only {
  std::unique_ptr<int> p;
};
ANNAL_EVENT(move_only, "bad.move_only", 1);
struct throwing_move {
  throwing_move() = default;
  throwing_move(const throwing_move&) {}
  throwing_move(throwing_move&&) noexcept(false) {}
};
ANNAL_EVENT(throwing_move, "bad.throwing_move", 1);
}  // namespace bad

TEST_CASE("ANNAL_EVENT declares the stored name and version", "[core][event]") {
  STATIC_REQUIRE(annal::event<shop::item_added>);
  STATIC_REQUIRE(annal::event_name_of<shop::item_added> == "shop.item_added");
  STATIC_REQUIRE(annal::event_version_of<shop::item_added> == 2);
  STATIC_REQUIRE(annal::event_info_of<shop::item_added>.name == "shop.item_added");
}

TEST_CASE("member event_name and event_version declare an event", "[core][event]") {
  STATIC_REQUIRE(annal::event<shop::item_removed>);
  STATIC_REQUIRE(annal::event_name_of<shop::item_removed> == "shop.item_removed");
  STATIC_REQUIRE(annal::event_version_of<shop::item_removed> == 3);
  STATIC_REQUIRE(annal::event<shop::cart_cleared>);
  STATIC_REQUIRE(annal::event_version_of<shop::cart_cleared> == 1);
}

TEST_CASE("an event_traits specialization declares an event and overrides the macro",
          "[core][event]") {
  STATIC_REQUIRE(annal::event<vendor::price_changed>);
  STATIC_REQUIRE(annal::event_name_of<vendor::price_changed> == "vendor.price_changed");
  STATIC_REQUIRE(annal::event_version_of<vendor::price_changed> == 4);
  STATIC_REQUIRE(annal::event_name_of<shop::discounted> == "shop.discounted.traits");
  STATIC_REQUIRE(annal::event_version_of<shop::discounted> == 7);
}

TEST_CASE("the event concept rejects types without an identity or that are not plain values",
          "[core][event]") {
  STATIC_REQUIRE(!annal::event<bad::no_name>);
  STATIC_REQUIRE(!annal::event<bad::wrong_name_type>);
  STATIC_REQUIRE(!annal::event<elsewhere::shipped>);
  STATIC_REQUIRE(!annal::event<int>);
  STATIC_REQUIRE(!annal::event<bad::move_only>);
  STATIC_REQUIRE(!annal::event<bad::throwing_move>);
  // Only the plain type is an event, never a cv-qualified or reference form of it.
  STATIC_REQUIRE(!annal::event<const shop::item_added>);
  STATIC_REQUIRE(!annal::event<shop::item_added&>);
  STATIC_REQUIRE(!annal::event<shop::item_added*>);
}

TEST_CASE("event identity is usable at run time", "[core][event]") {
  const annal::event_info info = annal::event_info_of<shop::item_added>;
  // Compared as std::string: Catch2's main may be built without its string_view printer.
  CHECK(std::string(info.name) == "shop.item_added");
  CHECK(info.version == 2);
  CHECK(std::string(annal::event_name_of<vendor::price_changed>) == "vendor.price_changed");
}
