// The operator's tool's one implementation: its command line (CLI11) and its commands. The generic
// `annal` program runs it with no_types; <annal/tool.hpp> with the user's events and projections,
// which add decoding to events and verify, and the rebuild, replay and reconcile commands. Exit
// status: 0 done, 1 damage found (or a copy or read model that differs), 2 bad input, 3 any other
// failure.
#pragma once

#include <unistd.h>

#include <csignal>
#include <cstdint>
#include <filesystem>
#include <iostream>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <variant>
#include <vector>

#include <CLI/CLI.hpp>

#include <annal/file/archive.hpp>
#include <annal/store/with_archive.hpp>
#include <annal/tool/detail/commands.hpp>
#include <annal/tool/detail/open_store.hpp>
#include <annal/tool/detail/promote.hpp>
#include <annal/tool/detail/recovery_commands.hpp>
#include <annal/tool/detail/salvage.hpp>
#include <annal/tool/detail/store_url.hpp>
#include <annal/tool/detail/typed.hpp>

#ifdef ANNAL_TOOL_WITH_KAFKA
#include <annal/tool/detail/kafka.hpp>
#endif

namespace annal::tool::detail {

enum exit_status : int { ok = 0, damaged = 1, bad_input = 2, failed = 3 };

// Set by SIGINT and SIGTERM: `events --follow` and `replicate` end at the next look, with exit
// status 0.
inline volatile std::sig_atomic_t stop_requested = 0;

inline void request_stop(int) {
  stop_requested = 1;
}

inline void stop_on_signals() {
  struct sigaction action {};
  action.sa_handler = request_stop;
  sigemptyset(&action.sa_mask);
  // A write or a wait under way goes on: the loops look at the flag between steps.
  action.sa_flags = SA_RESTART;
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
}

struct arguments {
  std::string program = "annal";  // the name errors start with
  std::string url;     // the store read (copy, replicate: the source; restore: the backup)
  std::string target;  // copy, replicate: the store written; backup: where to; restore: the target
  bool json = false;
  std::string schema = "annal";
  std::string target_schema;  // empty: --schema
  std::string payload_format = "bytea";
  std::string prefix;
  event_query query;
  bool follow = false;         // replicate
  std::string primary;         // promote: the primary to compare with
  std::string primary_schema;  // promote: its PostgreSQL schema (default: --schema)
  unsigned wait_seconds = 60;  // promote: how long a replicate may take to stop
  bool hard_link = false;
  std::optional<std::uint64_t> to_position;
  std::string to_time;
  std::string archive;     // info, streams, events, verify, rebuild...: a file log's archive
  std::string older_than;  // archive
  std::string age;         // archive
  std::string projection;  // rebuild, replay, reconcile
  std::string codec = "auto";
  std::uint64_t up_to = 0;        // rebuild, replay: 0 is the end
  std::string model;              // reconcile: the read model's file or PostgreSQL URL
  std::string model_name;         // reconcile, PostgreSQL: its checkpoint's name
  std::string model_schema;       // reconcile, PostgreSQL: the schema of its tables
  std::string checkpoint_schema;  // reconcile, PostgreSQL: the annal schema of its checkpoint
  double kafka_timeout = 10;      // seconds to wait for a Kafka cluster's answer about a topic
};

// One line on stderr, without any password the URL held.
inline void complain(const arguments& a, const std::string& what,
                     const std::vector<std::string>& secrets) {
  std::string line = redact(what, secrets);
  for (char& c : line)
    if (c == '\n' || c == '\r') c = ' ';
  std::cerr << a.program << ": " << line << '\n';
}

inline void add_kafka_timeout(CLI::App& cmd, arguments& a) {
  cmd.add_option("--kafka-timeout", a.kafka_timeout,
                 "seconds to wait for a Kafka cluster's answer about the topic (kafka:// URLs)")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
}

// Options every reading command takes.
inline void add_common(CLI::App& cmd, arguments& a, const std::string& example) {
  cmd.add_option("url", a.url,
                 "the store: file:<dir>, sqlite:<file> or postgresql://... (info and events: "
                 "also kafka://host:port/topic)")
      ->required();
  cmd.add_flag("--json", a.json, "print JSON for scripts instead of text");
  cmd.add_option("--schema", a.schema, "PostgreSQL schema holding the store")
      ->capture_default_str();
  cmd.add_option("--archive", a.archive,
                 "the store's archive, a file log's directory (archive command): read positions "
                 "below the archive horizon from it");
  add_kafka_timeout(cmd, a);
  cmd.footer("Example:\n  " + example);
}

// Writes a target store: any failure to open one is bad input, except damage (exit 1).
template <class F>
std::optional<opened_store> open_or_complain(const arguments& a, F&& open,
                                             const std::vector<std::string>& secrets, int& status) {
  try {
    return open();
  } catch (const error& e) {
    if (e.code() == make_error_code(errc::corrupt_log)) throw;
    complain(a, e.what(), secrets);
    status = bad_input;
    return std::nullopt;
  }
}

// copy and replicate: the source opened for reading, the target for writing (created if missing).
inline int run_copy(const std::string& command, const arguments& a, const store_url& from,
                    const store_url& to, const std::vector<std::string>& secrets) {
  int status = ok;
  open_settings reading;
  reading.postgres_schema = a.schema;
  std::optional<opened_store> source = open_or_complain(
      a, [&] { return open_store(from, reading); }, secrets, status);
  if (!source) return status;
  open_settings writing;
  writing.writable = true;
  writing.postgres_schema = a.target_schema.empty() ? a.schema : a.target_schema;
  writing.new_payload_format = a.payload_format;
  // A copy syncs once at its end (copy_events); a standby's every append is durable.
  if (command == "copy") writing.sync = durability::none;
  // One replicate per standby: a running one is named before its standby's lock is met.
  if (command == "replicate") standby_claim::check_free(to);
  std::optional<opened_store> target = open_or_complain(
      a, [&] { return open_store(to, writing); }, secrets, status);
  if (!target) return status;
  std::optional<standby_claim> claim;
  if (command == "replicate")
    claim.emplace(standby_claim::take(to, writing.postgres_schema, from.shown));
  progress_line progress(std::cerr);
  copy_report copied;
  // The library speaks of a standby and its primary; the tool names the stores too.
  const auto named = [&](const error& e) {
    return error(errc::diverged,
                 "'" + to.shown + "' holds another history than '" + from.shown + "': " + e.what());
  };
  replicate_report replicated;
  try {
    std::visit(
        [&](const auto& src) {
          std::visit(
              [&](auto& dst) {
                if (command == "copy") {
                  copied.from = from.shown;
                  copied.to = to.shown;
                  copied.created = target->created;
                  copied.micros =
                      from.kind == store_kind::postgres || to.kind == store_kind::postgres;
                  copy_events(*src, *dst, copied, progress);
                } else {
                  replicated.primary = from.shown;
                  replicated.standby = to.shown;
                  replicated.created = target->created;
                  replicate_events(
                      *src, *dst, a.follow, [] { return stop_requested != 0; }, replicated,
                      progress);
                }
              },
              target->store);
        },
        source->store);
  } catch (const error& e) {
    if (e.code() != make_error_code(errc::diverged)) throw;
    throw named(e);
  }
  // Closed before the summary: what it says is on disk.
  target.reset();
  if (command == "copy") {
    print_copy(copied, a.json, std::cout);
    if (!copied.verified()) status = damaged;
  } else {
    print_replicate(replicated, a.json, std::cout);
  }
  std::cout.flush();
  return status;
}

#ifdef ANNAL_TOOL_WITH_KAFKA
// info, events and copy of a kafka:// URL: the topic is replayed, never opened as a store.
inline int run_kafka(const std::string& command, const arguments& a, const store_url& url,
                     const std::optional<store_url>& target,
                     const std::vector<std::string>& secrets) {
  const auto wait =
      std::chrono::milliseconds(static_cast<std::int64_t>(a.kafka_timeout * 1000.0 + 0.5));
  if (command == "info") {
    kafka_info(url, *open_kafka(url, false, wait), a.json, std::cout);
    return ok;
  }
  if (command == "events") {
    kafka_events(url, *open_kafka(url, true, wait), a.query, a.json, std::cout,
                 [] { return stop_requested != 0; });
    return ok;
  }
  // copy: the topic replayed into a store, opened for writing as copy opens its target.
  const std::unique_ptr<kafka_replay> replay = open_kafka(url, true, wait);
  int status = ok;
  open_settings writing;
  writing.writable = true;
  writing.postgres_schema = a.target_schema.empty() ? a.schema : a.target_schema;
  writing.new_payload_format = a.payload_format;
  writing.sync = durability::none;  // one sync at the end
  std::optional<opened_store> opened = open_or_complain(
      a, [&] { return open_store(*target, writing); }, secrets, status);
  if (!opened) return status;
  kafka_copy_report r;
  std::visit(
      [&](auto& store) {
        r = copy_from_kafka(*replay, *store);
        if constexpr (requires { store->sync(); }) store->sync();
      },
      opened->store);
  const bool created = opened->created;
  opened.reset();  // closed before the summary: what it says is on disk
  print_kafka_copy(url, target->shown, created, r, a.json, std::cout);
  return ok;
}
#endif

// salvage: the *.cut files of a file log listed, or appended to a store again.
inline int run_salvage(const arguments& a, const std::vector<std::string>& secrets) {
  std::string where = a.url;
  for (const std::string_view prefix : {"file://", "file:"})
    if (where.starts_with(prefix)) {
      where.erase(0, prefix.size());
      break;
    }
  if (where.starts_with("sqlite:") || where.starts_with("postgres"))
    throw error(errc::invalid_argument, "salvage reads a file log's *.cut files, not '" +
                                            mask_password(where) +
                                            "': only a file log's repair sets records aside");
  const std::vector<std::filesystem::path> files = cut_files(where);
  if (a.target.empty()) {
    list_cut_files(files, a.json, std::cout);
    return ok;
  }
  int status = ok;
  const store_url to = parse_store_url(a.target);
  open_settings writing;
  writing.writable = true;
  writing.postgres_schema = a.schema;
  std::optional<opened_store> opened = open_or_complain(
      a, [&] { return open_store(to, writing); }, secrets, status);
  if (!opened) return status;
  std::pair<reimport_report, std::vector<reappended_event>> done;
  std::visit([&](auto& store) { done = reappend_cut_files(*store, files); }, opened->store);
  opened.reset();  // closed before the summary: what it says is on disk
  print_reappended(to.shown, done.first, done.second, a.json, std::cout);
  return ok;
}

inline int run_backup(const arguments& a, const store_url& from,
                      const std::vector<std::string>& secrets) {
  if (from.kind == store_kind::postgres) {
    complain(a,
             "backup takes a file log or a SQLite store, not '" + from.shown +
                 "': PostgreSQL keeps its own backups (pg_basebackup, docs/postgres.md)",
             secrets);
    return bad_input;
  }
  const std::string destination = path_argument(a.target, from.kind, "backup destination");
  int status = ok;
  std::optional<opened_store> source = open_or_complain(
      a, [&] { return open_store(from, {}); }, secrets, status);
  if (!source) return status;
  progress_line progress(std::cerr);
  backup_options options;
  options.hard_link = a.hard_link;
  options.on_progress = [&](const backup_progress& p) {
    if (p.done) return;
    progress.show("backup: " + std::to_string(p.bytes) + " of " + std::to_string(p.target_bytes) +
                  " bytes (" + percent(p.bytes, p.target_bytes) + "), " + std::to_string(p.events) +
                  " events checked, " +
                  seconds_text(std::chrono::duration_cast<std::chrono::nanoseconds>(p.eta)) +
                  " to go");
  };
  backup_result result;
  std::visit(
      [&](const auto& store) {
        if constexpr (requires { annal::backup(*store, destination, options); })
          result = annal::backup(*store, destination, options);
      },
      source->store);
  progress.end();
  print_backup(from.shown, destination, result, a.json, std::cout);
  return ok;
}

inline int run_restore(const arguments& a) {
  // The point first: a malformed time is refused before anything is looked at.
  restore_point point = restore_point::latest();
  if (a.to_position)
    point = restore_point::at_position(*a.to_position);
  else if (!a.to_time.empty())
    point = restore_point::at_time(parse_utc_time(a.to_time, "--to-time"));
  const restore_source source = find_restore_source(a.url);
  const std::string target = path_argument(a.target, source.kind, "restore target");
  const bool file = source.kind == store_kind::file;
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
  restore_result result;
  if (source.is_backup) {
#ifdef ANNAL_TOOL_WITH_SQLITE
    result = file ? annal::restore(source.path, target, point)
                  : annal::restore_sqlite_backup(source.path, target, point);
#else
    result = annal::restore(source.path, target, point);
#endif
  } else {
    // A live store, read as every read command reads it.
    const opened_store live = open_store(parse_store_url(scheme + source.path), {});
    std::visit(
        [&](const auto& store) {
          if constexpr (requires { annal::restore(*store, target, point); })
            result = annal::restore(*store, target, point);
        },
        live.store);
  }
  cleanup.armed = false;
  print_restore(from, scheme + target, result, a.json, std::cout);
  return ok;
}

// "90d", "12h", "30m", "45s": an age for `archive --age`.
inline std::chrono::seconds parse_age(std::string_view text) {
  std::uint64_t n = 0;
  const char* end = text.data() + text.size();
  const auto [p, ec] = std::from_chars(text.data(), end, n);
  if (ec != std::errc{} || p + 1 != end || n == 0)
    throw error(errc::invalid_argument, "--age '" + std::string(text) +
                                            "': write a positive count and a unit, d, h, m or s "
                                            "(90d)");
  switch (*p) {
    case 'd':
      return std::chrono::seconds(n * 86400);
    case 'h':
      return std::chrono::seconds(n * 3600);
    case 'm':
      return std::chrono::seconds(n * 60);
    case 's':
      return std::chrono::seconds(n);
  }
  throw error(errc::invalid_argument,
              "--age '" + std::string(text) + "': the unit is d, h, m or s (90d)");
}

// archive of a SQLite or PostgreSQL store: into a file log at a.target (made if missing).
inline int run_sql_archive(const arguments& a, const store_url& url, archive_horizon horizon) {
  open_settings settings;
  settings.postgres_schema = a.schema;
  opened_store opened = open_store(url, settings);
  file_log_options into_options;
  into_options.sync = durability::none;  // annal::archive syncs it once, before the store deletes
  file_log into(a.target, into_options);
  progress_line progress(std::cerr);
  archive_options how;
  how.on_progress = [&](const backup_progress& p) {
    if (p.done) return;
    progress.show("archive: " + std::to_string(p.events) + " events copied, to position " +
                  std::to_string(p.position) + " of " + std::to_string(p.target));
  };
  archive_result r;
  std::visit(
      [&](auto& store) {
        using S = std::remove_cvref_t<decltype(*store)>;
        if constexpr (archivable_store<S>) r = annal::archive(*store, into, horizon, how);
      },
      opened.store);
  progress.end();
  if (a.json) {
    boost::json::object o;
    o["store"] = url.shown;
    o["archive"] = a.target;
    o["horizon"] = r.horizon;
    o["new_events"] = r.new_events;
    o["kept_heads"] = r.kept_heads;
    o["horizon_recorded_at"] =
        r.horizon ? boost::json::value(iso_time(r.horizon_recorded_at)) : nullptr;
    o["warning"] = r.warning;
    std::cout << boost::json::serialize(o) << '\n';
  } else {
    std::cout << "archived " << r.new_events << " events from " << url.shown
              << " into the file log " << a.target << "; positions 1.." << r.horizon
              << " are in the archive"
              << (r.horizon ? " (up to " + iso_time(r.horizon_recorded_at) + ")" : std::string())
              << ", the store keeps " << r.kept_heads << " of them, each the last of its stream\n";
    if (!r.warning.empty()) std::cout << "warning: " << r.warning << '\n';
  }
  return ok;
}

// archive: the file log's oldest whole sealed segments move to the archive directory; a SQL
// store's events below the horizon move into a file log there, each stream's last kept.
inline int run_archive(const arguments& a, const store_url& url) {
  if (url.kind != store_kind::file && url.kind != store_kind::sqlite &&
      url.kind != store_kind::postgres)
    throw error(errc::invalid_argument,
                "archive takes a file log, a SQLite store or a PostgreSQL "
                "store, not '" +
                    url.shown + "'");
  const int given =
      (a.to_position ? 1 : 0) + (a.older_than.empty() ? 0 : 1) + (a.age.empty() ? 0 : 1);
  if (given != 1)
    throw error(errc::invalid_argument,
                "archive needs exactly one of --to-position N, --older-than TIME, --age 90d");
  const archive_horizon horizon =
      a.to_position ? archive_horizon::position(*a.to_position)
      : !a.older_than.empty()
          ? archive_horizon::older_than(parse_utc_time(a.older_than, "--older-than"))
          : archive_horizon::age(parse_age(a.age));
  if (url.kind != store_kind::file) return run_sql_archive(a, url, horizon);
  std::error_code ec;
  if (!std::filesystem::is_directory(url.location, ec))
    throw error(errc::invalid_argument, "file log directory '" + url.location +
                                            "' does not exist (archive never creates one)");
  file_log_options options;
  options.create_if_missing = false;
  file_log log(url.location, options);
  progress_line progress(std::cerr);
  archive_options how;
  how.on_progress = [&](const backup_progress& p) {
    if (p.done) return;
    progress.show("archive: " + std::to_string(p.bytes) + " of " + std::to_string(p.target_bytes) +
                  " bytes (" + percent(p.bytes, p.target_bytes) + "), " + std::to_string(p.events) +
                  " events checked");
  };
  const archive_result r = annal::archive(log, a.target, horizon, how);
  progress.end();
  if (a.json) {
    boost::json::object o;
    o["log"] = url.shown;
    o["archive"] = a.target;
    o["horizon"] = r.horizon;
    o["segments"] = r.segments;
    o["new_segments"] = r.new_segments;
    o["new_events"] = r.new_events;
    o["moved_bytes"] = r.moved_bytes;
    o["horizon_recorded_at"] =
        r.horizon ? boost::json::value(iso_time(r.horizon_recorded_at)) : nullptr;
    o["warning"] = r.warning;
    std::cout << boost::json::serialize(o) << '\n';
  } else {
    std::cout << "archived " << r.new_events << " events in " << r.new_segments
              << (r.new_segments == 1 ? " segment" : " segments") << " (" << r.moved_bytes
              << " bytes) from " << url.shown << " to " << a.target << "; positions 1.."
              << r.horizon << " are in the archive"
              << (r.horizon ? " (up to " + iso_time(r.horizon_recorded_at) + ")" : std::string())
              << '\n';
    if (!r.warning.empty()) std::cout << "warning: " << r.warning << '\n';
  }
  return ok;
}

// Calls f(store) on the opened store, or on the store read through its archive (a file log) when
// --archive names one.
template <class F>
void with_opened(opened_store& opened, const std::optional<opened_store>& archive, F&& f) {
  std::visit(
      [&](auto& store) {
        using S = std::remove_cvref_t<decltype(*store)>;
        if constexpr (std::is_same_v<S, file_log> || archivable_store<S>) {
          if (archive) {
            const with_archive<file_log, S> both(*std::get<0>(archive->store), *store);
            f(both);
            return;
          }
        }
        f(*store);
      },
      opened.store);
}

template <class Types>
int run(const std::string& command, const arguments& a, const store_url& url) {
  open_settings settings;
  settings.verify = command == "verify";
  settings.postgres_schema = a.schema;
  std::optional<opened_store> opened;
  try {
    opened.emplace(open_store(url, settings));
  } catch (const error& e) {
    if (e.code() == make_error_code(errc::corrupt_log)) {
      if (command != "verify") throw;
      // The open itself checks every record of a file log when verifying: damage stops it.
      verify_report r;
      r.stopped = true;
      r.opened = false;
      r.add(e.what());
      store_facts facts;
      facts.kind = url.kind;
      facts.url = url.shown;
      print_verify(r, facts, a.json, std::cout);
      return damaged;
    }
    // Anything else that stops the open means the URL names no store this tool can read.
    complain(a, e.what(), url.secrets);
    return bad_input;
  }
  std::optional<opened_store> archive;
  if (!a.archive.empty()) {
    if (url.kind != store_kind::file && url.kind != store_kind::sqlite &&
        url.kind != store_kind::postgres)
      throw error(errc::invalid_argument,
                  "--archive: a Kafka topic has no archive ('" + url.shown + "')");
    archive.emplace(open_store(parse_store_url("file:" + a.archive), settings));
  }
  // Straight to stdout: a long listing streams out, and what came before a failure stays printed.
  std::ostream& out = std::cout;
  int status = ok;
  const store_facts& facts = opened->facts;
  with_opened(*opened, archive, [&](const auto& store) {
    [[maybe_unused]] const auto codec = [&] {
      if constexpr (Types::typed) {
        if (a.codec != "auto") return parse_codec(a.codec);
        return detect_codec<Types>(store, archive ? 1 : facts.archive_horizon + 1);
      } else {
        return payload_codec::binary;
      }
    };
    if (command == "info") {
      info(store, facts, a.json, out, archive ? 1 : facts.archive_horizon + 1);
    } else if (command == "streams") {
      streams(store, a.prefix, a.json, out);
    } else if (command == "events") {
      const auto stop = [] { return stop_requested != 0; };
      if constexpr (Types::typed)
        events(store, a.query, a.json, out, stop, typed_decoder<typename Types::events>{codec()});
      else
        events(store, a.query, a.json, out, stop);
    } else if (command == "verify") {
      verify_report r;
      if constexpr (Types::typed)
        r = verify(store, decode_check<typename Types::events>{codec()});
      else
        r = verify(store);
      print_verify(r, facts, a.json, out);
      if (!r.clean()) status = damaged;
    } else if constexpr (Types::typed) {
      const bool terminal = ::isatty(2) == 1;
      Types::with_projection(a.projection, [&]<class P>(std::type_identity<P>) {
        if (command == "reconcile") {
          const model_settings m{a.model, a.model_name, a.model_schema, a.checkpoint_schema,
                                 a.schema};
          const reconciliation r = reconcile_model<P>(store, codec(), m);
          print_reconciliation(a.projection, r, a.json, out);
          if (!r.matches()) status = damaged;
        } else {
          progress_line progress(std::cerr, terminal);
          print_projection_run(run_projection<P>(store, codec(), a.up_to, progress, terminal),
                               a.json, out);
        }
      });
    }
  });
  out.flush();
  return status;
}

// "rebuild <projection> <url>": the projection's name, checked against the ones the tool knows.
template <class Types>
bool known_projection(const arguments& a) {
  if constexpr (Types::typed) {
    for (const std::string_view name : Types::projection_names)
      if (name == a.projection) return true;
    std::string known;
    for (const std::string_view name : Types::projection_names)
      known += (known.empty() ? "" : ", ") + std::string(name);
    complain(a,
             "unknown projection '" + a.projection + "'; this tool knows " +
                 (known.empty() ? std::string("none") : known),
             {});
  }
  return false;
}

// promote: the replicate into the standby stopped, the standby opened writable (it must exist), and
// compared with its primary when one is named. Exit 1 when its history is not the primary's.
inline int run_promote(const arguments& a, const store_url& standby,
                       const std::vector<std::string>& secrets) {
  std::optional<store_url> primary;
  if (!a.primary.empty()) {
    primary = parse_store_url(a.primary);
    if (primary->kind == store_kind::kafka)
      throw error(errc::invalid_argument, "--primary '" + primary->shown +
                                              "' is a Kafka topic: promote compares the standby "
                                              "with a store");
  }
  open_settings reading;
  reading.postgres_schema = a.schema;
  open_store(standby, reading);  // a standby that is not there is refused, not created
  promote_report r;
  r.standby = standby.shown;
  r.stopped = stop_replicate(standby, a.schema, std::chrono::seconds(a.wait_seconds));
  open_settings writing = reading;
  writing.writable = true;
  std::optional<opened_store> promoted = open_store(standby, writing);
  std::visit([&](const auto& s) { r.position = s->last_position(); }, promoted->store);
  if (primary) {
    r.primary = primary->shown;
    try {
      open_settings theirs;
      theirs.postgres_schema = a.primary_schema.empty() ? a.schema : a.primary_schema;
      const opened_store source = open_store(*primary, theirs);
      std::visit(
          [&](const auto& p) {
            std::visit([&](const auto& s) { compare_with_primary(*p, *s, r); }, promoted->store);
          },
          source.store);
    } catch (const std::exception& e) {
      // Promotion is for when the primary is lost: it goes on without it, and says so.
      r.primary_error = redact(e.what(), secrets);
    }
  }
  promoted.reset();  // closed before the summary
  print_promote(r, a.json, std::cout);
  std::cout.flush();
  return r.mismatch.empty() ? ok : damaged;
}

template <class Types>
int run_tool(int argc, char** argv) {
  std::ios::sync_with_stdio(false);
  arguments a;
  if (argc > 0 && argv[0] && *argv[0])
    a.program = std::filesystem::path(argv[0]).filename().string();
  CLI::App app{Types::typed
                   ? a.program +
                         ": inspect, verify, replay projections, copy, back up and restore an "
                         "annal event store, with this program's event types (docs/tool.md)"
                   : "annal: inspect, verify, copy, replicate, back up and restore an annal event "
                     "store (docs/tool.md)",
               a.program};
  app.require_subcommand(1);
  app.footer(
      "Exit status: 0 done, 1 damage found (or a copy or read model that differs), 2 bad input, 3 "
      "other failure.\n"
      "Example:\n  " +
      a.program + " info file:./data");
  const std::string& p = a.program;
  CLI::App* info =
      app.add_subcommand("info", "store kind, last position, streams, size, format, durability");
  add_common(*info, a, p + " info sqlite:./events.db --json");
  CLI::App* streams =
      app.add_subcommand("streams", "each stream with its version and last event time");
  add_common(*streams, a, p + " streams file:./data --prefix account-");
  streams->add_option("--prefix", a.prefix, "only streams whose id starts with this");
  CLI::App* events = app.add_subcommand(
      "events", Types::typed ? "one stream's events, or a range of positions, decoded"
                             : "one stream's events, or a range of positions");
  add_common(*events, a,
             p + " events file:./data --from 100 --to 200 --type deposited --json\n  " + p +
                 " events file:./data --stream account-1 --follow");
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
      "verify", Types::typed
                    ? "read and decode every event with every check; exit 1 when any is damaged"
                    : "read every event with every check; exit 1 when anything is damaged");
  add_common(*verify, a, p + " verify file:./data && echo clean");

  std::vector<CLI::App*> projection_commands;
  if constexpr (Types::typed) {
    CLI::App* rebuild = app.add_subcommand(
        "rebuild", "replay every event into a fresh projection; print its digest");
    CLI::App* replay = app.add_subcommand(
        "replay", "the same as rebuild, usually with --to: the projection as of a position");
    CLI::App* reconcile = app.add_subcommand(
        "reconcile",
        "compare a read model (a file or PostgreSQL tables) with a replay up to its "
        "checkpoint; exit 1 when they differ");
    for (CLI::App* cmd : {rebuild, replay, reconcile}) {
      cmd->add_option("projection", a.projection, "the projection's name")->required();
      add_common(*cmd, a, "");
      cmd->add_option("--codec", a.codec,
                      "how payloads are encoded; auto looks at the first listed event")
          ->check(CLI::IsMember({"auto", "binary", "json"}))
          ->capture_default_str();
      projection_commands.push_back(cmd);
    }
    for (CLI::App* cmd : {rebuild, replay})
      cmd->add_option("--to", a.up_to, "the last position to replay (default: the end)");
    reconcile
        ->add_option("--model", a.model,
                     "the read model: its file (annal::file_read_model), or postgresql://... "
                     "(annal::postgres_read_model)")
        ->required();
    reconcile->add_option("--model-name", a.model_name,
                          "PostgreSQL read model: the name it was made with, its checkpoint's "
                          "(default: the projection's name)");
    reconcile->add_option("--model-schema", a.model_schema,
                          "PostgreSQL read model: the schema of its tables (default: its name)");
    reconcile->add_option("--checkpoint-schema", a.checkpoint_schema,
                          "PostgreSQL read model: the annal schema whose checkpoints table holds "
                          "its checkpoint (default: --schema)");
    std::string names;
    for (const std::string_view n : Types::projection_names)
      names += (names.empty() ? "" : ", ") + std::string(n);
    const std::string known = "Projections: " + (names.empty() ? std::string("none") : names);
    rebuild->footer(known + "\nExample:\n  " + p + " rebuild " +
                    (names.empty() ? "balances" : std::string(Types::projection_names[0])) +
                    " file:./data --json");
    replay->footer(known + "\nExample:\n  " + p + " replay balances file:./data --to 1200");
    reconcile->footer(known + "\nExample:\n  " + p +
                      " reconcile balances file:./data --model ./balances.model\n  " + p +
                      " reconcile ledger file:./data --model postgresql://app@db/reports "
                      "--model-schema ledger\n"
                      "A PostgreSQL read model is replayed into a scratch schema that is never "
                      "committed: nothing is written.");
    for (CLI::App* cmd : {events, verify})
      cmd->add_option("--codec", a.codec,
                      "how payloads are encoded; auto looks at the first listed event")
          ->check(CLI::IsMember({"auto", "binary", "json"}))
          ->capture_default_str();
  }

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
  add_kafka_timeout(*copy, a);
  copy->footer("Example:\n  " + p + " copy file:./data sqlite:./events.db\n  " + p +
               " copy file:./data postgresql://app@db.internal/orders --json\n  " + p +
               " copy kafka://broker:9092/orders file:./replayed   (a topic kafka_publisher "
               "wrote)");
  replicate->add_flag("-f,--follow", a.follow,
                      "keep copying new events until SIGINT or SIGTERM, with lag lines on stderr");
  replicate->footer("Example:\n  " + p +
                    " replicate file:/var/lib/orders file:/mnt/standby/orders --follow\n"
                    "Stopping it (Ctrl-C, SIGTERM) ends at a whole append: the standby then opens "
                    "as a store of its own, writable (promotion).");

  CLI::App* promote = app.add_subcommand(
      "promote",
      "stop the replicate into a standby and open it as a primary of its own; with "
      "--primary, say what it lacks");
  promote
      ->add_option("standby", a.url,
                   "the standby: file:<dir>, sqlite:<file> or postgresql://...; it must exist")
      ->required();
  promote->add_option("--primary", a.primary,
                      "the old primary, if it can still be read: the report says how many "
                      "positions and seconds of its history the standby lacks");
  promote->add_option("--schema", a.schema, "PostgreSQL schema holding the standby")
      ->capture_default_str();
  promote->add_option("--primary-schema", a.primary_schema,
                      "PostgreSQL schema holding the primary (default: --schema)");
  promote
      ->add_option("--wait", a.wait_seconds,
                   "seconds to wait for a running replicate to stop after SIGTERM")
      ->check(CLI::Range(1u, std::numeric_limits<unsigned>::max()))
      ->capture_default_str();
  promote->add_flag("--json", a.json, "print the summary as JSON for scripts");
  promote->footer(
      "Example:\n  " + p + " promote file:/mnt/standby/orders --primary file:/var/lib/orders\n" +
      "A replicate writing the standby on this host is stopped with SIGTERM (it ends at a whole "
      "append); one on another host is named, and must be stopped there. Make sure the old "
      "primary takes no more writes.");

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
  backup->footer("Example:\n  " + p + " backup file:/var/lib/orders /backups/orders\n  " + p +
                 " backup sqlite:./events.db ./events-backup.db --json");

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
  restore->footer("Example:\n  " + p +
                  " restore /backups/orders ./orders-restored --to-time "
                  "2026-12-07T10:00:00Z\n  " +
                  p + " restore ./events-backup.db ./events.db --to-position 1200");

  CLI::App* archive = app.add_subcommand(
      "archive",
      "move the oldest events to an archive: a file log's whole sealed segments to an archive "
      "directory, checked; a SQL store's events into a file log, each stream's last kept");
  archive
      ->add_option("url", a.url,
                   "the store: file:<dir> (no writer may hold it), sqlite:<file> or "
                   "postgresql://... (writers may go on)")
      ->required();
  archive
      ->add_option("archive", a.target,
                   "the archive directory: new, empty, or this store's archive, which grows")
      ->required();
  auto* archive_to = archive->add_option("--to-position", a.to_position,
                                         "archive up to this position (a file log: the sealed "
                                         "segments wholly at or below it)");
  auto* archive_older = archive->add_option(
      "--older-than", a.older_than,
      "archive what was recorded before this UTC time (a file log: whole segments)");
  auto* archive_age =
      archive->add_option("--age", a.age, "archive what is older than this: 90d, 12h, 30m, 45s");
  archive_to->excludes(archive_older)->excludes(archive_age);
  archive_older->excludes(archive_age);
  archive->add_option("--schema", a.schema, "PostgreSQL schema holding the store")
      ->capture_default_str();
  archive->add_flag("--json", a.json, "print the summary as JSON for scripts");
  archive->footer("Example:\n  " + p +
                  " archive file:/var/lib/orders /archive/orders --age 90d\n  " + p +
                  " archive sqlite:./events.db /archive/events --to-position 1000000\n  " + p +
                  " info file:/var/lib/orders   (shows the archive horizon)\n  " + p +
                  " verify sqlite:./events.db --archive /archive/events");

  CLI::App* salvage = app.add_subcommand(
      "salvage",
      "list the records a file log's repair set aside in *.cut files; --append-to stores them "
      "again");
  salvage
      ->add_option("log", a.url,
                   "the repaired file log: file:<dir>, its directory, or one of its *.cut files")
      ->required();
  salvage->add_option("--append-to", a.target,
                      "append the intact records again to this store, batch by batch (events "
                      "whose ids it holds already are not stored twice)");
  salvage->add_flag("--json", a.json, "print JSON for scripts instead of text");
  salvage->add_option("--schema", a.schema, "PostgreSQL schema of the --append-to store")
      ->capture_default_str();
  salvage->footer("Example:\n  " + p + " salvage file:/var/lib/orders\n  " + p +
                  " salvage file:/var/lib/orders --append-to file:/var/lib/orders --json");

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
      for (auto& s : passwords_in(argv[i])) secrets.push_back(std::move(s));
    complain(a, std::string(e.what()) + " (see " + a.program + " --help)", secrets);
    return bad_input;
  }
  const std::string command = app.get_subcommands().front()->get_name();
  if (command == "events" && a.query.stream.empty() && from->count() == 0) {
    complain(a, "events needs --stream ID or --from POSITION", {});
    return bad_input;
  }
  const bool projection_command =
      command == "rebuild" || command == "replay" || command == "reconcile";
  if (projection_command && !known_projection<Types>(a)) return bad_input;
  if (a.query.follow || command == "replicate") stop_on_signals();
  for (const std::string* arg : {&a.url, &a.target, &a.model, &a.primary})
    for (auto& s : passwords_in(*arg)) secrets.push_back(std::move(s));
  // A topic is read, never written: each command that writes a store refuses one at once.
  const auto is_kafka = [](const std::string& s) { return s.starts_with("kafka://"); };
  if (is_kafka(a.target)) {
    complain(a,
             command + " writes to '" + mask_password(a.target) +
                 "', a Kafka topic: kafka:// URLs are read only (info, events, copy's source)",
             secrets);
    return bad_input;
  }
  if (is_kafka(a.url) && command != "info" && command != "events" && command != "copy") {
    complain(a,
             command + " does not read a Kafka topic ('" + mask_password(a.url) +
                 "'): kafka:// URLs are read by info, events and copy (as its source)",
             secrets);
    return bad_input;
  }
  std::optional<store_url> url, target;
  try {
    // restore's first argument is a path or a URL (find_restore_source), and salvage's; backup's
    // second a path.
    if (command != "restore" && command != "salvage") url = parse_store_url(a.url);
    if (command == "copy" || command == "replicate") target = parse_store_url(a.target);
  } catch (const error& e) {
    complain(a, e.what(), secrets);
    return bad_input;
  }
  try {
    if (url && url->kind == store_kind::kafka) {
#ifdef ANNAL_TOOL_WITH_KAFKA
      return run_kafka(command, a, *url, target, secrets);
#else
      complain(a, "cannot read '" + url->shown + "': this annal was built without kafka", secrets);
      return bad_input;
#endif
    }
    if (command == "copy" || command == "replicate")
      return run_copy(command, a, *url, *target, secrets);
    if (command == "backup") return run_backup(a, *url, secrets);
    if (command == "salvage") return run_salvage(a, secrets);
    if (command == "restore") return run_restore(a);
    if (command == "archive") return run_archive(a, *url);
    if (command == "promote") return run_promote(a, *url, secrets);
    return run<Types>(command, a, *url);
  } catch (const error& e) {
    std::string what = e.what();
    if (e.code() == make_error_code(errc::archived) && a.archive.empty())
      what += " (pass --archive <dir> to read through the archive)";
    complain(a, what, secrets);
    if (e.code() == make_error_code(errc::corrupt_log) ||
        e.code() == make_error_code(errc::decode_error) ||
        e.code() == make_error_code(errc::unknown_event_type))
      return damaged;
    // So are a copy's target with another history than its source (nothing was written), a store
    // or backup directory that another process holds, and positions only an archive holds.
    if (e.code() == make_error_code(errc::invalid_argument) ||
        e.code() == make_error_code(errc::invalid_stream_id) ||
        e.code() == make_error_code(errc::diverged) ||
        e.code() == make_error_code(errc::store_locked) ||
        e.code() == make_error_code(errc::archived))
      return bad_input;
    return failed;
  } catch (const std::exception& e) {
    complain(a, e.what(), secrets);
    return failed;
  }
}

}  // namespace annal::tool::detail
