// Tests for projection/postgres_read_model.hpp: rows and checkpoint in one transaction, a throwing
// handler rolling its batch back, restarts, two instances of one projection, rebuild and swap,
// reconciliation with the log.
#include <annal/postgres/read_model.hpp>
#include <annal/projection/projector.hpp>

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include "common/eventually.hpp"
#include "common/invalid_option.hpp"
#include "projection/domain.hpp"
#include "sql/postgres_fixture.hpp"

using namespace std::chrono_literals;

namespace {

// Balance per account, in a table of the read model's schema.
// [pg-projection]
struct balances_sql : annal::postgres_projection {
  using events = annal::events<bank::opened, bank::deposited, bank::withdrawn>;

  void migrate(annal::postgres_transaction& tx) {
    tx.exec(
        "CREATE TABLE IF NOT EXISTS balances (account text PRIMARY KEY, cents bigint NOT NULL)");
  }
  void on(const bank::opened&, const annal::envelope_header& h) {
    sql().exec("INSERT INTO balances VALUES ($1, 0)", h.stream_id);
  }
  void on(const bank::deposited& e, const annal::envelope_header& h) {
    sql().exec("UPDATE balances SET cents = cents + $2 WHERE account = $1", h.stream_id, e.cents);
  }
  void on(const bank::withdrawn& e, const annal::envelope_header& h) {
    sql().exec("UPDATE balances SET cents = cents - $2 WHERE account = $1", h.stream_id, e.cents);
  }
};
// [pg-projection]

// One row per event, keyed by position: applying an event twice fails on the key. Throws on a
// deposit of 13 cents while armed, after its row is written.
std::atomic<bool> thirteen_fails{false};
// While set, a deposit of 13 cents crashes this server (stop -m immediate, then start) after its
// row is written, as a power cut would in the middle of a batch.
std::atomic<annal_test::postgres_server*> thirteen_crashes{nullptr};
struct lines_sql : annal::postgres_projection {
  using events = annal::events<bank::opened, bank::deposited>;

  void migrate(annal::postgres_transaction& tx) {
    tx.exec(
        "CREATE TABLE IF NOT EXISTS lines (position bigint PRIMARY KEY, account text NOT NULL,"
        " cents bigint NOT NULL)");
  }
  void on(const bank::opened&, const annal::envelope_header& h) { write(h, 0); }
  void on(const bank::deposited& e, const annal::envelope_header& h) {
    write(h, e.cents);
    if (e.cents == 13 && thirteen_fails.load()) throw std::runtime_error("thirteen is unlucky");
    if (e.cents == 13 && thirteen_crashes.load())
      thirteen_crashes.exchange(nullptr)->restart("immediate");
  }
  void write(const annal::envelope_header& h, long cents) {
    sql().exec("INSERT INTO lines VALUES ($1, $2, $3)", h.position, h.stream_id, cents);
  }
};

struct not_sql {
  using events = annal::events<bank::opened>;
  void on(const bank::opened&) {}
};

void seed(annal::postgres_store& store, int accounts, int deposits) {
  for (int a = 0; a < accounts; ++a)
    proj::append(store, "acc-" + std::to_string(a), bank::opened{"x"});
  for (int d = 1; d <= deposits; ++d)
    for (int a = 0; a < accounts; ++a)
      proj::append(store, "acc-" + std::to_string(a), bank::deposited{d});
}

// Each test's tables in a schema of their own: the tests share one server.
annal::postgres_read_model_options options_for(const annal_test::postgres_fixture& f,
                                               std::string name) {
  return {.name = name, .schema = f.options().schema + "_" + name};
}

template <class P>
std::int64_t scalar(annal::postgres_read_model<P>& model, const std::string& sql) {
  return model.query(
      [&](annal::postgres_transaction& tx, std::uint64_t) { return tx.exec(sql).get_int(0, 0); });
}

}  // namespace

TEST_CASE("a PostgreSQL read model is a read model store", "[projection][postgres][concept]") {
  STATIC_REQUIRE(annal::read_model_store<annal::postgres_read_model<balances_sql>>);
  STATIC_REQUIRE(annal::postgres_read_model_projection<balances_sql>);
  STATIC_REQUIRE_FALSE(annal::postgres_read_model_projection<not_sql>);
  STATIC_REQUIRE_FALSE(annal::postgres_read_model_projection<proj::balances>);
}

TEST_CASE("a projector writes PostgreSQL rows and the checkpoint in one transaction per batch",
          "[projection][postgres][projector]") {
  annal_test::postgres_fixture f;
  seed(f.store(), 3, 10);
  proj::append(f.store(), "acc-0", bank::withdrawn{5});

  // [pg-read-model]
  annal::postgres_read_model<balances_sql> model{f.store(), {.name = "balances"}};
  model.migrate();  // the schema "balances", its tables, the checkpoint row
  annal::projector projector{f.store(), model, {.batch_size = 7}};
  projector.catch_up();
  const long cents = model.query([](annal::postgres_transaction& tx, std::uint64_t /*checkpoint*/) {
    return tx.exec("SELECT cents FROM balances WHERE account = $1", "acc-1").get_int(0, 0);
  });
  // [pg-read-model]
  CHECK(cents == 55);
  CHECK(projector.checkpoint() == f.store().last_position());
  CHECK(f.store().load_checkpoint("balances") == 34);
  CHECK(scalar(model, "SELECT cents FROM balances WHERE account = 'acc-0'") == 50);
  model.query(
      [](annal::postgres_transaction&, std::uint64_t checkpoint) { CHECK(checkpoint == 34); });
  model.read([](const balances_sql&, std::uint64_t checkpoint) { CHECK(checkpoint == 34); });

  // A new process: the same schema, migrate again (idempotent), nothing left to apply.
  f.reopen();
  annal::postgres_read_model<balances_sql> again{f.store(), {.name = "balances"}};
  again.migrate();
  annal::projector resumed{f.store(), again};
  CHECK(resumed.step() == 0);
  proj::append(f.store(), "acc-2", bank::deposited{100});
  CHECK(resumed.catch_up() == 1);
  CHECK(scalar(again, "SELECT cents FROM balances WHERE account = 'acc-2'") == 155);

  // Outside a batch the projection has no transaction.
  CHECK_THROWS_WITH(balances_sql{}.sql(), Catch::Contains("outside a batch"));
}

TEST_CASE("a throwing handler rolls its PostgreSQL batch back, rows and checkpoint together",
          "[projection][postgres][failure]") {
  annal_test::postgres_fixture f;
  seed(f.store(), 1, 20);  // position 1 opens; deposit d is at position d + 1: 13 at 14
  thirteen_fails = true;
  {
    annal::postgres_read_model<lines_sql> model{f.store(), options_for(f, "lines")};
    model.migrate();
    annal::projector projector{f.store(), model, {.batch_size = 5}};
    try {
      projector.catch_up();
      FAIL("the handler should have thrown");
    } catch (const annal::error& e) {
      CHECK(e.code() == annal::make_error_code(annal::errc::handler_failed));
      CHECK_THAT(e.what(), Catch::Contains("acc-0") && Catch::Contains("position 14") &&
                               Catch::Contains("bank.deposited") &&
                               Catch::Contains("thirteen is unlucky"));
    }
    // Batches 1-5 and 6-10 committed; 11-15 wrote rows 11..14 before the throw, and none stayed.
    CHECK(projector.checkpoint() == 10);
    CHECK(scalar(model, "SELECT count(*) FROM lines") == 10);
    CHECK(scalar(model, "SELECT max(position) FROM lines") == 10);
    // Retrying in the same process fails at the same event and changes nothing.
    CHECK_THROWS_AS(projector.catch_up(), annal::error);
    CHECK(projector.checkpoint() == 10);
  }
  // A restart with the bug fixed retries the batch: every event applied once.
  thirteen_fails = false;
  f.reopen();
  annal::postgres_read_model<lines_sql> model{f.store(), options_for(f, "lines")};
  annal::projector projector{f.store(), model, {.batch_size = 5}};
  CHECK(projector.catch_up() == 11);
  CHECK(projector.checkpoint() == 21);
  CHECK(scalar(model, "SELECT count(*) FROM lines") == 21);
  CHECK(scalar(model, "SELECT sum(cents) FROM lines") == 210);
}

TEST_CASE("two instances of one PostgreSQL projection cannot both advance it",
          "[projection][postgres][concurrency]") {
  annal_test::postgres_fixture f;
  seed(f.store(), 4, 40);  // 164 events
  annal::postgres_read_model<lines_sql> setup{f.store(), options_for(f, "lines")};
  setup.migrate();

  SECTION("the checkpoint row lock makes the second batch wait, then start after the first") {
    annal::postgres_store other_store{f.options()};  // another process, in effect
    annal::postgres_read_model<lines_sql> first{f.store(), options_for(f, "lines")};
    annal::postgres_read_model<lines_sql> second{other_store, options_for(f, "lines")};
    std::promise<void> release;
    std::promise<void> holding;
    std::thread a([&] {
      first.update([&](lines_sql&, std::uint64_t& checkpoint) {
        holding.set_value();
        release.get_future().wait();
        checkpoint = 7;
      });
    });
    holding.get_future().wait();
    std::atomic<bool> entered{false};
    std::uint64_t seen = 0;
    std::thread b([&] {
      second.update([&](lines_sql&, std::uint64_t& checkpoint) {
        entered = true;
        seen = checkpoint;
      });
    });
    std::this_thread::sleep_for(300ms);
    CHECK_FALSE(entered.load());  // blocked on the row while the first batch runs
    release.set_value();
    a.join();
    b.join();
    CHECK(entered.load());
    CHECK(seen == 7);  // the first batch's commit, not the 0 it would have read unlocked
  }
  SECTION("with idle_timeout, a batch paused in the middle gives the row up; its commit fails") {
    annal::postgres_store other_store{f.options()};
    annal::postgres_read_model_options paused_options = options_for(f, "lines");
    paused_options.idle_timeout = 300ms;
    annal::postgres_read_model<lines_sql> paused{f.store(), paused_options};
    annal::postgres_read_model<lines_sql> next{other_store, options_for(f, "lines")};
    std::promise<void> release;
    std::promise<void> holding;
    bool failed = false;
    std::thread a([&] {
      try {
        paused.update([&](lines_sql&, std::uint64_t& checkpoint) {
          holding.set_value();
          release.get_future().wait();  // a process stopped mid-batch
          checkpoint = 7;
        });
      } catch (const annal::error&) {
        failed = true;
      }
    });
    holding.get_future().wait();
    // Without the timeout the next instance would wait for the paused batch for good: a watchdog
    // wakes that batch after a while, so that such a failure fails instead of hanging.
    std::atomic<bool> next_done{false};
    std::thread watchdog([&] {
      annal_test::eventually([&] { return next_done.load(); }, 30s);
      release.set_value();
    });
    // The next instance gets the row once the server has ended the idle transaction, while the
    // paused one still waits.
    next.update([&](lines_sql&, std::uint64_t& checkpoint) {
      CHECK(checkpoint == 0);
      checkpoint = 3;
    });
    next_done = true;
    watchdog.join();
    a.join();
    CHECK(failed);  // its connection was ended: nothing of the paused batch commits
    CHECK(next.checkpoint() == 3);
  }
  SECTION("a negative idle_timeout is refused") {
    annal::postgres_read_model_options bad = options_for(f, "lines");
    bad.idle_timeout = -1ms;
    CHECK_THROWS_MATCHES((annal::postgres_read_model<lines_sql>{f.store(), bad}), annal::error,
                         annal_test::names_invalid_option("idle_timeout", "-1 ms"));
  }
  SECTION("two projectors racing over the log apply every event exactly once") {
    annal::postgres_store other_store{f.options()};
    annal::postgres_read_model<lines_sql> first{f.store(), options_for(f, "lines")};
    annal::postgres_read_model<lines_sql> second{other_store, options_for(f, "lines")};
    annal::projector p1{f.store(), first, {.batch_size = 3}};
    annal::projector p2{other_store, second, {.batch_size = 3}};
    std::uint64_t n1 = 0, n2 = 0;
    // A duplicate would fail on the lines key and throw out of catch_up.
    std::thread t1([&] { n1 = p1.catch_up(); });
    std::thread t2([&] { n2 = p2.catch_up(); });
    t1.join();
    t2.join();
    CHECK(n1 + n2 == 164);
    CHECK(first.checkpoint() == 164);
    CHECK(scalar(first, "SELECT count(*) FROM lines") == 164);
    CHECK(scalar(first, "SELECT count(DISTINCT position) FROM lines") == 164);
  }
}

TEST_CASE("a PostgreSQL read model rebuilds into a fresh schema and swaps it in",
          "[projection][postgres][rebuild]") {
  annal_test::postgres_fixture f;
  seed(f.store(), 3, 10);
  const auto bal = options_for(f, "bal");
  annal::postgres_read_model<balances_sql> model{f.store(), bal};
  model.migrate();
  annal::projector projector{f.store(), model, {.batch_size = 8}};
  projector.catch_up();
  // A bug wrote wrong rows.
  f.store().transact([&](annal::postgres_transaction& tx) {
    tx.exec("UPDATE " + annal::detail::pg::quote_ident(bal.schema) + ".balances SET cents = -1");
  });

  bool served_during = false;
  bool done = false;
  annal::rebuild_options options;
  options.batch_size = 4;
  options.progress_interval = 0ms;
  options.on_progress = [&](const annal::rebuild_progress& p) {
    // The serving schema still answers, with its old rows, while the fresh one fills.
    if (!p.done && scalar(model, "SELECT min(cents) FROM balances") == -1) served_during = true;
    done = done || p.done;
  };
  // [pg-rebuild]
  const annal::rebuild_result result = annal::rebuild_and_swap(f.store(), model, options);
  // [pg-rebuild]
  CHECK(served_during);
  CHECK(done);
  CHECK(result.checkpoint == 33);
  CHECK(result.events == 33);
  CHECK(model.checkpoint() == 33);
  CHECK(scalar(model, "SELECT cents FROM balances WHERE account = 'acc-1'") == 55);
  CHECK(scalar(model, "SELECT count(*) FROM pg_namespace WHERE nspname = '" + bal.schema +
                          "_rebuild'") == 0);
  // The projector continues on the swapped-in tables.
  proj::append(f.store(), "acc-1", bank::deposited{1000});
  CHECK(projector.catch_up() == 1);
  CHECK(scalar(model, "SELECT cents FROM balances WHERE account = 'acc-1'") == 1055);

  // Up to a position: the projector applies the rest on the fresh tables.
  options.up_to = 10;
  CHECK(annal::rebuild_and_swap(f.store(), model, options).checkpoint == 10);
  CHECK(model.checkpoint() == 10);
  CHECK(projector.catch_up() == 24);
  CHECK(scalar(model, "SELECT cents FROM balances WHERE account = 'acc-1'") == 1055);

  options.workers = 2;
  CHECK_THROWS_WITH(annal::rebuild_and_swap(f.store(), model, options),
                    Catch::Contains("one worker"));
  CHECK_THROWS_WITH((annal::postgres_read_model<balances_sql>{f.store(), {.name = ""}}),
                    Catch::Contains("name"));
}

TEST_CASE("a failed PostgreSQL rebuild leaves the serving read model as it was",
          "[projection][postgres][rebuild][failure]") {
  annal_test::postgres_fixture f;
  seed(f.store(), 1, 20);
  annal::postgres_read_model<lines_sql> model{f.store(), options_for(f, "lines")};
  model.migrate();
  annal::projector projector{f.store(), model};
  thirteen_fails = false;
  projector.catch_up();
  thirteen_fails = true;
  CHECK_THROWS_AS(annal::rebuild_and_swap(f.store(), model), annal::error);
  thirteen_fails = false;
  CHECK(model.checkpoint() == 21);
  CHECK(scalar(model, "SELECT count(*) FROM lines") == 21);
  // The next rebuild starts over from a fresh schema.
  CHECK(annal::rebuild_and_swap(f.store(), model).checkpoint == 21);
  CHECK(scalar(model, "SELECT count(*) FROM lines") == 21);
}

TEST_CASE(
    "a PostgreSQL crash in the middle of a batch loses the batch's rows and checkpoint together",
    "[projection][postgres][crash]") {
  annal_test::postgres_server
      server;  // its own: the crash must not disturb the other tests' server
  annal::postgres_options o;
  o.connection = server.conninfo();
  o.schema = "crash";
  o.payload_format = annal::postgres_payload_format::bytea;
  o.pool_size = 4;
  annal::postgres_read_model_options m{.name = "lines", .schema = "crash_lines"};
  {
    annal::postgres_store store{o};
    store.migrate();
    seed(store, 1, 20);
    annal::postgres_read_model<lines_sql> model{store, m};
    model.migrate();
    annal::projector projector{store, model, {.batch_size = 5}};
    thirteen_crashes = &server;
    CHECK_THROWS_AS(projector.catch_up(), annal::error);  // the connection died under the batch
    CHECK(thirteen_crashes.load() == nullptr);
  }
  // After the crash: what committed is batches 1-5 and 6-10, rows and checkpoint alike.
  annal::postgres_store store{o};
  annal::postgres_read_model<lines_sql> model{store, m};
  CHECK(model.checkpoint() == 10);
  CHECK(scalar(model, "SELECT count(*) FROM lines") == 10);
  annal::projector projector{store, model, {.batch_size = 5}};
  CHECK(projector.catch_up() == 11);
  CHECK(scalar(model, "SELECT count(*) FROM lines") == 21);
}

TEST_CASE("a PostgreSQL rebuild refuses a zero batch size, naming the option",
          "[projection][postgres][rebuild][options]") {
  annal_test::postgres_fixture f;
  seed(f.store(), 1, 2);
  annal::postgres_read_model<balances_sql> model{f.store(), options_for(f, "bal")};
  model.migrate();
  CHECK_THROWS_MATCHES(annal::rebuild_and_swap(f.store(), model, {.batch_size = 0}), annal::error,
                       annal_test::names_invalid_option("rebuild_options::batch_size", "0"));
}

namespace {

// A table without a primary key: reconciliation keys its rows by their whole text.
struct notes_sql : annal::postgres_projection {
  using events = annal::events<bank::deposited>;

  void migrate(annal::postgres_transaction& tx) {
    tx.exec("CREATE TABLE IF NOT EXISTS notes (account text NOT NULL, cents bigint NOT NULL)");
  }
  void on(const bank::deposited& e, const annal::envelope_header& h) {
    sql().exec("INSERT INTO notes VALUES ($1, $2)", h.stream_id, e.cents);
  }
};

}  // namespace

TEST_CASE("a PostgreSQL read model reconciles with the log row by row, keeping nothing",
          "[projection][postgres][reconcile]") {
  annal_test::postgres_fixture f;
  seed(f.store(), 3, 4);  // 3 opened, 12 deposits: positions 1..15
  const auto bal = options_for(f, "bal");
  annal::postgres_read_model<balances_sql> model{f.store(), bal};
  model.migrate();
  annal::projector projector{f.store(), model, {.batch_size = 5}};
  projector.catch_up();
  // After the checkpoint: the replay stops where the model is.
  proj::append(f.store(), "acc-0", bank::deposited{1000});

  const annal::reconciliation same = annal::reconcile_with_log(f.store(), model, {.batch_size = 4});
  CHECK(same.matches());
  CHECK(same.checkpoint == 15);
  CHECK(same.live_digest == same.fresh_digest);

  const std::string table = annal::detail::pg::quote_ident(bal.schema) + ".balances";
  f.store().transact([&](annal::postgres_transaction& tx) {
    tx.exec("UPDATE " + table + " SET cents = 11 WHERE account = 'acc-1'");
    tx.exec("DELETE FROM " + table + " WHERE account = 'acc-2'");
  });
  const annal::reconciliation off = annal::reconcile_with_log(f.store(), model);
  CHECK_FALSE(off.matches());
  CHECK(off.live_digest != off.fresh_digest);
  CHECK(off.differing_keys == std::vector<std::string>{"balances[acc-1]", "balances[acc-2]"});

  // A column added behind the projection's back: the table's shape differs, and each row's text.
  f.store().transact([&](annal::postgres_transaction& tx) {
    tx.exec("ALTER TABLE " + table + " ADD COLUMN note text");
  });
  CHECK(annal::reconcile_with_log(f.store(), model).differing_keys ==
        std::vector<std::string>{"balances", "balances[acc-0]", "balances[acc-1]",
                                 "balances[acc-2]"});

  // The replay's schema was never committed, and the model is where it was.
  CHECK(scalar(model, "SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'annal_reconcile%'") ==
        0);
  CHECK(model.checkpoint() == 15);

  annal::postgres_read_model<notes_sql> notes{f.store(), options_for(f, "notes")};
  notes.migrate();
  annal::projector{f.store(), notes}.catch_up();
  CHECK(annal::reconcile_with_log(f.store(), notes).matches());
  f.store().transact([&](annal::postgres_transaction& tx) {
    tx.exec("DELETE FROM " + annal::detail::pg::quote_ident(notes.options().schema) +
            ".notes WHERE cents = 1000");
  });
  const annal::reconciliation keyless = annal::reconcile_with_log(f.store(), notes);
  CHECK(keyless.checkpoint == 16);
  CHECK(keyless.differing_keys == std::vector<std::string>{"notes[(acc-0,1000)]"});

  CHECK_THROWS_WITH(annal::reconcile_with_log(f.store(), model, {.workers = 2}),
                    Catch::Contains("one worker"));
}
