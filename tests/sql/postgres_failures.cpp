// Bad input and bad days: unreachable server, wrong credentials, no schema, a server restarted in
// the middle of appends. Clear errors; nothing acknowledged lost; no half batch ever visible.
#include <catch2/catch.hpp>

#include <atomic>
#include <map>
#include <mutex>
#include <thread>

#include <boost/uuid/uuid_io.hpp>

#include <annal/postgres/store.hpp>

#include "common/postgres_server.hpp"
#include "sql/postgres_fixture.hpp"
#include "sql/sql_test_support.hpp"

using namespace annal;

TEST_CASE("postgres: an unreachable server is a connection_error", "[store][postgres][errors]") {
  postgres_options o;
  o.connection = "host=127.0.0.1 port=1 dbname=nothing user=nobody connect_timeout=2";
  try {
    postgres_store store(o);
    FAIL("connected to port 1");
  } catch (const error& e) {
    CHECK(e.code() == errc::connection_error);
    CHECK_THAT(e.what(), Catch::Contains("cannot connect") && Catch::Contains("127.0.0.1") &&
                             Catch::Contains("Connection refused"));
  }
}

TEST_CASE("postgres: wrong credentials are a connection_error", "[store][postgres][errors]") {
  auto& server = annal_test::postgres_server::shared();
  postgres_options o;
  o.connection = "host=127.0.0.1 port=" + std::to_string(server.port()) +
                 " dbname=postgres user=annal password=wrong";
  try {
    postgres_store store(o);
    FAIL("connected with a wrong password");
  } catch (const error& e) {
    CHECK(e.code() == errc::connection_error);
    CHECK_THAT(e.what(),
               Catch::Contains("password authentication failed") && Catch::Contains("user annal"));
    CHECK_THAT(e.what(), !Catch::Contains("password=wrong"));
  }
}

TEST_CASE("postgres: a store used before migrate() says so", "[store][postgres][errors]") {
  postgres_store store(annal_test::fresh_postgres_options());
  const auto says_migrate = Catch::Contains("call migrate() first");
  CHECK_THROWS_WITH(store.append("s", expected_version::any(), annal_test::make_batch(1)),
                    says_migrate && Catch::Contains("append to stream 's'"));
  CHECK_THROWS_WITH(store.read_all(1, [](const recorded_event&) {}), says_migrate);
  CHECK_THROWS_WITH(store.stream_version("s"), says_migrate);
  CHECK_THROWS_WITH(store.last_position(), says_migrate);
  CHECK_THROWS_WITH(store.load_checkpoint("p"), says_migrate);
  // And the store works once migrated: the failed statements left no broken connection behind.
  store.migrate();
  CHECK(store.append("s", expected_version::any(), annal_test::make_batch(1)).last_position == 1);
}

TEST_CASE("postgres: a server restarted mid-append loses nothing acknowledged",
          "[store][postgres][errors][restart]") {
  // A server of its own: the restart must not disturb other tests.
  annal_test::postgres_server server;
  postgres_options o;
  o.connection = server.conninfo();
  o.schema = "restart";
  o.pool_size = 8;
  o.payload_format = postgres_payload_format::bytea;
  postgres_store store(o);
  store.migrate();

  constexpr int writers = 6;
  constexpr std::size_t batch_size = 3;
  std::atomic<bool> stop{false};
  std::mutex mutex;
  std::map<std::string, std::size_t> acknowledged;  // event id -> batch tag
  std::vector<std::string> errors;
  std::string unexpected;
  std::vector<std::thread> pool;
  for (int w = 0; w < writers; ++w)
    pool.emplace_back([&, w] {
      for (std::size_t n = 0; !stop; ++n) {
        const std::size_t tag = static_cast<std::size_t>(w) * 100000 + n;
        const auto batch = annal_test::make_batch(batch_size, tag);
        // Retry the same batch (same ids) until the store answers: appended or duplicate.
        for (int attempt = 0;; ++attempt) {
          try {
            const auto r = store.append("w-" + std::to_string(w), expected_version::any(), batch);
            std::lock_guard lock(mutex);
            if (r.last_position - r.first_position + 1 != batch_size)
              unexpected = "batch positions not contiguous";
            for (const auto& e : batch) acknowledged[boost::uuids::to_string(e.id)] = tag;
            break;
          } catch (const error& e) {
            std::lock_guard lock(mutex);
            if (e.code() != errc::connection_error) {
              unexpected = e.what();
              return;
            }
            errors.push_back(e.what());
          }
          if (attempt > 600) {
            std::lock_guard lock(mutex);
            unexpected = "the server did not come back";
            return;
          }
          std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
      }
    });
  std::this_thread::sleep_for(std::chrono::milliseconds(400));
  server.restart("immediate");  // a crash: in-flight transactions are cut off
  std::this_thread::sleep_for(std::chrono::milliseconds(400));
  stop = true;
  for (auto& t : pool) t.join();

  REQUIRE(unexpected == "");
  REQUIRE(!errors.empty());       // the restart was felt...
  for (const auto& msg : errors)  // ...and every error says what failed
    CHECK_THAT(msg, Catch::Contains("lost the connection") || Catch::Contains("cannot connect"));
  CHECK_THAT(errors.front(),
             Catch::Contains("append to stream") || Catch::Contains("cannot connect"));

  // Every acknowledged event is there, and every stored batch is whole.
  std::map<std::string, std::size_t> stored;
  std::map<std::string, std::size_t> per_batch;  // payload tag -> events
  std::uint64_t expect = 1;
  store.read_all(1, [&](const recorded_event& e) {
    REQUIRE(e.position == expect++);
    stored[boost::uuids::to_string(e.id)] = e.position;
    per_batch[e.payload.substr(0, e.payload.find(','))]++;
  });
  for (const auto& [id, tag] : acknowledged) REQUIRE(stored.count(id) == 1);
  for (const auto& [tag, n] : per_batch) REQUIRE(n == batch_size);
  CHECK(acknowledged.size() == stored.size());
}
