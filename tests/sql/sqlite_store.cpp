// The SQLite store: behaviour beyond the shared conformance suite (files, threads, processes).
#include <catch2/catch.hpp>

#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <mutex>
#include <set>
#include <thread>

#include <annal/sqlite/store.hpp>

#include "common/invalid_option.hpp"
#include "sql/sql_test_support.hpp"

using namespace annal;
using annal_test::make_batch;
using annal_test::make_event;

TEST_CASE("sqlite store models event_store", "[store][sqlite]") {
  STATIC_REQUIRE(event_store<sqlite_store>);
}

TEST_CASE("sqlite store appends, reads and keeps envelopes", "[store][sqlite]") {
  annal_test::temp_dir dir;
  const auto file = dir.path() / "events.db";
  auto first = make_batch(3);
  first[1].meta = {{"user", "ada"}, {"reason", "quote \" and \\ back"}};
  first[2].correlation_id = new_event_id();
  first[2].causation_id = new_event_id();
  first[2].schema_version = 7;
  first[0].payload = std::string("\0\xff binary", 9);
  const time_point before = clock::now();
  {
    sqlite_store store(file);
    const auto r = store.append("order-1", expected_version::no_stream(), first);
    CHECK(r.status == append_status::appended);
    CHECK(r.stream_version == 3);
    CHECK(r.first_position == 1);
    CHECK(r.last_position == 3);
    CHECK(store.append("order-2", expected_version::any(), make_batch(1)).last_position == 4);
    const auto c = store.append("order-1", expected_version::exact(1), make_batch(1));
    CHECK(c.status == append_status::conflict);
    CHECK(c.stream_version == 3);
  }
  sqlite_store store(file);  // reopened: everything survived
  std::vector<recorded_event> got;
  CHECK(store.read_stream("order-1", 1, [&](const recorded_event& e) { got.push_back(e); }) == 3);
  REQUIRE(got.size() == 3);
  for (std::size_t i = 0; i < 3; ++i) {
    CHECK(got[i].id == first[i].id);
    CHECK(got[i].payload == first[i].payload);
    CHECK(got[i].meta == first[i].meta);
    CHECK(got[i].stream_version == i + 1);
    CHECK(got[i].position == i + 1);
    CHECK(got[i].recorded_at >= before);
  }
  CHECK(got[2].correlation_id == first[2].correlation_id);
  CHECK(got[2].causation_id == first[2].causation_id);
  CHECK(got[2].schema_version == 7);
  CHECK(store.stream_version("order-1") == 3);
  CHECK(store.stream_version("nope") == 0);
  CHECK(store.last_position() == 4);
  std::vector<std::uint64_t> positions;
  CHECK(store.read_all(2, [&](const recorded_event& e) { positions.push_back(e.position); }) == 3);
  CHECK(positions == std::vector<std::uint64_t>{2, 3, 4});
  CHECK(store.read_all(1, [](const recorded_event&) { return false; }) == 1);
  CHECK(store.read_all(
            1, [](const recorded_event&) {}, 2) == 2);
}

TEST_CASE("sqlite store applies the idempotency rule", "[store][sqlite]") {
  annal_test::temp_dir dir;
  sqlite_store store(dir.path() / "events.db");
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
  CHECK(store.last_position() == 2);
}

// 45 events go in as one 32-row, one 8-row and five single-row INSERTs; a stored id met by any of
// them rolls the whole batch back before the idempotency rule decides.
TEST_CASE("sqlite store inserts large batches row for row in multi-row statements",
          "[store][sqlite]") {
  annal_test::temp_dir dir;
  sqlite_store store(dir.path() / "events.db");
  store.append("other", expected_version::any(), make_batch(2));
  auto batch = make_batch(45);
  for (std::size_t i = 0; i < batch.size(); i += 4) {
    batch[i].meta = {{"n", std::to_string(i)}, {"k", std::string(40, 'x')}};
    batch[i].causation_id = new_event_id();
    batch[i].schema_version = static_cast<std::uint32_t>(i + 1);
  }
  const auto r = store.append("s", expected_version::no_stream(), batch);
  CHECK(r.status == append_status::appended);
  CHECK(r.first_position == 3);
  CHECK(r.last_position == 47);
  std::vector<recorded_event> got;
  store.read_stream("s", 1, [&](const recorded_event& e) { got.push_back(e); });
  REQUIRE(got.size() == 45);
  for (std::size_t i = 0; i < got.size(); ++i) {
    CHECK(got[i].id == batch[i].id);
    CHECK(got[i].meta == batch[i].meta);
    CHECK(got[i].causation_id == batch[i].causation_id);
    CHECK(got[i].schema_version == batch[i].schema_version);
    CHECK(got[i].stream_version == i + 1);
    CHECK(got[i].position == i + 3);
  }
  // The retry is a duplicate, whether or not the expected version still matches.
  for (const auto expect : {expected_version::no_stream(), expected_version::any()}) {
    const auto again = store.append("s", expect, batch);
    CHECK(again.status == append_status::duplicate);
    CHECK(again.first_position == 3);
    CHECK(again.last_position == 47);
    CHECK(again.stream_version == 45);
  }
  // A stored id late in a new batch (in its single-row tail, then in its 32-row head).
  for (const std::size_t at : {std::size_t{43}, std::size_t{20}}) {
    auto reuse = make_batch(45);
    reuse[at].id = batch[7].id;
    CHECK_THROWS_MATCHES(store.append("s", expected_version::any(), reuse), error,
                         Catch::Predicate<error>(
                             [](const error& e) { return e.code() == errc::duplicate_event_id; }));
  }
  // A conflicting version with new ids is a conflict, and nothing was written by the refusals.
  CHECK(store.append("s", expected_version::exact(3), make_batch(40)).status ==
        append_status::conflict);
  CHECK(store.last_position() == 47);
  CHECK(store.append("s", expected_version::exact(45), make_batch(41)).last_position == 88);
}

TEST_CASE("sqlite store reads in pages larger than one query", "[store][sqlite]") {
  annal_test::temp_dir dir;
  sqlite_options opt;
  opt.read_page = 7;
  sqlite_store store(dir.path() / "events.db", opt);
  for (int i = 0; i < 10; ++i) store.append("s", expected_version::any(), make_batch(5, i));
  std::uint64_t expect = 1;
  CHECK(store.read_all(1, [&](const recorded_event& e) { CHECK(e.position == expect++); }) == 50);
  expect = 4;
  CHECK(store.read_stream(
            "s", 4, [&](const recorded_event& e) { CHECK(e.stream_version == expect++); }, 20) ==
        20);
  // A visitor may append to the store it reads without deadlocking on the pool.
  opt.pool_size = 1;
  sqlite_store single(dir.path() / "other.db", opt);
  single.append("a", expected_version::any(), make_batch(3));
  single.read_all(1, [&](const recorded_event& e) {
    if (e.stream_id == "a") single.append("b", expected_version::any(), make_batch(1));
  });
  CHECK(single.last_position() == 6);
}

TEST_CASE("sqlite store serializes appends from threads gap-free", "[store][sqlite][concurrency]") {
  annal_test::temp_dir dir;
  sqlite_options opt;
  opt.sync = durability::none;  // speed; durability is the crash test's business
  sqlite_store store(dir.path() / "events.db", opt);
  constexpr int threads = 8, per_thread = 40;
  std::atomic<int> conflicts{0}, bad_conflicts{0};
  std::mutex failure_mutex;
  std::string failure;  // Catch2 assertions are not thread-safe: threads report here
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t)
    pool.emplace_back([&, t] {
      try {
        for (int i = 0; i < per_thread; ++i) {
          store.append("own-" + std::to_string(t), expected_version::exact(i), make_batch(1));
          // All threads race on one stream too: each conflict must report the real version.
          for (;;) {
            const auto v = store.stream_version("shared");
            const auto r = store.append("shared", expected_version::exact(v), make_batch(1));
            if (r) break;
            ++conflicts;
            if (r.stream_version <= v) ++bad_conflicts;
          }
        }
      } catch (const std::exception& e) {
        std::lock_guard lock(failure_mutex);
        failure = e.what();
      }
    });
  for (auto& t : pool) t.join();
  CHECK(failure == "");
  CHECK(bad_conflicts == 0);
  CHECK(store.stream_version("shared") == threads * per_thread);
  std::uint64_t expect = 1;
  store.read_all(1, [&](const recorded_event& e) { REQUIRE(e.position == expect++); });
  CHECK(expect - 1 == 2 * threads * per_thread);
}

TEST_CASE("sqlite store is shared by processes on one file", "[store][sqlite][process]") {
  annal_test::temp_dir dir;
  const auto file = dir.path() / "events.db";
  { sqlite_store create(file); }
  constexpr int children = 4, per_child = 50;
  std::vector<pid_t> pids;
  for (int c = 0; c < children; ++c) {
    const pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      int code = 0;
      try {
        sqlite_store store(file);
        for (int i = 0; i < per_child; ++i) {
          for (;;) {  // conditional appends to one shared stream across processes
            const auto v = store.stream_version("shared");
            if (store.append("shared", expected_version::exact(v), make_batch(2, c))) break;
          }
        }
      } catch (...) {
        code = 1;
      }
      ::_exit(code);
    }
    pids.push_back(pid);
  }
  for (pid_t pid : pids) {
    int status = 0;
    ::waitpid(pid, &status, 0);
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
  }
  sqlite_store store(file);
  CHECK(store.stream_version("shared") == children * per_child * 2);
  std::uint64_t expect = 1;
  store.read_all(1, [&](const recorded_event& e) {
    REQUIRE(e.position == expect);
    REQUIRE(e.stream_version == expect);
    ++expect;
  });
}

TEST_CASE("sqlite store wakes waiters on append", "[store][sqlite][wait]") {
  annal_test::temp_dir dir;
  sqlite_store store(dir.path() / "events.db");
  CHECK_FALSE(store.wait_for_append(0, clock::now() + std::chrono::milliseconds(20)));
  std::thread writer([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(30));
    store.append("s", expected_version::any(), make_batch(1));
  });
  CHECK(store.wait_for_append(0, clock::now() + std::chrono::seconds(10)));
  writer.join();
  CHECK(store.wait_for_append(0, clock::now()));
  CHECK_FALSE(store.wait_for_append(1, clock::now() + std::chrono::milliseconds(10)));
}

// Another store object on the file shares no memory with the waiters, as another process would
// not. With the poll bound far past the deadline, only the WAL watch can wake them before it.
TEST_CASE("sqlite store wakes waiters on another object's appends", "[store][sqlite][wait]") {
  annal_test::temp_dir dir;
  sqlite_options o;
  o.cross_process_poll = std::chrono::hours(1);
  sqlite_store waiting(dir.path() / "events.db", o);
  sqlite_store writing(dir.path() / "events.db", o);
  for (std::uint64_t round = 0; round < 5; ++round) {
    const time_point deadline = clock::now() + std::chrono::seconds(30);
    std::vector<std::thread> waiters;
    std::atomic<int> woken{0};
    for (int w = 0; w < 2; ++w)
      waiters.emplace_back([&] {
        if (waiting.wait_for_append(round, deadline) && clock::now() < deadline) ++woken;
      });
    // Sometimes before the waiters look, sometimes while they wait.
    std::this_thread::sleep_for(std::chrono::milliseconds(round * 10));
    writing.append("s", expected_version::any(), make_batch(1));
    for (auto& t : waiters) t.join();
    INFO("round " << round);
    CHECK(woken == 2);
  }
  // A checkpoint writes the database file, not the WAL, and wakes no one falsely: the wait ends at
  // its deadline with nothing new.
  CHECK_FALSE(waiting.wait_for_append(5, clock::now() + std::chrono::milliseconds(100)));
}

TEST_CASE("sqlite store refuses what it cannot open", "[store][sqlite][errors]") {
  annal_test::temp_dir dir;
  CHECK_THROWS_WITH(sqlite_store(dir.path() / "missing-dir" / "x.db"),
                    Catch::Contains("missing-dir") && Catch::Contains("cannot open"));
  const auto garbage = dir.path() / "garbage.db";
  std::FILE* f = std::fopen(garbage.c_str(), "wb");
  std::fputs("this is not an sqlite database, not at all, definitely not one", f);
  std::fclose(f);
  CHECK_THROWS_MATCHES(sqlite_store(garbage), error, Catch::Predicate<error>([](const error& e) {
                         return e.code() == errc::corrupt_log;
                       }));
}

TEST_CASE("sqlite store keeps its WAL bounded: checkpoints catch up", "[store][sqlite]") {
  annal_test::temp_dir dir;
  sqlite_options opt;
  opt.sync = durability::none;
  opt.checkpoint = GENERATE(sqlite_checkpoint::background, sqlite_checkpoint::in_commit);
  sqlite_store store(dir.path() / "events.db", opt);
  const std::string big(4000, 'x');  // about one page per event
  for (int i = 0; i < 3000; ++i) {
    store.append("s", expected_version::any(), std::vector{make_event("big", big)});
    if (i % 100 == 0) store.read_all(1, [](const recorded_event&) { return false; });
  }
  // checkpoint_pages is 1000 pages (4 MiB), and a writer that outruns the background thread
  // checkpoints itself at 4000: the WAL is reused, not grown, once checkpointed.
  CHECK(std::filesystem::file_size(dir.path() / "events.db-wal") < 17u * 1024 * 1024);
  CHECK(std::filesystem::file_size(dir.path() / "events.db") > 8u * 1024 * 1024);
}

// The thread really checkpoints: below 4 × checkpoint_pages no commit copies the WAL itself, so
// the database file grows only if the thread ran. (The test above would pass without it.)
TEST_CASE("sqlite store checkpoints on its own thread once the WAL passes checkpoint_pages",
          "[store][sqlite]") {
  annal_test::temp_dir dir;
  sqlite_options opt;
  opt.sync = durability::none;
  opt.checkpoint_pages = 100;
  sqlite_store store(dir.path() / "events.db", opt);
  const auto db = dir.path() / "events.db";
  const std::uintmax_t empty = std::filesystem::file_size(db);
  const std::string big(4000, 'x');  // about one page per event
  for (int i = 0; i < 15; ++i) {     // about 150 pages: past 100, short of the commits' own 400
    std::vector<event_data> batch;
    for (int j = 0; j < 10; ++j) batch.push_back(make_event("big", big));
    store.append("s", expected_version::any(), batch);
  }
  // Liveness, not speed: wait for the copy with a generous deadline.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (std::filesystem::file_size(db) < 100u * 4096 &&
         std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  CHECK(empty < 100u * 4096);
  CHECK(std::filesystem::file_size(db) >= 100u * 4096);
}

// A writer that never pauses: the background thread alone may never copy the whole WAL between
// two commits, so the commit that finds it at 4 × checkpoint_pages checkpoints itself.
TEST_CASE("sqlite store bounds its WAL under a writer that never pauses", "[store][sqlite]") {
  annal_test::temp_dir dir;
  sqlite_options opt;
  opt.sync = durability::none;
  opt.checkpoint_pages = 100;
  sqlite_store store(dir.path() / "events.db", opt);
  const std::string big(4000, 'x');
  std::uintmax_t largest = 0;
  for (int i = 0; i < 300; ++i) {
    std::vector<event_data> batch;
    for (int j = 0; j < 10; ++j) batch.push_back(make_event("big", big));
    store.append("s", expected_version::any(), batch);
    largest = std::max(largest, std::filesystem::file_size(dir.path() / "events.db-wal"));
  }
  // 400 pages, plus the commit that crossed them: about 12 pages with its index pages, a few more
  // when the B-trees split on that commit (seen: 422 pages on a loaded machine).
  CHECK(largest < 440u * (4096 + 24) + 32);
  CHECK(std::filesystem::file_size(dir.path() / "events.db") > 8u * 1024 * 1024);
  CHECK(store.last_position() == 3000);
}

TEST_CASE("sqlite store refuses a zero read page or pool size, naming the option",
          "[store][sqlite][options]") {
  annal_test::temp_dir dir;
  const auto file = dir.path() / "events.db";
  CHECK_THROWS_MATCHES(sqlite_store(file, {.read_page = 0}), error,
                       annal_test::names_invalid_option("sqlite_options::read_page", "0"));
  CHECK_THROWS_MATCHES(sqlite_store(file, {.pool_size = 0}), error,
                       annal_test::names_invalid_option("sqlite_options::pool_size", "0"));
}
