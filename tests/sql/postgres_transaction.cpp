// A projection writes its rows and its checkpoint in one transaction: both or neither.
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <future>
#include <thread>

#include <annal/postgres/store.hpp>

#include "sql/postgres_fixture.hpp"
#include "sql/sql_test_support.hpp"

using namespace annal;

namespace {
// A tiny read model: events per stream, kept by a projection named "counts".
void project(postgres_store& store, bool fail_midway = false) {
  const std::uint64_t from = store.load_checkpoint("counts") + 1;
  store.transact([&](postgres_transaction& tx) {
    // Locked until commit: a second instance of this projection would wait here.
    const std::uint64_t locked_from = tx.load_checkpoint("counts") + 1;
    if (locked_from != from) throw std::runtime_error("checkpoint moved");
    std::uint64_t last = 0;
    store.read_all(from, [&](const recorded_event& e) {
      tx.exec("INSERT INTO " + tx.schema() +
                  ".counts (stream_id, n) VALUES ($1, 1) "
                  "ON CONFLICT (stream_id) DO UPDATE SET n = counts.n + 1",
              e.stream_id);
      last = e.position;
    });
    if (fail_midway) throw std::runtime_error("projection failed");
    if (last) tx.save_checkpoint("counts", last);
  });
}

std::int64_t count_of(postgres_store& store, const std::string& stream) {
  return store.transact([&](postgres_transaction& tx) -> std::int64_t {
    const postgres_rows r =
        tx.exec("SELECT n FROM " + tx.schema() + ".counts WHERE stream_id = $1", stream);
    return r.rows() ? r.get_int(0, 0) : 0;
  });
}
}  // namespace

TEST_CASE("postgres transact writes read-model rows and the checkpoint atomically",
          "[store][postgres][projection]") {
  annal_test::postgres_fixture f;
  auto& store = f.store();
  store.transact([](postgres_transaction& tx) {
    tx.exec("CREATE TABLE " + tx.schema() + ".counts (stream_id text PRIMARY KEY, n int NOT NULL)");
  });
  CHECK(store.load_checkpoint("counts") == 0);
  store.append("a", expected_version::any(), annal_test::make_batch(2));
  store.append("b", expected_version::any(), annal_test::make_batch(1));
  project(store);
  CHECK(store.load_checkpoint("counts") == 3);
  CHECK(count_of(store, "a") == 2);
  CHECK(count_of(store, "b") == 1);

  store.append("a", expected_version::any(), annal_test::make_batch(3));
  CHECK_THROWS_WITH(project(store, true), "projection failed");
  // Rolled back: neither the rows nor the checkpoint moved.
  CHECK(store.load_checkpoint("counts") == 3);
  CHECK(count_of(store, "a") == 2);
  project(store);
  CHECK(store.load_checkpoint("counts") == 6);
  CHECK(count_of(store, "a") == 5);

  // Parameters: numbers, bools, optionals and NULL.
  const postgres_rows r = store.transact([](postgres_transaction& tx) {
    return tx.exec("SELECT $1::int8 + 1, $2::bool, $3::text IS NULL, $4::text, $5::float8",
                   std::int64_t{41}, true, std::optional<std::string>{}, std::string_view("x"),
                   2.5);
  });
  CHECK(r.get_int(0, 0) == 42);
  CHECK(std::string(r.get(0, 1)) == "t");
  CHECK(std::string(r.get(0, 2)) == "t");
  CHECK(std::string(r.get(0, 3)) == "x");
  CHECK(std::string(r.get(0, 4)) == "2.5");
  // A failing statement names itself and rolls back.
  CHECK_THROWS_WITH(store.transact([](postgres_transaction& tx) { tx.exec("SELEKT 1"); }),
                    Catch::Contains("SELEKT 1") && Catch::Contains("syntax error"));
}

TEST_CASE("postgres transact binds bytes to bytea and refuses NUL in text",
          "[store][postgres][projection]") {
  annal_test::postgres_fixture f;
  auto& store = f.store();
  std::string bytes;
  for (int i = 0; i < 256; ++i) bytes += static_cast<char>(i);
  const postgres_rows r = store.transact([&](postgres_transaction& tx) {
    tx.exec("CREATE TABLE " + tx.schema() + ".blobs (k text PRIMARY KEY, v bytea)");
    tx.exec("INSERT INTO " + tx.schema() + ".blobs VALUES ($1, $2), ($3, $4)", "all",
            postgres_bytea{bytes}, "empty", postgres_bytea{});
    return tx.exec("SELECT v, length(v), k FROM " + tx.schema() + ".blobs ORDER BY k");
  });
  REQUIRE(r.rows() == 2);
  CHECK(r.get_bytea(0, 0) == bytes);
  CHECK(r.get_int(0, 1) == 256);
  CHECK(r.get_bytea(1, 0).empty());
  // A column that is not bytea is an error, not bytes made up from its text.
  CHECK_THROWS_MATCHES(r.get_bytea(0, 2), error, Catch::Predicate<error>([](const error& e) {
                         return e.code() == errc::decode_error &&
                                std::string(e.what()).find("column 2 is not bytea") !=
                                    std::string::npos;
                       }));
  // libpq would cut a text parameter at its first NUL and store the rest silently; it is refused,
  // naming the parameter, and nothing of the transaction stays.
  const std::string with_nul("ab\0cd", 5);
  CHECK_THROWS_MATCHES(store.transact([&](postgres_transaction& tx) {
    tx.exec("INSERT INTO " + tx.schema() + ".blobs VALUES ('x', NULL)");
    tx.exec("INSERT INTO " + tx.schema() + ".blobs VALUES ($1, $2)", "y", with_nul);
  }),
                       error, Catch::Predicate<error>([](const error& e) {
                         const std::string w = e.what();
                         return e.code() == errc::invalid_argument &&
                                w.find("parameter $2") != std::string::npos &&
                                w.find("NUL byte") != std::string::npos;
                       }));
  CHECK(store.transact([](postgres_transaction& tx) {
    return tx.exec("SELECT count(*) FROM " + tx.schema() + ".blobs").get_int(0, 0);
  }) == 2);
}

TEST_CASE("postgres transact appends events and rows atomically", "[store][postgres][projection]") {
  annal_test::postgres_fixture f;
  auto& store = f.store();
  const auto batch = annal_test::make_batch(2);
  CHECK_THROWS(store.transact([&](postgres_transaction& tx) {
    CHECK(tx.append("s", expected_version::no_stream(), batch).last_position == 2);
    tx.save_checkpoint("outbox", 2);
    throw std::runtime_error("abort");
  }));
  CHECK(store.last_position() == 0);
  CHECK(store.load_checkpoint("outbox") == 0);
  const auto r = store.transact([&](postgres_transaction& tx) {
    tx.save_checkpoint("outbox", 2);
    return tx.append("s", expected_version::no_stream(), batch);
  });
  CHECK(r.status == append_status::appended);
  CHECK(store.last_position() == 2);
  CHECK(store.load_checkpoint("outbox") == 2);
}

TEST_CASE("postgres: two fresh instances of a projection meet on one checkpoint lock",
          "[store][postgres][checkpoint]") {
  annal_test::postgres_jsonb_fixture f;
  auto& store = f.store();
  std::promise<void> a_holds, a_may_commit;
  std::atomic<bool> b_loaded{false};
  std::uint64_t a_saw = 99, b_saw = 99;
  // A: the first instance loads the checkpoint nobody saved yet, then advances it.
  std::thread a([&] {
    store.transact([&](postgres_transaction& tx) {
      a_saw = tx.load_checkpoint("fresh");
      a_holds.set_value();
      a_may_commit.get_future().wait();
      tx.save_checkpoint("fresh", 5);
    });
  });
  a_holds.get_future().wait();
  // B: a second instance must wait for A's transaction, then start from what A saved.
  std::thread b([&] {
    store.transact([&](postgres_transaction& tx) { b_saw = tx.load_checkpoint("fresh"); });
    b_loaded = true;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  CHECK_FALSE(b_loaded);  // still waiting on A's row lock
  a_may_commit.set_value();
  a.join();
  b.join();
  CHECK(a_saw == 0);
  CHECK(b_saw == 5);
}
