// The file log's table of event ids (file/detail/id_table.hpp) against std::unordered_map, and the
// check for a stream listed twice in an index file; neither drags Boost's hash into the file log.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <annal/file/detail/id_table.hpp>
#include <annal/file/detail/segment_index.hpp>
#include <annal/file/log.hpp>

namespace {

using annal::event_id;
using annal::detail::file_log::id_table;

event_id id_of(std::uint64_t n) {
  event_id id{};
  std::memcpy(id.data + 4, &n, sizeof n);
  return id;
}

// Every id the model holds is found at its position, and `absent` ids are not found.
void check_same(const id_table& table,
                const std::unordered_map<std::uint64_t, std::uint64_t>& model,
                std::uint64_t absent_from) {
  REQUIRE(table.size() == model.size());
  for (const auto& [n, position] : model) REQUIRE(table.find(id_of(n)) == position);
  for (std::uint64_t n = absent_from; n < absent_from + 64; ++n) REQUIRE(table.find(id_of(n)) == 0);
}

}  // namespace

TEST_CASE("file_log id table: an empty table finds nothing and erases nothing",
          "[store][file_log][id_table]") {
  id_table table;
  CHECK(table.size() == 0);
  CHECK(table.find(id_of(1)) == 0);
  table.erase(id_of(1));
  CHECK(table.size() == 0);
  CHECK(table.insert(id_of(1), 7));
  CHECK(table.find(id_of(1)) == 7);
}

TEST_CASE("file_log id table: an id entered twice keeps its first position",
          "[store][file_log][id_table]") {
  id_table table;
  CHECK(table.insert(id_of(42), 1));
  CHECK_FALSE(table.insert(id_of(42), 2));
  CHECK(table.size() == 1);
  CHECK(table.find(id_of(42)) == 1);
}

TEST_CASE("file_log id table: inserts, erases and growth agree with std::unordered_map",
          "[store][file_log][id_table]") {
  // Small tables near their fullest wrap their probes around the end and make long runs, where an
  // erase must move the entries after it back; growth rehashes everything.
  std::mt19937_64 random(GENERATE(1u, 2u, 3u));
  const std::uint64_t universe = GENERATE(24u, 200u, 5000u);
  id_table table;
  std::unordered_map<std::uint64_t, std::uint64_t> model;
  std::uint64_t next_position = 1;
  for (int step = 0; step < 20000; ++step) {
    const std::uint64_t n = random() % universe;
    if (random() % 3 == 0) {
      table.erase(id_of(n));
      model.erase(n);
    } else {
      const bool added = model.emplace(n, next_position).second;
      REQUIRE(table.insert(id_of(n), next_position) == added);
      ++next_position;
    }
    if (step % 997 == 0) check_same(table, model, universe);
  }
  check_same(table, model, universe);
  // Emptied again, in another order than entered.
  std::vector<std::uint64_t> keys;
  for (const auto& entry : model) keys.push_back(entry.first);
  std::shuffle(keys.begin(), keys.end(), random);
  for (std::uint64_t n : keys) {
    table.erase(id_of(n));
    model.erase(n);
  }
  check_same(table, model, 0);
}

TEST_CASE("file_log id table: reserving keeps what is there", "[store][file_log][id_table]") {
  id_table table;
  std::unordered_map<std::uint64_t, std::uint64_t> model;
  for (std::uint64_t n = 0; n < 100; ++n) {
    table.insert(id_of(n), n + 1);
    model.emplace(n, n + 1);
  }
  table.reserve(100000);
  check_same(table, model, 100);
  table.reserve(10);  // never shrinks
  check_same(table, model, 100);
}

TEST_CASE("file_log index: a stream listed twice in an index file's table is found",
          "[store][file_log][index]") {
  using annal::detail::file_log::listed_twice;
  CHECK_FALSE(listed_twice({}));
  CHECK_FALSE(listed_twice({"a", "b", "ab", ""}));
  CHECK(listed_twice({"a", "b", "a"}));
  CHECK(listed_twice({"", ""}));
  std::vector<std::string> names;
  for (int i = 0; i < 1000; ++i) names.push_back("account-" + std::to_string(i));
  std::vector<std::string_view> views(names.begin(), names.end());
  CHECK_FALSE(listed_twice(views));
  views.push_back(names[617]);
  CHECK(listed_twice(views));
}

TEST_CASE("file_log: its headers leave Boost's hash and <complex> out", "[store][file_log]") {
  // boost::unordered_flat_map, the id table before, parsed <cmath>, <complex> and <sstream>
  // through boost::hash in every program using the file log (issue 22).
#if defined(BOOST_UNORDERED_UNORDERED_FLAT_MAP_HPP_INCLUDED) || \
    defined(BOOST_FUNCTIONAL_HASH_HASH_HPP)
  constexpr bool boost_hash = true;
#else
  constexpr bool boost_hash = false;
#endif
  CHECK_FALSE(boost_hash);
}
