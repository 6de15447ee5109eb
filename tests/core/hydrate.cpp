// Tests for core/hydrate.hpp: state as a fold of events, variants and envelopes; stopping points;
// determinism; no heap allocation per event.
#include <annal/core/as_of.hpp>
#include <annal/core/hydrate.hpp>
#include <array>
#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdlib>
#include <new>
#include <random>
#include <string>
#include <variant>
#include <vector>

#include "common/bank_domain.hpp"

#include "common/count_allocations.hpp"

using annal_test::allocation_count;

namespace {
using event = annal::aggregate_event_t<bank::account>;
using wallet_event = annal::aggregate_event_t<bank::wallet>;

annal::envelope<event> at(std::uint64_t version, event e, int second = 0) {
  annal::envelope<event> env;
  env.stream_id = "acc-1";
  env.stream_version = version;
  env.recorded_at = annal::time_point{std::chrono::seconds{second}};
  env.event = std::move(e);
  return env;
}

// A history of deposits and withdrawals, the same for the same seed.
template <class Event = event>
std::vector<Event> random_history(unsigned seed, std::size_t n) {
  std::mt19937 random(seed);
  std::uniform_int_distribution<long> cents(1, 1000);
  std::vector<Event> history{bank::opened{"acc-1"}};
  for (std::size_t i = 0; i < n; ++i) {
    if (random() % 3 == 0)
      history.emplace_back(bank::withdrawn{cents(random)});
    else
      history.emplace_back(bank::deposited{cents(random)});
  }
  return history;
}
}  // namespace

// [hydrate]
TEST_CASE("hydrate folds events, in order, into a default-constructed state", "[core][hydrate]") {
  const std::vector<annal::aggregate_event_t<bank::account>> history{
      bank::opened{"acc-1"}, bank::deposited{1000}, bank::withdrawn{300}};
  const bank::account account = annal::hydrate<bank::account>(history);
  CHECK(account.balance == 700);
}
// [hydrate]

TEST_CASE("hydrate folds plain events in order", "[core][hydrate]") {
  const std::vector<bank::deposited> deposits{{100}, {250}, {50}};
  const auto wallet_state = annal::hydrate<bank::wallet>(deposits);
  CHECK(wallet_state.balance == 400);

  const std::vector<event> history{bank::opened{"acc-1"}, bank::deposited{1000},
                                   bank::withdrawn{300}};
  const auto account = annal::hydrate<bank::account>(history);
  CHECK(account.id == "acc-1");
  CHECK(account.is_open);
  CHECK(account.balance == 700);
}

TEST_CASE("hydrate folds variants with apply members and with evolve functions",
          "[core][hydrate]") {
  const std::vector<wallet_event> history{bank::opened{"w"}, bank::deposited{40},
                                          bank::withdrawn{15}};
  const auto wallet = annal::hydrate<bank::wallet>(history);
  CHECK(wallet.is_open);
  CHECK(wallet.balance == 25);
}

TEST_CASE("hydrate folds envelopes", "[core][hydrate]") {
  const std::vector<annal::envelope<event>> log{
      at(1, bank::opened{"acc-1"}), at(2, bank::deposited{10}), at(3, bank::deposited{20})};
  CHECK(annal::hydrate<bank::account>(log).balance == 30);

  std::vector<annal::envelope<bank::deposited>> typed(2);
  typed[0].event.cents = 5;
  typed[1].event.cents = 6;
  CHECK(annal::hydrate<bank::wallet>(typed).balance == 11);
}

TEST_CASE("fold continues from a given state, as from a snapshot", "[core][hydrate]") {
  bank::account snapshot;
  snapshot.is_open = true;
  snapshot.balance = 500;
  const std::vector<event> later{bank::withdrawn{100}, bank::deposited{1}};
  CHECK(annal::fold(snapshot, later).balance == 401);
  CHECK(snapshot.balance == 500);  // taken by value: the snapshot itself is untouched
}

TEST_CASE("hydrate stops at a stream version or a recorded time", "[core][hydrate]") {
  const std::vector<annal::envelope<event>> log{
      at(1, bank::opened{"acc-1"}, 10), at(2, bank::deposited{10}, 20),
      at(3, bank::deposited{20}, 30), at(4, bank::withdrawn{5}, 40)};

  CHECK(annal::hydrate<bank::account>(log, annal::at_version{0}).balance == 0);
  CHECK_FALSE(annal::hydrate<bank::account>(log, annal::at_version{0}).is_open);
  CHECK(annal::hydrate<bank::account>(log, annal::at_version{2}).balance == 10);
  CHECK(annal::hydrate<bank::account>(log, annal::at_version{3}).balance == 30);
  CHECK(annal::hydrate<bank::account>(log, annal::at_version{99}).balance == 25);

  const auto second = [](int s) {
    return annal::at_time{annal::time_point{std::chrono::seconds{s}}};
  };
  CHECK_FALSE(annal::hydrate<bank::account>(log, second(9)).is_open);
  CHECK(annal::hydrate<bank::account>(log, second(20)).balance == 10);  // inclusive
  CHECK(annal::hydrate<bank::account>(log, second(29)).balance == 10);
  CHECK(annal::hydrate<bank::account>(log, second(40)).balance == 25);
}

TEST_CASE("hydration is deterministic and order matters where it should", "[core][hydrate]") {
  const auto history = random_history(20261123, 2000);
  const auto first = annal::hydrate<bank::account>(history);
  const auto second = annal::hydrate<bank::account>(random_history(20261123, 2000));
  CHECK(first.id == second.id);
  CHECK(first.is_open == second.is_open);
  CHECK(first.balance == second.balance);

  long expected = 0;
  for (const auto& e : history) {
    if (const auto* d = std::get_if<bank::deposited>(&e)) expected += d->cents;
    if (const auto* w = std::get_if<bank::withdrawn>(&e)) expected -= w->cents;
  }
  CHECK(first.balance == expected);

  // Opening and closing do not commute: the last one decides.
  const std::vector<event> open_then_close{bank::opened{"a"}, bank::closed{"done"}};
  const std::vector<event> close_then_open{bank::closed{"done"}, bank::opened{"a"}};
  CHECK_FALSE(annal::hydrate<bank::account>(open_then_close).is_open);
  CHECK(annal::hydrate<bank::account>(close_then_open).is_open);
}

namespace {
struct ticked {
  int by;
};
ANNAL_EVENT(ticked, "clock.ticked", 1);
struct ticks {
  using events = annal::events<ticked>;
  int total = 0;
  constexpr void apply(const ticked& e) { total = total * 10 + e.by; }
};
}  // namespace

TEST_CASE("hydration runs at compile time", "[core][hydrate]") {
  constexpr auto state = annal::hydrate<ticks>(std::array{ticked{1}, ticked{2}, ticked{3}});
  STATIC_REQUIRE(state.total == 123);
}

TEST_CASE("folding a vector of variants allocates nothing per event", "[core][hydrate]") {
  // The counter works: an explicit call to operator new, which the optimizer may not remove.
  const std::size_t before_probe = allocation_count.load();
  void* probe = ::operator new(16);
  ::operator delete(probe);
  REQUIRE(allocation_count.load() == before_probe + 1);

  const auto history = random_history(7, 10000);
  const auto wallet_history = random_history<wallet_event>(8, 10000);
  bank::account account;
  account.is_open = true;
  bank::wallet wallet;

  const std::size_t before = allocation_count.load();
  const auto folded = annal::fold(account, history);
  const auto folded_wallet = annal::fold(wallet, wallet_history);
  const std::size_t after = allocation_count.load();
  CHECK(after - before == 0);
  CHECK(folded.balance != 0);
  CHECK(folded_wallet.is_open);
}

// hydrate.hpp reads a variant's active alternative at the variant's own address (std::get_if's
// libstdc++ implementation costs O(n^2) templates). That rests on the standard library keeping the
// alternatives' union at offset 0; this checks it for every alternative of variants whose
// alternatives differ in size, alignment (over-aligned too) and emptiness, on the library in use.
namespace {
struct empty_alt {};
struct alignas(64) wide_alt {
  char bytes[100];
};
template <class V, std::size_t... I>
void check_alternatives_at_offset_0(std::index_sequence<I...>) {
  const auto one = []<std::size_t N>(std::integral_constant<std::size_t, N>) {
    V v(std::in_place_index<N>);
    const void* at = &annal::detail::alternative<N>(v);
    CHECK(at == static_cast<const void*>(std::get_if<N>(&v)));
    CHECK(at == static_cast<const void*>(&v));
  };
  (one(std::integral_constant<std::size_t, I>{}), ...);
}
template <class V>
void check_layout() {
  check_alternatives_at_offset_0<V>(std::make_index_sequence<std::variant_size_v<V>>{});
}
}  // namespace

TEST_CASE("every variant alternative lies at the variant's address, as hydration assumes",
          "[core][hydrate]") {
  check_layout<std::variant<char, double, empty_alt>>();
  check_layout<std::variant<empty_alt, wide_alt, std::int16_t, long double>>();
  check_layout<std::variant<std::vector<int>, std::string, std::array<char, 3>>>();
  check_layout<annal::event_variant_t<bank::account::events>>();
}
