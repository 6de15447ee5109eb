// Tests for testing/check.hpp: the verdicts and the exact messages a failing scenario reports.
#include <annal/testing/check.hpp>
#include <boost/hana/define_struct.hpp>
#include <catch2/catch.hpp>
#include <ostream>
#include <string>

#include "common/bank_domain.hpp"

namespace {
using account_decision = annal::decision<bank::account>;
using annal::testing::check_nothing;
using annal::testing::check_rejected;
using annal::testing::check_state;
using annal::testing::check_then;

account_decision withdrawing(long cents) {
  return bank::withdrawn{cents};
}
}  // namespace

namespace rules {
struct noted {
  BOOST_HANA_DEFINE_STRUCT(noted, (int, n));
};
ANNAL_EVENT(noted, "rules.noted", 1);
// A rejection with details, printed through its fields.
struct limit_exceeded {
  BOOST_HANA_DEFINE_STRUCT(limit_exceeded, (int, limit), (int, asked));
};
struct capped {
  using events = annal::events<noted>;
  using rejection = limit_exceeded;
  void apply(const noted&) {}
};
// A rejection printed through its operator<<.
struct refused {
  int code;
  friend bool operator==(const refused&, const refused&) = default;
  friend std::ostream& operator<<(std::ostream& os, const refused& r) {
    return os << "refused(code " << r.code << ")";
  }
};
struct guarded {
  using events = annal::events<noted>;
  using rejection = refused;
  void apply(const noted&) {}
};
}  // namespace rules

TEST_CASE("check_then passes on the exact events in order", "[testing][check]") {
  const auto v = check_then(withdrawing(500), bank::withdrawn{500});
  CHECK(v.passed);
  CHECK(v.message == "as expected, emitted 1 event:\n  [0] bank.withdrawn{cents=500}");

  const account_decision two = annal::emit(bank::withdrawn{1}, bank::closed{"requested"});
  CHECK(check_then(two, bank::withdrawn{1}, bank::closed{"requested"}).passed);
  CHECK_FALSE(check_then(two, bank::closed{"requested"}, bank::withdrawn{1}).passed);
}

// [verdict]
TEST_CASE("check_then names the index and the field that differ", "[testing][check]") {
  const auto v = check_then(withdrawing(500), bank::withdrawn{400});
  CHECK_FALSE(v.passed);
  CHECK(v.message ==
        "events differ at index 0\n"
        "  expected: bank.withdrawn{cents=400}\n"
        "  actual:   bank.withdrawn{cents=500}\n"
        "  field cents: expected 400, actual 500\n"
        "expected 1 event:\n"
        "  [0] bank.withdrawn{cents=400}\n"
        "emitted 1 event:\n"
        "  [0] bank.withdrawn{cents=500}");
}
// [verdict]

TEST_CASE("check_then reports an event of another type", "[testing][check]") {
  const auto v = check_then(withdrawing(500), bank::deposited{500});
  CHECK_FALSE(v.passed);
  CHECK(v.message ==
        "events differ at index 0\n"
        "  expected: bank.deposited{cents=500}\n"
        "  actual:   bank.withdrawn{cents=500}\n"
        "expected 1 event:\n"
        "  [0] bank.deposited{cents=500}\n"
        "emitted 1 event:\n"
        "  [0] bank.withdrawn{cents=500}");
}

TEST_CASE("check_then reports missing, extra and no events", "[testing][check]") {
  const account_decision two = annal::emit(bank::withdrawn{1}, bank::closed{"requested"});
  const auto missing =
      check_then(two, bank::withdrawn{1}, bank::closed{"requested"}, bank::opened{"again"});
  CHECK_FALSE(missing.passed);
  CHECK(missing.message ==
        "events differ at index 2\n"
        "  expected: bank.opened{id=\"again\"}\n"
        "  actual:   no event\n"
        "expected 3 events:\n"
        "  [0] bank.withdrawn{cents=1}\n"
        "  [1] bank.closed{reason=\"requested\"}\n"
        "  [2] bank.opened{id=\"again\"}\n"
        "emitted 2 events:\n"
        "  [0] bank.withdrawn{cents=1}\n"
        "  [1] bank.closed{reason=\"requested\"}");

  const auto extra = check_then(two, bank::withdrawn{1});
  CHECK_FALSE(extra.passed);
  CHECK(extra.message.rfind("events differ at index 1\n"
                            "  expected: no event\n"
                            "  actual:   bank.closed{reason=\"requested\"}\n",
                            0) == 0);

  const auto none = check_then(account_decision{}, bank::withdrawn{1});
  CHECK_FALSE(none.passed);
  CHECK(none.message ==
        "events differ at index 0\n"
        "  expected: bank.withdrawn{cents=1}\n"
        "  actual:   no event\n"
        "expected 1 event:\n"
        "  [0] bank.withdrawn{cents=1}\n"
        "emitted no events");
}

TEST_CASE("check_then reports an unexpected rejection", "[testing][check]") {
  const account_decision refused = annal::reject("insufficient funds");
  const auto v = check_then(refused, bank::withdrawn{500});
  CHECK_FALSE(v.passed);
  CHECK(v.message ==
        "the command was rejected with \"insufficient funds\"\n"
        "expected 1 event:\n"
        "  [0] bank.withdrawn{cents=500}");
}

TEST_CASE("check_rejected compares the rejection", "[testing][check]") {
  const account_decision refused = annal::reject("insufficient funds");
  CHECK(check_rejected(refused, annal::reject("insufficient funds")).passed);
  CHECK(check_rejected(refused).passed);

  const auto wrong = check_rejected(refused, annal::reject("account not open"));
  CHECK_FALSE(wrong.passed);
  CHECK(wrong.message ==
        "expected a rejection with \"account not open\", but the command was rejected with "
        "\"insufficient funds\"");
}

TEST_CASE("check_rejected reports a command that was accepted", "[testing][check]") {
  const auto v = check_rejected(withdrawing(5), annal::reject("insufficient funds"));
  CHECK_FALSE(v.passed);
  CHECK(v.message ==
        "expected a rejection with \"insufficient funds\", but the command was accepted and "
        "emitted 1 event:\n"
        "  [0] bank.withdrawn{cents=5}");

  const auto any = check_rejected(account_decision{});
  CHECK_FALSE(any.passed);
  CHECK(any.message == "expected a rejection, but the command was accepted and emitted no events");
}

TEST_CASE("check_rejected takes a predicate", "[testing][check]") {
  const account_decision refused = annal::reject("insufficient funds");
  const auto mentions_funds = [](const annal::rejection& r) {
    return r.reason.find("funds") != std::string::npos;
  };
  const auto mentions_limit = [](const annal::rejection& r) {
    return r.reason.find("limit") != std::string::npos;
  };
  CHECK(check_rejected(refused, mentions_funds).passed);
  const auto v = check_rejected(refused, mentions_limit);
  CHECK_FALSE(v.passed);
  CHECK(v.message ==
        "the command was rejected with \"insufficient funds\", which the predicate does not "
        "accept");
}

TEST_CASE("custom rejections print through operator<<, their fields, or as an enum",
          "[testing][check]") {
  const annal::decision<bank::wallet> by_enum = bank::refusal::insufficient_funds;
  const auto e = check_rejected(by_enum, bank::refusal::not_open);
  CHECK_FALSE(e.passed);
  CHECK(e.message ==
        "expected a rejection with bank::refusal(0), but the command was rejected with "
        "bank::refusal(1)");
  CHECK(check_rejected(by_enum, bank::refusal::insufficient_funds).passed);

  const annal::decision<rules::capped> by_fields = rules::limit_exceeded{10, 12};
  CHECK(check_rejected(by_fields, rules::limit_exceeded{10, 12}).passed);
  const auto f = check_rejected(by_fields, rules::limit_exceeded{10, 11});
  CHECK_FALSE(f.passed);
  CHECK(f.message ==
        "expected a rejection with rules::limit_exceeded{limit=10, asked=11}, but the command "
        "was rejected with rules::limit_exceeded{limit=10, asked=12}");

  const annal::decision<rules::guarded> by_stream = rules::refused{7};
  const auto s = check_then(by_stream, rules::noted{1});
  CHECK_FALSE(s.passed);
  CHECK(s.message ==
        "the command was rejected with refused(code 7)\n"
        "expected 1 event:\n"
        "  [0] rules.noted{n=1}");
}

TEST_CASE("check_nothing passes only on an accepted command without events", "[testing][check]") {
  CHECK(check_nothing(account_decision{}).passed);

  const auto emitted = check_nothing(withdrawing(3));
  CHECK_FALSE(emitted.passed);
  CHECK(emitted.message ==
        "expected no events, but the command emitted 1 event:\n"
        "  [0] bank.withdrawn{cents=3}");

  const auto refused = check_nothing(account_decision{annal::reject("closed")});
  CHECK_FALSE(refused.passed);
  CHECK(refused.message == "expected no events, but the command was rejected with \"closed\"");
}

TEST_CASE("check_state shows the state it judged", "[testing][check]") {
  const auto v =
      check_state(bank::withdrawn{4}, [](const bank::withdrawn& w) { return w.cents > 5; });
  CHECK_FALSE(v.passed);
  CHECK(v.message == "the state does not satisfy the predicate: bank.withdrawn{cents=4}");
  CHECK(
      check_state(bank::withdrawn{6}, [](const bank::withdrawn& w) { return w.cents > 5; }).passed);
}
