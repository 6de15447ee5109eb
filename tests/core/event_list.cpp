// Tests for core/event_list.hpp: membership, indices, the variant, uniqueness on long lists.
#include <annal/core/event_list.hpp>
#include <array>
#include <catch2/catch.hpp>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

namespace lists {
struct a {
  int x;
};
struct b {
  int y;
};
struct c {
  int z;
};
struct a_again {  // a different type that claims a's stored name
  int x;
};
struct not_event {};
ANNAL_EVENT(a, "lists.a", 1);
ANNAL_EVENT(b, "lists.b", 1);
ANNAL_EVENT(c, "lists.c", 1);
ANNAL_EVENT(a_again, "lists.a", 2);

using abc = annal::events<a, b, c>;

// 256 distinct events, generated, to check the uniqueness checks on lists of that size.
template <std::size_t N>
struct numbered {};
template <std::size_t N>
struct renumbered {};

constexpr auto name_table = [] {
  std::array<std::array<char, 4>, 256> names{};
  for (std::size_t i = 0; i < names.size(); ++i)
    names[i] = {'n', static_cast<char>('0' + i / 100), static_cast<char>('0' + i / 10 % 10),
                static_cast<char>('0' + i % 10)};
  return names;
}();

template <class Seq, template <std::size_t> class T>
struct generated;
template <std::size_t... I, template <std::size_t> class T>
struct generated<std::index_sequence<I...>, T> {
  using type = annal::events<T<I>...>;
};
using many = generated<std::make_index_sequence<256>, numbered>::type;
using many_with_clash = generated<std::make_index_sequence<256>, renumbered>::type;
}  // namespace lists

template <std::size_t N>
struct annal::event_traits<lists::numbered<N>> {
  static constexpr annal::event_info info{{lists::name_table[N].data(), 4}, 1};
};
// The last one reuses the first one's name.
template <std::size_t N>
struct annal::event_traits<lists::renumbered<N>> {
  static constexpr annal::event_info info{{lists::name_table[N == 255 ? 0 : N].data(), 4}, 1};
};

using annal::detail::list_traits;

TEST_CASE("event lists are recognised as lists", "[core][event_list]") {
  STATIC_REQUIRE(annal::event_list<lists::abc>);
  STATIC_REQUIRE(annal::event_list<annal::events<>>);
  STATIC_REQUIRE(!annal::event_list<std::tuple<lists::a, lists::b>>);
  STATIC_REQUIRE(!annal::event_list<lists::a>);
  STATIC_REQUIRE(lists::abc::size == 3);
}

TEST_CASE("contains and index find a type's place in a list", "[core][event_list]") {
  STATIC_REQUIRE(annal::list_contains_v<lists::abc, lists::a>);
  STATIC_REQUIRE(annal::list_contains_v<lists::abc, lists::c>);
  STATIC_REQUIRE(!annal::list_contains_v<lists::abc, lists::a_again>);
  STATIC_REQUIRE(!annal::list_contains_v<lists::abc, const lists::a>);
  STATIC_REQUIRE(annal::list_index_v<lists::abc, lists::a> == 0);
  STATIC_REQUIRE(annal::list_index_v<lists::abc, lists::b> == 1);
  STATIC_REQUIRE(annal::list_index_v<lists::abc, lists::c> == 2);
  // Not found: the size of the list, like std::find's end.
  STATIC_REQUIRE(annal::list_index_v<lists::abc, lists::a_again> == 3);
  STATIC_REQUIRE(annal::list_index_v<lists::many, lists::numbered<200>> == 200);
}

TEST_CASE("the variant holds the list's events in order", "[core][event_list]") {
  STATIC_REQUIRE(std::is_same_v<annal::event_variant_t<lists::abc>,
                                std::variant<lists::a, lists::b, lists::c>>);
  annal::event_variant_t<lists::abc> v = lists::c{3};
  CHECK(v.index() == annal::list_index_v<lists::abc, lists::c>);
}

TEST_CASE("for_each_event_type visits each event once, in order", "[core][event_list]") {
  std::vector<std::string> names;
  annal::for_each_event_type<lists::abc>(
      [&](auto type) { names.emplace_back(annal::event_name_of<typename decltype(type)::type>); });
  CHECK(names == std::vector<std::string>{"lists.a", "lists.b", "lists.c"});
}

TEST_CASE("uniqueness checks find repeated types and repeated stored names", "[core][event_list]") {
  STATIC_REQUIRE(list_traits<lists::abc>::all_events);
  STATIC_REQUIRE(!list_traits<annal::events<lists::a, lists::not_event>>::all_events);
  STATIC_REQUIRE(list_traits<lists::abc>::types_unique());
  STATIC_REQUIRE(!list_traits<annal::events<lists::a, lists::b, lists::a>>::types_unique());
  STATIC_REQUIRE(!list_traits<annal::events<lists::b, lists::b>>::types_unique());
  STATIC_REQUIRE(list_traits<lists::abc>::names_unique());
  STATIC_REQUIRE(!list_traits<annal::events<lists::a, lists::b, lists::a_again>>::names_unique());
  STATIC_REQUIRE(list_traits<annal::events<>>::types_unique());
  STATIC_REQUIRE(list_traits<annal::events<>>::names_unique());
}

TEST_CASE("uniqueness checks scale to 256 events", "[core][event_list]") {
  STATIC_REQUIRE(lists::many::size == 256);
  STATIC_REQUIRE(list_traits<lists::many>::all_events);
  STATIC_REQUIRE(list_traits<lists::many>::types_unique());
  STATIC_REQUIRE(list_traits<lists::many>::names_unique());
  STATIC_REQUIRE(!list_traits<lists::many_with_clash>::names_unique());
  STATIC_REQUIRE(annal::event_name_of<lists::numbered<123>> == "n123");
}
