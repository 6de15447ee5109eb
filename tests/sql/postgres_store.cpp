// The PostgreSQL store against a real throwaway server: envelopes, formats, idempotency, wake-ups.
#include <catch2/catch.hpp>

#include <array>
#include <chrono>
#include <thread>

#include <boost/uuid/uuid_io.hpp>

#include <annal/codec/json.hpp>
#include <annal/postgres/store.hpp>
#include <annal/store/tombstone.hpp>

#include "common/invalid_option.hpp"
#include "sql/postgres_fixture.hpp"
#include "sql/sql_test_support.hpp"

using namespace annal;
using annal_test::make_batch;
using annal_test::make_event;

TEST_CASE("postgres store models event_store", "[store][postgres]") {
  STATIC_REQUIRE(event_store<postgres_store>);
}

TEST_CASE("postgres store appends, reads and keeps envelopes", "[store][postgres]") {
  annal_test::postgres_jsonb_fixture f;
  auto& store = f.store();
  auto first = make_batch(3);
  first[1].meta = {{"user", "ada"}, {"reason", "quote \" and \\ back, {braces}, \xc3\xa9"}};
  first[2].correlation_id = new_event_id();
  first[2].causation_id = new_event_id();
  first[2].schema_version = 7;
  first[2].type = "type with \"quotes\", commas and {braces}";
  const time_point before = clock::now();
  const auto r = store.append("order-1", expected_version::no_stream(), first);
  CHECK(r.status == append_status::appended);
  CHECK(r.stream_version == 3);
  CHECK(r.first_position == 1);
  CHECK(r.last_position == 3);
  CHECK(store.append("order-2", expected_version::any(), make_batch(1)).last_position == 4);
  const auto c = store.append("order-1", expected_version::exact(1), make_batch(1));
  CHECK(c.status == append_status::conflict);
  CHECK(c.stream_version == 3);
  CHECK(store.append("order-1", expected_version::no_stream(), make_batch(1)).status ==
        append_status::conflict);

  f.reopen();
  std::vector<recorded_event> got;
  CHECK(f.store().read_stream("order-1", 1, [&](const recorded_event& e) { got.push_back(e); }) ==
        3);
  REQUIRE(got.size() == 3);
  for (std::size_t i = 0; i < 3; ++i) {
    CHECK(got[i].id == first[i].id);
    CHECK(got[i].type == first[i].type);
    CHECK(got[i].meta == first[i].meta);
    CHECK(got[i].stream_id == "order-1");
    CHECK(got[i].stream_version == i + 1);
    CHECK(got[i].position == i + 1);
    CHECK(got[i].recorded_at >= before);
    if (i) CHECK(got[i].recorded_at >= got[i - 1].recorded_at);
  }
  // jsonb normalizes the text; the value is the same.
  CHECK(boost::json::parse(got[0].payload) == boost::json::parse(first[0].payload));
  CHECK(got[2].correlation_id == first[2].correlation_id);
  CHECK(got[2].causation_id == first[2].causation_id);
  CHECK(got[2].schema_version == 7);
  CHECK(f.store().stream_version("order-1") == 3);
  CHECK(f.store().stream_version("nope") == 0);
  CHECK(f.store().last_position() == 4);
  std::vector<std::uint64_t> positions;
  CHECK(f.store().read_all(2, [&](const recorded_event& e) { positions.push_back(e.position); }) ==
        3);
  CHECK(positions == std::vector<std::uint64_t>{2, 3, 4});
  CHECK(f.store().read_all(1, [](const recorded_event&) { return false; }) == 1);
  CHECK(f.store().read_all(
            1, [](const recorded_event&) {}, 2) == 2);

  // A single event (annal_append_one takes scalars, not array elements) keeps the same envelope.
  auto one = make_batch(1, 5);
  one[0].meta = first[1].meta;
  one[0].type = first[2].type;
  one[0].schema_version = 9;
  one[0].correlation_id = new_event_id();
  one[0].causation_id = new_event_id();
  const auto r1 = f.store().append("order-1", expected_version::exact(3), one);
  CHECK(r1.status == append_status::appended);
  CHECK(r1.stream_version == 4);
  CHECK(r1.first_position == 5);
  CHECK(r1.last_position == 5);
  recorded_event back;
  CHECK(f.store().read_stream("order-1", 4, [&](const recorded_event& e) { back = e; }) == 1);
  CHECK(back.id == one[0].id);
  CHECK(back.type == one[0].type);
  CHECK(back.meta == one[0].meta);
  CHECK(back.schema_version == 9);
  CHECK(back.correlation_id == one[0].correlation_id);
  CHECK(back.causation_id == one[0].causation_id);
  CHECK(boost::json::parse(back.payload) == boost::json::parse(one[0].payload));
  CHECK(back.position == 5);
  CHECK(back.recorded_at >= got[2].recorded_at);
}

TEST_CASE("postgres payload formats", "[store][postgres]") {
  SECTION("bytea keeps any bytes exactly") {
    annal_test::postgres_fixture f;
    std::string bytes;
    for (int i = 0; i < 256; ++i) bytes += static_cast<char>(i);
    auto batch = std::vector{make_event("bin", bytes), make_event("empty", "")};
    f.store().append("b", expected_version::any(), batch);
    std::vector<std::string> payloads;
    f.store().read_all(1, [&](const recorded_event& e) { payloads.push_back(e.payload); });
    CHECK(payloads == std::vector<std::string>{bytes, ""});
    // A single event goes through annal_append_one, whose payload is a scalar, not an array.
    f.store().append("b", expected_version::exact(2), std::vector{make_event("bin", bytes)});
    f.store().read_all(3, [&](const recorded_event& e) { payloads.push_back(e.payload); });
    CHECK(payloads == std::vector<std::string>{bytes, "", bytes});
  }
  SECTION("json keeps the exact text and is queryable") {
    annal::postgres_options o = annal_test::fresh_postgres_options(postgres_payload_format::json);
    postgres_store store(o);
    store.migrate();
    const std::string text = "{ \"b\" : 1,  \"a\" : [true, null] }";
    store.append("j", expected_version::any(), std::vector{make_event("j", text)});
    std::string got;
    store.read_all(1, [&](const recorded_event& e) { got = e.payload; });
    CHECK(got == text);
    // A batch travels as a binary json[] array: the same text comes back, byte for byte.
    const std::string other = "[1,  2,\n\"\u00e9\\\"\"]";
    store.append("j", expected_version::exact(1),
                 std::vector{make_event("j", other), make_event("j", text)});
    std::vector<std::string> texts;
    store.read_all(2, [&](const recorded_event& e) { texts.push_back(e.payload); });
    CHECK(texts == std::vector<std::string>{other, text});
    const auto n = store.transact([&](postgres_transaction& tx) {
      return tx.exec("SELECT (payload->>'b')::int FROM " + tx.schema() + ".events").get_int(0, 0);
    });
    CHECK(n == 1);
  }
  SECTION("jsonb refuses a payload that is not JSON, naming the event") {
    annal_test::postgres_jsonb_fixture f;
    auto batch = make_batch(2);
    batch[1].payload = "\x01\x02 not json";
    batch[1].type = "broken_thing";
    CHECK_THROWS_MATCHES(f.store().append("j", expected_version::any(), batch), error,
                         Catch::Predicate<error>([&](const error& e) {
                           const std::string w = e.what();
                           return e.code() == errc::invalid_argument &&
                                  w.find("event 1") != std::string::npos &&
                                  w.find("broken_thing") != std::string::npos &&
                                  w.find(boost::uuids::to_string(batch[1].id)) != std::string::npos;
                         }));
    // The server's own refusal (jsonb cannot hold \u0000) is an error too, and nothing is stored.
    batch = make_batch(2);
    batch[1].payload = "\"\\u0000\"";
    CHECK_THROWS_MATCHES(
        f.store().append("j", expected_version::any(), batch), error,
        Catch::Predicate<error>([](const error& e) { return e.code() == errc::invalid_argument; }));
    CHECK(f.store().last_position() == 0);
    // The same for a single event, which goes through annal_append_one.
    auto one = make_batch(1);
    one[0].payload = "{\"unterminated\": ";
    CHECK_THROWS_WITH(f.store().append("j", expected_version::any(), one),
                      Catch::Contains("event 0") && Catch::Contains("not valid JSON"));
    one[0].payload = "\"\\u0000\"";
    CHECK_THROWS_MATCHES(
        f.store().append("j", expected_version::any(), one), error,
        Catch::Predicate<error>([](const error& e) { return e.code() == errc::invalid_argument; }));
    CHECK(f.store().last_position() == 0);
    // And the payload is queryable as JSON.
    f.store().append("q", expected_version::any(), make_batch(3, 42));
    const auto tagged = f.store().transact([](postgres_transaction& tx) {
      return tx
          .exec("SELECT count(*) FROM " + tx.schema() + ".events WHERE payload @> $1::jsonb",
                std::string("{\"tag\":42}"))
          .get_int(0, 0);
    });
    CHECK(tagged == 3);
  }
  SECTION("a schema keeps the format it was created with") {
    annal_test::postgres_jsonb_fixture f;
    auto o = f.options();
    o.payload_format = postgres_payload_format::bytea;
    postgres_store other(o);
    CHECK_THROWS_WITH(other.migrate(), Catch::Contains("stores payloads as jsonb"));
  }
}

TEST_CASE("postgres store refuses what its columns cannot hold, naming the event",
          "[store][postgres]") {
  annal_test::postgres_fixture f;
  auto& store = f.store();
  // Each case for a single event (text parameters) and a batch (binary arrays).
  for (const std::size_t n : {std::size_t{1}, std::size_t{3}}) {
    INFO("batch of " << n);
    auto batch = make_batch(n);
    batch.back().type = std::string("nul\0inside", 10);
    const std::string id = boost::uuids::to_string(batch.back().id);
    CHECK_THROWS_MATCHES(store.append("t", expected_version::any(), batch), error,
                         Catch::Predicate<error>([&](const error& e) {
                           const std::string w = e.what();
                           return e.code() == errc::invalid_argument &&
                                  w.find("event " + std::to_string(n - 1)) != std::string::npos &&
                                  w.find(id) != std::string::npos &&
                                  w.find("type name") != std::string::npos;
                         }));
    batch.back().type = "bad\xff";
    CHECK_THROWS_WITH(store.append("t", expected_version::any(), batch),
                      Catch::Contains("not NUL-free UTF-8"));
    batch.back().type = "fine";
    batch.back().schema_version = 2147483648u;
    CHECK_THROWS_WITH(store.append("t", expected_version::any(), batch),
                      Catch::Contains("schema version 2147483648") &&
                          Catch::Contains("event " + std::to_string(n - 1)));
    // The largest that fits is stored and read back as it was.
    batch.back().schema_version = 2147483647u;
    store.append("t" + std::to_string(n), expected_version::no_stream(), batch);
    std::uint32_t got = 0;
    store.read_stream("t" + std::to_string(n), 1,
                      [&](const recorded_event& e) { got = e.schema_version; });
    CHECK(got == 2147483647u);
  }
  CHECK(store.last_position() == 4);
}

TEST_CASE("postgres store applies the idempotency rule", "[store][postgres]") {
  annal_test::postgres_fixture f;
  auto& store = f.store();
  const auto batch = make_batch(2);
  const auto r = store.append("s", expected_version::no_stream(), batch);
  const auto again = store.append("s", expected_version::no_stream(), batch);
  CHECK(again.status == append_status::duplicate);
  CHECK(again.first_position == r.first_position);
  CHECK(again.last_position == r.last_position);
  CHECK(again.stream_version == 2);
  auto partial = make_batch(1);
  partial.push_back(batch[0]);
  CHECK_THROWS_MATCHES(
      store.append("s", expected_version::any(), partial), error,
      Catch::Predicate<error>([](const error& e) { return e.code() == errc::duplicate_event_id; }));
  CHECK_THROWS_MATCHES(
      store.append("elsewhere", expected_version::any(), batch), error,
      Catch::Predicate<error>([](const error& e) { return e.code() == errc::duplicate_event_id; }));
  CHECK(store.last_position() == 2);
}

TEST_CASE("postgres store migrate is idempotent and concurrent-safe", "[store][postgres]") {
  auto o = annal_test::fresh_postgres_options();
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int i = 0; i < 4; ++i)
    threads.emplace_back([&] {
      try {
        postgres_store s(o);
        s.migrate();
        s.migrate();
      } catch (const std::exception&) {
        ++failures;
      }
    });
  for (auto& t : threads) t.join();
  CHECK(failures == 0);
  postgres_store s(o);
  CHECK(s.transact([](postgres_transaction& tx) {
    return tx.exec("SELECT version FROM " + tx.schema() + ".schema_info").get_int(0, 0);
  }) == postgres_schema_version);
}

// A schema made by the previous annal (version 2) lacks annal_append_one: appends say to migrate,
// and migrate() adds it, keeping the events stored before.
TEST_CASE("postgres store migrates a version 2 schema", "[store][postgres]") {
  auto o = annal_test::fresh_postgres_options();
  {
    postgres_store old(o);
    old.migrate();
    old.append("s", expected_version::any(), make_batch(2));
    old.transact([](postgres_transaction& tx) {
      tx.exec("DROP FUNCTION " + tx.schema() + ".annal_append_one");
      tx.exec("UPDATE " + tx.schema() + ".schema_info SET version = 2");
    });
  }
  postgres_store store(o);
  CHECK_THROWS_WITH(store.append("s", expected_version::exact(2), make_batch(1)),
                    Catch::Contains("call migrate() first") && Catch::Contains("annal_append_one"));
  store.append("s", expected_version::exact(2), make_batch(2));  // batches still work
  store.migrate();
  CHECK(store.transact([](postgres_transaction& tx) {
    return tx.exec("SELECT version FROM " + tx.schema() + ".schema_info").get_int(0, 0);
  }) == postgres_schema_version);
  const auto r = store.append("s", expected_version::exact(4), make_batch(1));
  CHECK(r.status == append_status::appended);
  CHECK(r.stream_version == 5);
  CHECK(r.last_position == 5);
}

namespace {
std::int64_t nanos(time_point t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

std::vector<recorded_event> all_events(postgres_store& store) {
  std::vector<recorded_event> out;
  store.read_all(1, [&](const recorded_event& e) { out.push_back(e); });
  return out;
}

std::vector<event_data> copied_batch(std::size_t n, time_point at) {
  auto batch = make_batch(n);
  for (auto& e : batch) e.recorded_at = at;
  return batch;
}

// The refusal of a copy earlier than the last event: invalid_argument naming the stream and
// both times, as every store words it.
auto earlier_copy_refusal(const std::string& stream, time_point given, time_point last) {
  return Catch::Predicate<error>(
      [=](const error& e) {
        const std::string what = e.what();
        return e.code() == errc::invalid_argument &&
               what.find("'" + stream + "'") != std::string::npos &&
               what.find(std::to_string(nanos(given)) + " ns") != std::string::npos &&
               what.find(std::to_string(nanos(last)) + " ns") != std::string::npos;
      },
      "invalid_argument naming stream '" + stream + "', " + std::to_string(nanos(given)) +
          " ns and " + std::to_string(nanos(last)) + " ns");
}
}  // namespace

// A copy (replication, migration) brings its recorded_at: single events and batches, with group
// commit on and off, keep it to the microsecond, the resolution of timestamptz.
TEST_CASE("postgres store records a copy at the time it brings, truncated to microseconds",
          "[store][postgres][copy]") {
  auto o = annal_test::fresh_postgres_options(postgres_payload_format::bytea);
  o.group_commit = GENERATE(true, false);
  postgres_store store(o);
  store.migrate();
  const time_point t1{std::chrono::microseconds(1577836800123456) + std::chrono::nanoseconds(789)};
  const time_point t1_us{std::chrono::microseconds(1577836800123456)};
  store.append("one", expected_version::no_stream(), copied_batch(1, t1));
  store.append("many", expected_version::no_stream(),
               copied_batch(3, t1 + std::chrono::seconds(1)));
  const auto events = all_events(store);
  REQUIRE(events.size() == 4);
  CHECK(nanos(events[0].recorded_at) == nanos(t1_us));
  for (std::size_t i = 1; i < 4; ++i)
    CHECK(nanos(events[i].recorded_at) == nanos(t1_us + std::chrono::seconds(1)));
}

// The server decides under the position lock, looking the ids up first: a copy retried after
// later events is a duplicate, a new one earlier than the last event is refused and stores nothing.
TEST_CASE("postgres store refuses a copy earlier than its last event, but not a retried one",
          "[store][postgres][copy]") {
  auto o = annal_test::fresh_postgres_options(postgres_payload_format::bytea);
  o.group_commit = GENERATE(true, false);
  postgres_store store(o);
  store.migrate();
  const time_point t1{std::chrono::microseconds(1577836800123456)};
  const auto one = copied_batch(1, t1);
  const auto many = copied_batch(3, t1);
  const auto first_one = store.append("one", expected_version::no_stream(), one);
  const auto first_many = store.append("many", expected_version::no_stream(), many);
  store.append("now", expected_version::any(), make_batch(1));  // recorded at the clock's time
  const time_point last = all_events(store).back().recorded_at;
  REQUIRE(last > t1);

  for (const auto expect : {expected_version::any(), expected_version::exact(0)}) {
    const auto again_one = store.append("one", expect, one);
    CHECK(again_one.status == append_status::duplicate);
    CHECK(again_one.first_position == first_one.first_position);
    const auto again_many = store.append("many", expect, many);
    CHECK(again_many.status == append_status::duplicate);
    CHECK(again_many.last_position == first_many.last_position);
  }
  // One stored id among new ones is misuse, as for any batch, not a question of time.
  auto partial = copied_batch(1, t1);
  partial.push_back(many[0]);
  CHECK_THROWS_MATCHES(
      store.append("many", expected_version::any(), partial), error,
      Catch::Predicate<error>([](const error& e) { return e.code() == errc::duplicate_event_id; }));

  const time_point late = t1 + std::chrono::seconds(2);
  CHECK_THROWS_MATCHES(store.append("late-1", expected_version::any(), copied_batch(1, late)),
                       error, earlier_copy_refusal("late-1", late, last));
  CHECK_THROWS_MATCHES(store.append("late-3", expected_version::any(), copied_batch(3, late)),
                       error, earlier_copy_refusal("late-3", late, last));
  CHECK(store.last_position() == 5);
  CHECK(store.stream_version("late-1") == 0);
  CHECK(store.stream_version("late-3") == 0);

  // Inside a transaction the refusal is an answer, not a server error: the transaction goes on.
  store.transact([&](postgres_transaction& tx) {
    CHECK_THROWS_MATCHES(tx.append("late-1", expected_version::any(), copied_batch(1, late)), error,
                         earlier_copy_refusal("late-1", late, last));
    CHECK(tx.append("late-1", expected_version::any(), copied_batch(1, last)).status ==
          append_status::appended);
  });
  CHECK(store.stream_version("late-1") == 1);
}

// A schema of version 4 has annal_append and annal_append_one without p_exact; CREATE OR REPLACE
// alone would add the new ones beside them. migrate() drops them, so each name has one function.
TEST_CASE("postgres store migrates a version 4 schema to one append function of each name",
          "[store][postgres]") {
  const auto o = annal_test::fresh_postgres_options();
  {
    postgres_store old(o);
    old.migrate();
    old.append("s", expected_version::any(), make_batch(2));
    old.transact([](postgres_transaction& tx) {
      const std::string& s = tx.schema();
      tx.exec("DROP FUNCTION " + s + ".annal_append");
      tx.exec("DROP FUNCTION " + s + ".annal_append_one");
      // Version 4's argument lists; bodies that say so if they ever run.
      tx.exec("CREATE FUNCTION " + s +
              ".annal_append(p_stream text, p_kind int, p_expected bigint, p_ids uuid[],"
              " p_types text[], p_schema_versions int[], p_payloads jsonb[],"
              " p_correlations uuid[], p_causations uuid[], p_metadata jsonb[], p_now_us bigint)"
              " RETURNS TABLE (r_status int, r_event_id uuid, r_stream_id text,"
              " r_stream_version bigint, r_first bigint, r_last bigint) LANGUAGE plpgsql AS"
              " $$BEGIN RAISE EXCEPTION 'version 4 annal_append ran'; END$$");
      tx.exec("CREATE FUNCTION " + s +
              ".annal_append_one(p_stream text, p_kind int, p_expected bigint, p_id uuid,"
              " p_type text, p_schema_version int, p_payload jsonb, p_correlation uuid,"
              " p_causation uuid, p_metadata jsonb, p_now_us bigint, OUT r_status int,"
              " OUT r_event_id uuid, OUT r_stream_id text, OUT r_stream_version bigint,"
              " OUT r_first bigint, OUT r_last bigint) LANGUAGE plpgsql AS"
              " $$BEGIN RAISE EXCEPTION 'version 4 annal_append_one ran'; END$$");
      tx.exec("UPDATE " + s + ".schema_info SET version = 4");
    });
  }
  postgres_store store(o);
  CHECK_THROWS_WITH(store.append("s", expected_version::exact(2), make_batch(1)),
                    Catch::Contains("call migrate() first"));
  store.migrate();
  const auto functions = [&](const char* name) {
    return store.transact([&](postgres_transaction& tx) {
      return tx
          .exec(
              "SELECT count(*) FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n"
              " ON n.oid = p.pronamespace WHERE n.nspname = $1 AND p.proname = $2",
              o.schema, std::string(name))
          .get_int(0, 0);
    });
  };
  CHECK(functions("annal_append") == 1);
  CHECK(functions("annal_append_one") == 1);
  CHECK(functions("annal_append_group") == 1);
  CHECK(store.transact([](postgres_transaction& tx) {
    return tx.exec("SELECT version FROM " + tx.schema() + ".schema_info").get_int(0, 0);
  }) == postgres_schema_version);
  CHECK(store.append("s", expected_version::exact(2), make_batch(1)).last_position == 3);
  CHECK(store.append("s", expected_version::exact(3), make_batch(2)).last_position == 5);
  const time_point ahead =
      std::chrono::time_point_cast<std::chrono::microseconds>(clock::now()) + std::chrono::hours(1);
  CHECK(store.append("s", expected_version::exact(5), copied_batch(2, ahead)).last_position == 7);
  CHECK(all_events(store).back().recorded_at == ahead);
}

TEST_CASE("postgres store reads in pages and lets visitors append", "[store][postgres]") {
  auto o = annal_test::fresh_postgres_options(postgres_payload_format::bytea);
  o.read_page = 7;
  o.pool_size = 1;
  postgres_store store(o);
  store.migrate();
  for (int i = 0; i < 10; ++i) store.append("s", expected_version::any(), make_batch(5, i));
  std::uint64_t expect = 1;
  CHECK(store.read_all(1, [&](const recorded_event& e) { CHECK(e.position == expect++); }) == 50);
  expect = 4;
  CHECK(store.read_stream(
            "s", 4, [&](const recorded_event& e) { CHECK(e.stream_version == expect++); }, 20) ==
        20);
  store.read_all(1, [&](const recorded_event& e) {
    if (e.position == 1) store.append("b", expected_version::any(), make_batch(1));
  });
  CHECK(store.last_position() == 51);
}

TEST_CASE("postgres store wakes waiters through LISTEN/NOTIFY", "[store][postgres][wait]") {
  annal_test::postgres_fixture f;
  auto& store = f.store();
  const auto t0 = clock::now();
  CHECK_FALSE(store.wait_for_append(0, t0 + std::chrono::milliseconds(50)));
  std::thread writer([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    store.append("s", expected_version::any(), make_batch(1));
  });
  const auto t1 = clock::now();
  CHECK(store.wait_for_append(0, t1 + std::chrono::seconds(20)));
  writer.join();
  CHECK(store.wait_for_append(0, clock::now()));
  CHECK_FALSE(store.wait_for_append(1, clock::now() + std::chrono::milliseconds(20)));
  // Another store object on the same schema (another process, in real life) wakes it too.
  postgres_store other(f.options());
  std::thread writer2([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    other.append("s", expected_version::any(), make_batch(1));
  });
  CHECK(store.wait_for_append(1, clock::now() + std::chrono::seconds(20)));
  writer2.join();
}

// The listener starts on a store's first wait: LISTEN, then a look at the last position. An append
// that commits while that look runs is not in what it reads, and its notification reaches the
// client inside the look's round trip; it must still wake the waiter (it once sat unread in
// libpq's queue until some later notification). One append per round, at a moment spread over
// the listener's start, and no other append that could wake the waiter instead.
TEST_CASE("postgres store wakes a waiter for an append made while its listener starts",
          "[store][postgres][wait]") {
  annal_test::postgres_fixture f;
  for (int round = 0; round < 40; ++round) {
    postgres_store store(f.options());  // a new listener each round
    const std::uint64_t before = store.last_position();
    std::thread writer([&] {
      std::this_thread::sleep_for(std::chrono::milliseconds(round));
      f.store().append("s", expected_version::any(), make_batch(1));
    });
    INFO("round " << round);
    CHECK(store.wait_for_append(before, clock::now() + std::chrono::seconds(20)));
    writer.join();
  }
}

TEST_CASE("postgres event rows in binary form: a field of the wrong shape names its column",
          "[store][postgres]") {
  // A row as the server sends it: 8-byte integers, 16-byte uuids, jsonb with its version byte.
  const std::string position("\0\0\0\0\0\0\0\x2a", 8), version("\0\0\0\0\0\0\0\x03", 8),
      id(16, '\x11'), schema("\0\0\0\x02", 4), nil(16, '\0'), time("\0\0\0\0\0\0\0\0", 8);
  std::array<std::string_view, 11> row = {position, "order-7", version, id,  "placed",
                                          schema,   "\1{}",    nil,     nil, "\1{\"k\":\"v\"}",
                                          time};
  const annal::detail::pg::event_row_decoder decode(postgres_payload_format::jsonb);
  const recorded_event e = decode(row);
  CHECK(e.position == 42);
  CHECK(e.stream_version == 3);
  CHECK(e.schema_version == 2);
  CHECK(e.payload == "{}");
  CHECK(e.meta.at("k") == "v");
  // 2000-01-01, PostgreSQL's epoch for binary times.
  CHECK(
      std::chrono::duration_cast<std::chrono::seconds>(e.recorded_at.time_since_epoch()).count() ==
      946684800);
  const auto fails_naming = [&](std::size_t col, std::string_view value, const char* words) {
    auto bad = row;
    bad[col] = value;
    CHECK_THROWS_MATCHES(decode(bad), error, Catch::Predicate<error>([&](const error& err) {
                           const std::string w = err.what();
                           return err.code() == errc::decode_error &&
                                  w.find(annal::detail::pg::event_row_columns[col]) !=
                                      std::string::npos &&
                                  w.find(words) != std::string::npos;
                         }));
  };
  fails_naming(0, "42", "not an 8-byte integer");
  fails_naming(0, std::string("\xff\xff\xff\xff\xff\xff\xff\xff", 8), "negative");
  fails_naming(3, "0f8fad5b-d9cb-469f-a165-70867728950e", "not a 16-byte uuid");
  fails_naming(5, "2", "not a 4-byte integer");
  fails_naming(6, "{}", "jsonb of version 123");
  fails_naming(9, "", "is empty");
  fails_naming(10, std::string("\x7f\xff\xff\xff\xff\xff\xff\xff", 8), "beyond this clock's range");
}

// A jsonb schema takes a tombstone encoded by the codec its readers use, and says why it refuses
// one encoded by another (the binary codec's default), storing nothing.
TEST_CASE("postgres store: a tombstone in a jsonb schema is encoded as JSON",
          "[store][postgres][tombstone]") {
  postgres_store store(annal_test::fresh_postgres_options(postgres_payload_format::jsonb));
  store.migrate();
  store.append("s", expected_version::any(), make_batch(1));
  CHECK_THROWS_WITH(annal::delete_stream(store, "s", expected_version::exact(1), "bye"),
                    Catch::Contains("not valid JSON") && Catch::Contains("bytea"));
  CHECK_FALSE(annal::is_deleted(store, "s"));
  const auto r =
      annal::delete_stream<annal::json_codec>(store, "s", expected_version::exact(1), "bye");
  CHECK(r.stream_version == 2);
  CHECK(annal::is_deleted(store, "s"));
  store.read_stream("s", 2, [](const annal::recorded_event& e) {
    CHECK(annal::json_codec::decode<annal::stream_deleted>(e.payload).reason == "bye");
  });
}

TEST_CASE("postgres store refuses zero pages, pools and groups, naming the option",
          "[store][postgres][options]") {
  const auto refused = [](auto change, const std::string& option) {
    postgres_options o = annal_test::fresh_postgres_options();
    change(o);
    CHECK_THROWS_MATCHES(postgres_store(o), error,
                         annal_test::names_invalid_option("postgres_options::" + option, "0"));
  };
  refused([](postgres_options& o) { o.read_page = 0; }, "read_page");
  refused([](postgres_options& o) { o.pool_size = 0; }, "pool_size");
  refused([](postgres_options& o) { o.max_group = 0; }, "max_group");
}
