// Tests for testing/given_when_then.hpp: scenarios that pass, and scenarios that must fail.
#include <annal/testing/given_when_then.hpp>
#include <catch2/catch.hpp>
#include <string>

#include "common/bank_domain.hpp"

using annal::testing::scenario;

// [scenario-events]
TEST_CASE("a withdrawal within the balance is recorded", "[testing][given_when_then]") {
  scenario<bank::account>()
      .given(bank::opened{"acc-1"}, bank::deposited{1000})
      .when(bank::withdraw{500})
      .then(bank::withdrawn{500});
}
// [scenario-events]

// [scenario-rejected]
TEST_CASE("a withdrawal beyond the balance is rejected", "[testing][given_when_then]") {
  scenario<bank::account>()
      .given(bank::opened{"acc-1"})
      .when(bank::withdraw{500})
      .then_rejected(annal::reject("insufficient funds"));
}
// [scenario-rejected]

// [scenario-more]
TEST_CASE("closing pays out the balance, then closes", "[testing][given_when_then]") {
  scenario<bank::account>()
      .given(bank::opened{"acc-1"}, bank::deposited{300})
      .when(bank::close{})
      .then(bank::withdrawn{300}, bank::closed{"requested"})  // several events, in order
      .then_state([](const bank::account& s) { return !s.is_open && s.balance == 0; });

  scenario<bank::account>()  // closing twice changes nothing
      .given(bank::opened{"acc-1"}, bank::closed{"requested"})
      .when(bank::close{})
      .then_nothing();

  scenario<bank::account>()  // any rejection whose reason passes a predicate
      .when(bank::deposit{5})
      .then_rejected(
          [](const annal::rejection& r) { return r.reason.find("not open") != std::string::npos; });
}
// [scenario-more]

// [scenario-evolve]
TEST_CASE("scenarios work with evolve functions, member decide and custom rejections",
          "[testing][given_when_then]") {
  scenario<bank::wallet>()
      .given(bank::opened{"w"}, bank::deposited{10})
      .when(bank::withdraw{11})
      .then_rejected(bank::refusal::insufficient_funds);

  scenario<bank::wallet>()
      .given(bank::opened{"w"}, bank::deposited{10})
      .when(bank::withdraw{4})
      .then(bank::withdrawn{4})
      .then_state([](const bank::wallet& s) { CHECK(s.balance == 6); });
}
// [scenario-evolve]

TEST_CASE("a scenario can be built in steps and inspected", "[testing][given_when_then]") {
  scenario<bank::account> s;
  s.given(bank::opened{"acc-1"});
  s.given(bank::deposited{70}, bank::deposited{30});
  CHECK(s.history().size() == 3);
  const auto outcome = s.when(bank::withdraw{100});
  CHECK(outcome.given_state().balance == 100);
  CHECK(outcome.state().balance == 0);
  CHECK_FALSE(outcome.result().rejected());
  outcome.then(bank::withdrawn{100});
  // A rejected command leaves the given state as it was.
  CHECK(s.when(bank::withdraw{101}).state().balance == 100);
}

// These scenarios are wrong on purpose: each must record a failure, or Catch2 reports
// [!shouldfail] tests that pass as failures. The messages themselves are checked in check.cpp.
TEST_CASE("a scenario with the wrong events fails", "[testing][given_when_then][!shouldfail]") {
  scenario<bank::account>()
      .given(bank::opened{"acc-1"}, bank::deposited{1000})
      .when(bank::withdraw{500})
      .then(bank::withdrawn{400});
}

TEST_CASE("a scenario expecting events from a rejected command fails",
          "[testing][given_when_then][!shouldfail]") {
  scenario<bank::account>()
      .given(bank::opened{"acc-1"})
      .when(bank::withdraw{500})
      .then(bank::withdrawn{500});
}

TEST_CASE("a scenario expecting a rejection that does not happen fails",
          "[testing][given_when_then][!shouldfail]") {
  scenario<bank::account>()
      .given(bank::opened{"acc-1"}, bank::deposited{1000})
      .when(bank::withdraw{500})
      .then_rejected(annal::reject("insufficient funds"));
}

TEST_CASE("a scenario expecting nothing from a command that emits fails",
          "[testing][given_when_then][!shouldfail]") {
  scenario<bank::account>().given(bank::opened{"acc-1"}).when(bank::deposit{1}).then_nothing();
}

TEST_CASE("a scenario whose state predicate is false fails",
          "[testing][given_when_then][!shouldfail]") {
  scenario<bank::wallet>()
      .given(bank::opened{"w"})
      .when(bank::deposit{1})
      .then_state([](const bank::wallet& s) { return s.balance == 2; });
}
