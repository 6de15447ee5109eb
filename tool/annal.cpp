// The generic `annal` tool: inspects, verifies, copies, replicates, backs up and restores any annal
// store by URL, without the user's event types (docs/tool.md). Exit status: 0 done, 1 damage found
// (or a copy that does not match its source), 2 bad input, 3 any other failure.
#include <csignal>
#include <filesystem>
#include <iostream>
#include <optional>
#include <string>
#include <variant>

#include <CLI/CLI.hpp>

#include "commands.hpp"
#include "open_store.hpp"
#include "recovery_commands.hpp"
#include "store_url.hpp"

namespace {

namespace tool = annal::tool;

enum exit_status : int { ok = 0, damaged = 1, bad_input = 2, failed = 3 };

// Set by SIGINT and SIGTERM: `events --follow` and `replicate --follow` end at the next look, with
// exit status 0.
volatile std::sig_atomic_t stop_requested = 0;

void request_stop(int) {
  stop_requested = 1;
}

void stop_on_signals() {
  struct sigaction action {};
  action.sa_handler = request_stop;
  sigemptyset(&action.sa_mask);
  // A write or a wait under way goes on: the loops look at the flag between steps.
  action.sa_flags = SA_RESTART;
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
}

struct arguments {
  std::string url;     // the store read (copy, replicate: the source; restore: the backup)
  std::string target;  // copy, replicate: the store written; backup: where to; restore: the target
  bool json = false;
  std::string schema = "annal";
  std::string target_schema;  // empty: --schema
  std::string payload_format = "bytea";
  std::string prefix;
  tool::event_query query;
  bool follow = false;  // replicate
  bool hard_link = false;
  std::optional<std::uint64_t> to_position;
  std::string to_time;
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

// Writes a target store: any failure to open one is bad input, except damage (exit 1).
template <class F>
std::optional<tool::opened_store> open_or_complain(F&& open,
                                                   const std::vector<std::string>& secrets,
                                                   int& status) {
  try {
    return open();
  } catch (const annal::error& e) {
    if (e.code() == annal::make_error_code(annal::errc::corrupt_log)) throw;
    complain(e.what(), secrets);
    status = bad_input;
    return std::nullopt;
  }
}

// copy and replicate: the source opened for reading, the target for writing (created if missing).
int run_copy(const std::string& command, const arguments& a, const tool::store_url& from,
             const tool::store_url& to, const std::vector<std::string>& secrets) {
  int status = ok;
  tool::open_settings reading;
  reading.postgres_schema = a.schema;
  std::optional<tool::opened_store> source =
      open_or_complain([&] { return tool::open_store(from, reading); }, secrets, status);
  if (!source) return status;
  tool::open_settings writing;
  writing.writable = true;
  writing.postgres_schema = a.target_schema.empty() ? a.schema : a.target_schema;
  writing.new_payload_format = a.payload_format;
  // A copy syncs once at its end (copy_events); a standby's every append is durable.
  if (command == "copy") writing.sync = annal::durability::none;
  std::optional<tool::opened_store> target =
      open_or_complain([&] { return tool::open_store(to, writing); }, secrets, status);
  if (!target) return status;
  tool::progress_line progress(std::cerr);
  tool::copy_report copied;
  // The library speaks of a standby and its primary; the tool names the stores too.
  const auto named = [&](const annal::error& e) {
    return annal::error(annal::errc::diverged, "'" + to.shown + "' holds another history than '" +
                                                   from.shown + "': " + e.what());
  };
  tool::replicate_report replicated;
  try {
    std::visit(
        [&](const auto& src) {
          std::visit(
              [&](auto& dst) {
                if (command == "copy") {
                  copied.from = from.shown;
                  copied.to = to.shown;
                  copied.created = target->created;
                  copied.micros = from.kind == tool::store_kind::postgres ||
                                  to.kind == tool::store_kind::postgres;
                  tool::copy_events(*src, *dst, copied, progress);
                } else {
                  replicated.primary = from.shown;
                  replicated.standby = to.shown;
                  replicated.created = target->created;
                  tool::replicate_events(
                      *src, *dst, a.follow, [] { return stop_requested != 0; }, replicated,
                      progress);
                }
              },
              target->store);
        },
        source->store);
  } catch (const annal::error& e) {
    if (e.code() != annal::make_error_code(annal::errc::diverged)) throw;
    throw named(e);
  }
  // Closed before the summary: what it says is on disk.
  target.reset();
  if (command == "copy") {
    tool::print_copy(copied, a.json, std::cout);
    if (!copied.verified()) status = damaged;
  } else {
    tool::print_replicate(replicated, a.json, std::cout);
  }
  std::cout.flush();
  return status;
}

int run_backup(const arguments& a, const tool::store_url& from,
               const std::vector<std::string>& secrets) {
  if (from.kind == tool::store_kind::postgres) {
    complain("backup takes a file log or a SQLite store, not '" + from.shown +
                 "': PostgreSQL keeps its own backups (pg_basebackup, docs/postgres.md)",
             secrets);
    return bad_input;
  }
  const std::string destination = tool::path_argument(a.target, from.kind, "backup destination");
  int status = ok;
  std::optional<tool::opened_store> source =
      open_or_complain([&] { return tool::open_store(from, {}); }, secrets, status);
  if (!source) return status;
  tool::progress_line progress(std::cerr);
  annal::backup_options options;
  options.hard_link = a.hard_link;
  options.on_progress = [&](const annal::backup_progress& p) {
    if (p.done) return;
    progress.show("backup: " + std::to_string(p.bytes) + " of " + std::to_string(p.target_bytes) +
                  " bytes (" + tool::percent(p.bytes, p.target_bytes) + "), " +
                  std::to_string(p.events) + " events checked, " +
                  tool::seconds_text(std::chrono::duration_cast<std::chrono::nanoseconds>(p.eta)) +
                  " to go");
  };
  annal::backup_result result;
  std::visit(
      [&](const auto& store) {
        if constexpr (requires { annal::backup(*store, destination, options); })
          result = annal::backup(*store, destination, options);
      },
      source->store);
  progress.end();
  tool::print_backup(from.shown, destination, result, a.json, std::cout);
  return ok;
}

int run_restore(const arguments& a) {
  // The point first: a malformed time is refused before anything is looked at.
  annal::restore_point point = annal::restore_point::latest();
  if (a.to_position)
    point = annal::restore_point::at_position(*a.to_position);
  else if (!a.to_time.empty())
    point = annal::restore_point::at_time(tool::parse_utc_time(a.to_time, "--to-time"));
  const tool::restore_source source = tool::find_restore_source(a.url);
  const std::string target = tool::path_argument(a.target, source.kind, "restore target");
  const bool file = source.kind == tool::store_kind::file;
  const std::string scheme = file ? "file:" : "sqlite:";
  const std::string from = source.is_backup ? "backup " + source.path : scheme + source.path;
  // The library builds the store in "<target>.restoring" and leaves it when it stops part-way (a
  // point inside an append, damage), for its next run to remove; the tool's refusals leave nothing.
  namespace fs = std::filesystem;
  const fs::path staging = target + ".restoring";
  std::error_code ec;
  struct remove_staging {
    fs::path path;
    bool armed;
    ~remove_staging() {
      std::error_code ignored;
      if (armed) fs::remove_all(path, ignored);
    }
  } cleanup{staging, !fs::exists(fs::symlink_status(staging, ec))};
  annal::restore_result result;
  if (source.is_backup) {
#ifdef ANNAL_TOOL_WITH_SQLITE
    result = file ? annal::restore(source.path, target, point)
                  : annal::restore_sqlite_backup(source.path, target, point);
#else
    result = annal::restore(source.path, target, point);
#endif
  } else {
    // A live store, read as every read command reads it.
    const tool::opened_store live =
        tool::open_store(tool::parse_store_url(scheme + source.path), {});
    std::visit(
        [&](const auto& store) {
          if constexpr (requires { annal::restore(*store, target, point); })
            result = annal::restore(*store, target, point);
        },
        live.store);
  }
  cleanup.armed = false;
  tool::print_restore(from, scheme + target, result, a.json, std::cout);
  return ok;
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
  CLI::App app{
      "annal: inspect, verify, copy, replicate, back up and restore an annal event store "
      "(docs/tool.md)"};
  app.require_subcommand(1);
  app.footer(
      "Exit status: 0 done, 1 damage found (or a copy that differs from its source), 2 bad "
      "input, 3 other failure.\n"
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

  CLI::App* copy = app.add_subcommand(
      "copy", "copy every event into another store (created if missing), verified by digest");
  CLI::App* replicate = app.add_subcommand(
      "replicate", "copy what a standby lacks from its primary; --follow keeps it up to date");
  for (CLI::App* cmd : {copy, replicate}) {
    const bool copying = cmd == copy;
    cmd->add_option(copying ? "from" : "primary", a.url,
                    "the store read: file:<dir>, sqlite:<file> or postgresql://...")
        ->required();
    cmd->add_option(copying ? "to" : "standby", a.target,
                    copying ? "the store written: new, empty, or an earlier copy of the source"
                            : "the standby: new, empty, or an earlier copy of the primary")
        ->required();
    cmd->add_flag("--json", a.json, "print the summary as JSON for scripts");
    cmd->add_option("--schema", a.schema, "PostgreSQL schema holding the store read")
        ->capture_default_str();
    cmd->add_option("--target-schema", a.target_schema,
                    "PostgreSQL schema of the store written (default: --schema)");
    cmd->add_option("--payload-format", a.payload_format,
                    "how a new PostgreSQL schema stores payloads: bytea keeps every byte")
        ->check(CLI::IsMember({"bytea", "json", "jsonb"}))
        ->capture_default_str();
  }
  copy->footer(
      "Example:\n  annal copy file:./data sqlite:./events.db\n"
      "  annal copy file:./data postgresql://app@db.internal/orders --json");
  replicate->add_flag("-f,--follow", a.follow,
                      "keep copying new events until SIGINT or SIGTERM, with lag lines on stderr");
  replicate->footer(
      "Example:\n  annal replicate file:/var/lib/orders file:/mnt/standby/orders --follow\n"
      "Stopping it (Ctrl-C, SIGTERM) ends at a whole append: the standby then opens as a "
      "store of its own, writable (promotion).");

  CLI::App* backup = app.add_subcommand(
      "backup", "back up a file log into a directory or a SQLite store into a file, checked");
  backup->add_option("url", a.url, "the store: file:<dir> or sqlite:<file>")->required();
  backup
      ->add_option("destination", a.target,
                   "a directory (file log) or a file (SQLite): new, empty, or an earlier backup "
                   "of the same store, which a file log backup then extends")
      ->required();
  backup->add_flag("--json", a.json, "print the summary as JSON for scripts");
  backup->add_flag("--hard-link", a.hard_link,
                   "file log: hard-link sealed segments instead of copying them (same file "
                   "system; the backup then shares their disk blocks)");
  backup->footer(
      "Example:\n  annal backup file:/var/lib/orders /backups/orders\n"
      "  annal backup sqlite:./events.db ./events-backup.db --json");

  CLI::App* restore = app.add_subcommand(
      "restore", "restore a backup (or a live store) as a new store, up to a position or a time");
  restore
      ->add_option("backup", a.url,
                   "a file log backup directory or a SQLite backup file (or a live file:<dir> or "
                   "sqlite:<file> store)")
      ->required();
  restore->add_option("target", a.target, "the new store's directory or file; must not exist")
      ->required();
  auto* to_position = restore->add_option("--to-position", a.to_position,
                                          "keep the events up to this position (it must end an "
                                          "append)");
  auto* to_time = restore->add_option("--to-time", a.to_time,
                                      "keep the events recorded at or before this UTC time");
  to_position->excludes(to_time);
  restore->add_flag("--json", a.json, "print the summary as JSON for scripts");
  restore->footer(
      "Example:\n  annal restore /backups/orders ./orders-restored --to-time "
      "2026-12-07T10:00:00Z\n  annal restore ./events-backup.db ./events.db --to-position 1200");

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
  if (a.query.follow || a.follow) stop_on_signals();
  for (const std::string* arg : {&a.url, &a.target})
    for (auto& s : tool::passwords_in(*arg)) secrets.push_back(std::move(s));
  std::optional<tool::store_url> url, target;
  try {
    // restore's first argument is a path or a URL (find_restore_source); backup's second a path.
    if (command != "restore") url = tool::parse_store_url(a.url);
    if (command == "copy" || command == "replicate") target = tool::parse_store_url(a.target);
  } catch (const annal::error& e) {
    complain(e.what(), secrets);
    return bad_input;
  }
  try {
    if (command == "copy" || command == "replicate")
      return run_copy(command, a, *url, *target, secrets);
    if (command == "backup") return run_backup(a, *url, secrets);
    if (command == "restore") return run_restore(a);
    return run(command, a, *url);
  } catch (const annal::error& e) {
    complain(e.what(), secrets);
    if (e.code() == annal::make_error_code(annal::errc::corrupt_log) ||
        e.code() == annal::make_error_code(annal::errc::decode_error))
      return damaged;
    // So are a copy's target with another history than its source (nothing was written) and a
    // store or backup directory that another process holds.
    if (e.code() == annal::make_error_code(annal::errc::invalid_argument) ||
        e.code() == annal::make_error_code(annal::errc::invalid_stream_id) ||
        e.code() == annal::make_error_code(annal::errc::diverged) ||
        e.code() == annal::make_error_code(annal::errc::store_locked))
      return bad_input;
    return failed;
  } catch (const std::exception& e) {
    complain(e.what(), secrets);
    return failed;
  }
}
