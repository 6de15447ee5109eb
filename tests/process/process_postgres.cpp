// The process manager runner on PostgreSQL, with and without group commit: the same checks as on
// the embedded stores (process_checks.hpp).
#include <catch2/catch.hpp>

#include <annal/codec/json.hpp>

#include "process/process_checks.hpp"
#include "sql/postgres_fixture.hpp"

TEMPLATE_TEST_CASE("a process manager on PostgreSQL", "[process][postgres]",
                   annal_test::postgres_fixture, annal_test::postgres_no_group_fixture) {
  annal_test_process::check_process_manager_on_store<TestType>();
}

// PostgreSQL's default payload format is jsonb, which a JSON codec's events fit; the runner's own
// markers (process started, deadline cancelled and fired, process ended) must fit it too.
TEST_CASE("a process manager with a JSON codec on a jsonb PostgreSQL schema",
          "[process][postgres]") {
  annal_test::postgres_jsonb_fixture f;
  auto& store = f.store();
  using S = annal::postgres_store;
  using job_repo = annal::repository<pipeline::job, S, annal::json_codec>;
  using video_repo = annal::repository<pipeline::video, S, annal::json_codec>;
  job_repo jobs{store};
  video_repo videos{store};
  annal::command_router router{jobs, videos};
  annal::memory_checkpoint checkpoint;
  annal::process_options options;
  options.start = annal::process_start::from_beginning;
  auto runner = annal::make_process_runner<pipeline::manager, annal::json_codec>(
      store, router, checkpoint, options);
  annal::event_data d = annal::detail::encode_event<annal::json_codec>(pipeline::uploaded{"v1"},
                                                                       annal::new_event_id(), {});
  store.append("upload-v1", annal::expected_version::any(),
               std::span<const annal::event_data>(&d, 1));
  d = annal::detail::encode_event<annal::json_codec>(pipeline::transcode_done{"v1", 1},
                                                     annal::new_event_id(), {});
  store.append("worker-1", annal::expected_version::any(),
               std::span<const annal::event_data>(&d, 1));
  runner.catch_up();
  const auto instance = runner.load("v1");
  CHECK(instance.ended);
  CHECK(instance.state.attempts == 1);
  CHECK(annal_test_process::types_of(store, "video-v1") ==
        std::vector<std::string>{"test.video_published"});
}
