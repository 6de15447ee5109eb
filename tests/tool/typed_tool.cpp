// The typed tool (<annal/tool.hpp>) built from tests/tool/bank_tool.cpp, run on a file log the bank
// domain wrote: events decoded and upcast, verify decoding every event, rebuild, replay and
// reconcile of projections by name.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include <boost/json.hpp>

#include <annal/codec/binary.hpp>
#include <annal/codec/json.hpp>
#include <annal/core/event.hpp>
#include <annal/core/record.hpp>
#include <annal/file/archive.hpp>
#include <annal/file/log.hpp>
#include <annal/file/read_model.hpp>
#include <annal/projection/rebuild.hpp>
#include <annal/projection/reconcile.hpp>
#include <annal/runtime/new_event_id.hpp>

#include "tool/bank_tool_domain.hpp"
#include "tool/run_tool.hpp"

namespace {

namespace fs = std::filesystem;
using annal_test_tool::contains;
using annal_test_tool::scratch;
using annal_test_tool::tool_run;

tool_run bank_tool(const std::vector<std::string>& args) {
  return annal_test_tool::run_tool(args, ANNAL_BANK_TOOL_PATH);
}

// A stored event as the bank's repository writes it: binary codec, its stored name and version.
template <class E>
annal::event_data stored(const E& e) {
  annal::event_data d;
  d.id = annal::new_event_id();
  d.type = std::string(annal::event_name_of<E>);
  d.schema_version = annal::event_version_of<E>;
  annal::binary_codec::encode(e, d.payload);
  return d;
}

annal::event_data raw(std::string type, std::uint32_t version, std::string payload) {
  annal::event_data d;
  d.id = annal::new_event_id();
  d.type = std::move(type);
  d.schema_version = version;
  d.payload = std::move(payload);
  return d;
}

//   1 account-1 v1 opened         2 account-1 v2 deposited 1000   3 account-1 v3 withdrawn v1: 3
//   euros 4 account-2 v1 opened         5 account-2 v2 deposited 50     6 account-2 v3 withdrawn 20
//   7 account-2 v4 closed         8 audit-1 v1 "audit.noted" (a type the tool does not list)
void write_bank(annal::file_log& log) {
  const annal::event_data one[] = {stored(bank::opened{"account-1"}), stored(bank::deposited{1000}),
                                   stored(bank::withdrawn_v1{3})};
  log.append("account-1", annal::expected_version::no_stream(), one);
  const annal::event_data two[] = {stored(bank::opened{"account-2"}), stored(bank::deposited{50}),
                                   stored(bank::withdrawn{20}), stored(bank::closed{"requested"})};
  log.append("account-2", annal::expected_version::no_stream(), two);
  const annal::event_data audit[] = {raw("audit.noted", 1, "hello")};
  log.append("audit-1", annal::expected_version::no_stream(), audit);
}

// Round i: a deposit and a withdrawal on account-(i % 4), opened in rounds 0 to 3.
void write_bank_round(annal::file_log& log, int i) {
  const std::string stream = "account-" + std::to_string(i % 4);
  if (i < 4) {
    const annal::event_data open[] = {stored(bank::opened{stream})};
    log.append(stream, annal::expected_version::no_stream(), open);
  }
  const annal::event_data moves[] = {stored(bank::deposited{100 + i}), stored(bank::withdrawn{i})};
  log.append(stream, annal::expected_version::any(), moves);
}

std::string hex(std::uint64_t d) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(d));
  return buf;
}

}  // namespace

TEST_CASE("typed tool: events decodes the bank's events, upcast, and flags an unlisted type",
          "[tool][typed]") {
  scratch dir;
  const fs::path data = dir.path() / "data";
  {
    annal::file_log log{data};
    write_bank(log);
  }
  const std::string url = "file:" + data.string();
  const tool_run json = bank_tool({"events", url, "--from", "1", "--json"});
  INFO(json.err);
  REQUIRE(json.status == 0);
  const auto lines = json.json_lines();
  REQUIRE(lines.size() == 8);
  const auto decoded = [&](std::size_t i) { return lines[i].at("decoded").as_array(); };
  CHECK(decoded(0).at(0).at("type") == "bank.opened");
  CHECK(decoded(0).at(0).at("data").at("id") == "account-1");
  CHECK(decoded(1).at(0).at("data").at("cents") == 1000);
  // Stored as v1 (3 euros), shown as today's v2 in cents.
  CHECK(lines[2].at("schema_version") == 1);
  CHECK(decoded(2).at(0).at("type") == "bank.withdrawn");
  CHECK(decoded(2).at(0).at("schema_version") == 2);
  CHECK(decoded(2).at(0).at("data").at("cents") == 300);
  CHECK(decoded(6).at(0).at("data").at("reason") == "requested");
  // Not in the tool's list: as the generic tool prints it, flagged.
  CHECK(lines[7].at("listed") == false);
  CHECK(lines[7].at("payload_text") == "hello");
  CHECK(!lines[7].contains("decoded"));

  const tool_run text = bank_tool({"events", url, "--stream", "account-1"});
  REQUIRE(text.status == 0);
  CHECK(contains(text.out, R"(  bank.deposited  )"));
  CHECK(contains(text.out, R"({"cents":1000})"));
  CHECK(contains(text.out, R"(-> bank.withdrawn v2 {"cents":300})"));
  const tool_run audit = bank_tool({"events", url, "--stream", "audit-1"});
  CHECK(contains(audit.out, "[unlisted] hello"));

  // The generic tool shows the same binary payloads as hex.
  const tool_run generic = annal_test_tool::run_tool({"events", url, "--stream", "account-1"});
  CHECK(contains(generic.out, "hex:"));
  CHECK(!contains(generic.out, "cents"));
}

TEST_CASE("typed tool: verify decodes every listed event; a payload that does not decode is exit 1",
          "[tool][typed]") {
  scratch dir;
  const fs::path data = dir.path() / "data";
  const std::string url = "file:" + data.string();
  {
    annal::file_log log{data};
    write_bank(log);
  }
  const tool_run clean = bank_tool({"verify", url});
  INFO(clean.out << clean.err);
  CHECK(clean.status == 0);
  CHECK(contains(clean.out, "clean: 8 events in 3 streams"));
  {
    // A registered type with bytes its codec refuses, through the raw store API.
    annal::file_log log{data};
    const annal::event_data garbage[] = {raw("bank.deposited", 1, "\x01\x02")};
    log.append("account-1", annal::expected_version::exact(3), garbage);
  }
  // Every record's checksum holds: the generic tool finds nothing wrong.
  CHECK(annal_test_tool::run_tool({"verify", url}).status == 0);
  const tool_run bad = bank_tool({"verify", url});
  INFO(bad.out << bad.err);
  CHECK(bad.status == 1);
  CHECK(contains(bad.out,
                 "damage: position 9 (stream 'account-1' version 4, event type 'bank.deposited' "
                 "v1) does not decode as binary"));
  CHECK(contains(bad.out, "DAMAGED: 9 events"));
  const tool_run bad_json = bank_tool({"verify", url, "--json"});
  CHECK(bad_json.status == 1);
  CHECK(bad_json.json_lines().at(0).at("problem_count") == 1);
  // events stops at it, naming it, rather than print a wrong line.
  const tool_run events = bank_tool({"events", url, "--from", "9"});
  CHECK(events.status == 1);
  CHECK(contains(events.err, "position 9 (stream 'account-1' version 4"));
}

TEST_CASE("typed tool: rebuild and replay print annal::rebuild's digest; reconcile a file model",
          "[tool][typed]") {
  scratch dir;
  const fs::path data = dir.path() / "data";
  const std::string url = "file:" + data.string();
  annal::rebuilt<bank::balances> all, first3;
  annal::rebuilt<bank::account_count> accounts;
  {
    annal::file_log log{data};
    write_bank(log);
    all = annal::rebuild<bank::balances>(log);
    first3 = annal::rebuild<bank::balances>(log, {.up_to = 3});
    accounts = annal::rebuild<bank::account_count>(log);
  }
  REQUIRE(all.model.cents.at("account-1") == 700);  // the v1 withdrawal upcast: 3 euros

  const tool_run rebuilt = bank_tool({"rebuild", "balances", url, "--json"});
  INFO(rebuilt.out << rebuilt.err);
  REQUIRE(rebuilt.status == 0);
  const auto r = rebuilt.json_lines().at(0);
  CHECK(r.at("projection") == "balances");
  CHECK(r.at("checkpoint") == 8);
  CHECK(r.at("digest").as_string() == hex(annal::digest(all.model)));

  const tool_run replayed = bank_tool({"replay", "balances", url, "--to", "3"});
  CHECK(replayed.status == 0);
  CHECK(contains(replayed.out, "checkpoint: 3\n"));
  CHECK(contains(replayed.out, "digest:     " + hex(annal::digest(first3.model)) + "\n"));
  CHECK(hex(annal::digest(first3.model)) != hex(annal::digest(all.model)));

  // Found by the name it declares, not its type's.
  const tool_run counted = bank_tool({"rebuild", "accounts", url, "--json"});
  CHECK(counted.status == 0);
  CHECK(counted.json_lines().at(0).at("digest").as_string() == hex(annal::digest(accounts.model)));

  // A read model file as the service keeps it: equal to the replay, then one key off.
  const fs::path model_path = dir.path() / "balances.model";
  {
    annal::file_read_model<bank::balances> model(model_path);
    model.replace(all.model, all.checkpoint);
  }
  const tool_run same = bank_tool({"reconcile", "balances", url, "--model", model_path.string()});
  INFO(same.out << same.err);
  CHECK(same.status == 0);
  CHECK(contains(same.out, "matches: balances at checkpoint 8"));
  {
    annal::file_read_model<bank::balances> model(model_path);
    bank::balances wrong = all.model;
    wrong.cents["account-2"] += 1;
    model.replace(wrong, all.checkpoint);
  }
  const tool_run differs =
      bank_tool({"reconcile", "balances", url, "--model", model_path.string()});
  CHECK(differs.status == 1);
  CHECK(contains(differs.out, "differs: cents[account-2]\n"));
  CHECK(contains(differs.out, "DIFFERS: balances"));
}

TEST_CASE("typed tool: an unknown projection is exit 2, listing the known ones", "[tool][typed]") {
  scratch dir;
  const fs::path data = dir.path() / "data";
  {
    annal::file_log log{data};
    write_bank(log);
  }
  const tool_run r = bank_tool({"rebuild", "balance", "file:" + data.string()});
  CHECK(r.status == 2);
  CHECK(r.out.empty());
  CHECK(r.err ==
        "annal_bank_tool: unknown projection 'balance'; this tool knows balances, "
        "accounts\n");
  // The generic tool has no such command.
  CHECK(annal_test_tool::run_tool({"rebuild", "balances", "file:" + data.string()}).status == 2);
}

TEST_CASE("typed tool: on a terminal, rebuild shows a progress bar with its ETA", "[tool][typed]") {
  if (std::system("command -v script > /dev/null 2>&1") != 0) return;  // util-linux's script
  scratch dir;
  const fs::path data = dir.path() / "data", out = dir.path() / "typescript";
  {
    annal::file_log log{data};
    write_bank(log);
  }
  const std::string command = "script -qec '" + std::string(ANNAL_BANK_TOOL_PATH) +
                              " rebuild balances file:" + data.string() + "' " + out.string() +
                              " > /dev/null 2>&1";
  REQUIRE(std::system(command.c_str()) == 0);
  const std::string typed = annal_test_tool::read_whole(out);
  INFO(typed);
  CHECK(contains(typed, "\rbalances: [##############################] position 8 of 8 (100.0%)"));
  CHECK(contains(typed, "ETA 0.0 s\x1b[K\r\n"));
  CHECK(contains(typed, "digest:     "));
  // Not a terminal: a run this short prints no progress.
  const tool_run plain = bank_tool({"rebuild", "balances", "file:" + data.string()});
  CHECK(plain.status == 0);
  CHECK(plain.err.empty());
}

TEST_CASE("typed tool: rebuild of an archived log reads through --archive",
          "[tool][typed][archive]") {
  scratch dir;
  const fs::path data = dir.path() / "data", archive = dir.path() / "archive";
  annal::rebuilt<bank::balances> all;
  std::uint64_t horizon = 0;
  {
    annal::file_log_options small;
    small.segment_size = 512;
    annal::file_log log{data, small};
    for (int i = 0; i < 40; ++i) write_bank_round(log, i);
    all = annal::rebuild<bank::balances>(log);
    horizon = annal::archive(log, archive, annal::archive_horizon::position(60)).horizon;
  }
  REQUIRE(horizon > 0);
  const std::string url = "file:" + data.string();
  const tool_run below = bank_tool({"rebuild", "balances", url});
  CHECK(below.status == 2);
  CHECK(contains(below.err, "pass --archive <dir>"));
  const tool_run through =
      bank_tool({"rebuild", "balances", url, "--archive", archive.string(), "--json"});
  INFO(through.err);
  REQUIRE(through.status == 0);
  CHECK(through.json_lines().at(0).at("digest").as_string() == hex(annal::digest(all.model)));
  CHECK(bank_tool({"verify", url, "--archive", archive.string()}).status == 0);
}

TEST_CASE("typed tool: a store written with json_codec is decoded as JSON, found by itself",
          "[tool][typed]") {
  scratch dir;
  const fs::path data = dir.path() / "data";
  {
    annal::file_log log{data};
    const annal::event_data one[] = {
        raw("bank.opened", 1, annal::json_codec::encode(bank::opened{"account-9"})),
        raw("bank.withdrawn", 1, annal::json_codec::encode(bank::withdrawn_v1{4}))};
    log.append("account-9", annal::expected_version::no_stream(), one);
  }
  const std::string url = "file:" + data.string();
  const tool_run r = bank_tool({"events", url, "--from", "1", "--json"});
  INFO(r.err);
  REQUIRE(r.status == 0);
  const auto lines = r.json_lines();
  REQUIRE(lines.size() == 2);
  CHECK(lines[1].at("decoded").at(0).at("data").at("cents") == 400);
  CHECK(bank_tool({"verify", url}).status == 0);
  CHECK(bank_tool({"rebuild", "balances", url}).status == 0);
  // Told the wrong codec, every listed event fails to decode.
  const tool_run wrong = bank_tool({"verify", url, "--codec", "binary"});
  CHECK(wrong.status == 1);
  CHECK(contains(wrong.out, "does not decode as binary"));
}
