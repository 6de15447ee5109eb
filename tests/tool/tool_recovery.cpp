// The `annal` tool's writing commands run as a program: copy between a file log and SQLite both
// ways (proved by digest and by reading every field back), replicate once and --follow until
// SIGTERM, backup (full, then incremental) and restore to a position and a time; and each bad input
// a one-line error with exit status 2 that writes nothing.
#include <catch2/catch.hpp>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include <boost/uuid/uuid_io.hpp>

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

template <class Store>
std::vector<annal::recorded_event> all_events(const Store& store) {
  std::vector<annal::recorded_event> out;
  store.read_all(1, [&](const annal::recorded_event& e) { out.push_back(e); });
  return out;
}

std::vector<annal::recorded_event> file_log_events(const fs::path& dir) {
  annal::file_log_options o;
  o.read_only = true;
  o.create_if_missing = false;
  return all_events(annal::file_log{dir, o});
}

// Every file under `dir` with its bytes: what "nothing written" compares.
std::map<std::string, std::string> contents(const fs::path& dir) {
  std::map<std::string, std::string> out;
  if (fs::is_regular_file(dir)) {
    out[dir.string()] = annal_test_tool::read_whole(dir);
    return out;
  }
  for (const auto& e : fs::recursive_directory_iterator(dir))
    if (e.is_regular_file()) out[e.path().string()] = annal_test_tool::read_whole(e.path());
  return out;
}

// The sha1 a copy printed for the side named ("source" or "target").
std::string sha1_of(const tool_run& r, const std::string& side) {
  for (const auto& line : r.lines())
    if (line.rfind(side + ": ", 0) == 0) return line.substr(line.find("sha1 ") + 5);
  return {};
}

// "2026-12-07T03:18:50.123456789Z", as the tool prints times.
std::string iso_time(annal::time_point t) {
  const auto ns =
      std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
  const std::time_t secs = static_cast<std::time_t>(ns / 1'000'000'000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%09lldZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<long long>(ns % 1'000'000'000));
  return buf;
}

void append_two(annal::file_log& writer) {
  const annal::event_data more[] = {annal_test_tool::sample_event("deposited", R"({"cents":7})"),
                                    annal_test_tool::sample_event("deposited", R"({"cents":8})")};
  writer.append("account-9", annal::expected_version::no_stream(), more);
}

}  // namespace

#ifdef ANNAL_TOOL_WITH_SQLITE
TEST_CASE("annal tool: copy file log -> SQLite -> file log keeps every field, proved by digest",
          "[tool][copy]") {
  scratch dir;
  const fs::path data = dir.path() / "data", db = dir.path() / "copy.db",
                 back = dir.path() / "back";
  annal::file_log writer{data};
  annal_test_tool::write_sample(writer);
  const std::string source = "file:" + data.string(), target = "sqlite:" + db.string();

  const tool_run first = run_tool({"copy", source, target});
  INFO(first.out << first.err);
  REQUIRE(first.status == 0);
  const auto lines = first.lines();
  REQUIRE(lines.size() == 4);
  CHECK(lines[0] ==
        "copied 5 events (positions 1 to 5) from " + source + " to " + target + " (created)");
  CHECK(lines[1].rfind("source: 5 events, sha1 ", 0) == 0);
  CHECK(lines[2].rfind("target: 5 events, sha1 ", 0) == 0);
  CHECK(sha1_of(first, "source").size() == 40);
  CHECK(sha1_of(first, "source") == sha1_of(first, "target"));
  CHECK(lines[3] == "verified: the target holds the source's 5 events");

  // And back into a new file log: the same digest, every field equal.
  const tool_run again = run_tool({"copy", target, "file:" + back.string(), "--json"});
  INFO(again.out << again.err);
  REQUIRE(again.status == 0);
  const auto o = again.json_lines().at(0);
  CHECK(o.at("verified").as_bool());
  CHECK(o.at("created").as_bool());
  CHECK(o.at("copied").to_number<int>() == 5);
  CHECK(o.at("times_compared_at").as_string() == "nanoseconds");
  CHECK(o.at("source").at("sha1").as_string() == sha1_of(first, "source"));
  CHECK(o.at("target").at("sha1").as_string() == sha1_of(first, "source"));
  const auto original = all_events(writer);
  REQUIRE(original.size() == 5);
  CHECK(all_events(annal::sqlite_store{db}) == original);
  CHECK(file_log_events(back) == original);

  // Run again, the copy resumes: nothing new, then only what the source appended since.
  const tool_run nothing = run_tool({"copy", source, target});
  INFO(nothing.out << nothing.err);
  CHECK(nothing.status == 0);
  CHECK(nothing.lines().at(0) ==
        "copied 0 events from " + source + " to " + target + " (it held positions 1 to 5 already)");
  append_two(writer);
  const tool_run more = run_tool({"copy", source, target});
  INFO(more.out << more.err);
  CHECK(more.status == 0);
  CHECK(more.lines().at(0) == "copied 2 events (positions 6 to 7) from " + source + " to " +
                                  target + " (it held positions 1 to 5 already)");
  CHECK(contains(more.out, "verified: the target holds the source's 7 events"));
  CHECK(all_events(annal::sqlite_store{db}) == all_events(writer));

  // A target whose event was changed behind the store's back (its last event still continues the
  // source): the digests differ, exit 1.
  {
    sqlite3* handle = nullptr;
    REQUIRE(sqlite3_open(db.string().c_str(), &handle) == SQLITE_OK);
    REQUIRE(sqlite3_exec(handle,
                         "UPDATE annal_events SET payload = '{\"cents\":999}' WHERE "
                         "position = 1",
                         nullptr, nullptr, nullptr) == SQLITE_OK);
    sqlite3_close(handle);
  }
  const tool_run mismatch = run_tool({"copy", source, target});
  INFO(mismatch.out << mismatch.err);
  CHECK(mismatch.status == 1);
  CHECK(sha1_of(mismatch, "source") != sha1_of(mismatch, "target"));
  CHECK(contains(mismatch.out,
                 "MISMATCH: the target's events up to position 7 differ from the "
                 "source's\n"));

  // A target missing an event below its last: its digest stops at the gap, naming it (it used to
  // wait for the missing position forever).
  {
    sqlite3* handle = nullptr;
    REQUIRE(sqlite3_open(db.string().c_str(), &handle) == SQLITE_OK);
    REQUIRE(sqlite3_exec(handle, "DELETE FROM annal_events WHERE position = 2", nullptr, nullptr,
                         nullptr) == SQLITE_OK);
    sqlite3_close(handle);
  }
  const tool_run gap = run_tool({"copy", source, target});
  INFO(gap.out << gap.err);
  CHECK(gap.status != 0);
  CHECK(contains(gap.err, "position 2 is missing"));
}

TEST_CASE("annal tool: backup and restore of a SQLite store", "[tool][backup]") {
  scratch dir;
  const fs::path db = dir.path() / "events.db", bak = dir.path() / "events-backup.db",
                 restored = dir.path() / "restored.db";
  {
    annal::sqlite_store store{db};
    annal_test_tool::write_sample(store);
  }
  const tool_run b = run_tool({"backup", "sqlite:" + db.string(), bak.string()});
  INFO(b.out << b.err);
  REQUIRE(b.status == 0);
  CHECK(b.lines().at(0).rfind("backed up sqlite:" + db.string() + " into " + bak.string() +
                                  ": positions 1 to 5 (5 events, ",
                              0) == 0);
  const tool_run r = run_tool({"restore", bak.string(), restored.string(), "--to-position", "3"});
  INFO(r.out << r.err);
  REQUIRE(r.status == 0);
  CHECK(r.lines().at(0).rfind("restored backup " + bak.string() +
                                  " into sqlite:" + restored.string() +
                                  ": positions 1 to 3 (3 events; 2 later events left out)",
                              0) == 0);
  const auto events = all_events(annal::sqlite_store{restored});
  const auto original = all_events(annal::sqlite_store{db});
  REQUIRE(events.size() == 3);
  CHECK(events == std::vector<annal::recorded_event>(original.begin(), original.begin() + 3));
  // A live store restores too (the library backs it up first).
  const tool_run live =
      run_tool({"restore", "sqlite:" + db.string(), (dir.path() / "live.db").string(), "--json"});
  INFO(live.out << live.err);
  REQUIRE(live.status == 0);
  CHECK(live.json_lines().at(0).at("last_position").to_number<int>() == 5);
  // A point inside an append (positions 1 and 2 went in together), refused: nothing is left.
  const fs::path never = dir.path() / "never.db";
  check_bad_input(run_tool({"restore", bak.string(), never.string(), "--to-position", "1"}),
                  "inside a batch, positions 1 to 2");
  check_bad_input(
      run_tool({"restore", "sqlite:" + db.string(), never.string(), "--to-position", "1"}),
      "inside a batch, positions 1 to 2");
  CHECK(!fs::exists(never));
  CHECK(!fs::exists(dir.path() / "never.db.restoring"));
  CHECK(!fs::exists(dir.path() / "never.db.backup"));
  check_bad_input(run_tool({"restore", bak.string(), "file:" + (dir.path() / "x").string()}),
                  "is a file log URL, but the store is a SQLite");
  CHECK(!fs::exists(dir.path() / "x"));
}
#endif

TEST_CASE("annal tool: copy refuses a target with another history, and bad input, writing nothing",
          "[tool][copy][bad_input]") {
  scratch dir;
  const fs::path data = dir.path() / "data", other = dir.path() / "other";
  {
    annal::file_log writer{data};
    annal_test_tool::write_sample(writer);
    annal::file_log another{other};
    append_two(another);
  }
  const std::string source = "file:" + data.string();
  const auto before = contents(other);
  const tool_run diverged = run_tool({"copy", source, "file:" + other.string()});
  check_bad_input(diverged, "'file:" + other.string() + "' holds another history than '" + source +
                                "': the standby's position 2 holds event ");
  CHECK(contains(diverged.err, "diverge"));
  CHECK(contents(other) == before);
  check_bad_input(run_tool({"replicate", source, "file:" + other.string()}), "diverge");
  CHECK(contents(other) == before);
  // As long as the primary, with other events: refused too, not reported caught up.
  const fs::path twin = dir.path() / "twin";
  {
    annal::file_log writer{twin};
    append_two(writer);
  }
  check_bad_input(run_tool({"replicate", "file:" + twin.string(), "file:" + other.string()}),
                  "the standby's position 2 holds event ");
  CHECK(contents(other) == before);

  // Missing source, unknown schemes, a target directory holding something else: nothing created.
  const fs::path fresh = dir.path() / "fresh";
  check_bad_input(
      run_tool({"copy", "file:" + (dir.path() / "missing").string(), "file:" + fresh.string()}),
      "does not exist");
  check_bad_input(run_tool({"copy", "mysql://db/events", "file:" + fresh.string()}),
                  "unknown store URL scheme 'mysql'");
  check_bad_input(run_tool({"copy", source, "mysql://db/events"}),
                  "unknown store URL scheme 'mysql'");
  CHECK(!fs::exists(fresh));
  fs::create_directory(dir.path() / "stuff");
  std::ofstream(dir.path() / "stuff" / "notes.txt") << "not a log\n";
  check_bad_input(run_tool({"copy", source, "file:" + (dir.path() / "stuff").string()}),
                  "is not empty and holds no file log");
  CHECK(contents(dir.path() / "stuff").size() == 1);
  check_bad_input(run_tool({"copy", source}), "to is required");
  // A log another process writes: refused, named.
  {
    annal::file_log held{dir.path() / "held"};
    check_bad_input(run_tool({"copy", source, "file:" + (dir.path() / "held").string()}),
                    "is in use");
    CHECK(held.last_position() == 0);
  }
  check_bad_input(run_tool({"backup", "postgresql://ann:pw@h/db", (dir.path() / "b").string()}),
                  "PostgreSQL keeps its own backups");
  CHECK(!fs::exists(dir.path() / "b"));
}

TEST_CASE("annal tool: replicate once, then --follow until SIGTERM; the standby opens writable",
          "[tool][replicate]") {
  scratch dir;
  const fs::path data = dir.path() / "data", standby = dir.path() / "standby";
  annal::file_log writer{data};
  annal_test_tool::write_sample(writer);
  const std::string primary = "file:" + data.string(), copy = "file:" + standby.string();

  const tool_run once = run_tool({"replicate", primary, copy});
  INFO(once.out << once.err);
  REQUIRE(once.status == 0);
  CHECK(once.out == "replicated 5 events from " + primary + " to " + copy +
                        " (created)\nstandby at position 5, primary at 5: caught up\n");

  annal_test_tool::running_tool follower({"replicate", primary, copy, "--follow", "--json"});
  tool_run r = follower.wait_for_err("until SIGINT or SIGTERM");
  INFO(r.err);
  REQUIRE(contains(r.err, "lag: primary at position 5, standby at 5: 0 positions, 0.000 s behind"));
  append_two(writer);
  r = follower.wait_for_err("standby at 7: 0 positions");
  INFO(r.err);
  REQUIRE(
      contains(r.err, "lag: primary at position 7, standby at 7: 0 positions, 0.000 s behind\n"));
  REQUIRE(follower.running());
  CHECK(follower.stop(SIGTERM) == 0);
  const auto summary = follower.so_far().json_lines();
  REQUIRE(summary.size() == 1);
  CHECK(summary[0].at("copied").to_number<int>() == 2);
  CHECK(summary[0].at("followed").as_bool());
  CHECK(summary[0].at("standby_position").to_number<int>() == 7);
  CHECK(file_log_events(standby) == all_events(writer));

  // Promotion: the stopped standby opens as a log of its own and takes appends.
  annal::file_log promoted{standby};
  const annal::event_data next[] = {annal_test_tool::sample_event("noted", "after promotion")};
  CHECK(promoted.append("log-1", annal::expected_version::no_stream(), next).first_position == 8);
}

TEST_CASE("annal tool: backup (full, then incremental) and restore to a position and a time",
          "[tool][backup]") {
  scratch dir;
  const fs::path data = dir.path() / "data", bak = dir.path() / "bak";
  annal::file_log writer{data};
  annal_test_tool::write_sample(writer);
  const std::string source = "file:" + data.string();

  const tool_run full = run_tool({"backup", source, bak.string()});
  INFO(full.out << full.err);
  REQUIRE(full.status == 0);
  CHECK(full.lines().at(0).rfind(
            "backed up " + source + " into " + bak.string() + ": positions 1 to 5 (5 events, ",
            0) == 0);
  CHECK(full.lines().at(1).rfind("full: ", 0) == 0);
  append_two(writer);
  const tool_run incremental = run_tool({"backup", source, bak.string(), "--json"});
  INFO(incremental.out << incremental.err);
  REQUIRE(incremental.status == 0);
  const auto o = incremental.json_lines().at(0);
  CHECK(o.at("incremental").as_bool());
  CHECK(o.at("new_events").to_number<int>() == 2);
  CHECK(o.at("last_position").to_number<int>() == 7);

  const auto original = all_events(writer);
  const fs::path to_position = dir.path() / "at-5";
  const tool_run p =
      run_tool({"restore", bak.string(), to_position.string(), "--to-position", "5"});
  INFO(p.out << p.err);
  REQUIRE(p.status == 0);
  CHECK(p.out.rfind("restored backup " + bak.string() + " into file:" + to_position.string() +
                        ": positions 1 to 5 (5 events; 2 later events left out), last event at " +
                        iso_time(original[4].recorded_at) + "\n",
                    0) == 0);
  CHECK(file_log_events(to_position) ==
        std::vector<annal::recorded_event>(original.begin(), original.begin() + 5));
  // To a time: the instant position 5 was recorded at keeps it and leaves out what came later.
  const fs::path to_time = dir.path() / "at-time";
  const tool_run t = run_tool({"restore", "file:" + bak.string(), "file:" + to_time.string(),
                               "--to-time", iso_time(original[4].recorded_at), "--json"});
  INFO(t.out << t.err);
  REQUIRE(t.status == 0);
  CHECK(t.json_lines().at(0).at("last_position").to_number<int>() == 5);
  CHECK(t.json_lines().at(0).at("left_out").to_number<int>() == 2);
  CHECK(file_log_events(to_time).size() == 5);
  // From the live log, without a backup: everything.
  const fs::path live = dir.path() / "live";
  const tool_run l = run_tool({"restore", source, live.string()});
  INFO(l.out << l.err);
  REQUIRE(l.status == 0);
  CHECK(file_log_events(live) == original);

  // Bad input: each one line, exit 2, nothing written.
  const auto before = contents(to_position);
  check_bad_input(run_tool({"restore", bak.string(), to_position.string()}), "exists");
  CHECK(contents(to_position) == before);
  const fs::path never = dir.path() / "never";
  check_bad_input(
      run_tool({"restore", bak.string(), never.string(), "--to-time", "2026-13-01T00:00:00Z"}),
      "--to-time '2026-13-01T00:00:00Z' is not a UTC time such as "
      "2026-12-07T10:00:00Z (no month 13)");
  check_bad_input(run_tool({"restore", bak.string(), never.string(), "--to-time", "yesterday"}),
                  "--to-time 'yesterday' is not a UTC time");
  check_bad_input(
      run_tool({"restore", bak.string(), never.string(), "--to-time", "2026-12-07T10:00:00+01:00"}),
      "expected 'Z' at the end");
  check_bad_input(run_tool({"restore", bak.string(), never.string(), "--to-position", "1"}),
                  "inside a batch, positions 1 to 2");
  check_bad_input(run_tool({"restore", bak.string(), never.string(), "--to-position", "9"}),
                  "beyond the end");
  check_bad_input(run_tool({"restore", (dir.path() / "nothing").string(), never.string()}),
                  "does not exist");
  check_bad_input(run_tool({"restore", bak.string(), never.string(), "--to-position", "2",
                            "--to-time", "2026-12-07T10:00:00Z"}),
                  "excludes");
  CHECK(!fs::exists(never));
  // Not even the library's staging directory, which a restore stopped part-way leaves behind.
  CHECK(!fs::exists(dir.path() / "never.restoring"));
  const fs::path stuff = dir.path() / "stuff";
  fs::create_directory(stuff);
  std::ofstream(stuff / "x.txt") << "x\n";
  check_bad_input(run_tool({"backup", source, stuff.string()}), "is not empty");
  CHECK(contents(stuff).size() == 1);
  check_bad_input(run_tool({"backup", source, (stuff / "x.txt").string()}),
                  (stuff / "x.txt").string() + " is a file: a file log's backup is a directory");
}

TEST_CASE("annal tool: on a terminal, copy shows its progress on one line written over",
          "[tool][copy]") {
  if (std::system("command -v script > /dev/null 2>&1") != 0) return;  // util-linux's script
  scratch dir;
  const fs::path data = dir.path() / "data", out = dir.path() / "typescript";
  {
    annal::file_log writer{data};
    annal_test_tool::write_sample(writer);
  }
  // script gives the tool a pseudo-terminal and keeps what it printed there.
  const std::string command =
      "script -qec '" + std::string(ANNAL_TOOL_PATH) + " copy file:" + data.string() +
      " file:" + (dir.path() / "copy").string() + "' " + out.string() + " > /dev/null 2>&1";
  REQUIRE(std::system(command.c_str()) == 0);
  const std::string typed = annal_test_tool::read_whole(out);
  INFO(typed);
  CHECK(contains(typed, "\rcopy: position 5 of 5 (100.0%)\x1b[K\r\n"));
  CHECK(contains(typed, "verified: the target holds the source's 5 events"));
  // Not a terminal: no progress line for a copy this short.
  const tool_run plain =
      run_tool({"copy", "file:" + data.string(), "file:" + (dir.path() / "plain").string()});
  CHECK(plain.status == 0);
  CHECK(plain.err.empty());
}

TEST_CASE("annal tool: --help on every writing command shows an example", "[tool]") {
  for (const char* command :
       {"copy", "replicate", "promote", "backup", "restore", "archive", "salvage"}) {
    const tool_run r = run_tool({command, "--help"});
    INFO(command);
    CHECK(r.status == 0);
    CHECK(contains(r.out, "Example:\n  annal " + std::string(command) + " "));
  }
}

namespace {

// 200 events of about 1 KiB each in 4 KiB segments: many sealed segments to archive.
void write_segments(const fs::path& data) {
  annal::file_log_options small;
  small.segment_size = 4 * 1024;
  annal::file_log writer{data, small};
  for (int i = 0; i < 200; ++i) {
    const annal::event_data e[] = {
        annal_test_tool::sample_event("noted", std::string(1000, char('a' + i % 26)))};
    writer.append("notes-" + std::to_string(i % 3), annal::expected_version::any(), e);
  }
}

}  // namespace

TEST_CASE("annal tool: archive, then info, events and verify on the archived log",
          "[tool][archive]") {
  scratch dir;
  const fs::path data = dir.path() / "data", archive = dir.path() / "archive";
  write_segments(data);
  const std::string url = "file:" + data.string();

  // Exactly one horizon, and a well-formed age.
  CHECK(run_tool({"archive", url, archive.string()}).status == 2);
  const tool_run two =
      run_tool({"archive", url, archive.string(), "--to-position", "50", "--age", "90d"});
  CHECK(two.status == 2);
  const tool_run bad_age = run_tool({"archive", url, archive.string(), "--age", "90x"});
  CHECK(bad_age.status == 2);
  CHECK(bad_age.err == "annal: --age '90x': the unit is d, h, m or s (90d)\n");
  // Nothing recorded 90 days ago: nothing moves.
  const tool_run none = run_tool({"archive", url, archive.string(), "--age", "90d", "--json"});
  INFO(none.err);
  CHECK(none.status == 0);
  CHECK(none.json_lines().at(0).at("horizon") == 0);

  const tool_run moved = run_tool({"archive", url, archive.string(), "--to-position", "100"});
  INFO(moved.out << moved.err);
  REQUIRE(moved.status == 0);
  CHECK(contains(moved.out, "are in the archive"));
  const tool_run info = run_tool({"info", url, "--json"});
  REQUIRE(info.status == 0);
  const auto facts = info.json_lines().at(0);
  const std::uint64_t horizon = facts.at("archive_horizon").to_number<std::uint64_t>();
  CHECK(horizon > 0);
  CHECK(horizon <= 100);
  CHECK(facts.at("archive").as_string() == archive.string());
  CHECK(facts.at("events") == 200 - horizon);
  const tool_run text = run_tool({"info", url});
  CHECK(contains(text.out, "archived:       positions 1.." + std::to_string(horizon) + " in " +
                               archive.string() + "\n"));

  // Below the horizon: one line naming the archive, exit 2; through it with --archive.
  const tool_run below = run_tool({"events", url, "--from", "1"});
  CHECK(below.status == 2);
  CHECK(below.out.empty());
  CHECK(below.err_lines() == 1);
  CHECK(contains(below.err, archive.string()));
  CHECK(contains(below.err, "pass --archive <dir>"));
  const tool_run above = run_tool({"events", url, "--from", std::to_string(horizon + 1)});
  CHECK(above.status == 0);
  CHECK(above.lines().size() == 200 - horizon);
  const tool_run through =
      run_tool({"events", url, "--from", "1", "--archive", archive.string(), "--json"});
  INFO(through.err);
  CHECK(through.status == 0);
  CHECK(through.lines().size() == 200);
  const tool_run verify = run_tool({"verify", url});
  CHECK(verify.status == 2);
  CHECK(contains(verify.err, "pass --archive <dir>"));
  const tool_run verified = run_tool({"verify", url, "--archive", archive.string()});
  CHECK(verified.status == 0);
  CHECK(contains(verified.out, "clean: 200 events in 3 streams"));
  const tool_run all_info = run_tool({"info", url, "--archive", archive.string(), "--json"});
  CHECK(all_info.json_lines().at(0).at("events") == 200);
}

#ifdef ANNAL_TOOL_WITH_SQLITE
// A SQLite store archives into a file log, keeping each stream's last event: info shows the
// horizon, reads below it stop naming the archive, and --archive reads through it.
TEST_CASE("annal tool: archive a SQLite store, then info, events and verify",
          "[tool][archive][sqlite]") {
  scratch dir;
  const fs::path db = dir.path() / "events.db", archive = dir.path() / "archive";
  {
    annal::sqlite_store store{db};
    for (int i = 0; i < 60; ++i) {
      const annal::event_data e[] = {annal_test_tool::sample_event("noted", "n")};
      store.append("notes-" + std::to_string(i % 3), annal::expected_version::any(), e);
    }
  }
  const std::string url = "sqlite:" + db.string();
  const tool_run moved =
      run_tool({"archive", url, archive.string(), "--to-position", "40", "--json"});
  INFO(moved.out << moved.err);
  REQUIRE(moved.status == 0);
  const auto summary = moved.json_lines().at(0);
  CHECK(summary.at("horizon") == 40);
  CHECK(summary.at("new_events") == 40);
  CHECK(summary.at("kept_heads") == 0);  // every stream goes on after position 40

  const tool_run info = run_tool({"info", url, "--json"});
  REQUIRE(info.status == 0);
  const auto facts = info.json_lines().at(0);
  CHECK(facts.at("archive_horizon") == 40);
  CHECK(facts.at("archive").as_string() == archive.string());
  CHECK(facts.at("events") == 20);

  const tool_run below = run_tool({"events", url, "--from", "1"});
  CHECK(below.status == 2);
  CHECK(below.out.empty());
  CHECK(below.err_lines() == 1);
  CHECK(contains(below.err, archive.string()));
  CHECK(contains(below.err, "pass --archive <dir>"));
  const tool_run verify = run_tool({"verify", url});
  CHECK(verify.status == 2);
  const tool_run verified = run_tool({"verify", url, "--archive", archive.string()});
  INFO(verified.out << verified.err);
  CHECK(verified.status == 0);
  CHECK(contains(verified.out, "clean: 60 events in 3 streams"));
  const tool_run through =
      run_tool({"events", url, "--from", "1", "--archive", archive.string(), "--json"});
  CHECK(through.status == 0);
  CHECK(through.lines().size() == 60);
  // Another directory than the store's archive: refused naming both, nothing moved.
  const tool_run elsewhere =
      run_tool({"archive", url, (dir.path() / "other").string(), "--to-position", "60"});
  CHECK(elsewhere.status == 2);
  CHECK(contains(elsewhere.err, archive.string()));
  CHECK(run_tool({"info", url, "--json"}).json_lines().at(0).at("archive_horizon") == 40);
}
#endif

// A log whose third record (account-2's event, position 3) has a damaged payload byte, opened with
// repair: positions 3 to 5 are cut into 00000001.log.cut, where 4 and 5 are intact.
TEST_CASE("annal tool: salvage lists what a repair set aside, and appends it again once",
          "[tool][salvage]") {
  const scratch dir;
  const fs::path log = dir.path() / "log";
  {
    annal::file_log writer(log);
    annal_test_tool::write_sample(writer);
  }
  const auto before = file_log_events(log);
  const fs::path segment = log / "00000001.log";
  std::string bytes = annal_test_tool::read_whole(segment);
  const auto at = bytes.find(std::string("\x01\x02\xff", 3));
  REQUIRE(at != std::string::npos);
  bytes[at] ^= 0x40;
  std::ofstream(segment, std::ios::binary | std::ios::trunc) << bytes;
  {
    annal::file_log_options repair;
    repair.repair = true;
    const annal::file_log repaired(log, repair);
    REQUIRE(repaired.recovery().first_position_cut == 3);
    REQUIRE(repaired.recovery().saved_as == std::vector{(log / "00000001.log.cut").string()});
  }
  const std::string cut = (log / "00000001.log.cut").string();
  const std::string url = "file:" + log.string();

  SECTION("listed as text and as JSON") {
    const tool_run r = run_tool({"salvage", url});
    INFO(r.err);
    REQUIRE(r.status == 0);
    const auto lines = r.lines();
    REQUIRE(lines.size() == 4);
    CHECK(lines[0].starts_with(cut + " offset "));
    CHECK(contains(lines[0], " (after damaged bytes): 4  order-7  1  noted  "));
    CHECK(lines[0].ends_with("hello world"));
    CHECK(contains(lines[1], ": 5  order-7  2  annal.stream_deleted  "));
    CHECK(lines[2].starts_with(cut + " offset 0: "));
    CHECK(lines[2].ends_with(" damaged bytes"));
    CHECK(lines[3] ==
          "2 intact records in 1 cut file, 1 damaged byte range; --append-to <url> "
          "appends them to a store again");

    const tool_run j = run_tool({"salvage", log.string(), "--json"});
    REQUIRE(j.status == 0);
    const auto objects = j.json_lines();
    REQUIRE(objects.size() == 3);
    CHECK(objects[0].at("event").as_object().at("position").as_int64() == 4);
    CHECK(objects[0].at("event").as_object().at("id").as_string() ==
          boost::uuids::to_string(before[3].id));
    CHECK(objects[0].at("follows_damage").as_bool());
    CHECK(objects[0].at("batch_end").as_bool());
    CHECK(objects[1].at("event").as_object().at("type").as_string() == "annal.stream_deleted");
    CHECK_FALSE(objects[1].at("follows_damage").as_bool());
    CHECK(objects[2].at("offset").as_int64() == 0);
    CHECK(objects[2].at("damaged_bytes").as_int64() > 0);
    CHECK(objects[2].at("file").as_string() == cut);
  }
  SECTION("appended again to the repaired log; a second run stores nothing twice") {
    const tool_run r = run_tool({"salvage", url, "--append-to", url});
    INFO(r.err);
    REQUIRE(r.status == 0);
    const auto lines = r.lines();
    REQUIRE(lines.size() == 3);
    CHECK(lines[0] == "appended at 3: order-7  noted  " + boost::uuids::to_string(before[3].id));
    CHECK(lines[1] ==
          "appended at 4: order-7  annal.stream_deleted  " + boost::uuids::to_string(before[4].id));
    CHECK(contains(lines[2], "appended 2 events to " + url + "; 0 already stored (same ids)"));
    CHECK(contains(lines[2], "1 from batches right after damaged bytes"));
    const auto after = file_log_events(log);
    REQUIRE(after.size() == 4);
    CHECK(after[2].id == before[3].id);
    CHECK(after[3].id == before[4].id);

    const tool_run again = run_tool({"salvage", url, "--append-to", url, "--json"});
    INFO(again.err);
    REQUIRE(again.status == 0);
    const auto o = boost::json::parse(again.out).as_object();
    CHECK(o.at("appended").as_int64() == 0);
    CHECK(o.at("already_stored").as_int64() == 2);
    const auto& events = o.at("events").as_array();
    REQUIRE(events.size() == 2);
    CHECK(events[0].as_object().at("already_stored").as_bool());
    CHECK(events[0].as_object().at("position").is_null());
    CHECK(file_log_events(log).size() == 4);
  }
  SECTION("bad input: no log there, a SQL store, a Kafka target") {
    check_bad_input(run_tool({"salvage", (dir.path() / "none").string()}), "does not exist");
    check_bad_input(run_tool({"salvage", "sqlite:" + (dir.path() / "x.db").string()}),
                    "salvage reads a file log's *.cut files");
    check_bad_input(run_tool({"salvage", url, "--append-to", "kafka://127.0.0.1:1/t"}),
                    "a Kafka topic");
    CHECK(file_log_events(log).size() == 2);
  }
}

namespace {

std::string this_host() {
  char name[256] = {};
  ::gethostname(name, sizeof name - 1);
  return name;
}

void write_file(const fs::path& p, const std::string& text) {
  std::ofstream(p, std::ios::binary) << text;
}

}  // namespace

TEST_CASE("annal tool: promote stops the running replicate, opens the standby, says what it lacks",
          "[tool][replicate][promote]") {
  scratch dir;
  const fs::path data = dir.path() / "data", standby = dir.path() / "standby";
  annal::file_log writer{data};
  annal_test_tool::write_sample(writer);
  const std::string primary = "file:" + data.string(), copy = "file:" + standby.string();

  annal_test_tool::running_tool follower({"replicate", primary, copy, "--follow", "--json"});
  tool_run r = follower.wait_for_err("primary at position 5, standby at 5");
  INFO(r.err);
  REQUIRE(contains(r.err, "primary at position 5, standby at 5"));
  const std::string who = "pid " + std::to_string(follower.pid()) + " on host " + this_host();
  // The running replicate has claimed its standby: it says so there, and a second is refused.
  const std::string marker = annal_test_tool::read_whole(standby / "REPLICATING");
  CHECK(contains(marker, "annal replicate\npid " + std::to_string(follower.pid()) + "\n"));
  CHECK(contains(marker, "\nprimary " + primary + "\n"));
  check_bad_input(run_tool({"replicate", primary, copy}), "replicate running as " + who);

  const tool_run promoted = run_tool({"promote", copy, "--primary", primary});
  INFO(promoted.out << promoted.err);
  CHECK(promoted.status == 0);
  CHECK(promoted.out == "promoted " + copy +
                            " at position 5: it takes appends of its own now\n"
                            "stopped the replicate into it (" +
                            who +
                            ")\n"
                            "primary " +
                            primary + " at position 5: the standby holds all of it\n");
  // The replicate ended on its signal, at a whole append, with its summary and status 0.
  r = follower.wait_for_end();
  CHECK(r.status == 0);
  REQUIRE(r.json_lines().size() == 1);
  CHECK(r.json_lines()[0].at("standby_position").to_number<int>() == 5);
  CHECK(!fs::exists(standby / "REPLICATING"));

  // The primary goes on (it should not: the report shows what the standby lacks, in positions).
  append_two(writer);
  const auto lacking = run_tool({"promote", copy, "--primary", primary, "--json"}).json_lines();
  REQUIRE(lacking.size() == 1);
  CHECK(lacking[0].at("position").to_number<int>() == 5);
  CHECK(lacking[0].at("stopped_replicate").is_null());
  CHECK(lacking[0].at("primary_position").to_number<int>() == 7);
  CHECK(lacking[0].at("positions_behind").to_number<int>() == 2);
  CHECK(lacking[0].at("history_matches").as_bool());

  // The promoted store takes appends; its history is then no longer the old primary's.
  {
    annal::file_log own{standby};
    const annal::event_data next[] = {annal_test_tool::sample_event("noted", "after promotion")};
    CHECK(own.append("log-1", annal::expected_version::no_stream(), next).first_position == 6);
  }
  const tool_run split = run_tool({"promote", copy, "--primary", primary});
  INFO(split.out << split.err);
  CHECK(split.status == 1);
  CHECK(contains(split.out, "MISMATCH: the standby's event at position 6 is event "));
  CHECK(contains(split.out, "(stream 'log-1' version 1), the primary's event "));
  // A lost primary is no reason not to promote: the report says it could not be read.
  const tool_run lost =
      run_tool({"promote", copy, "--primary", "file:" + (dir.path() / "gone").string()});
  INFO(lost.out << lost.err);
  CHECK(lost.status == 0);
  CHECK(contains(lost.out, "not read (file log directory '"));
  CHECK(contains(lost.out, "what the standby lacks is unknown\n"));
}

TEST_CASE("annal tool: promote and replicate take over a dead replicate's marker, refuse others",
          "[tool][replicate][promote]") {
  scratch dir;
  const fs::path data = dir.path() / "data", standby = dir.path() / "standby";
  {
    annal::file_log writer{data};
    annal_test_tool::write_sample(writer);
  }
  const std::string primary = "file:" + data.string(), copy = "file:" + standby.string();
  REQUIRE(run_tool({"replicate", primary, copy}).status == 0);
  CHECK(!fs::exists(standby / "REPLICATING"));  // a replicate that ends gives its claim up

  // A replicate killed with SIGKILL leaves its marker; promote finds that it no longer runs.
  {
    annal_test_tool::running_tool follower({"replicate", primary, copy, "--follow"});
    const tool_run r = follower.wait_for_err("primary at position 5, standby at 5");
    REQUIRE(contains(r.err, "primary at position 5, standby at 5"));
    const std::string pid = std::to_string(follower.pid());
    CHECK(follower.stop(SIGKILL) == 128 + SIGKILL);
    REQUIRE(fs::exists(standby / "REPLICATING"));
    const tool_run after = run_tool({"promote", copy});
    INFO(after.out << after.err);
    CHECK(after.status == 0);
    CHECK(contains(after.out, "removed the marker of a replicate that no longer runs (pid " + pid +
                                  " on host " + this_host() + ")\n"));
    CHECK(!fs::exists(standby / "REPLICATING"));
  }

  // A marker whose pid runs, but as a later process (another start time): this process's pid.
  const std::string dead = "annal replicate\npid " + std::to_string(::getpid()) +
                           "\nstart 1\nboot \nhost " + this_host() + "\nprimary " + primary +
                           "\nsince 2026-12-07T10:00:00Z\n";
  write_file(standby / "REPLICATING", dead);
  const tool_run stale = run_tool({"promote", copy});
  INFO(stale.out << stale.err);
  CHECK(stale.status == 0);
  CHECK(stale.out == "promoted " + copy +
                         " at position 5: it takes appends of its own now\n"
                         "removed the marker of a replicate that no longer runs (pid " +
                         std::to_string(::getpid()) + " on host " + this_host() + ")\n");
  CHECK(!fs::exists(standby / "REPLICATING"));
  write_file(standby / "REPLICATING", dead);
  CHECK(run_tool({"replicate", primary, copy}).status == 0);  // taken over
  CHECK(!fs::exists(standby / "REPLICATING"));

  // One on another host cannot be looked at or signalled: named, and nothing is promoted.
  std::string elsewhere = dead;
  elsewhere.replace(elsewhere.find("host "), 5 + this_host().size(), "host far-away-standby-host");
  write_file(standby / "REPLICATING", elsewhere);
  const tool_run refused = run_tool({"promote", copy});
  check_bad_input(refused, "replicate running as pid " + std::to_string(::getpid()) +
                               " on host far-away-standby-host");
  // It is promote that refused: its advice is not to run promote.
  CHECK(!contains(refused.err, "or run promote"));
  check_bad_input(run_tool({"replicate", primary, copy}), "if it no longer runs there, remove");
  // A file of that name that is no marker is not the tool's to remove.
  write_file(standby / "REPLICATING", "my notes\n");
  check_bad_input(run_tool({"promote", copy}), "is not a replicate marker");
  CHECK(annal_test_tool::read_whole(standby / "REPLICATING") == "my notes\n");
  fs::remove(standby / "REPLICATING");

  // Bad input: a standby that is not there (not created), a Kafka topic, a bad --wait.
  const fs::path none = dir.path() / "none";
  check_bad_input(run_tool({"promote", "file:" + none.string()}), "does not exist");
  CHECK(!fs::exists(none));
  check_bad_input(run_tool({"promote", "kafka://127.0.0.1:1/t"}), "Kafka topic");
  check_bad_input(run_tool({"promote", copy, "--primary", "kafka://127.0.0.1:1/t"}), "Kafka topic");
  // The range said must be one 0 is outside of ("0 not in range 0.000000 to 1.79e308" was not).
  check_bad_input(run_tool({"promote", copy, "--wait", "0"}), "--wait: Value 0 not in range 1 to");
  check_bad_input(run_tool({"promote", "ftp://x/y"}), "ftp");
  CHECK(file_log_events(standby).size() == 5);
}

#ifdef ANNAL_TOOL_WITH_SQLITE
TEST_CASE("annal tool: promote a SQLite standby that a replicate --follow writes",
          "[tool][replicate][promote]") {
  scratch dir;
  const fs::path data = dir.path() / "data", standby = dir.path() / "standby.db";
  annal::file_log writer{data};
  annal_test_tool::write_sample(writer);
  const std::string primary = "file:" + data.string(), copy = "sqlite:" + standby.string();
  annal_test_tool::running_tool follower({"replicate", primary, copy, "--follow"});
  tool_run r = follower.wait_for_err("primary at position 5, standby at 5");
  REQUIRE(contains(r.err, "primary at position 5, standby at 5"));
  CHECK(fs::exists(dir.path() / "standby.db-replicating"));
  append_two(writer);
  r = follower.wait_for_err("primary at position 7, standby at 7");
  REQUIRE(contains(r.err, "primary at position 7, standby at 7"));
  check_bad_input(run_tool({"replicate", primary, copy}),
                  "replicate running as pid " + std::to_string(follower.pid()));

  const auto promoted = run_tool({"promote", copy, "--primary", primary, "--json"}).json_lines();
  REQUIRE(promoted.size() == 1);
  CHECK(promoted[0].at("position").to_number<int>() == 7);
  CHECK(promoted[0].at("stopped_replicate").at("pid").to_number<int>() == follower.pid());
  CHECK(promoted[0].at("stopped_replicate").at("was_running").as_bool());
  CHECK(promoted[0].at("positions_behind").to_number<int>() == 0);
  CHECK(promoted[0].at("history_matches").as_bool());
  r = follower.wait_for_end();
  CHECK(r.status == 0);
  CHECK(!fs::exists(dir.path() / "standby.db-replicating"));
  annal::sqlite_store own{standby.string()};
  const annal::event_data next[] = {annal_test_tool::sample_event("noted", "after promotion")};
  CHECK(own.append("log-1", annal::expected_version::no_stream(), next).first_position == 8);
}
#endif
