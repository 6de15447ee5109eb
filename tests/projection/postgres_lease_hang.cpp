// A leased worker that hangs in the middle of a batch (its transaction open) must lose its segment
// when its lease expires, as docs/projection.md promises for a worker that "dies, hangs or is cut
// off", and must not keep a new worker from starting.
#include <annal/postgres/leased_projector.hpp>
#include <annal/postgres/read_model.hpp>

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <future>
#include <mutex>
#include <stop_token>
#include <string>
#include <thread>

#include "common/eventually.hpp"
#include "projection/domain.hpp"
#include "sql/postgres_fixture.hpp"

using namespace std::chrono_literals;

using annal_test::eventually;

namespace {

// The handler of the worker whose thread set `hangs` blocks on its first event until released,
// as a process stopped by SIGSTOP or stuck in a handler would, with its batch's transaction open.
thread_local bool hangs = false;
std::mutex gate_mutex;
std::condition_variable gate;
bool released = false;
std::atomic<bool> hung{false};

struct stalling_ledger : annal::postgres_projection {
  using events = annal::events<bank::opened, bank::deposited>;

  void migrate(annal::postgres_transaction& tx) {
    tx.exec(
        "CREATE TABLE IF NOT EXISTS lines (position bigint PRIMARY KEY, account text NOT NULL)");
  }
  void on(const bank::opened&, const annal::envelope_header& h) { write(h); }
  void on(const bank::deposited&, const annal::envelope_header& h) { write(h); }
  void write(const annal::envelope_header& h) {
    if (hangs) {
      hung = true;
      std::unique_lock lock(gate_mutex);
      gate.wait(lock, [] { return released; });
    }
    sql().exec("INSERT INTO lines VALUES ($1, $2)", h.position, h.stream_id);
  }
};

annal::postgres_leased_projector_options options(const std::string& schema, std::string owner) {
  return {.name = "stalling",
          .schema = schema,
          .segments = 1,
          .lease = {.owner = std::move(owner), .lease = 1s, .renew_interval = 250ms},
          .projector = {.batch_size = 4}};
}

// Worker "a" (K = 1, lease 1 s) starts a batch and hangs in its handler, its transaction open.
struct hung_worker {
  annal_test::postgres_fixture f;
  std::string schema = f.options().schema + "_stalling";
  annal::postgres_leased_projector<stalling_ledger> a{f.store(), options(schema, "a")};
  std::jthread worker_a;

  hung_worker() {
    released = false;
    hung = false;
    for (int i = 0; i < 8; ++i)
      proj::append(f.store(), "acc-" + std::to_string(i), bank::opened{"x"});
  }
  bool hang() {
    worker_a = std::jthread([this](std::stop_token stop) {
      hangs = true;
      a.run(stop);
    });
    return eventually([] { return hung.load(); }, 60s);
  }
  static void release() {
    {
      std::lock_guard lock(gate_mutex);
      released = true;
    }
    gate.notify_all();
  }
  ~hung_worker() {
    release();
    worker_a.request_stop();
    if (worker_a.joinable()) worker_a.join();
  }
};

}  // namespace

TEST_CASE("a worker hung in the middle of a batch loses its segment when its lease expires",
          "[projection][postgres][leases]") {
  hung_worker h;
  annal::postgres_leased_projector<stalling_ledger> b{h.f.store(), options(h.schema, "b")};
  REQUIRE(h.hang());
  // The first worker's lease (1 s) expires unrenewed: 30 leases later the second worker must own
  // the segment and have caught up.
  std::jthread worker_b([&](std::stop_token stop) { b.run(stop); });
  const bool taken_over = eventually(
      [&] {
        return b.owned() == std::vector<std::size_t>{0} &&
               b.checkpoint() == h.f.store().last_position();
      },
      30s);
  INFO("segment 0's row: " << h.f.store().transact([&](annal::postgres_transaction& tx) {
    return std::string(
        tx.exec("SELECT coalesce(owner, '-') || ' token ' || token || ' expired ' || "
                "(expires_at < now()) FROM " +
                h.f.options().schema + ".segment_leases WHERE projection = 'stalling'")
            .get(0, 0));
  }));
  h.release();
  worker_b.request_stop();
  worker_b.join();
  CHECK(taken_over);
}

TEST_CASE("a worker hung in the middle of a batch does not keep a new worker from starting",
          "[projection][postgres][leases]") {
  hung_worker h;
  REQUIRE(h.hang());
  // A replacement process starting now: its constructor must return (it has nothing to wait for:
  // the hung worker's lease expires in 1 s).
  auto started = std::async(std::launch::async, [&] {
    annal::postgres_leased_projector<stalling_ledger> b{h.f.store(), options(h.schema, "b")};
    return true;
  });
  const bool constructed = started.wait_for(30s) == std::future_status::ready;
  h.release();  // lets a blocked constructor finish, so the test ends either way
  started.get();
  CHECK(constructed);
}
