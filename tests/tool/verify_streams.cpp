// verify's checks of positions, stream versions and tombstones over many streams and long runs
// (its table grows, lookups are deferred a run, long runs are looked up early), against the same
// checks made the plain way: the same problems, in the same order.
#include <catch2/catch.hpp>

#include <cstdint>
#include <map>
#include <random>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include <annal/core/error.hpp>
#include <annal/core/record.hpp>
#include <annal/tool/detail/commands.hpp>

namespace {

namespace tool = annal::tool::detail;

// A store that hands out the events it is given, damaged or not; it takes no appends.
struct listed_events {
  std::vector<annal::recorded_event> events;

  annal::append_result append(std::string_view, annal::expected_version,
                              std::span<const annal::event_data>) {
    throw annal::error(annal::errc::invalid_argument, "listed_events takes no appends");
  }
  template <class F>
  std::size_t read_all(std::uint64_t from, F&& visit, std::size_t max = annal::unlimited) const {
    std::size_t n = 0;
    for (const annal::recorded_event& e : events) {
      if (e.position < from) continue;
      if (n == max) break;
      ++n;
      if constexpr (std::is_same_v<decltype(visit(e)), bool>) {
        if (!visit(e)) break;
      } else {
        visit(e);
      }
    }
    return n;
  }
  template <class F>
  std::size_t read_stream(std::string_view, std::uint64_t, F&&,
                          std::size_t = annal::unlimited) const {
    return 0;
  }
  std::uint64_t stream_version(std::string_view) const { return 0; }
  std::uint64_t last_position() const { return events.empty() ? 0 : events.back().position; }
};
static_assert(annal::event_store<listed_events>);

// verify's checks, one event at a time with a std::map.
tool::verify_report plain_checks(const listed_events& store) {
  tool::verify_report r;
  std::map<std::string, std::pair<std::uint64_t, bool>, std::less<>> streams;
  std::uint64_t expected = 1;
  for (const annal::recorded_event& e : store.events) {
    ++r.events;
    if (e.position != expected)
      r.position_out_of_order(e.position, e.stream_id, e.stream_version, expected);
    expected = e.position + 1;
    auto& [version, deleted] = streams[e.stream_id];
    if (e.stream_version != version + 1)
      r.version_out_of_order(e.position, e.stream_id, e.stream_version, version + 1);
    if (deleted) r.after_tombstone(e.position, e.stream_id, e.stream_version);
    version = e.stream_version;
    deleted = deleted || e.type == annal::tombstone_type;
  }
  r.last_position = store.last_position();
  r.streams = streams.size();
  for (const auto& [id, st] : streams) r.deleted += st.second;
  return r;
}

// Runs of 1 to 150 events of 3,000 streams; with `damage`, about one run in 40 skips a position,
// repeats or skips a version, or follows a tombstone.
listed_events make_log(bool damage, std::uint64_t seed) {
  std::mt19937_64 random(seed);
  listed_events log;
  std::vector<std::uint64_t> versions(3000);
  std::uint64_t position = 0;
  for (int run = 0; run < 4000; ++run) {
    const std::size_t stream = random() % versions.size();
    const std::size_t length = 1 + random() % (random() % 4 == 0 ? 150 : 8);
    const int hurt = damage && random() % 40 == 0 ? static_cast<int>(1 + random() % 4) : 0;
    for (std::size_t i = 0; i < length; ++i) {
      annal::recorded_event e;
      e.stream_id = "stream-" + std::to_string(stream);
      e.position = ++position;
      e.stream_version = ++versions[stream];
      e.type = "thing.happened";
      if (hurt == 1 && i == length / 2) e.position = ++position;       // a position missing
      if (hurt == 2 && i == 0) e.stream_version = --versions[stream];  // a version again
      if (hurt == 3 && i == length - 1) e.stream_version = ++versions[stream];  // one skipped
      if (hurt == 4 && i == 0) e.type = annal::tombstone_type;  // and events after it
      log.events.push_back(std::move(e));
    }
  }
  return log;
}

void same_report(const tool::verify_report& got, const tool::verify_report& want) {
  CHECK(got.events == want.events);
  CHECK(got.streams == want.streams);
  CHECK(got.deleted == want.deleted);
  CHECK(got.last_position == want.last_position);
  CHECK(got.problem_count == want.problem_count);
  REQUIRE(got.problems.size() == want.problems.size());
  for (std::size_t i = 0; i < got.problems.size(); ++i) CHECK(got.problems[i] == want.problems[i]);
}

}  // namespace

TEST_CASE("verify checks many streams and long runs as one event at a time would",
          "[tool][verify]") {
  for (const std::uint64_t seed : {1, 2, 3}) {
    const listed_events clean = make_log(false, seed);
    const tool::verify_report r = tool::verify(clean);
    CHECK(r.clean());
    same_report(r, plain_checks(clean));

    const listed_events damaged = make_log(true, seed);
    const tool::verify_report d = tool::verify(damaged);
    CHECK_FALSE(d.clean());
    same_report(d, plain_checks(damaged));
  }
}

TEST_CASE("verify with a check of each event lists problems in event order too", "[tool][verify]") {
  // A check that adds a problem of its own at some events: verify's own problems about earlier
  // events come before it.
  struct every_hundredth {
    void operator()(const annal::recorded_event& e, tool::verify_report& r) const {
      if (e.position % 100 == 0) r.add("checked " + std::to_string(e.position));
    }
  };
  const listed_events damaged = make_log(true, 4);
  const tool::verify_report got = tool::verify(damaged, every_hundredth{});
  tool::verify_report want;
  {
    // plain_checks with the check after each event's own checks.
    std::map<std::string, std::pair<std::uint64_t, bool>, std::less<>> streams;
    std::uint64_t expected = 1;
    for (const annal::recorded_event& e : damaged.events) {
      ++want.events;
      if (e.position != expected)
        want.position_out_of_order(e.position, e.stream_id, e.stream_version, expected);
      expected = e.position + 1;
      auto& [version, deleted] = streams[e.stream_id];
      if (e.stream_version != version + 1)
        want.version_out_of_order(e.position, e.stream_id, e.stream_version, version + 1);
      if (deleted) want.after_tombstone(e.position, e.stream_id, e.stream_version);
      version = e.stream_version;
      deleted = deleted || e.type == annal::tombstone_type;
      every_hundredth{}(e, want);
    }
    want.last_position = damaged.last_position();
    want.streams = streams.size();
    for (const auto& [id, st] : streams) want.deleted += st.second;
  }
  same_report(got, want);
}
