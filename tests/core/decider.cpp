// Tests for core/decider.hpp: a whole decider written the way the docs show it.
#include <annal/core/decider.hpp>

#include <catch2/catch.hpp>

#include <vector>

// [decider]
namespace tally {
struct counted {
  int by;
};
ANNAL_EVENT(counted, "tally.counted", 1);
struct reset {};
ANNAL_EVENT(reset, "tally.reset", 1);

enum class refusal { too_big, already_zero };

struct tally {
  using events = annal::events<counted, reset>;
  using rejection = refusal;  // instead of the default annal::rejection{reason}
  int total = 0;
  void apply(const counted& e) { total += e.by; }
  void apply(const reset&) { total = 0; }
};

struct count {
  int by;
};
struct count_twice {
  int by;
};
struct clear {};

// Pure functions: the current state and a command in, a decision out.
annal::decision<tally> decide(const tally&, const count& c) {
  if (c.by > 100) return refusal::too_big;
  return counted{c.by};
}
annal::decision<tally> decide(const tally&, const count_twice& c) {
  return annal::emit(counted{c.by}, counted{c.by});
}
annal::decision<tally> decide(const tally& s, const clear&) {
  if (s.total == 0) return {};  // accepted, nothing to record
  return reset{};
}
}  // namespace tally
// [decider]

TEST_CASE("a decider decides from state folded out of its own events", "[core][decider]") {
  // [decider-use]
  std::vector<annal::aggregate_event_t<tally::tally>> log;
  auto run = [&](const auto& command) {
    const auto state = annal::hydrate<tally::tally>(log);
    auto decision = annal::decide_command(state, command);
    if (!decision.rejected())
      for (auto& e : std::move(decision).take_events()) log.push_back(std::move(e));
    return decision.rejected();
  };
  run(tally::count{2});
  run(tally::count_twice{3});
  const bool refused = run(tally::count{500});
  // [decider-use]
  CHECK(refused);
  CHECK(log.size() == 3);
  CHECK(annal::hydrate<tally::tally>(log).total == 8);
  CHECK_FALSE(run(tally::clear{}));
  CHECK(annal::hydrate<tally::tally>(log).total == 0);
  CHECK(log.size() == 4);
  CHECK_FALSE(run(tally::clear{}));
  CHECK(log.size() == 4);
}
