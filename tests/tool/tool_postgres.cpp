// The `annal` tool run as a program on the test PostgreSQL server: each command's output, a schema
// that is not there (never created by a read), a wrong password, the password absent from every
// output; and copy from a file log into a new schema and back, and between SQLite and
// PostgreSQL both ways, proved by digest.
#include <catch2/catch.hpp>

#include <deque>
#include <string>
#include <vector>

#include <annal/file/log.hpp>
#include <annal/postgres/store.hpp>

#include "common/postgres_server.hpp"
#include "tool/run_tool.hpp"

using annal_test_tool::check_bad_input;
using annal_test_tool::contains;
using annal_test_tool::run_tool;
using annal_test_tool::scratch;
using annal_test_tool::tool_run;

namespace {

std::string url_of(const annal_test::postgres_server& server, const std::string& password) {
  return "postgresql://" + std::string(annal_test::postgres_server::user) + ":" + password +
         "@127.0.0.1:" + std::to_string(server.port()) + "/postgres?connect_timeout=10";
}

}  // namespace

TEST_CASE("annal tool: every command on PostgreSQL, the password never shown", "[tool][postgres]") {
  auto& server = annal_test::postgres_server::shared();
  const std::string password = annal_test::postgres_server::password;
  {
    annal::postgres_options o;
    o.connection = server.conninfo();
    o.schema = "tool_test";
    // Binary payloads (the tombstone's, the sample's bytes) need bytea; the tool finds the format.
    o.payload_format = annal::postgres_payload_format::bytea;
    annal::postgres_store store{o};
    store.migrate();
    annal_test_tool::write_sample(store);
  }
  const std::string url = url_of(server, password);
  std::deque<tool_run> runs;  // references to its elements stay good as it grows
  const auto run = [&](std::vector<std::string> args) -> const tool_run& {
    args.push_back("--schema");
    args.push_back("tool_test");
    return runs.emplace_back(run_tool(args));
  };

  const tool_run& info = run({"info", url});
  INFO(info.err);
  REQUIRE(info.status == 0);
  CHECK(contains(info.out, "store:          PostgreSQL\n"));
  CHECK(contains(info.out, "url:            postgresql://annal:***@127.0.0.1:"));
  CHECK(contains(info.out, "last position:  5\n"));
  CHECK(contains(info.out, "streams:        3 (1 deleted)\n"));
  CHECK(contains(info.out, "payloads as bytea\n"));
  CHECK(contains(info.out, "durability:     synchronous_commit=on (durability::durable)\n"));
  const auto j = run({"info", url, "--json"}).json_lines().at(0);
  CHECK(j.at("events").to_number<int>() == 5);
  CHECK(j.at("size_bytes").to_number<std::int64_t>() > 0);

  const tool_run& streams = run({"streams", url});
  REQUIRE(streams.lines().size() == 4);
  CHECK(streams.lines()[3].ends_with("Z  deleted"));

  const tool_run& events = run({"events", url, "--from", "1"});
  REQUIRE(events.lines().size() == 5);
  CHECK(events.lines()[0].ends_with(R"(Z  {"cents":100})"));
  CHECK(events.lines()[2].ends_with("Z  hex:0102ff"));
  const auto stream = run({"events", url, "--stream", "order-7", "--json"}).json_lines();
  REQUIRE(stream.size() == 2);
  CHECK(stream[0].at("payload_text").as_string() == "hello world");

  const tool_run& verify = run({"verify", url});
  CHECK(verify.status == 0);
  CHECK(verify.out == "clean: 5 events in 3 streams (1 deleted) read, last position 5\n");

  // Bad input: exit 2, one line, nothing created.
  const tool_run& no_schema = runs.emplace_back(run_tool({"info", url, "--schema", "absent"}));
  CHECK(no_schema.status == 2);
  CHECK(no_schema.err_lines() == 1);
  CHECK(contains(no_schema.err, "holds no annal schema 'absent'"));
  const tool_run& wrong = runs.emplace_back(run_tool({"verify", url_of(server, "wrong-pw")}));
  CHECK(wrong.status == 2);
  CHECK(wrong.err_lines() == 1);
  CHECK(contains(wrong.err, "cannot connect to PostgreSQL at 'postgresql://annal:***@"));
  CHECK(!contains(wrong.err, "wrong-pw"));
  const tool_run& beyond = run({"events", url, "--from", "7"});
  CHECK(beyond.status == 2);
  CHECK(contains(beyond.err, "beyond the end"));
  {
    annal::postgres_options o;
    o.connection = server.conninfo();
    o.schema = "absent";
    annal::postgres_store probe{o};
    CHECK_THROWS(probe.last_position());  // the tool did not create the schema
  }

  for (const auto& r : runs) {
    INFO(r.out << r.err);
    CHECK(!contains(r.out, password));
    CHECK(!contains(r.err, password));
  }
}

TEST_CASE("annal tool: copy a file log into a new PostgreSQL schema and back, proved by digest",
          "[tool][postgres][copy]") {
  auto& server = annal_test::postgres_server::shared();
  const std::string password = annal_test::postgres_server::password;
  const std::string url = url_of(server, password);
  scratch dir;
  const auto data = dir.path() / "data", back = dir.path() / "back";
  annal::file_log writer{data};
  annal_test_tool::write_sample(writer);
  const std::string source = "file:" + data.string();

  const tool_run to_pg = run_tool({"copy", source, url, "--target-schema", "tool_copy", "--json"});
  INFO(to_pg.out << to_pg.err);
  REQUIRE(to_pg.status == 0);
  const auto o = to_pg.json_lines().at(0);
  CHECK(o.at("verified").as_bool());
  CHECK(o.at("created").as_bool());
  CHECK(o.at("copied").to_number<int>() == 5);
  CHECK(o.at("times_compared_at").as_string() == "microseconds");
  CHECK(o.at("to").as_string().subview().starts_with("postgresql://annal:***@127.0.0.1:"));
  const auto sha1 = o.at("source").at("sha1").as_string();
  CHECK(o.at("target").at("sha1").as_string() == sha1);

  // The schema the copy made reads back as a store, its events those of the log to the
  // microsecond.
  const tool_run verify = run_tool({"verify", url, "--schema", "tool_copy"});
  CHECK(verify.status == 0);
  const tool_run from_pg =
      run_tool({"copy", url, "file:" + back.string(), "--schema", "tool_copy"});
  INFO(from_pg.out << from_pg.err);
  REQUIRE(from_pg.status == 0);
  CHECK(contains(from_pg.out,
                 "verified: the target holds the source's 5 events (times at "
                 "microseconds: PostgreSQL keeps no finer)\n"));
  CHECK(contains(from_pg.out, "source: 5 events, sha1 " + std::string(sha1) + "\n"));

  // Another log's copy into the same schema: its history differs, exit 2, nothing written.
  const auto other = dir.path() / "other";
  {
    annal::file_log another{other};
    annal_test_tool::write_sample(another);
  }
  const tool_run diverged =
      run_tool({"copy", "file:" + other.string(), url, "--target-schema", "tool_copy"});
  INFO(diverged.out << diverged.err);
  CHECK(diverged.status == 2);
  CHECK(diverged.err_lines() == 1);
  CHECK(contains(diverged.err, "diverge"));
  CHECK(run_tool({"info", url, "--schema", "tool_copy", "--json"})
            .json_lines()
            .at(0)
            .at("events")
            .to_number<int>() == 5);
  for (const tool_run* r : {&to_pg, &from_pg, &diverged}) {
    CHECK(!contains(r->out, password));
    CHECK(!contains(r->err, password));
  }
}

TEST_CASE("annal tool: copy between SQLite and PostgreSQL both ways, proved by digest",
          "[tool][postgres][sqlite][copy]") {
  auto& server = annal_test::postgres_server::shared();
  const std::string url = url_of(server, annal_test::postgres_server::password);
  scratch dir;
  const auto data = dir.path() / "data";
  {
    annal::file_log writer{data};
    annal_test_tool::write_sample(writer);
  }
  const std::string sqlite_source = "sqlite:" + (dir.path() / "source.db").string();
  const std::string sqlite_back = "sqlite:" + (dir.path() / "back.db").string();

  const tool_run to_sqlite = run_tool({"copy", "file:" + data.string(), sqlite_source, "--json"});
  INFO(to_sqlite.out << to_sqlite.err);
  REQUIRE(to_sqlite.status == 0);
  const auto sha1 = to_sqlite.json_lines().at(0).at("source").at("sha1").as_string();

  const tool_run to_pg =
      run_tool({"copy", sqlite_source, url, "--target-schema", "tool_copy_sqlite", "--json"});
  INFO(to_pg.out << to_pg.err);
  REQUIRE(to_pg.status == 0);
  const auto pg = to_pg.json_lines().at(0);
  CHECK(pg.at("verified").as_bool());
  CHECK(pg.at("target").at("sha1").as_string() == pg.at("source").at("sha1").as_string());

  const tool_run back =
      run_tool({"copy", url, sqlite_back, "--schema", "tool_copy_sqlite", "--json"});
  INFO(back.out << back.err);
  REQUIRE(back.status == 0);
  const auto b = back.json_lines().at(0);
  CHECK(b.at("verified").as_bool());
  CHECK(b.at("copied").to_number<int>() == 5);
  CHECK(b.at("target").at("sha1").as_string() == b.at("source").at("sha1").as_string());
  CHECK(!sha1.empty());
}

// A PostgreSQL store archives into a file log: the horizon shows in info, reads below it stop
// naming the archive (the password never shown), and --archive reads through it.
TEST_CASE("annal tool: archive a PostgreSQL store into a file log", "[tool][postgres][archive]") {
  auto& server = annal_test::postgres_server::shared();
  scratch dir;
  const std::string archive = (dir.path() / "archive").string();
  {
    annal::postgres_options o;
    o.connection = server.conninfo();
    o.schema = "tool_archive";
    annal::postgres_store store{o};
    store.migrate();
    for (int i = 0; i < 30; ++i) {
      const annal::event_data e[] = {annal_test_tool::sample_event("noted", R"({"n":1})")};
      store.append("notes-" + std::to_string(i % 3), annal::expected_version::any(), e);
    }
  }
  const std::string url = url_of(server, annal_test::postgres_server::password);
  std::deque<tool_run> runs;
  const auto run = [&](std::vector<std::string> args) -> const tool_run& {
    args.push_back("--schema");
    args.push_back("tool_archive");
    return runs.emplace_back(run_tool(args));
  };
  const tool_run& moved = run({"archive", url, archive, "--to-position", "20"});
  INFO(moved.out << moved.err);
  REQUIRE(moved.status == 0);
  CHECK(contains(moved.out, "positions 1..20 are in the archive"));
  const auto facts = run({"info", url, "--json"}).json_lines().at(0);
  CHECK(facts.at("archive_horizon") == 20);
  CHECK(facts.at("archive").as_string() == archive);
  const tool_run& below = run({"events", url, "--from", "1"});
  CHECK(below.status == 2);
  CHECK(contains(below.err, archive));
  const tool_run& verified = run({"verify", url, "--archive", archive});
  INFO(verified.out << verified.err);
  CHECK(verified.status == 0);
  CHECK(contains(verified.out, "clean: 30 events in 3 streams"));
  for (const auto& r : runs) {
    CHECK(!contains(r.out, annal_test::postgres_server::password));
    CHECK(!contains(r.err, annal_test::postgres_server::password));
  }
}

TEST_CASE("annal tool: promote a PostgreSQL standby that a replicate --follow writes",
          "[tool][postgres][replicate][promote]") {
  auto& server = annal_test::postgres_server::shared();
  const std::string password = annal_test::postgres_server::password;
  const std::string url = url_of(server, password);
  scratch dir;
  const auto data = dir.path() / "data";
  annal::file_log writer{data};
  annal_test_tool::write_sample(writer);
  const std::string primary = "file:" + data.string();
  const std::vector<std::string> schema{"--schema", "tool_standby"};
  const auto with_schema = [&](std::vector<std::string> args) {
    args.insert(args.end(), schema.begin(), schema.end());
    return args;
  };

  annal_test_tool::running_tool follower(with_schema({"replicate", primary, url, "--follow"}));
  tool_run r = follower.wait_for_err("primary at position 5, standby at 5");
  INFO(r.err);
  REQUIRE(contains(r.err, "primary at position 5, standby at 5"));
  // Its claim is a lock in a session of its own, named: a second replicate is refused.
  const tool_run second = run_tool(with_schema({"replicate", primary, url}));
  check_bad_input(second, "replicate running as pid " + std::to_string(follower.pid()));
  CHECK(contains(second.err, "it holds the replicate lock on schema 'tool_standby'"));
  // Another schema is another standby.
  CHECK(run_tool({"replicate", primary, url, "--schema", "tool_standby_2"}).status == 0);

  const tool_run promoted = run_tool(with_schema({"promote", url, "--primary", primary}));
  INFO(promoted.out << promoted.err);
  CHECK(promoted.status == 0);
  CHECK(contains(promoted.out, " at position 5: it takes appends of its own now\n"));
  CHECK(contains(promoted.out, "stopped the replicate into it (pid " +
                                   std::to_string(follower.pid()) + " on host "));
  CHECK(contains(promoted.out, "the standby holds all of it\n"));
  CHECK(!contains(promoted.out, password));
  r = follower.wait_for_end();
  CHECK(r.status == 0);
  // The lock went with its session: the next replicate takes it, and promote finds none.
  CHECK(run_tool(with_schema({"replicate", primary, url})).status == 0);
  const auto again = run_tool(with_schema({"promote", url, "--json"})).json_lines();
  REQUIRE(again.size() == 1);
  CHECK(again[0].at("stopped_replicate").is_null());
  CHECK(again[0].at("position").to_number<int>() == 5);
  // A primary that cannot be read: the password stays off the report.
  const tool_run unread = run_tool(
      {"promote", url, "--schema", "tool_standby", "--primary", url_of(server, "wrong-pw")});
  INFO(unread.out << unread.err);
  CHECK(unread.status == 0);
  CHECK(contains(unread.out, "not read (cannot connect to PostgreSQL at 'postgresql://annal:***@"));
  CHECK(!contains(unread.out, "wrong-pw"));
}
