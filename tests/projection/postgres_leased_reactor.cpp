// A reactor shared through PostgreSQL segment leases: every event reached once by one worker, a
// worker that lost its segment reacting to nothing more, a batch lost while reacting repeated by
// the next owner (at least once).
#include <annal/postgres/leased_reactor_runner.hpp>

#include <catch2/catch.hpp>

#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/eventually.hpp"
#include "projection/domain.hpp"
#include "sql/postgres_fixture.hpp"

using namespace std::chrono_literals;

using annal_test::eventually;

namespace {

// Counts its reactions per event position: a side effect the test can inspect.
struct counter {
  using events = annal::events<bank::deposited>;
  std::function<void()> before_each{};
  std::map<std::uint64_t, int> seen;
  void react(const bank::deposited&, const annal::envelope_header& h) {
    if (before_each) before_each();
    ++seen[h.position];
  }
};

// How often each deposit's position was reacted to, over every reactor given.
std::map<std::uint64_t, int> reactions(std::initializer_list<const std::vector<counter>*> all) {
  std::map<std::uint64_t, int> out;
  for (const auto* reactors : all)
    for (const counter& c : *reactors)
      for (const auto& [position, n] : c.seen) out[position] += n;
  return out;
}

std::vector<counter*> pointers(std::vector<counter>& reactors) {
  std::vector<counter*> out;
  for (counter& c : reactors) out.push_back(&c);
  return out;
}

annal::postgres_leased_reactor_options options(std::string owner,
                                               std::chrono::milliseconds lease = 10s) {
  return {.name = "mailer",
          .lease = {.owner = std::move(owner), .lease = lease, .renew_interval = lease / 4},
          .reactor = {.batch_size = 1000, .start = annal::reactor_start::from_beginning}};
}

}  // namespace

TEST_CASE("a leased reactor reacts once to each event of the segments it holds",
          "[projection][postgres][leases][reactor]") {
  annal_test::postgres_fixture f;
  proj::append(f.store(), "before", bank::deposited{1});  // from_now: never reacted to
  // [postgres_leased_reactor_runner]
  std::vector<counter> reactors(3);  // one per segment: K = 3
  annal::postgres_leased_reactor_runner<counter> runner{
      f.store(), {&reactors[0], &reactors[1], &reactors[2]}, {.name = "mailer"}};
  // [postgres_leased_reactor_runner]
  for (int a = 0; a < 9; ++a)
    for (int d = 1; d <= 3; ++d)
      proj::append(f.store(), "acc-" + std::to_string(a), bank::deposited{d});
  proj::append(f.store(), "acc-0", bank::opened{"x"});  // not among its types
  {
    std::jthread worker([&](std::stop_token stop) { runner.run(stop); });
    REQUIRE(eventually([&] {
      for (std::size_t k = 0; k < 3; ++k)
        if (runner.checkpoint(k) != f.store().last_position()) return false;
      return true;
    }));
  }  // stopped: released
  CHECK(runner.owned().empty());
  const auto seen = reactions({&reactors});
  CHECK(seen.size() == 27);
  CHECK(seen.count(1) == 0);
  for (const auto& [position, n] : seen) CHECK(n == 1);
  // Each reactor saw only its own partition's streams.
  for (std::size_t k = 0; k < 3; ++k)
    for (const auto& entry : reactors[k].seen) {
      const std::uint64_t position = entry.first;  // a plain local: lambdas capture it everywhere
      const annal::recorded_event e = [&] {
        annal::recorded_event out;
        f.store().read_all(position, [&](const annal::recorded_event& r) {
          out = r;
          return false;
        });
        return out;
      }();
      CHECK(annal::partition_of(e.stream_id, 3) == k);
    }
}

TEST_CASE("a leased reactor that lost its segment reacts to nothing more",
          "[projection][postgres][leases][reactor]") {
  annal_test::postgres_fixture f;
  for (int d = 1; d <= 5; ++d) proj::append(f.store(), "acc-1", bank::deposited{d});
  std::vector<counter> zombie_reactors(1), heir_reactors(1);
  annal::postgres_leased_reactor_runner<counter> zombie{f.store(), pointers(zombie_reactors),
                                                        options("zombie", 1s)};
  annal::postgres_leased_reactor_runner<counter> heir{f.store(), pointers(heir_reactors),
                                                      options("heir", 1s)};
  zombie.maintain();
  REQUIRE(zombie.owned() == std::vector<std::size_t>{0});
  REQUIRE(eventually([&] {
    heir.maintain();
    return heir.owned().size() == 1;
  }));
  CHECK_THROWS_WITH(zombie.step(0), Catch::Contains("lease of segment 0 of projection 'mailer' "
                                                    "was taken over (token 1, now 2)"));
  CHECK(zombie_reactors[0].seen.empty());
  CHECK_FALSE(zombie.leases().owns(0));
  while (heir.step(0) != 0) continue;
  CHECK(heir_reactors[0].seen.size() == 5);
  CHECK(heir.checkpoint(0) == 5);
}

TEST_CASE("a batch whose lease is taken over while it reacts is repeated by the next owner",
          "[projection][postgres][leases][reactor]") {
  annal_test::postgres_fixture f;
  for (int d = 1; d <= 6; ++d)
    proj::append(f.store(), "acc-" + std::to_string(d), bank::deposited{d});
  std::vector<counter> zombie_reactors(1), heir_reactors(1);
  annal::postgres_leased_reactor_runner<counter> zombie{f.store(), pointers(zombie_reactors),
                                                        options("zombie", 1s)};
  annal::postgres_leased_reactor_runner<counter> heir{f.store(), pointers(heir_reactors),
                                                      options("heir", 1s)};
  zombie.maintain();
  // The zombie stalls on its first event past its lease; the heir claims the segment meanwhile.
  zombie_reactors[0].before_each = [&] {
    zombie_reactors[0].before_each = nullptr;
    REQUIRE(eventually([&] {
      heir.maintain();
      return heir.owned().size() == 1;
    }));
  };
  CHECK_THROWS_WITH(zombie.step(0), Catch::Contains("was taken over (token 1, now 2)"));
  CHECK(zombie_reactors[0].seen.size() == 6);  // it reacted, but its checkpoint was refused
  CHECK(heir.checkpoint(0) == 0);
  while (heir.step(0) != 0) continue;
  const auto seen = reactions({&zombie_reactors, &heir_reactors});
  CHECK(seen.size() == 6);
  for (const auto& [position, n] : seen) CHECK(n == 2);  // at least once: the batch, twice
  CHECK(heir.checkpoint(0) == 6);
}
