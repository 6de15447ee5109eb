// The given/when/then fixture for process managers, on the test pipeline: each kind of
// expectation passing, and failing where it should ([!shouldfail]: the case passes as a failure).
#include <catch2/catch.hpp>

#include <chrono>

#include <annal/testing/process_scenario.hpp>

#include "process/pipeline_domain.hpp"

using annal::testing::command;
using annal::testing::process_scenario;
using namespace pipeline;

// [process-scenario]
TEST_CASE("a failed transcode starts the next attempt with a new deadline", "[process][testing]") {
  annal::envelope_header h;
  h.recorded_at = annal::time_point{} + std::chrono::hours(1);
  process_scenario<manager>()
      .given(attempt_started{1})
      .when(transcode_failed{"v1", 1}, h)
      .then_records(attempt_started{2})
      .then_sends(command("job-v1-2", dispatch{"v1", 2}))
      .then_schedules(transcode_timed_out{2}, h.recorded_at + transcode_timeout)
      .then_state([](const manager& m) { return m.attempts == 2; });
}
// [process-scenario]

TEST_CASE("a timeout on the last attempt marks the video failed and ends", "[process][testing]") {
  process_scenario<manager>()
      .given(attempt_started{1}, attempt_started{2}, attempt_started{3})
      .when_deadline(transcode_timed_out{3}, {"v2", {}})
      .then_sends(command("video-v2", mark_failed{"v2", "transcoding failed 3 times"}))
      .then_records()
      .then_ends();
}

TEST_CASE("a finished transcode cancels the deadline and publishes", "[process][testing]") {
  process_scenario<manager>()
      .given(attempt_started{1})
      .when(transcode_done{"v3", 1})
      .then_cancels<transcode_timed_out>()
      .then_sends(command("video-v3", publish{"v3"}))
      .then_ends();
}

TEST_CASE("a late report of an earlier attempt does nothing; events reach started instances only",
          "[process][testing]") {
  process_scenario<manager>()
      .given(attempt_started{1}, attempt_started{2})
      .when(transcode_failed{"v4", 1})
      .then_nothing();
  process_scenario<manager>().when(transcode_done{"v4", 1}).then_not_handled();
  process_scenario<manager>().given_ended().when(transcode_done{"v4", 1}).then_not_handled();
  process_scenario<manager>().when(uploaded{"v4"}).then_records(attempt_started{1});
}

TEST_CASE("a scenario expecting another command fails", "[process][testing][!shouldfail]") {
  process_scenario<manager>()
      .given(attempt_started{1})
      .when(transcode_failed{"v5", 1})
      .then_sends(command("job-v5-3", dispatch{"v5", 3}));
}

TEST_CASE("a scenario expecting other state events fails", "[process][testing][!shouldfail]") {
  process_scenario<manager>()
      .given(attempt_started{1})
      .when(transcode_failed{"v6", 1})
      .then_records(attempt_started{3});
}

TEST_CASE("a scenario expecting an end that does not come fails",
          "[process][testing][!shouldfail]") {
  process_scenario<manager>().given(attempt_started{1}).when(transcode_failed{"v7", 1}).then_ends();
}

TEST_CASE("a scenario expecting a deadline that is not scheduled fails",
          "[process][testing][!shouldfail]") {
  process_scenario<manager>()
      .given(attempt_started{1})
      .when(transcode_done{"v8", 1})
      .then_schedules(transcode_timed_out{2});
}

TEST_CASE("a scenario expecting an event not to be handled fails",
          "[process][testing][!shouldfail]") {
  process_scenario<manager>().when(uploaded{"v9"}).then_not_handled();
}

TEST_CASE("a refused publication is compensated: the reason recorded, the video marked failed",
          "[process][testing]") {
  process_scenario<manager>()
      .given(attempt_started{1})
      .when_rejected(publish{"v10"}, {"video-v10", "blocked by moderation", false})
      .then_records(publication_refused{"blocked by moderation"})
      .then_sends(command("video-v10", mark_failed{"v10", "not published: blocked by moderation"}))
      .then_state([](const manager& m) { return m.refused == "blocked by moderation"; });
}
