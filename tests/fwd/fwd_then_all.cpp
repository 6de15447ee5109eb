// fwd.hpp first, then every definition: the declarations agree with them (same entities, same
// class keys, enums' underlying types, one default per template), and the functions declared from
// fwd.hpp alone take the real objects.
#include <annal/fwd.hpp>

#include <annal/annal.hpp>
#include <annal/codec/json.hpp>
#include <annal/process/runner.hpp>
#if defined(ANNAL_TEST_HAVE_SQLITE)
#include <annal/sqlite/snapshot_store.hpp>
#include <annal/sqlite/store.hpp>
#endif
#if defined(ANNAL_TEST_HAVE_POSTGRES)
#include <annal/postgres/read_model.hpp>
#include <annal/postgres/snapshot_store.hpp>
#include <annal/postgres/store.hpp>
#include <annal/postgres/transaction.hpp>
#endif
#if defined(ANNAL_TEST_HAVE_KAFKA)
#include <annal/kafka/publisher.hpp>
#include <annal/kafka/replay.hpp>
#endif
#if defined(ANNAL_TEST_HAVE_PRIVACY)
#include <annal/privacy/file_key_store.hpp>
#include <annal/privacy/key_store.hpp>
#include <annal/privacy/personal.hpp>
#endif

#include <type_traits>

#include <catch2/catch.hpp>

#include "names.hpp"

namespace {

template <class... T>
constexpr bool all_complete = ((sizeof(T) > 0) && ...);

// A declaration in fwd.hpp that named another entity than the definition would leave its name
// incomplete here.
static_assert(
    all_complete<annal::error, annal::event_info, annal::envelope_header, annal::rejection,
                 annal::at_version, annal::at_time, annal::event_data, annal::recorded_event,
                 annal::expected_version, annal::append_result, annal::command_context,
                 annal::binary_codec, annal::json_codec, annal::memory_store,
                 annal::memory_checkpoint, annal::stream_deleted, annal::subscription_options,
                 annal::event_filter, annal::read_progress, annal::repository_options,
                 annal::no_snapshots, annal::snapshot_record, annal::snapshot_query,
                 annal::snapshot_retention, annal::memory_snapshot_store, annal::load_report,
                 annal::snapshot_context, annal::snapshot_every, annal::snapshot_when_slow,
                 annal::snapshot_never, annal::projector_options, annal::reactor_options,
                 annal::rebuild_progress, annal::rebuild_options, annal::rebuild_result,
                 annal::reconciliation, annal::posix_io, annal::file_log, annal::file_log_options,
                 annal::file_log_recovery, annal::file_checkpoint, annal::file_snapshot_store,
                 annal::events<>, annal::snapshot_if<bool (*)()>, annal::commands<>,
                 annal::command_rejected, annal::deadline_info, annal::routed_result,
                 annal::process_options, annal::pending_deadline>);
#if defined(ANNAL_TEST_HAVE_SQLITE)
static_assert(
    all_complete<annal::sqlite_options, annal::sqlite_store, annal::sqlite_snapshot_store>);
#endif
#if defined(ANNAL_TEST_HAVE_POSTGRES)
static_assert(all_complete<annal::postgres_options, annal::postgres_store,
                           annal::postgres_snapshot_store, annal::postgres_transaction,
                           annal::postgres_projection, annal::postgres_read_model_options>);
#endif
#if defined(ANNAL_TEST_HAVE_KAFKA)
static_assert(
    all_complete<annal::kafka_publisher_options, annal::kafka_replay_options, annal::kafka_replay>);
#endif
#if defined(ANNAL_TEST_HAVE_PRIVACY)
static_assert(all_complete<annal::data_key, annal::memory_key_store, annal::file_key_store,
                           annal::personal<int>>);
#endif

// The defaults come from fwd.hpp, and mean what they always meant.
static_assert(std::is_same_v<annal::file_log, annal::basic_file_log<>>);
static_assert(std::is_same_v<annal::basic_file_log<>, annal::basic_file_log<annal::posix_io>>);
static_assert(std::is_same_v<annal::event_registry<fwd_test::ledger_events>,
                             annal::event_registry<fwd_test::ledger_events, annal::binary_codec>>);

}  // namespace

TEST_CASE("functions declared from fwd.hpp alone take annal's real objects", "[fwd]") {
  const annal::error error(annal::errc::invalid_argument, "fwd");
  const annal::event_data data;
  const annal::recorded_event recorded;
  const annal::expected_version expect = annal::expected_version::any();
  const annal::append_result result;
  const annal::memory_store store;
  const annal::memory_checkpoint checkpoint;
  const annal::memory_snapshot_store snapshots;
  const annal::event_filter filter;
  const annal::read_progress progress;
  const annal::file_log_options log_options;
  const annal::projector_options projector_options;
  const annal::rebuild_options rebuild_options;
  const annal::binary_codec binary;
  const annal::json_codec json;
  CHECK(fwd_test::address_of(error) == &error);
  CHECK(fwd_test::address_of(data) == &data);
  CHECK(fwd_test::address_of(recorded) == &recorded);
  CHECK(fwd_test::address_of(expect) == &expect);
  CHECK(fwd_test::address_of(result) == &result);
  CHECK(fwd_test::address_of(store) == &store);
  CHECK(fwd_test::address_of(checkpoint) == &checkpoint);
  CHECK(fwd_test::address_of(snapshots) == &snapshots);
  CHECK(fwd_test::address_of(filter) == &filter);
  CHECK(fwd_test::address_of(progress) == &progress);
  CHECK(fwd_test::address_of(log_options) == &log_options);
  CHECK(fwd_test::address_of(projector_options) == &projector_options);
  CHECK(fwd_test::address_of(rebuild_options) == &rebuild_options);
  CHECK(fwd_test::address_of(binary) == &binary);
  CHECK(fwd_test::address_of(json) == &json);
  CHECK(fwd_test::number_of(annal::errc::invalid_argument) ==
        static_cast<int>(annal::errc::invalid_argument));
  CHECK(fwd_test::number_of(annal::durability::none) == 2);
  CHECK(fwd_test::number_of(annal::append_status::conflict) ==
        static_cast<int>(annal::append_status::conflict));
  CHECK(fwd_test::number_of(annal::log_level::warning) == 2);
}
