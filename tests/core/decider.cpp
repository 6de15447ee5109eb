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

// [decider-use]
// One command against a log held in memory: fold the state, decide, append what was decided.
template <class Command>
bool handle(std::vector<annal::aggregate_event_t<tally::tally>>& log, const Command& command) {
  const tally::tally state = annal::hydrate<tally::tally>(log);
  annal::decision<tally::tally> decision = annal::decide_command(state, command);
  if (decision.rejected()) return false;
  for (auto& e : std::move(decision).take_events()) log.push_back(std::move(e));
  return true;
}
// [decider-use]

TEST_CASE("a decider decides from state folded out of its own events", "[core][decider]") {
  std::vector<annal::aggregate_event_t<tally::tally>> log;
  CHECK(handle(log, tally::count{2}));
  CHECK(handle(log, tally::count_twice{3}));
  CHECK_FALSE(handle(log, tally::count{500}));  // refusal::too_big: nothing appended
  CHECK(log.size() == 3);
  CHECK(annal::hydrate<tally::tally>(log).total == 8);
  CHECK(handle(log, tally::clear{}));
  CHECK(log.size() == 4);
  CHECK(annal::hydrate<tally::tally>(log).total == 0);
  CHECK(handle(log, tally::clear{}));  // accepted, but nothing to record
  CHECK(log.size() == 4);
}
