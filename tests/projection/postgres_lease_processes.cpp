// Worker processes share one projection through PostgreSQL leases while writers append: one killed
// during catch-up, one during live processing, one paused past its lease (its write refused by the
// fence when it wakes); the read model ends equal to a single process's, no event applied twice.
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <annal/postgres/leased_projector.hpp>
#include <annal/projection/projector.hpp>

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "common/child_process.hpp"
#include "common/eventually.hpp"
#include "projection/domain.hpp"
#include "projection/lease_ledger.hpp"
#include "sql/postgres_fixture.hpp"

using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

template <class F>
bool eventually(F&& done, std::chrono::milliseconds limit = std::chrono::seconds(120)) {
  return annal_test::eventually(std::forward<F>(done), limit);
}

// One lease_worker process.
struct worker_process : annal_test::child_process {
  worker_process(const std::vector<std::string>& args, fs::path output,
                 const std::vector<std::string>& environment = {})
      : child_process(ANNAL_LEASE_WORKER_PATH, args, std::move(output), environment) {}
};

std::int64_t scalar(annal::postgres_store& store, const std::string& sql) {
  return store.transact(
      [&](annal::postgres_transaction& tx) { return tx.exec(sql).get_int(0, 0); });
}

std::size_t count_of(const std::string& text, const std::string& word) {
  std::size_t n = 0;
  for (auto at = text.find(word); at != std::string::npos; at = text.find(word, at + 1)) ++n;
  return n;
}

}  // namespace

TEST_CASE("worker processes share a projection: two killed, one paused past its lease",
          "[projection][postgres][leases][processes]") {
  annal_test::postgres_fixture f;
  annal::postgres_store& store = f.store();
  const std::string schema = f.options().schema + "_ledger";
  const std::string leases = f.options().schema + ".segment_leases";
  constexpr int k = 6;
  std::string dir_pattern = (fs::temp_directory_path() / "annal-leases-XXXXXX").string();
  REQUIRE(::mkdtemp(dir_pattern.data()) != nullptr);
  const fs::path dir = dir_pattern;

  const auto owners_of = [&](const std::string& owner) {
    return scalar(store, "SELECT count(*) FROM " + leases + " WHERE owner = '" + owner + "'");
  };
  const auto caught_up = [&] {
    return scalar(store, "SELECT coalesce(min(position), 0) FROM " + f.options().schema +
                             ".checkpoints WHERE name LIKE 'ledger/%'") ==
               static_cast<std::int64_t>(store.last_position()) &&
           scalar(store, "SELECT count(*) FROM " + f.options().schema +
                             ".checkpoints WHERE name LIKE 'ledger/%'") == k;
  };
  // Writers: each appends to its own accounts, opened first, then deposits.
  const auto write = [&](int writers, int accounts, int deposits, const std::string& tag) {
    std::vector<std::jthread> threads;
    for (int w = 0; w < writers; ++w)
      threads.emplace_back([&, w] {
        for (int a = 0; a < accounts; ++a)
          proj::append(store, tag + std::to_string(w) + "-" + std::to_string(a), bank::opened{"x"});
        for (int d = 1; d <= deposits; ++d)
          for (int a = 0; a < accounts; ++a)
            proj::append(store, tag + std::to_string(w) + "-" + std::to_string(a),
                         bank::deposited{d});
      });
  };
  write(8, 4, 10, "early-");  // the workers start with a backlog: catch-up

  const auto start = [&](const std::string& owner) {
    return std::make_unique<worker_process>(
        std::vector<std::string>{f.options().connection, f.options().schema, schema,
                                 std::to_string(k), owner, "2000", "400"},
        dir / (owner + ".out"));
  };
  annal::postgres_segment_leases{store, "ledger", k};  // the lease table, before it is polled
  auto w0 = start("w0");
  auto w1 = start("w1");
  auto w2 = start("w2");
  // w0 dies as soon as it holds segments: during its catch-up of the backlog.
  REQUIRE(eventually([&] { return owners_of("w0") > 0; }));
  const int killed_catching_up = w0->kill();
  CHECK((WIFSIGNALED(killed_catching_up) && WTERMSIG(killed_catching_up) == SIGKILL));

  // Live writers, appending until told to stop; w3 joins and dies while they append.
  std::vector<std::jthread> writers;
  for (int w = 0; w < 64; ++w)  // the 64 writers
    writers.emplace_back([&, w](std::stop_token stop) {
      const std::string account = "live-" + std::to_string(w);
      proj::append(store, account, bank::opened{"x"});
      for (int d = 1; d <= 10 || !stop.stop_requested(); ++d)
        proj::append(store, account, bank::deposited{d});
    });
  auto w3 = start("w3");
  REQUIRE(eventually([&] { return owners_of("w3") > 0 && owners_of("w2") > 0; }));
  const int killed_live = w3->kill();
  CHECK((WIFSIGNALED(killed_live) && WTERMSIG(killed_live) == SIGKILL));
  const std::uint64_t at_kill = store.last_position();
  REQUIRE(eventually([&] { return store.last_position() > at_kill + 100; }));
  for (auto& w : writers) w.request_stop();
  writers.clear();  // joins
  // The dead workers' leases expire on the database's clock and the survivors take them over.
  REQUIRE(eventually([&] { return owners_of("w0") == 0 && owners_of("w3") == 0 && caught_up(); }));

  // Pause w1 while it is idle (caught up) until its segments are taken, append, then wake it: its
  // first batch finds another worker's token and is refused. A pause that lands inside one of its
  // transactions keeps that segment from being claimed (the claim skips a locked row): try again.
  bool fenced = false;
  for (int attempt = 0; attempt < 5 && !fenced; ++attempt) {
    REQUIRE(eventually([&] { return owners_of("w1") > 0 && caught_up(); }));
    w1->signal(SIGSTOP);
    const bool taken = eventually([&] { return owners_of("w1") == 0; }, 30s);
    if (taken) {
      write(4, 2, 3, "burst" + std::to_string(attempt) + "-");
      REQUIRE(eventually([&] { return caught_up(); }));  // w2 applied the burst alone
    }
    const std::string before = w1->output();
    w1->signal(SIGCONT);
    if (taken) {
      const auto losses = [](const std::string& out) {
        return count_of(out, "fenced ") + count_of(out, "lost ");
      };
      REQUIRE(eventually([&] { return losses(w1->output()) > losses(before); }));
      fenced = count_of(w1->output(), "fenced ") > count_of(before, "fenced ");
    }
  }
  INFO("w1's output:\n" << w1->output());
  CHECK(fenced);
  CHECK_THAT(w1->output(), Catch::Contains("was taken over (token "));

  // w1 rejoins and gets its share back; both stop cleanly and release.
  REQUIRE(eventually([&] { return owners_of("w1") > 0 && owners_of("w2") > 0 && caught_up(); }));
  INFO("w2's output:\n" << w2->output());
  CHECK(w1->stop() == 0);
  CHECK(w2->stop() == 0);
  CHECK(scalar(store, "SELECT count(*) FROM " + leases + " WHERE owner IS NOT NULL") == 0);

  // Every event applied exactly once (the position is the rows' primary key), and the read model
  // equals a single process's projection of the same log.
  const std::int64_t events = static_cast<std::int64_t>(store.last_position());
  CHECK(scalar(store, "SELECT count(*) FROM " + schema + ".lines") == events);
  annal::postgres_read_model<lease_ledger::ledger_sql> single{
      store, {.name = "single", .schema = f.options().schema + "_single"}};
  single.migrate();
  annal::projector{store, single}.catch_up();
  CHECK(lease_ledger::digest(store, schema) ==
        lease_ledger::digest(store, f.options().schema + "_single"));
  fs::remove_all(dir);
}

#ifdef ANNAL_CLOCK_SHIFT_PATH
// The bad input: a worker whose clock is off by more than the lease. Every time a lease
// holds comes from the database (now()), so one worker an hour ahead and one an hour behind share
// the segments as if their clocks were right, and a dead one's segments are taken over within the
// lease, not an hour later.
TEST_CASE("workers whose clocks are off by an hour share segments on the database's clock",
          "[projection][postgres][leases][processes]") {
  annal_test::postgres_fixture f;
  annal::postgres_store& store = f.store();
  const std::string schema = f.options().schema + "_ledger";
  const std::string leases = f.options().schema + ".segment_leases";
  constexpr int k = 4;
  std::string dir_pattern = (fs::temp_directory_path() / "annal-clocks-XXXXXX").string();
  REQUIRE(::mkdtemp(dir_pattern.data()) != nullptr);
  const fs::path dir = dir_pattern;
  for (int a = 0; a < 20; ++a) {
    proj::append(store, "acc-" + std::to_string(a), bank::opened{"x"});
    for (int d = 1; d <= 5; ++d)
      proj::append(store, "acc-" + std::to_string(a), bank::deposited{d});
  }
  const auto owners_of = [&](const std::string& owner) {
    return scalar(store, "SELECT count(*) FROM " + leases + " WHERE owner = '" + owner + "'");
  };
  const auto start = [&](const std::string& owner, long shift, std::vector<std::string> more = {}) {
    more.push_back(std::string("LD_PRELOAD=") + ANNAL_CLOCK_SHIFT_PATH);
    more.push_back("ANNAL_TEST_CLOCK_SHIFT=" + std::to_string(shift));
    return std::make_unique<worker_process>(
        std::vector<std::string>{f.options().connection, f.options().schema, schema,
                                 std::to_string(k), owner, "2000", "400"},
        dir / (owner + ".out"), more);
  };
  // The clock each worker printed, against this process's: the shift took.
  const auto clock_offset = [](const worker_process& w) {
    const std::string out = w.output();
    const auto at = out.find("clock ");
    if (at == std::string::npos) return std::optional<long long>{};
    const long long theirs = std::stoll(out.substr(at + 6));
    return std::optional<long long>{
        theirs - static_cast<long long>(
                     std::chrono::system_clock::to_time_t(std::chrono::system_clock::now()))};
  };

  annal::postgres_segment_leases{store, "ledger", k};
  // An hour ahead, until NTP steps its clock back to the true time while it holds segments.
  auto ahead =
      start("ahead", 3600, {"ANNAL_TEST_CLOCK_STEP=0", "ANNAL_TEST_CLOCK_STEP_AFTER_MS=6000"});
  REQUIRE(eventually([&] { return owners_of("ahead") == k; }));
  const auto ahead_offset = clock_offset(*ahead);
  REQUIRE(ahead_offset);
  CHECK(*ahead_offset > 3500);
  CHECK(*ahead_offset < 3700);
  // Its leases run out a lease from the database's now(), not an hour after it.
  CHECK(scalar(store,
               "SELECT count(*) FROM " + leases +
                   " WHERE owner = 'ahead' AND expires_at > now() + interval '10 seconds'") == 0);

  auto behind = start("behind", -3600);
  REQUIRE(eventually([&] { return owners_of("ahead") == 2 && owners_of("behind") == 2; }));
  const auto behind_offset = clock_offset(*behind);
  REQUIRE(behind_offset);
  CHECK(*behind_offset < -3500);
  CHECK(*behind_offset > -3700);
  // Several lease periods, the step among them: neither takes the other's segments (a worker
  // reading leases on its own clock would find the other's expired, or never expiring; one timing
  // its renewals on the wall clock would stop renewing for an hour after the step).
  std::this_thread::sleep_for(8s);
  CHECK(owners_of("ahead") == 2);
  CHECK(owners_of("behind") == 2);
  CHECK(ahead->output().find("lost ") == std::string::npos);
  CHECK(behind->output().find("lost ") == std::string::npos);

  // The worker an hour ahead dies: the one an hour behind takes its segments when its lease ends.
  const int killed = ahead->kill();
  CHECK((WIFSIGNALED(killed) && WTERMSIG(killed) == SIGKILL));
  REQUIRE(eventually([&] { return owners_of("behind") == k; }));
  REQUIRE(eventually([&] {
    return scalar(store, "SELECT coalesce(min(position), 0) FROM " + f.options().schema +
                             ".checkpoints WHERE name LIKE 'ledger/%'") ==
           static_cast<std::int64_t>(store.last_position());
  }));
  CHECK(behind->stop() == 0);
  CHECK(scalar(store, "SELECT count(*) FROM " + schema + ".lines") ==
        static_cast<std::int64_t>(store.last_position()));
  fs::remove_all(dir);
}
#endif
