// The PostgreSQL store's own filtered reads: the (type, position) index, also on schemas made
// before it, plans that use it, every payload format, and type names and prefixes matched byte
// for byte, never as patterns.
#include <catch2/catch.hpp>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include <annal/file/log.hpp>
#include <annal/postgres/store.hpp>
#include <annal/store/archive.hpp>
#include <annal/store/filter.hpp>

#include "sql/postgres_fixture.hpp"
#include "sql/sql_test_support.hpp"
#include "store/filter_laws.hpp"

using namespace annal;
using annal_conformance::expected_matches;
using annal_conformance::positions_of;
using annal_conformance::read_in_steps;
using annal_test::make_event;

namespace {
void append_one(postgres_store& s, const std::string& stream, const std::string& type,
                const std::string& payload = "{\"n\":1}") {
  s.append(stream, expected_version::any(), std::vector{make_event(type, payload)});
}

// Every row's columns joined by '|', rows by '\n', as the server prints them.
std::string rows_of(const postgres_options& o, const std::string& sql) {
  detail::pg::connection c(o.connection);
  const postgres_rows r = c.exec(sql, "a test's query");
  std::string out;
  for (int i = 0; i < r.rows(); ++i) {
    for (int col = 0; col < r.columns(); ++col)
      out += (col ? "|" : "") + std::string(r.get(i, col));
    out += '\n';
  }
  return out;
}

bool has_type_index(const postgres_options& o) {
  return !rows_of(o, "SELECT 1 FROM pg_indexes WHERE schemaname = " +
                         detail::pg::quote_literal(o.schema) +
                         " AND indexname = 'events_type_position'")
              .empty();
}
}  // namespace

TEST_CASE("postgres store answers filtered reads itself", "[store][postgres][filter]") {
  STATIC_REQUIRE(filtering_store<postgres_store>);
}

TEST_CASE("postgres store creates its type index, also in a schema made before it existed",
          "[store][postgres][filter]") {
  annal_test::postgres_fixture f;
  CHECK(has_type_index(f.options()));
  // The layout of schema version 6 as earlier annals made it: without the index.
  rows_of(f.options(),
          "DROP INDEX " + detail::pg::quote_ident(f.options().schema) + ".events_type_position");
  for (int i = 0; i < 40; ++i)
    append_one(f.store(), "old-" + std::to_string(i % 4), i % 5 == 0 ? "rare" : "common");
  REQUIRE_FALSE(has_type_index(f.options()));
  f.reopen();  // a new store on the schema, and migrate()
  CHECK(has_type_index(f.options()));
  CHECK(rows_of(f.options(), "SELECT version FROM " + detail::pg::quote_ident(f.options().schema) +
                                 ".schema_info") == std::to_string(postgres_schema_version) + "\n");
  append_one(f.store(), "new-1", "rare");
  const event_filter rare{{"rare"}, {}};
  const auto got = read_in_steps(f.store(), rare, 3);
  CHECK(got.size() == 9);
  CHECK(positions_of(got) == positions_of(expected_matches(f.store(), rare)));
  CHECK(got.back().stream_id == "new-1");
}

TEST_CASE("postgres store's filtered reads walk the type index", "[store][postgres][filter]") {
  annal_test::postgres_fixture f;
  std::vector<event_data> batch;
  for (int i = 0; i < 3000; ++i) {
    batch.push_back(make_event("t" + std::to_string(i % 30), "{}"));
    if (batch.size() == 100) {
      f.store().append("s-" + std::to_string(i % 7), expected_version::any(), batch);
      batch.clear();
    }
  }
  const std::string schema = detail::pg::quote_ident(f.options().schema);
  const detail::pg::statements sql(f.options().schema, f.options().payload_format);
  detail::pg::connection c(f.options().connection);
  c.exec("ANALYZE " + schema + ".events", "analyze");
  c.exec("PREPARE typed(bigint, bigint, text[], bytea[]) AS " + sql.read_filtered, "prepare");
  c.exec("PREPARE scan(bigint, bigint, text[], bytea[]) AS " + sql.read_filtered_scan, "prepare");
  // The plan the first executions get, and the generic one a prepared statement keeps later.
  for (const char* mode : {"force_custom_plan", "force_generic_plan"}) {
    INFO(mode);
    c.exec(std::string("SET plan_cache_mode = ") + mode, "set");
    for (const char* args :
         {"1, 1000, '{t3}', '{}'", "1, 1000, '{t3,t4,t5}', '{\"\\\\x732d31\"}'"}) {
      INFO(args);
      const postgres_rows r = c.exec(std::string("EXPLAIN EXECUTE typed(") + args + ")", "explain");
      std::string plan;
      for (int i = 0; i < r.rows(); ++i) plan += std::string(r.get(i, 0)) + "\n";
      INFO(plan);
      // An index scan, or a bitmap scan of the index when a page holds most of a type's rows.
      CHECK_THAT(plan, Catch::Contains("Index Scan using events_type_position") ||
                           Catch::Contains("Bitmap Index Scan on events_type_position"));
      CHECK_THAT(plan, !Catch::Contains("Seq Scan on events"));
    }
    // Dense filters read the positions (by the primary key, or on a table this small the whole
    // table), never the type index's ranges sorted whole.
    for (const char* args : {"1, 1000, '{t3,t4,t5}', '{}'", "1, 1000, '{}', '{\"\\\\x732d31\"}'"}) {
      INFO(args);
      const postgres_rows r = c.exec(std::string("EXPLAIN EXECUTE scan(") + args + ")", "explain");
      std::string plan;
      for (int i = 0; i < r.rows(); ++i) plan += std::string(r.get(i, 0)) + "\n";
      INFO(plan);
      CHECK_THAT(plan, !Catch::Contains("events_type_position"));
    }
  }
}

TEST_CASE("postgres store's filtered reads in every payload format", "[store][postgres][filter]") {
  const auto check = [](auto& f) {
    auto& store = f.store();
    for (int i = 0; i < 60; ++i) {
      auto e = make_event(i % 6 == 0 ? "shop.rare" : "shop.common",
                          "{\"i\":" + std::to_string(i) + ",\"s\":\"caf\xc3\xa9\"}");
      e.meta = {{"k", std::to_string(i)}};
      e.schema_version = static_cast<std::uint32_t>(1 + i % 3);
      store.append((i % 2 ? "order-" : "invoice-") + std::to_string(i % 5), expected_version::any(),
                   std::vector{e});
    }
    for (const event_filter& flt :
         {event_filter{{"shop.rare"}, {}}, event_filter{{}, {"order-"}},
          event_filter{{"shop.rare", "shop.common"}, {"invoice-1", "order-3"}}}) {
      const auto want = expected_matches(store, flt);
      CHECK_FALSE(want.empty());
      CHECK(read_in_steps(store, flt, 3) == want);  // whole events, payloads as the format keeps
    }
  };
  SECTION("jsonb") {
    annal_test::postgres_jsonb_fixture f;
    check(f);
  }
  SECTION("json") {
    annal_test::basic_postgres_fixture<postgres_payload_format::json> f;
    check(f);
  }
  SECTION("bytea") {
    annal_test::postgres_fixture f;
    check(f);
  }
}

TEST_CASE("postgres store's filtered read from below the archive horizon stops as read_all does",
          "[store][postgres][filter]") {
  annal_test::postgres_fixture f;
  auto& hot = f.store();
  for (int i = 0; i < 30; ++i)
    append_one(hot, "s-" + std::to_string(i % 4), i % 3 == 0 ? "wanted" : "other");
  annal_test::temp_dir dir;
  file_log_options o;
  o.sync = durability::none;
  file_log archive(dir.path() / "archive", o);
  annal::archive(hot, archive, archive_horizon::position(12));
  const event_filter wanted{{"wanted"}, {}};
  std::vector<std::uint64_t> seen;
  try {
    read_filtered(hot, 1, wanted, [&](const recorded_event& e) { seen.push_back(e.position); });
    FAIL("a filtered read across archived events did not stop");
  } catch (const error& e) {
    CHECK(e.code() == make_error_code(errc::archived));
  }
  for (std::uint64_t p : seen) CHECK(p < 12);
  CHECK(positions_of(read_in_steps(hot, wanted, 2, 13)) ==
        positions_of(expected_matches(hot, wanted, 13)));
}
