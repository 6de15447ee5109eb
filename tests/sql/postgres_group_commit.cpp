// Group commit for PostgreSQL appends: a group's answers are exactly those its appends would get
// one after another, a group the server refuses leaves nothing behind, and under concurrency every
// append gets its own right answer.
#include <catch2/catch.hpp>

#include <atomic>
#include <map>
#include <optional>
#include <random>
#include <thread>
#include <vector>

#include <annal/postgres/store.hpp>

#include "sql/postgres_fixture.hpp"
#include "sql/sql_test_support.hpp"

using namespace annal;
using annal_test::make_batch;
using annal_test::make_event;

namespace {

struct planned_append {
  std::string stream;
  expected_version expect = expected_version::any();
  std::vector<event_data> batch;
};

bool same_answer(const append_result& a, const append_result& b) {
  return a.status == b.status && a.stream_version == b.stream_version &&
         a.first_position == b.first_position && a.last_position == b.last_position;
}

std::string describe(const append_result& r) {
  return std::to_string(static_cast<int>(r.status)) + " v" + std::to_string(r.stream_version) +
         " @" + std::to_string(r.first_position) + ".." + std::to_string(r.last_position);
}

// A random mix over `streams` streams: every kind of expectation, right and wrong, and retries of
// earlier batches (whose ids are then stored, or stored by the time the retry runs). With many
// streams most groups name each stream once, which the server handles in one statement; with four
// most name one several times, which it handles call by call.
std::vector<planned_append> random_plan(std::mt19937& rng, std::size_t n, std::size_t streams) {
  std::vector<planned_append> plan;
  std::vector<std::uint64_t> versions(streams, 0);  // as if each append before it succeeded
  for (std::size_t i = 0; i < n; ++i) {
    planned_append p;
    const std::size_t s = rng() % streams;
    p.stream = "g-" + std::to_string(s);
    switch (rng() % 4) {
      case 0:
        p.expect = expected_version::any();
        break;
      case 1:
        p.expect = expected_version::no_stream();
        break;
      case 2:
        p.expect = expected_version::exact(versions[s]);
        break;
      default:
        p.expect = expected_version::exact(versions[s] + 1 + rng() % 2);
        break;
    }
    if (!plan.empty() && rng() % 5 == 0) {
      const planned_append& earlier = plan[rng() % plan.size()];
      p.stream = earlier.stream;
      p.batch = earlier.batch;  // a retry: the same ids again
    } else {
      p.batch = make_batch(1 + rng() % 3, i);
      // Every ninth new batch deletes its stream: later appends to it must be refused alike.
      if (i % 9 == 8) p.batch.back().type = std::string(annal::tombstone_type);
    }
    versions[s] += p.batch.size();
    plan.push_back(std::move(p));
  }
  return plan;
}

// Runs the plan as one group and, on a second schema, as appends one after another; checks the
// answers and the stored events agree. Returns whether the group committed together (a retry
// among its accepted appends makes the server refuse it; the store then runs each alone).
// `before` is appended to both schemas first, one append at a time.
bool group_matches_appends_alone(const std::vector<planned_append>& plan,
                                 const std::vector<planned_append>& before = {}) {
  const postgres_options grouped = annal_test::fresh_postgres_options();
  const postgres_options alone_options = annal_test::fresh_postgres_options();
  postgres_store alone(alone_options);
  alone.migrate();
  {
    postgres_store setup(grouped);
    setup.migrate();
    for (const auto& p : before) {
      setup.append(p.stream, p.expect, p.batch);
      alone.append(p.stream, p.expect, p.batch);
    }
  }

  const detail::pg::statements sql(grouped.schema, grouped.payload_format);
  std::vector<detail::pg::append_call> calls;
  for (const auto& p : plan) calls.emplace_back(sql, p.stream, p.expect, p.batch);
  std::vector<const detail::pg::append_call*> ptrs;
  for (const auto& c : calls) ptrs.push_back(&c);
  detail::pg::pool pool(grouped.connection, 1);
  auto together = detail::pg::group_commit::run_together(pool, ptrs);
  const bool committed_together = together.has_value();
  if (!together) {
    together.emplace();
    for (const auto& c : calls) {
      auto conn = pool.acquire();
      try {
        together->push_back({c.run(*conn), nullptr});
      } catch (const annal::error&) {
        together->push_back({{}, std::current_exception()});
      }
    }
  }
  REQUIRE(together->size() == plan.size());
  for (std::size_t i = 0; i < plan.size(); ++i) {
    const auto& p = plan[i];
    INFO("append " << i << " to " << p.stream);
    std::optional<append_result> expected;
    std::string refusal;  // what the append alone threw, if it did
    try {
      expected = alone.append(p.stream, p.expect, p.batch);
    } catch (const annal::error& e) {
      CHECK(e.code() == annal::errc::stream_deleted);
      refusal = e.what();
    }
    if (!expected) {
      REQUIRE((*together)[i].error);
      try {
        std::rethrow_exception((*together)[i].error);
      } catch (const annal::error& e) {
        CHECK(e.code() == annal::errc::stream_deleted);
        CHECK(std::string(e.what()) == refusal);
      }
      continue;
    }
    REQUIRE_FALSE((*together)[i].error);
    CHECK(describe((*together)[i].result) == describe(*expected));
    CHECK(same_answer((*together)[i].result, *expected));
  }
  // The same events, in the same order, with recorded times that never go back.
  postgres_store grouped_store(grouped);
  std::vector<recorded_event> a, b;
  grouped_store.read_all(1, [&](const recorded_event& e) { a.push_back(e); });
  alone.read_all(1, [&](const recorded_event& e) { b.push_back(e); });
  REQUIRE(a.size() == b.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    CHECK(a[i].position == i + 1);
    CHECK(a[i].id == b[i].id);
    CHECK(a[i].stream_id == b[i].stream_id);
    CHECK(a[i].stream_version == b[i].stream_version);
    if (i) CHECK(a[i].recorded_at >= a[i - 1].recorded_at);
  }
  return committed_together;
}

}  // namespace

TEST_CASE("postgres group commit: a group answers as its appends would one after another",
          "[store][postgres][group]") {
  std::mt19937 rng(20261123);
  int committed_together = 0;
  for (int round = 0; round < 24; ++round) {
    INFO("round " << round);
    if (group_matches_appends_alone(random_plan(rng, 2 + rng() % 14, round % 2 ? 4 : 400)))
      ++committed_together;
  }
  // The seed gives both kinds of round: groups that commit, and groups refused for a retry.
  CHECK(committed_together >= 8);
  CHECK(committed_together <= 20);
}

TEST_CASE("postgres group commit: a group naming each stream once, refused calls among accepted",
          "[store][postgres][group]") {
  const auto one = [](std::string stream, expected_version expect, std::vector<event_data> batch) {
    return planned_append{std::move(stream), expect, std::move(batch)};
  };
  const auto shared = make_batch(1, 7);  // one id in a refused call and in a later accepted one
  const std::vector<planned_append> plan = {
      one("a", expected_version::any(), make_batch(1, 1)),
      one("b", expected_version::exact(4), make_batch(2, 2)),  // refused: "b" is empty
      one("c", expected_version::no_stream(), make_batch(2, 3)),
      one("d", expected_version::exact(9), shared),  // refused, before "e" stores its id
      one("e", expected_version::any(), shared),
      one("f", expected_version::no_stream(), make_batch(3, 4)),
  };
  CHECK(group_matches_appends_alone(plan));
}

TEST_CASE("postgres group commit: appends to deleted streams are refused inside a group",
          "[store][postgres][group]") {
  const auto one = [](std::string stream, expected_version expect, std::vector<event_data> batch) {
    return planned_append{std::move(stream), expect, std::move(batch)};
  };
  const auto ending_in_tombstone = [](std::size_t n, int tag) {
    auto batch = make_batch(n, tag);
    batch.back().type = std::string(annal::tombstone_type);
    return batch;
  };
  const auto gone = ending_in_tombstone(2, 1);
  const std::vector<planned_append> before = {one("gone", expected_version::no_stream(), gone)};
  // Each stream once (the server's one-statement path): the deleted stream is refused, a retry
  // of the batch that deleted it is a duplicate, and a new stream can be deleted in the group.
  CHECK(group_matches_appends_alone(
      {one("gone", expected_version::any(), make_batch(1, 2)),
       one("new", expected_version::no_stream(), ending_in_tombstone(3, 3)),
       one("other", expected_version::any(), make_batch(2, 4))},
      before));
  CHECK(group_matches_appends_alone({one("other", expected_version::any(), make_batch(1, 5)),
                                     one("gone", expected_version::no_stream(), gone),
                                     one("new", expected_version::exact(2), make_batch(2, 6))},
                                    before));
  // A stream named twice (call by call): deleted by one call, refused to the next.
  CHECK(
      group_matches_appends_alone({one("a", expected_version::any(), make_batch(2, 7)),
                                   one("a", expected_version::exact(2), ending_in_tombstone(1, 8)),
                                   one("a", expected_version::any(), make_batch(2, 9)),
                                   one("b", expected_version::any(), make_batch(1, 10)),
                                   one("a", expected_version::exact(3), make_batch(1, 11)),
                                   one("gone", expected_version::exact(2), make_batch(1, 12))},
                                  before));
}

TEST_CASE("postgres group commit: a group the server refuses leaves nothing behind",
          "[store][postgres][group][errors]") {
  const postgres_options o = annal_test::fresh_postgres_options();
  postgres_store store(o);
  store.migrate();
  const detail::pg::statements sql(o.schema, o.payload_format);
  // Valid JSON that jsonb refuses: the client-side check passes it, the server does not.
  const std::vector<event_data> good1 = make_batch(2), good2 = make_batch(1);
  const std::vector<event_data> bad = {make_event("counted", R"({"text":"nul \u0000 here"})")};
  const detail::pg::append_call c1(sql, "ok-1", expected_version::any(), good1);
  const detail::pg::append_call c2(sql, "bad", expected_version::any(), bad);
  const detail::pg::append_call c3(sql, "ok-2", expected_version::any(), good2);
  const detail::pg::append_call* calls[] = {&c1, &c2, &c3};
  detail::pg::pool pool(o.connection, 1);
  CHECK_FALSE(detail::pg::group_commit::run_together(pool, calls));
  CHECK(store.last_position() == 0);
  // Alone, the bad append fails with PostgreSQL's reason and the others go in.
  CHECK(store.append("ok-1", expected_version::any(), good1).status == append_status::appended);
  CHECK_THROWS_WITH(store.append("bad", expected_version::any(), bad),
                    Catch::Contains("PostgreSQL refused the data of append to stream 'bad'"));
  CHECK(store.append("ok-2", expected_version::any(), good2).last_position == 3);
}

TEST_CASE("postgres group commit: concurrent appends each get their own answer",
          "[store][postgres][group][concurrency]") {
  postgres_options o = annal_test::fresh_postgres_options();
  o.pool_size = 4;
  postgres_store store(o);
  store.migrate();
  constexpr int writers = 24, appends_each = 40;
  std::atomic<int> refused{0}, wrong{0};
  std::vector<std::thread> threads;
  for (int w = 0; w < writers; ++w)
    threads.emplace_back([&, w] {
      const std::string stream = "w-" + std::to_string(w);
      std::uint64_t version = 0;
      for (int i = 0; i < appends_each; ++i) {
        // A stale expectation now and then: it must conflict, whatever group it lands in.
        if (i % 7 == 3) {
          const auto c = store.append(stream, expected_version::exact(version + 5), make_batch(1));
          if (c.status != append_status::conflict || c.stream_version != version) ++wrong;
        }
        // Writer 0 also sends a payload the server refuses, which must fail alone.
        if (w == 0 && i % 10 == 5) {
          try {
            store.append("refused", expected_version::any(),
                         std::vector{make_event("counted", R"({"t":"\u0000"})")});
            ++wrong;
          } catch (const error& e) {
            if (e.code() == errc::invalid_argument) ++refused;
          }
        }
        const auto batch = make_batch(1 + i % 2);
        const auto r = store.append(stream, expected_version::exact(version), batch);
        if (r.status != append_status::appended || r.stream_version != version + batch.size())
          ++wrong;
        version = r.stream_version;
        // A retry of the batch just stored is a duplicate, not a second copy.
        if (i % 9 == 0 &&
            store.append(stream, expected_version::exact(version - batch.size()), batch).status !=
                append_status::duplicate)
          ++wrong;
      }
    });
  for (auto& t : threads) t.join();
  CHECK(wrong == 0);
  CHECK(refused == 4);
  std::uint64_t total = 0;
  for (int w = 0; w < writers; ++w) {
    const auto v = store.stream_version("w-" + std::to_string(w));
    CHECK(v == 60);  // 40 appends of 1 or 2 events alternately
    total += v;
  }
  CHECK(store.last_position() == total);
  CHECK(store.stream_version("refused") == 0);
  // Positions are gap-free and each stream's versions come in order.
  std::uint64_t expect_position = 1;
  std::map<std::string, std::uint64_t> seen;
  store.read_all(1, [&](const recorded_event& e) {
    CHECK(e.position == expect_position++);
    CHECK(e.stream_version == ++seen[e.stream_id]);
  });
  const auto stats = store.append_stats();
  INFO("appends " << stats.appends << " in " << stats.transactions << " transactions");
  CHECK(stats.transactions < stats.appends);  // some appends shared a transaction
}

// annal_append_group records a whole group at one time, so a copy bringing its own time never
// runs in one: run_together declines a group holding one, and the queue gives it a group of its
// own.
TEST_CASE("postgres group commit: a copy with its own recorded_at is never grouped",
          "[store][postgres][group][copy]") {
  const postgres_options o = annal_test::fresh_postgres_options();
  postgres_store store(o);
  store.migrate();
  const detail::pg::statements sql(o.schema, o.payload_format);
  const time_point ahead =
      std::chrono::time_point_cast<std::chrono::microseconds>(clock::now()) + std::chrono::hours(1);
  auto copied = make_batch(2);
  for (auto& e : copied) e.recorded_at = ahead;
  const std::vector<event_data> plain1 = make_batch(1), plain2 = make_batch(1);
  const detail::pg::append_call c1(sql, "plain-1", expected_version::any(), plain1);
  const detail::pg::append_call c2(sql, "copy", expected_version::any(), copied);
  const detail::pg::append_call c3(sql, "plain-2", expected_version::any(), plain2);
  const detail::pg::append_call* calls[] = {&c1, &c2, &c3};
  detail::pg::pool pool(o.connection, 1);
  CHECK_FALSE(detail::pg::group_commit::run_together(pool, calls));
  CHECK(store.last_position() == 0);
}

TEST_CASE("postgres group commit: concurrent copies keep their recorded_at among grouped appends",
          "[store][postgres][group][copy][concurrency]") {
  postgres_options o = annal_test::fresh_postgres_options();
  o.pool_size = 4;
  postgres_store store(o);
  store.migrate();
  // A writer's i-th append, when it is a copy, is at ahead + i seconds: times of copies differ,
  // and one is refused when another writer has already stored a later one.
  const time_point ahead =
      std::chrono::time_point_cast<std::chrono::microseconds>(clock::now()) + std::chrono::hours(1);
  constexpr int writers = 16, appends_each = 30;
  std::atomic<int> wrong{0};
  std::vector<std::vector<std::pair<event_id, time_point>>> copied(writers);
  std::vector<std::thread> threads;
  for (int w = 0; w < writers; ++w)
    threads.emplace_back([&, w] {
      const std::string stream = "w-" + std::to_string(w);
      std::uint64_t version = 0;
      for (int i = 0; i < appends_each; ++i) {
        auto batch = make_batch(1 + i % 2);
        const bool copy = (w + i) % 3 == 0;
        const time_point at = ahead + std::chrono::seconds(i);
        if (copy)
          for (auto& e : batch) e.recorded_at = at;
        try {
          const auto r = store.append(stream, expected_version::exact(version), batch);
          if (r.status != append_status::appended || r.stream_version != version + batch.size())
            ++wrong;
          version = r.stream_version;
          if (copy)
            for (const auto& e : batch) copied[w].emplace_back(e.id, at);
        } catch (const error& e) {
          if (!copy || e.code() != errc::invalid_argument) ++wrong;
        }
      }
    });
  for (auto& t : threads) t.join();
  CHECK(wrong == 0);
  std::map<event_id, time_point> copy_times;
  for (const auto& list : copied)
    for (const auto& [id, at] : list) copy_times.emplace(id, at);
  std::uint64_t expect_position = 1;
  time_point previous{};
  std::size_t copies = 0, wrong_time = 0;
  store.read_all(1, [&](const recorded_event& e) {
    CHECK(e.position == expect_position++);
    if (const auto it = copy_times.find(e.id); it != copy_times.end()) {
      ++copies;
      if (e.recorded_at != it->second) ++wrong_time;
    }
    CHECK(e.recorded_at >= previous);
    previous = e.recorded_at;
  });
  CHECK(copies == copy_times.size());
  CHECK(copies > 0);
  CHECK(wrong_time == 0);
  const auto stats = store.append_stats();
  INFO("appends " << stats.appends << " in " << stats.transactions << " transactions");
  CHECK(stats.transactions < stats.appends);  // the plain appends still shared transactions
}
