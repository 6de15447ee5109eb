// `reconcile <projection> <url> --model postgresql://...`: a typed tool (bank_pg_tool.cpp) compares
// a PostgreSQL read model (annal::postgres_read_model) with a replay of a file log or a PostgreSQL
// store up to its checkpoint, on the test server: a match, a row changed behind the projection's
// back reported by key, and each bad input refused with exit 2, nothing created; rebuild and replay
// refuse such a projection.
#include <catch2/catch.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include <annal/codec/binary.hpp>
#include <annal/core/record.hpp>
#include <annal/file/log.hpp>
#include <annal/postgres/read_model.hpp>
#include <annal/postgres/store.hpp>
#include <annal/projection/projector.hpp>
#include <annal/runtime/new_event_id.hpp>

#include "common/postgres_server.hpp"
#include "tool/bank_pg_tool_domain.hpp"
#include "tool/run_tool.hpp"

namespace {

namespace fs = std::filesystem;
using annal_test_tool::check_bad_input;
using annal_test_tool::contains;
using annal_test_tool::scratch;
using annal_test_tool::tool_run;

constexpr const char* program = "annal_bank_pg_tool";

tool_run pg_tool(const std::vector<std::string>& args) {
  return annal_test_tool::run_tool(args, ANNAL_BANK_PG_TOOL_PATH);
}

std::string url_of(const annal_test::postgres_server& server, const std::string& password) {
  return "postgresql://" + std::string(annal_test::postgres_server::user) + ":" + password +
         "@127.0.0.1:" + std::to_string(server.port()) + "/postgres?connect_timeout=10";
}

// A PostgreSQL store in `schema` (created), binary payloads kept byte for byte.
annal::postgres_options pg_options(const std::string& schema) {
  annal::postgres_options o;
  o.connection = annal_test::postgres_server::shared().conninfo();
  o.schema = schema;
  o.payload_format = annal::postgres_payload_format::bytea;
  o.pool_size = 2;
  return o;
}

template <class E>
annal::event_data stored(const E& e) {
  annal::event_data d;
  d.id = annal::new_event_id();
  d.type = std::string(annal::event_name_of<E>);
  d.schema_version = annal::event_version_of<E>;
  annal::binary_codec::encode(e, d.payload);
  return d;
}

// account-1: 1000 in, 3 euros out (a v1 withdrawal, upcast); account-2: 50 in, 20 out; account-3:
// 7 in. 8 events.
template <class Store>
void write_bank(Store& store) {
  const annal::event_data one[] = {stored(bank::opened{"account-1"}), stored(bank::deposited{1000}),
                                   stored(bank::withdrawn_v1{3})};
  store.append("account-1", annal::expected_version::no_stream(), one);
  const annal::event_data two[] = {stored(bank::opened{"account-2"}), stored(bank::deposited{50}),
                                   stored(bank::withdrawn{20})};
  store.append("account-2", annal::expected_version::no_stream(), two);
  const annal::event_data three[] = {stored(bank::opened{"account-3"}), stored(bank::deposited{7})};
  store.append("account-3", annal::expected_version::no_stream(), three);
}

// One number from the test server.
std::int64_t scalar(annal::postgres_store& store, const std::string& sql) {
  return store.transact(
      [&](annal::postgres_transaction& tx) { return tx.exec(sql).get_int(0, 0); });
}

std::int64_t schemas_named(annal::postgres_store& store, const std::string& like) {
  return scalar(store, "SELECT count(*) FROM pg_namespace WHERE nspname LIKE '" + like + "'");
}

}  // namespace

TEST_CASE("typed tool: reconcile a PostgreSQL read model fed from a file log",
          "[tool][typed][postgres][reconcile]") {
  auto& server = annal_test::postgres_server::shared();
  const std::string password = annal_test::postgres_server::password;
  const std::string pg = url_of(server, password);
  scratch dir;
  const fs::path data = dir.path() / "data";
  annal::file_log log{data};
  write_bank(log);
  // The service's checkpoints in schema "annal" (the tool's default --schema), the read model in
  // schema "balance_rows" under the name "balance_rows" (the defaults: the projection's name).
  annal::postgres_store checkpoints{pg_options("annal")};
  checkpoints.migrate();
  annal::postgres_read_model<bank::balance_rows> model{checkpoints, {.name = "balance_rows"}};
  model.migrate();
  annal::projector projector{log, model};
  projector.catch_up();
  REQUIRE(scalar(checkpoints,
                 "SELECT cents FROM balance_rows.balances WHERE account = "
                 "'account-1'") == 700);
  const std::string url = "file:" + data.string();

  const tool_run same = pg_tool({"reconcile", "balance_rows", url, "--model", pg});
  INFO(same.out << same.err);
  CHECK(same.status == 0);
  CHECK(same.err.empty());
  CHECK(contains(same.out, "matches: balance_rows at checkpoint 8, read model digest "));
  CHECK(!contains(same.out, "differs"));
  const tool_run same_json = pg_tool({"reconcile", "balance_rows", url, "--model", pg, "--json"});
  REQUIRE(same_json.status == 0);
  const auto j = same_json.json_lines().at(0);
  CHECK(j.at("matches").as_bool());
  CHECK(j.at("checkpoint").to_number<int>() == 8);
  CHECK(j.at("live_digest") == j.at("fresh_digest"));
  CHECK(j.at("differing_keys").as_array().empty());

  // A row changed behind the projection's back, one deleted, one added.
  checkpoints.transact([](annal::postgres_transaction& tx) {
    tx.exec("UPDATE balance_rows.balances SET cents = cents + 1 WHERE account = 'account-2'");
    tx.exec("DELETE FROM balance_rows.balances WHERE account = 'account-3'");
    tx.exec("INSERT INTO balance_rows.balances VALUES ('account-9', 5)");
  });
  const tool_run differs = pg_tool({"reconcile", "balance_rows", url, "--model", pg});
  INFO(differs.out << differs.err);
  CHECK(differs.status == 1);
  CHECK(differs.out.starts_with(
      "differs: balances[account-2]\ndiffers: balances[account-3]\ndiffers: balances[account-9]\n"
      "DIFFERS: balance_rows at checkpoint 8, read model digest "));
  const tool_run differs_json =
      pg_tool({"reconcile", "balance_rows", url, "--model", pg, "--json"});
  CHECK(differs_json.status == 1);
  const auto d = differs_json.json_lines().at(0);
  CHECK_FALSE(d.at("matches").as_bool());
  CHECK(d.at("live_digest") != d.at("fresh_digest"));
  CHECK(boost::json::serialize(d.at("differing_keys")) ==
        R"(["balances[account-2]","balances[account-3]","balances[account-9]"])");

  // The replay ran in a schema that was never committed; the read model is as it was.
  CHECK(schemas_named(checkpoints, "annal_reconcile%") == 0);
  CHECK(scalar(checkpoints, "SELECT count(*) FROM balance_rows.balances") == 3);
  CHECK(model.checkpoint() == 8);

  for (const tool_run* r : {&same, &same_json, &differs, &differs_json}) {
    CHECK(!contains(r->out, password));
    CHECK(!contains(r->err, password));
  }
}

TEST_CASE("typed tool: reconcile a PostgreSQL read model beside its PostgreSQL event store",
          "[tool][typed][postgres][reconcile]") {
  auto& server = annal_test::postgres_server::shared();
  const std::string pg = url_of(server, annal_test::postgres_server::password);
  annal::postgres_store store{pg_options("rec_events")};
  store.migrate();
  write_bank(store);
  // As a service keeps it: the read model on the event store, under names of its own.
  annal::postgres_read_model<bank::balance_rows> model{store,
                                                       {.name = "rows", .schema = "rec_rows"}};
  model.migrate();
  annal::projector projector{store, model};
  projector.catch_up();
  const std::vector<std::string> reconcile{
      "reconcile", "balance_rows", pg,     "--schema",       "rec_events", "--model",
      pg,          "--model-name", "rows", "--model-schema", "rec_rows"};

  const tool_run same = pg_tool(reconcile);
  INFO(same.out << same.err);
  CHECK(same.status == 0);
  CHECK(contains(same.out, "matches: balance_rows at checkpoint 8"));

  // Events appended after the checkpoint do not count: the replay stops where the model is.
  const annal::event_data more[] = {stored(bank::deposited{1})};
  store.append("account-3", annal::expected_version::any(), more);
  CHECK(pg_tool(reconcile).status == 0);

  store.transact([](annal::postgres_transaction& tx) {
    tx.exec("UPDATE rec_rows.balances SET cents = 0 WHERE account = 'account-1'");
  });
  const tool_run differs = pg_tool(reconcile);
  INFO(differs.out << differs.err);
  CHECK(differs.status == 1);
  CHECK(differs.out.starts_with("differs: balances[account-1]\nDIFFERS: balance_rows"));
}

TEST_CASE("typed tool: reconcile refuses a PostgreSQL read model it cannot read, creating nothing",
          "[tool][typed][postgres][reconcile]") {
  auto& server = annal_test::postgres_server::shared();
  const std::string password = annal_test::postgres_server::password;
  const std::string pg = url_of(server, password);
  scratch dir;
  const fs::path data = dir.path() / "data";
  {
    annal::file_log log{data};
    write_bank(log);
  }
  const std::string url = "file:" + data.string();
  annal::postgres_store checkpoints{pg_options("rec_bad")};
  checkpoints.migrate();
  annal::postgres_read_model<bank::balance_rows> model{
      checkpoints, {.name = "balance_rows", .schema = "rec_bad_rows"}};
  model.migrate();
  checkpoints.transact(
      [](annal::postgres_transaction& tx) { tx.exec("CREATE SCHEMA IF NOT EXISTS rec_empty"); });
  const auto reconcile = [&](std::vector<std::string> extra) {
    std::vector<std::string> args{"reconcile", "balance_rows", url,      "--model",
                                  pg,          "--schema",     "rec_bad"};
    args.insert(args.end(), extra.begin(), extra.end());
    return pg_tool(args);
  };
  std::vector<tool_run> runs;

  // The whole command is right: it matches (an empty model of an unprojected log, checkpoint 0).
  const tool_run right = reconcile({"--model-schema", "rec_bad_rows"});
  INFO(right.out << right.err);
  CHECK(right.status == 0);

  SECTION("an unreachable server") {
    const std::string nowhere =
        "postgresql://annal:" + password + "@127.0.0.1:1/postgres?connect_timeout=10";
    runs.push_back(pg_tool({"reconcile", "balance_rows", url, "--model", nowhere}));
    check_bad_input(runs.back(),
                    "cannot connect to PostgreSQL at 'postgresql://annal:***@127.0.0.1:1/",
                    program);
  }
  SECTION("a malformed connection string") {
    runs.push_back(pg_tool({"reconcile", "balance_rows", url, "--model",
                            "postgresql://ann:" + password + "@localhost:5432/db?nonsense=1"}));
    check_bad_input(runs.back(), "malformed PostgreSQL connection string 'postgresql://ann:***@",
                    program);
  }
  SECTION("a read model schema that does not exist") {
    runs.push_back(reconcile({"--model-schema", "rec_absent"}));
    check_bad_input(runs.back(), "read model schema 'rec_absent' does not exist", program);
    CHECK(schemas_named(checkpoints, "rec_absent") == 0);
  }
  SECTION("a checkpoints schema that does not exist") {
    runs.push_back(
        reconcile({"--model-schema", "rec_bad_rows", "--checkpoint-schema", "rec_nocp"}));
    check_bad_input(runs.back(), "holds no annal schema 'rec_nocp'", program);
    CHECK(schemas_named(checkpoints, "rec_nocp") == 0);
  }
  SECTION("a read model name with no checkpoint") {
    runs.push_back(reconcile({"--model-schema", "rec_bad_rows", "--model-name", "other"}));
    check_bad_input(runs.back(), "no checkpoint named 'other'", program);
    CHECK(scalar(checkpoints, "SELECT count(*) FROM rec_bad.checkpoints WHERE name = 'other'") ==
          0);
  }
  SECTION("a schema without the projection's table") {
    runs.push_back(reconcile({"--model-schema", "rec_empty"}));
    check_bad_input(runs.back(), "read model schema 'rec_empty' has no table 'balances'", program);
    CHECK(scalar(checkpoints, "SELECT count(*) FROM pg_tables WHERE schemaname = 'rec_empty'") ==
          0);
  }
  SECTION("a projection whose read model is not in PostgreSQL") {
    runs.push_back(pg_tool({"reconcile", "balances", url, "--model", pg}));
    check_bad_input(runs.back(), "projection 'balances' keeps no PostgreSQL read model", program);
  }
  SECTION("a PostgreSQL read model's projection given a file") {
    runs.push_back(pg_tool(
        {"reconcile", "balance_rows", url, "--model", (dir.path() / "balances.model").string()}));
    check_bad_input(runs.back(),
                    "projection 'balance_rows' keeps its read model in PostgreSQL: pass --model "
                    "postgresql://",
                    program);
  }
  SECTION("PostgreSQL read model options beside a file model") {
    runs.push_back(pg_tool({"reconcile", "balances", url, "--model",
                            (dir.path() / "balances.model").string(), "--model-schema", "x"}));
    check_bad_input(runs.back(), "--model-schema", program);
  }
  CHECK(schemas_named(checkpoints, "annal_reconcile%") == 0);
  CHECK(scalar(checkpoints, "SELECT count(*) FROM rec_bad.checkpoints") == 1);
  for (const auto& r : runs) {
    CHECK(!contains(r.out, password));
    CHECK(!contains(r.err, password));
  }
}

TEST_CASE("typed tool: rebuild and replay refuse a projection kept in PostgreSQL, naming reconcile",
          "[tool][typed][postgres]") {
  scratch dir;
  const fs::path data = dir.path() / "data";
  {
    annal::file_log log{data};
    write_bank(log);
  }
  for (const std::string command : {"rebuild", "replay"})
    check_bad_input(pg_tool({command, "balance_rows", "file:" + data.string()}),
                    "projection 'balance_rows' keeps its read model in PostgreSQL tables, which a "
                    "replay in memory cannot build",
                    program);
  // A projection kept in memory rebuilds as before.
  CHECK(pg_tool({"rebuild", "balances", "file:" + data.string()}).status == 0);
}
