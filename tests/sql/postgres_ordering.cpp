// The global order under load: 36 writers (plain appends, slow transactions, random rollbacks)
// and a reader tailing read_all. Every committed event must reach the reader exactly once, in one
// consistent order, and no rolled-back event ever (the failure of Marten's issue #3321).
#include <catch2/catch.hpp>

#include <atomic>
#include <mutex>
#include <random>
#include <set>
#include <thread>
#include <unordered_map>
#include <unordered_set>

#include <boost/uuid/uuid_io.hpp>

#include <annal/postgres/store.hpp>

#include "sql/postgres_fixture.hpp"
#include "sql/sql_test_support.hpp"

using namespace annal;

namespace {

struct rolled_back : std::runtime_error {
  rolled_back() : std::runtime_error("deliberate rollback") {}
};

// What the checker knows: what writers saw committed, what they rolled back, what was delivered.
struct ledger {
  std::mutex mutex;
  std::unordered_set<std::string> committed, aborted;
  std::string failure;
  void add(std::unordered_set<std::string>& to, const std::vector<event_data>& batch) {
    std::lock_guard lock(mutex);
    for (const auto& e : batch) to.insert(boost::uuids::to_string(e.id));
  }
  void fail(const std::string& why) {
    std::lock_guard lock(mutex);
    if (failure.empty()) failure = why;
  }
};

}  // namespace

TEST_CASE("postgres global order: a tailing reader never misses a late commit",
          "[store][postgres][ordering][concurrency]") {
  auto options = annal_test::fresh_postgres_options(postgres_payload_format::bytea);
  options.pool_size = 40;
  postgres_store store(options);
  store.migrate();

  constexpr int writers = 36;
  constexpr int ops_per_writer = 30;
  ledger book;
  std::atomic<int> writers_left{writers};

  // The reader: tails read_all from its checkpoint, woken by LISTEN/NOTIFY.
  std::vector<std::pair<std::uint64_t, std::string>> delivered;
  std::thread reader([&] {
    try {
      std::uint64_t next = 1;
      for (;;) {
        const bool done = writers_left.load() == 0;
        store.read_all(next, [&](const recorded_event& e) {
          if (e.position != next)
            book.fail("reader expected position " + std::to_string(next) + ", got " +
                      std::to_string(e.position));
          delivered.emplace_back(e.position, boost::uuids::to_string(e.id));
          next = e.position + 1;
        });
        if (done && next > store.last_position()) break;
        store.wait_for_append(next - 1, clock::now() + std::chrono::milliseconds(200));
      }
    } catch (const std::exception& e) {
      book.fail(std::string("reader: ") + e.what());
    }
  });

  std::vector<std::thread> pool;
  for (int w = 0; w < writers; ++w)
    pool.emplace_back([&, w] {
      std::mt19937 rng(static_cast<unsigned>(w * 7919 + 1));
      try {
        for (int op = 0; op < ops_per_writer; ++op) {
          auto batch = annal_test::make_batch(1 + rng() % 4, w * 1000 + op);
          const std::string stream = "s-" + std::to_string(rng() % 8);
          const unsigned dice = rng() % 10;
          if (dice < 6) {
            store.append(stream, expected_version::any(), batch);
            book.add(book.committed, batch);
          } else if (dice < 8) {
            // A slow transaction: the events are inserted, then the commit comes late.
            store.transact([&](postgres_transaction& tx) {
              tx.append(stream, expected_version::any(), batch);
              std::this_thread::sleep_for(std::chrono::milliseconds(rng() % 15));
            });
            book.add(book.committed, batch);
          } else {
            try {
              store.transact([&](postgres_transaction& tx) {
                tx.append(stream, expected_version::any(), batch);
                std::this_thread::sleep_for(std::chrono::milliseconds(rng() % 10));
                throw rolled_back();
              });
            } catch (const rolled_back&) {
              book.add(book.aborted, batch);
            }
          }
        }
      } catch (const std::exception& e) {
        book.fail(std::string("writer: ") + e.what());
      }
      --writers_left;
    });
  for (auto& t : pool) t.join();
  reader.join();

  REQUIRE(book.failure == "");
  // Exactly once, gap-free, and only committed events.
  std::unordered_set<std::string> seen;
  for (std::size_t i = 0; i < delivered.size(); ++i) {
    REQUIRE(delivered[i].first == i + 1);
    REQUIRE(seen.insert(delivered[i].second).second);
    REQUIRE(book.aborted.count(delivered[i].second) == 0);
  }
  CHECK(seen.size() == book.committed.size());
  for (const auto& id : book.committed) REQUIRE(seen.count(id) == 1);
  // One consistent order: a fresh read from the start gives the very same sequence.
  std::size_t i = 0;
  store.read_all(1, [&](const recorded_event& e) {
    REQUIRE(i < delivered.size());
    REQUIRE(delivered[i].second == boost::uuids::to_string(e.id));
    ++i;
  });
  CHECK(i == delivered.size());
  // Stream versions are gap-free too.
  for (int s = 0; s < 8; ++s) {
    std::uint64_t v = 1;
    store.read_stream("s-" + std::to_string(s), 1,
                      [&](const recorded_event& e) { REQUIRE(e.stream_version == v++); });
  }
  CHECK(book.aborted.size() > 0);
}
