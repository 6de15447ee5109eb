// The `annal` tool run as a program on a real file log and a real SQLite file: each command's text
// and JSON output, verify's verdict on a clean and a damaged store, and every bad input's exit 2.
#include <catch2/catch.hpp>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <annal/file/log.hpp>

#ifdef ANNAL_TOOL_WITH_SQLITE
#include <sqlite3.h>

#include <annal/sqlite/store.hpp>
#endif

#include "tool/run_tool.hpp"

using annal_test_tool::check_bad_input;
using annal_test_tool::contains;
using annal_test_tool::run_tool;
using annal_test_tool::scratch;
using annal_test_tool::tool_run;
namespace fs = std::filesystem;

namespace {

// The commands' output for the sample (run_tool.hpp) in any store, `url` naming it.
void check_sample_output(const std::string& url, const std::string& kind) {
  {
    const tool_run r = run_tool({"info", url});
    INFO(r.err);
    REQUIRE(r.status == 0);
    CHECK(contains(r.out, "store:          " + kind + "\n"));
    CHECK(contains(r.out, "last position:  5\n"));
    CHECK(contains(r.out, "events:         5\n"));
    CHECK(contains(r.out, "streams:        3 (1 deleted)\n"));
    CHECK(contains(r.out, "format:         "));
    CHECK(contains(r.out, "durability:     "));
    const tool_run j = run_tool({"info", url, "--json"});
    REQUIRE(j.status == 0);
    const auto o = j.json_lines().at(0);
    CHECK(o.at("store").as_string() == kind);
    CHECK(o.at("last_position").to_number<int>() == 5);
    CHECK(o.at("events").to_number<int>() == 5);
    CHECK(o.at("streams").to_number<int>() == 3);
    CHECK(o.at("deleted_streams").to_number<int>() == 1);
    CHECK(o.at("size_bytes").to_number<std::int64_t>() > 0);
    CHECK(o.at("format_version").to_number<int>() >= 1);
  }
  {
    const tool_run r = run_tool({"streams", url});
    REQUIRE(r.status == 0);
    const auto lines = r.lines();
    REQUIRE(lines.size() == 4);
    CHECK(lines[0].rfind("STREAM     VERSION  LAST EVENT AT", 0) == 0);
    CHECK(lines[1].rfind("account-1  2        20", 0) == 0);
    CHECK(lines[2].rfind("account-2  1        20", 0) == 0);
    CHECK(lines[3].rfind("order-7    2        20", 0) == 0);
    CHECK(lines[3].ends_with("Z  deleted"));
    CHECK(!contains(lines[1], "deleted"));
    const tool_run p = run_tool({"streams", url, "--prefix", "account-", "--json"});
    REQUIRE(p.status == 0);
    const auto streams = p.json_lines();
    REQUIRE(streams.size() == 2);
    CHECK(streams[0].at("stream").as_string() == "account-1");
    CHECK(streams[0].at("version").to_number<int>() == 2);
    CHECK(streams[0].at("deleted").as_bool() == false);
    CHECK(streams[1].at("stream").as_string() == "account-2");
    const tool_run d = run_tool({"streams", url, "--prefix", "order", "--json"});
    REQUIRE(d.json_lines().size() == 1);
    CHECK(d.json_lines()[0].at("deleted").as_bool() == true);
  }
  {
    const tool_run r = run_tool({"events", url, "--stream", "account-1"});
    REQUIRE(r.status == 0);
    const auto lines = r.lines();
    REQUIRE(lines.size() == 2);
    CHECK(lines[0].rfind("1  account-1  1  deposited  20", 0) == 0);
    CHECK(lines[0].ends_with(R"(Z  {"cents":100})"));
    CHECK(lines[1].rfind("2  account-1  2  withdrawn  ", 0) == 0);
    const tool_run range = run_tool({"events", url, "--from", "3", "--to", "4"});
    REQUIRE(range.status == 0);
    const auto two = range.lines();
    REQUIRE(two.size() == 2);
    CHECK(two[0].rfind("3  account-2  1  opened  ", 0) == 0);
    CHECK(two[0].ends_with("Z  hex:0102ff"));
    CHECK(two[1].ends_with("Z  hello world"));
    const tool_run typed = run_tool({"events", url, "--from", "1", "--type", "withdrawn"});
    REQUIRE(typed.lines().size() == 1);
    CHECK(contains(typed.out, "withdrawn"));
    // The store answers --type itself; --to still bounds what is shown.
    const tool_run before =
        run_tool({"events", url, "--from", "1", "--to", "1", "--type", "withdrawn"});
    REQUIRE(before.status == 0);
    CHECK(before.lines().empty());
    const tool_run bounded =
        run_tool({"events", url, "--from", "2", "--to", "4", "--type", "opened"});
    REQUIRE(bounded.lines().size() == 1);
    CHECK(bounded.lines()[0].rfind("3  account-2  1  opened  ", 0) == 0);
    const tool_run j = run_tool({"events", url, "--from", "1", "--json"});
    REQUIRE(j.status == 0);
    const auto events = j.json_lines();
    REQUIRE(events.size() == 5);
    CHECK(events[0].at("position").to_number<int>() == 1);
    CHECK(events[0].at("stream").as_string() == "account-1");
    CHECK(events[0].at("version").to_number<int>() == 1);
    CHECK(events[0].at("type").as_string() == "deposited");
    CHECK(events[0].at("payload").at("cents").to_number<int>() == 100);
    CHECK(events[0].at("metadata").at("user").as_string() == "ann");
    CHECK(events[0].at("id").as_string().size() == 36);
    CHECK(events[0].at("recorded_at").as_string().ends_with("Z"));
    CHECK(events[2].at("payload_hex").as_string() == "0102ff");
    CHECK(events[3].at("payload_text").as_string() == "hello world");
    CHECK(events[4].at("type").as_string() == "annal.stream_deleted");
  }
  {
    const tool_run r = run_tool({"verify", url});
    INFO(r.out << r.err);
    CHECK(r.status == 0);
    CHECK(r.out == "clean: 5 events in 3 streams (1 deleted) read, last position 5\n");
    const tool_run j = run_tool({"verify", url, "--json"});
    CHECK(j.status == 0);
    const auto o = j.json_lines().at(0);
    CHECK(o.at("clean").as_bool());
    CHECK(o.at("events").to_number<int>() == 5);
    CHECK(o.at("problem_count").to_number<int>() == 0);
  }
  // Ranges and streams beyond what the store holds.
  check_bad_input(run_tool({"events", url, "--from", "6"}),
                  "--from 6 is beyond the end of the store (last position 5)");
  check_bad_input(run_tool({"events", url, "--from", "2", "--to", "9"}),
                  "--to 9 is beyond the end of the store (last position 5)");
  check_bad_input(run_tool({"events", url, "--from", "4", "--to", "2"}),
                  "--to 2 is before --from 4");
  check_bad_input(run_tool({"events", url, "--from", "0"}), "positions start at 1");
  check_bad_input(run_tool({"events", url, "--stream", "nobody"}),
                  "stream 'nobody' does not exist");
  check_bad_input(run_tool({"events", url}), "events needs --stream ID or --from POSITION");
}

// Damages a segment as a failing disk would: one bit of the first occurrence of `text` flipped.
void flip_a_bit_of(const fs::path& segment, const std::string& text) {
  std::string bytes = annal_test_tool::read_whole(segment);
  const auto at = bytes.find(text);
  REQUIRE(at != std::string::npos);
  bytes[at] = static_cast<char>(bytes[at] ^ 0x01);
  std::ofstream out(segment, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

}  // namespace

TEST_CASE("annal tool: every command on a file log, read beside its running writer", "[tool]") {
  scratch dir;
  const fs::path data = dir.path() / "data";
  annal::file_log writer{data};
  annal_test_tool::write_sample(writer);
  // The writer stays open: the tool's read-only open reads beside it.
  check_sample_output("file:" + data.string(), "file log");
  const tool_run r = run_tool({"info", "file:" + data.string()});
  CHECK(contains(r.out, "format:         file log segment format 1\n"));
  CHECK(contains(r.out, "access:         read-only open"));
}

TEST_CASE("annal tool: events --follow prints what a running writer appends until SIGTERM",
          "[tool][follow]") {
  scratch dir;
  const fs::path data = dir.path() / "data";
  annal::file_log writer{data};
  annal_test_tool::write_sample(writer);
  const std::string url = "file:" + data.string();
  annal_test_tool::running_tool all({"events", url, "--from", "4", "--follow", "--json"});
  annal_test_tool::running_tool one({"events", url, "--stream", "account-1", "--follow"});
  const auto lines_at_least = [](std::size_t n) {
    return [n](const tool_run& r) { return r.lines().size() >= n; };
  };
  // What exists first: positions 4 and 5, and account-1's two events.
  tool_run a = all.wait_for(lines_at_least(2));
  INFO("--from 4 printed: " << a.out << a.err);
  REQUIRE(a.lines().size() == 2);
  tool_run b = one.wait_for(lines_at_least(2));
  INFO("--stream account-1 printed: " << b.out << b.err);
  REQUIRE(b.lines().size() == 2);

  const annal::event_data more[] = {annal_test_tool::sample_event("deposited", R"({"cents":7})"),
                                    annal_test_tool::sample_event("deposited", R"({"cents":8})")};
  writer.append("account-9", annal::expected_version::no_stream(), more);
  const annal::event_data third[] = {annal_test_tool::sample_event("withdrawn", R"({"cents":1})")};
  writer.append("account-1", annal::expected_version::exact(2), third);

  a = all.wait_for(lines_at_least(5));
  INFO("--from 4 printed, after the appends: " << a.out << a.err);
  REQUIRE(a.lines().size() == 5);
  const auto events = a.json_lines();
  CHECK(events[2].at("position").to_number<int>() == 6);
  CHECK(events[2].at("stream").as_string() == "account-9");
  CHECK(events[2].at("payload").at("cents").to_number<int>() == 7);
  CHECK(events[3].at("position").to_number<int>() == 7);
  CHECK(events[4].at("position").to_number<int>() == 8);
  CHECK(events[4].at("stream").as_string() == "account-1");
  b = one.wait_for(lines_at_least(3));
  INFO("--stream account-1 printed, after the appends: " << b.out << b.err);
  REQUIRE(b.lines().size() == 3);
  CHECK(b.lines()[2].rfind("8  account-1  3  withdrawn  ", 0) == 0);
  CHECK(b.lines()[2].ends_with(R"(Z  {"cents":1})"));

  // Interrupted, it ends cleanly: exit 0, nothing on stderr.
  REQUIRE(all.running());
  CHECK(all.stop(SIGTERM) == 0);
  CHECK(all.so_far().err.empty());
  REQUIRE(one.running());
  CHECK(one.stop(SIGINT) == 0);
  CHECK(one.so_far().err.empty());
  CHECK(one.so_far().lines().size() == 3);
}

TEST_CASE("annal tool: events --follow takes the next position, and no --to", "[tool][follow]") {
  scratch dir;
  const fs::path data = dir.path() / "data";
  annal::file_log writer{data};
  annal_test_tool::write_sample(writer);
  const std::string url = "file:" + data.string();
  check_bad_input(run_tool({"events", url, "--from", "1", "--to", "2", "--follow"}), "--to");
  check_bad_input(run_tool({"events", url, "--from", "7", "--follow"}), "beyond the end");
  annal_test_tool::running_tool next({"events", url, "--from", "6", "--follow"});
  const annal::event_data more[] = {annal_test_tool::sample_event("noted", "next")};
  writer.append("log-1", annal::expected_version::no_stream(), more);
  const tool_run r = next.wait_for([](const tool_run& t) { return !t.lines().empty(); });
  INFO(r.out << r.err);
  REQUIRE(r.lines().size() == 1);
  CHECK(r.lines()[0].rfind("6  log-1  1  noted  ", 0) == 0);
  CHECK(next.stop(SIGTERM) == 0);
}

TEST_CASE("annal tool: events escapes what JSON needs escaped and prints JSON payloads on one line",
          "[tool]") {
  scratch dir;
  const fs::path data = dir.path() / "data";
  annal::file_log writer{data};
  const std::string note = "say \"hi\"\tnow\x01 \\ \xc3\xa9";
  const annal::event_data events[] = {
      annal_test_tool::sample_event("noted", "{ \"a\" : [1, 2],\n  \"s\": \"x y\\\" z\" }",
                                    {{"note", note}}),
      annal_test_tool::sample_event("quoted", "a \"quoted\" word \\ here")};
  writer.append("odd-1", annal::expected_version::no_stream(), events);
  const std::string url = "file:" + data.string();
  const tool_run j = run_tool({"events", url, "--from", "1", "--json"});
  INFO(j.out << j.err);
  REQUIRE(j.status == 0);
  const auto lines = j.json_lines();
  REQUIRE(lines.size() == 2);
  CHECK(lines[0].at("metadata").at("note").as_string() == note);
  CHECK(lines[0].at("payload").at("a").as_array().size() == 2);
  CHECK(lines[0].at("payload").at("s").as_string() == "x y\" z");
  CHECK(lines[1].at("payload_text").as_string() == "a \"quoted\" word \\ here");
  const tool_run t = run_tool({"events", url, "--stream", "odd-1"});
  REQUIRE(t.lines().size() == 2);
  CHECK(t.lines()[0].ends_with(R"(Z  {"a":[1,2],"s":"x y\" z"})"));
  CHECK(t.lines()[1].ends_with(R"(Z  a "quoted" word \ here)"));
}

TEST_CASE("annal tool: a stream appended to again after other streams is one stream",
          "[tool][verify]") {
  scratch dir;
  const fs::path data = dir.path() / "data";
  {
    annal::file_log writer{data};
    annal_test_tool::write_sample(writer);
    const annal::event_data again[] = {annal_test_tool::sample_event("deposited", "{}")};
    writer.append("account-1", annal::expected_version::exact(2), again);
  }
  const std::string url = "file:" + data.string();
  const tool_run v = run_tool({"verify", url});
  INFO(v.out);
  CHECK(v.status == 0);
  CHECK(contains(v.out, "clean: 6 events in 3 streams (1 deleted)"));
  const tool_run s = run_tool({"streams", url, "--json"});
  const auto lines = s.json_lines();
  REQUIRE(lines.size() == 3);
  CHECK(lines[0].at("stream") == "account-1");
  CHECK(lines[0].at("version") == 3);
}

TEST_CASE("annal tool: verify finds a flipped byte in a file log segment and names it",
          "[tool][verify]") {
  scratch dir;
  const fs::path data = dir.path() / "data";
  {
    annal::file_log writer{data};
    annal_test_tool::write_sample(writer);
  }
  const std::string url = "file:" + data.string();
  REQUIRE(run_tool({"verify", url}).status == 0);

  flip_a_bit_of(data / "00000001.log", "hello world");
  const tool_run r = run_tool({"verify", url});
  INFO(r.out << r.err);
  CHECK(r.status == 1);
  CHECK(contains(r.out, "damage: "));
  CHECK(contains(r.out, "00000001.log"));
  CHECK(contains(r.out, "offset"));
  CHECK(contains(r.out, "DAMAGED: the store's open stopped at the damage"));
  const tool_run j = run_tool({"verify", url, "--json"});
  CHECK(j.status == 1);
  const auto o = j.json_lines().at(0);
  CHECK(o.at("clean").as_bool() == false);
  CHECK(o.at("opened").as_bool() == false);
  CHECK(contains(std::string(o.at("problems").as_array().at(0).as_string()), "00000001.log"));
}

TEST_CASE("annal tool: damage in a sealed segment: verify names it, other commands stop at it",
          "[tool][verify]") {
  scratch dir;
  const fs::path data = dir.path() / "data";
  {
    annal::file_log_options o;
    o.segment_size = 1024;  // a few events a segment
    annal::file_log writer{data, o};
    for (int i = 0; i < 40; ++i) {
      const annal::event_data e[] = {annal_test_tool::sample_event(
          "noted", "event number " + std::to_string(i) + std::string(60, '.'))};
      writer.append("notes", annal::expected_version::any(), e);
    }
  }
  REQUIRE(fs::exists(data / "00000003.log"));
  const std::string url = "file:" + data.string();
  REQUIRE(run_tool({"verify", url}).status == 0);
  flip_a_bit_of(data / "00000001.log", "event number 1");
  const tool_run r = run_tool({"verify", url});
  INFO(r.out << r.err);
  CHECK(r.status == 1);
  CHECK(contains(r.out, "segment 00000001.log offset "));
  CHECK(contains(r.out, "checksum mismatch"));
  // A read that meets the damage stops there, with status 1 and the same place named.
  const tool_run events = run_tool({"events", url, "--from", "1"});
  CHECK(events.status == 1);
  CHECK(events.err_lines() == 1);
  CHECK(contains(events.err, "segment 00000001.log offset "));
}

TEST_CASE("annal tool: bad input is one line on stderr and exit status 2, and creates nothing",
          "[tool][bad_input]") {
  scratch dir;
  check_bad_input(run_tool({"info", "mysql://db/events"}), "unknown store URL scheme 'mysql'");
  check_bad_input(run_tool({"info", (dir.path() / "data").string()}), "has no scheme");
  const fs::path missing = dir.path() / "missing";
  check_bad_input(run_tool({"info", "file:" + missing.string()}), "does not exist");
  CHECK(!fs::exists(missing));
  fs::create_directory(dir.path() / "empty");
  check_bad_input(run_tool({"streams", "file:" + (dir.path() / "empty").string()}),
                  "holds no file log");
  CHECK(fs::is_empty(dir.path() / "empty"));
  const fs::path missing_db = dir.path() / "missing.db";
  check_bad_input(run_tool({"verify", "sqlite:" + missing_db.string()}),
#ifdef ANNAL_TOOL_WITH_SQLITE
                  "does not exist"
#else
                  "this annal was built without sqlite"
#endif
  );
  CHECK(!fs::exists(missing_db));
  // A malformed connection string, its password kept off the screen.
  const tool_run pg = run_tool({"info", "postgresql://ann:s3cret-pw@localhost:5432/db?nonsense=1"});
#ifdef ANNAL_TOOL_WITH_POSTGRES
  check_bad_input(pg, "malformed PostgreSQL connection string 'postgresql://ann:***@localhost");
#else
  check_bad_input(pg, "this annal was built without postgres");
#endif
  CHECK(!contains(pg.err, "s3cret-pw"));
  const tool_run pg2 = run_tool({"events", "postgresql://ann:s3cret-pw@/db?password=s3cret-pw"});
  check_bad_input(pg2, "events needs --stream ID or --from POSITION");
  CHECK(!contains(pg2.err, "s3cret-pw"));
  const tool_run parse = run_tool({"info", "postgresql://ann:s3cret-pw@h/db", "--no-such-option"});
  check_bad_input(parse, "--no-such-option");
  CHECK(!contains(parse.err, "s3cret-pw"));
  check_bad_input(run_tool({}), "subcommand");
  check_bad_input(run_tool({"info"}), "url is required");
}

TEST_CASE("annal tool: --help on every command shows an example", "[tool]") {
  for (const std::vector<std::string>& args : {std::vector<std::string>{"--help"},
                                               {"info", "--help"},
                                               {"streams", "--help"},
                                               {"events", "--help"},
                                               {"verify", "--help"}}) {
    const tool_run r = run_tool(args);
    INFO(args.front());
    CHECK(r.status == 0);
    CHECK(contains(r.out, "Example:\n  annal "));
  }
}

#ifdef ANNAL_TOOL_WITH_SQLITE
TEST_CASE("annal tool: events --follow on a SQLite file sees another process's appends",
          "[tool][follow]") {
  scratch dir;
  const fs::path file = dir.path() / "events.db";
  annal::sqlite_store writer{file};
  annal_test_tool::write_sample(writer);
  annal_test_tool::running_tool follower(
      {"events", "sqlite:" + file.string(), "--from", "5", "--follow", "--json"});
  tool_run r = follower.wait_for([](const tool_run& t) { return !t.lines().empty(); });
  INFO(r.out << r.err);
  REQUIRE(r.lines().size() == 1);
  const annal::event_data more[] = {annal_test_tool::sample_event("noted", "later")};
  writer.append("log-1", annal::expected_version::no_stream(), more);
  r = follower.wait_for([](const tool_run& t) { return t.lines().size() >= 2; });
  INFO(r.out << r.err);
  REQUIRE(r.lines().size() == 2);
  CHECK(r.json_lines()[1].at("position").to_number<int>() == 6);
  CHECK(r.json_lines()[1].at("payload_text").as_string() == "later");
  CHECK(follower.stop(SIGTERM) == 0);
}

TEST_CASE("annal tool: every command on a SQLite file; verify finds a missing row", "[tool]") {
  scratch dir;
  const fs::path file = dir.path() / "events.db";
  {
    annal::sqlite_store store{file};
    annal_test_tool::write_sample(store);
  }
  const std::string url = "sqlite:" + file.string();
  check_sample_output(url, "SQLite");
  CHECK(contains(run_tool({"info", url}).out, "format:         annal SQLite schema version 1\n"));

  // A SQLite file of another program's is not an annal store, and stays as it was.
  const fs::path other = dir.path() / "other.db";
  {
    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open(other.string().c_str(), &db) == SQLITE_OK);
    sqlite3_exec(db, "CREATE TABLE t (x INTEGER)", nullptr, nullptr, nullptr);
    sqlite3_close(db);
  }
  const std::string before = annal_test_tool::read_whole(other);
  check_bad_input(run_tool({"info", "sqlite:" + other.string()}), "not an annal store");
  CHECK(annal_test_tool::read_whole(other) == before);
  std::ofstream(dir.path() / "text.db") << "not a database at all, but long enough to be read\n";
  check_bad_input(run_tool({"info", "sqlite:" + (dir.path() / "text.db").string()}),
                  "is not a SQLite database");

  // An event after order-7's tombstone, which no append would have stored: found, and the read
  // goes on.
  {
    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open(file.string().c_str(), &db) == SQLITE_OK);
    REQUIRE(sqlite3_exec(db,
                         "INSERT INTO annal_events VALUES (6, 'order-7', 3, randomblob(16), "
                         "'noted', 1, x'00', zeroblob(16), zeroblob(16), '{}', 0)",
                         nullptr, nullptr, nullptr) == SQLITE_OK);
    sqlite3_close(db);
  }
  const tool_run r = run_tool({"verify", url});
  INFO(r.out << r.err);
  CHECK(r.status == 1);
  CHECK(contains(r.out,
                 "damage: position 6 (stream 'order-7' version 3): an event after the "
                 "stream's tombstone\n"));
  CHECK(contains(r.out,
                 "DAMAGED: 6 events in 3 streams (1 deleted) read, last position 6; 1 "
                 "problem\n"));
  // A row taken out behind the store's back: the store's read stops before the gap, never skips
  // it, and verify says where.
  {
    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open(file.string().c_str(), &db) == SQLITE_OK);
    REQUIRE(sqlite3_exec(db, "DELETE FROM annal_events WHERE position = 2", nullptr, nullptr,
                         nullptr) == SQLITE_OK);
    sqlite3_close(db);
  }
  const tool_run gap = run_tool({"verify", url});
  INFO(gap.out << gap.err);
  CHECK(gap.status == 1);
  CHECK(contains(gap.out, "position 2 is missing, though later ones are stored\n"));
  CHECK(contains(gap.out,
                 "DAMAGED: 1 events in 1 streams (0 deleted) read, last position 6; 1 "
                 "problem, the read stopped at the damage\n"));
}
#endif
