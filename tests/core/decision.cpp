// Tests for core/decision.hpp: events, several events, none, rejections, and decide_command.
#include <annal/core/decision.hpp>
#include <catch2/catch.hpp>
#include <string>
#include <type_traits>
#include <variant>
#include <vector>

#include "common/bank_domain.hpp"

namespace {
bank::account open_account(long balance) {
  bank::account a;
  a.id = "acc-1";
  a.is_open = true;
  a.balance = balance;
  return a;
}
bank::wallet open_wallet(long balance) {
  bank::wallet w;
  w.is_open = true;
  w.balance = balance;
  return w;
}
}  // namespace

TEST_CASE("a decision from one event holds that event", "[core][decision]") {
  const annal::decision<bank::account> d = bank::deposited{5};
  REQUIRE_FALSE(d.rejected());
  REQUIRE(d.events().size() == 1);
  REQUIRE(std::holds_alternative<bank::deposited>(d.events()[0]));
  CHECK(std::get<bank::deposited>(d.events()[0]).cents == 5);
}

TEST_CASE("emit makes a decision of several events, in order", "[core][decision]") {
  const annal::decision<bank::account> d = annal::emit(bank::withdrawn{3}, bank::closed{"bye"});
  REQUIRE_FALSE(d.rejected());
  REQUIRE(d.events().size() == 2);
  CHECK(std::get<bank::withdrawn>(d.events()[0]).cents == 3);
  CHECK(std::get<bank::closed>(d.events()[1]).reason == "bye");

  std::vector<annal::aggregate_event_t<bank::account>> list{bank::deposited{1}, bank::deposited{2}};
  annal::decision<bank::account> from_vector = list;
  CHECK(from_vector.events().size() == 2);
  auto taken = std::move(from_vector).take_events();
  CHECK(taken.size() == 2);
}

TEST_CASE("an empty decision accepts the command with no events", "[core][decision]") {
  const annal::decision<bank::account> d;
  CHECK_FALSE(d.rejected());
  CHECK(d.events().empty());
}

TEST_CASE("the default rejection carries a reason", "[core][decision]") {
  STATIC_REQUIRE(std::is_same_v<annal::rejection_t<bank::account>, annal::rejection>);
  const annal::decision<bank::account> d = annal::reject("insufficient funds");
  REQUIRE(d.rejected());
  CHECK(d.rejection().reason == "insufficient funds");
  CHECK(d.rejection() == annal::rejection{"insufficient funds"});
}

TEST_CASE("an aggregate names its own rejection type", "[core][decision]") {
  STATIC_REQUIRE(std::is_same_v<annal::rejection_t<bank::wallet>, bank::refusal>);
  STATIC_REQUIRE(std::is_same_v<annal::decision<bank::wallet>::rejection_type, bank::refusal>);
  const annal::decision<bank::wallet> d = bank::refusal::insufficient_funds;
  REQUIRE(d.rejected());
  CHECK(d.rejection() == bank::refusal::insufficient_funds);
  // Only the aggregate's own rejection converts: a reason string does not.
  STATIC_REQUIRE(!std::is_convertible_v<annal::rejection, annal::decision<bank::wallet>>);
}

TEST_CASE("a decision takes only the aggregate's own events", "[core][decision]") {
  STATIC_REQUIRE(std::is_convertible_v<bank::deposited, annal::decision<bank::wallet>>);
  STATIC_REQUIRE(!std::is_convertible_v<bank::closed, annal::decision<bank::wallet>>);
  STATIC_REQUIRE(!std::is_convertible_v<annal::emitted<bank::deposited, bank::closed>,
                                        annal::decision<bank::wallet>>);
}

TEST_CASE("decide_command calls a free decide function", "[core][decision]") {
  STATIC_REQUIRE(annal::decider_for<bank::account, bank::withdraw>);
  STATIC_REQUIRE(!annal::decider_for<bank::account, int>);
  const auto ok = annal::decide_command(open_account(100), bank::withdraw{40});
  REQUIRE_FALSE(ok.rejected());
  CHECK(std::get<bank::withdrawn>(ok.events().at(0)).cents == 40);

  const auto refused = annal::decide_command(open_account(10), bank::withdraw{40});
  REQUIRE(refused.rejected());
  CHECK(refused.rejection().reason == "insufficient funds");

  const auto closing = annal::decide_command(open_account(10), bank::close{});
  CHECK(closing.events().size() == 2);
  const auto closing_closed = annal::decide_command(bank::account{}, bank::close{});
  CHECK_FALSE(closing_closed.rejected());
  CHECK(closing_closed.events().empty());
}

TEST_CASE("decide_command calls a member decide function", "[core][decision]") {
  STATIC_REQUIRE(annal::decider_for<bank::wallet, bank::deposit>);
  STATIC_REQUIRE(!annal::decider_for<bank::wallet, bank::close>);
  const auto ok = annal::decide_command(open_wallet(0), bank::deposit{9});
  REQUIRE_FALSE(ok.rejected());
  CHECK(std::get<bank::deposited>(ok.events().at(0)).cents == 9);

  const auto refused = annal::decide_command(bank::wallet{}, bank::deposit{9});
  REQUIRE(refused.rejected());
  CHECK(refused.rejection() == bank::refusal::not_open);
}
