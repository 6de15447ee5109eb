// The generic `annal` tool: inspects and verifies any annal store by URL, without the user's event
// types (docs/tool.md). Exit status: 0 done, 1 damage found, 2 bad input, 3 any other failure.
#include <csignal>
#include <iostream>
#include <optional>
#include <string>
#include <variant>

#include <CLI/CLI.hpp>

#include "commands.hpp"
#include "open_store.hpp"
#include "store_url.hpp"

namespace {

namespace tool = annal::tool;

enum exit_status : int { ok = 0, damaged = 1, bad_input = 2, failed = 3 };

// Set by SIGINT and SIGTERM: `events --follow` ends at the next look, with exit status 0.
volatile std::sig_atomic_t stop_requested = 0;

void request_stop(int) {
  stop_requested = 1;
}

void stop_on_signals() {
  struct sigaction action {};
  action.sa_handler = request_stop;
  sigemptyset(&action.sa_mask);
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
}

struct arguments {
  std::string url;
  bool json = false;
  std::string schema = "annal";
  std::string prefix;
  tool::event_query query;
};

// One line on stderr, without any password the URL held.
void complain(const std::string& what, const std::vector<std::string>& secrets) {
  std::string line = tool::redact(what, secrets);
  for (char& c : line)
    if (c == '\n' || c == '\r') c = ' ';
  std::cerr << "annal: " << line << '\n';
}

// Options every command takes.
void add_common(CLI::App& cmd, arguments& a, const std::string& example) {
  cmd.add_option("url", a.url, "the store: file:<dir>, sqlite:<file> or postgresql://...")
      ->required();
  cmd.add_flag("--json", a.json, "print JSON for scripts instead of text");
  cmd.add_option("--schema", a.schema, "PostgreSQL schema holding the store")
      ->capture_default_str();
  cmd.footer("Example:\n  " + example);
}

int run(const std::string& command, const arguments& a, const tool::store_url& url) {
  tool::open_settings settings;
  settings.verify = command == "verify";
  settings.postgres_schema = a.schema;
  std::optional<tool::opened_store> opened;
  try {
    opened.emplace(tool::open_store(url, settings));
  } catch (const annal::error& e) {
    if (e.code() == annal::make_error_code(annal::errc::corrupt_log)) {
      if (command != "verify") throw;
      // The open itself checks every record of a file log when verifying: damage stops it.
      tool::verify_report r;
      r.stopped = true;
      r.opened = false;
      r.add(e.what());
      tool::store_facts facts;
      facts.kind = url.kind;
      facts.url = url.shown;
      tool::print_verify(r, facts, a.json, std::cout);
      return damaged;
    }
    // Anything else that stops the open means the URL names no store this tool can read.
    complain(e.what(), url.secrets);
    return bad_input;
  }
  // Straight to stdout: a long listing streams out, and what came before a failure stays printed.
  std::ostream& out = std::cout;
  int status = ok;
  std::visit(
      [&](const auto& store) {
        const tool::store_facts& facts = opened->facts;
        if (command == "info") {
          tool::info(*store, facts, a.json, out);
        } else if (command == "streams") {
          tool::streams(*store, a.prefix, a.json, out);
        } else if (command == "events") {
          tool::events(*store, a.query, a.json, out, [] { return stop_requested != 0; });
        } else {
          const tool::verify_report r = tool::verify(*store);
          tool::print_verify(r, facts, a.json, out);
          if (!r.clean()) status = damaged;
        }
      },
      opened->store);
  out.flush();
  return status;
}

}  // namespace

int main(int argc, char** argv) {
  std::ios::sync_with_stdio(false);
  CLI::App app{"annal: inspect and verify an annal event store (docs/tool.md)"};
  app.require_subcommand(1);
  app.footer(
      "Exit status: 0 done, 1 damage found, 2 bad input, 3 other failure.\n"
      "Example:\n  annal info file:./data");
  arguments a;
  CLI::App* info =
      app.add_subcommand("info", "store kind, last position, streams, size, format, durability");
  add_common(*info, a, "annal info sqlite:./events.db --json");
  CLI::App* streams =
      app.add_subcommand("streams", "each stream with its version and last event time");
  add_common(*streams, a, "annal streams file:./data --prefix account-");
  streams->add_option("--prefix", a.prefix, "only streams whose id starts with this");
  CLI::App* events = app.add_subcommand("events", "one stream's events, or a range of positions");
  add_common(*events, a,
             "annal events file:./data --from 100 --to 200 --type deposited --json\n"
             "  annal events file:./data --stream account-1 --follow");
  auto* stream = events->add_option("--stream", a.query.stream, "the stream to show");
  auto* from = events->add_option("--from", a.query.from, "the first position to show (1-based)");
  auto* to = events->add_option("--to", a.query.to, "the last position to show (default: the end)");
  events->add_option("--type", a.query.type, "only events of this stored type");
  auto* follow = events->add_flag(
      "-f,--follow", a.query.follow,
      "after the last event, wait for new ones and print them as they come, until interrupted");
  stream->excludes(from)->excludes(to);
  follow->excludes(to);
  to->needs(from);
  CLI::App* verify = app.add_subcommand(
      "verify", "read every event with every check; exit 1 when anything is damaged");
  add_common(*verify, a, "annal verify file:./data && echo clean");

  std::vector<std::string> secrets;
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    // The URL may be among the arguments: keep any password it holds off the screen.
    for (int i = 1; i < argc; ++i)
      for (auto& s : tool::passwords_in(argv[i])) secrets.push_back(std::move(s));
    complain(std::string(e.what()) + " (see annal --help)", secrets);
    return bad_input;
  }
  const std::string command = app.get_subcommands().front()->get_name();
  if (command == "events" && a.query.stream.empty() && from->count() == 0) {
    complain("events needs --stream ID or --from POSITION", {});
    return bad_input;
  }
  if (a.query.follow) stop_on_signals();
  std::optional<tool::store_url> url;
  try {
    url = tool::parse_store_url(a.url);
  } catch (const annal::error& e) {
    complain(e.what(), tool::passwords_in(a.url));
    return bad_input;
  }
  try {
    return run(command, a, *url);
  } catch (const annal::error& e) {
    complain(e.what(), url->secrets);
    if (e.code() == annal::make_error_code(annal::errc::corrupt_log) ||
        e.code() == annal::make_error_code(annal::errc::decode_error))
      return damaged;
    if (e.code() == annal::make_error_code(annal::errc::invalid_argument) ||
        e.code() == annal::make_error_code(annal::errc::invalid_stream_id))
      return bad_input;
    return failed;
  } catch (const std::exception& e) {
    complain(e.what(), url->secrets);
    return failed;
  }
}
