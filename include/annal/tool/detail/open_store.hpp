// Opening the store a URL names: for reading only and never creating anything (every read command),
// or for writing, created when missing (copy, replicate); and what the tool can say about it
// besides its events (size, format, durability).
#pragma once

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <annal/core/error.hpp>
#include <annal/file/log.hpp>

#include <annal/tool/detail/store_url.hpp>

#ifdef ANNAL_TOOL_WITH_SQLITE
#include <sqlite3.h>

#include <annal/sqlite/store.hpp>
#endif
#ifdef ANNAL_TOOL_WITH_POSTGRES
#include <libpq-fe.h>

#include <annal/postgres/store.hpp>
#endif

namespace annal::tool::detail {

// What a store says about itself besides its events; empty where the store does not know.
struct store_facts {
  store_kind kind = store_kind::file;
  std::string url;     // password masked
  std::string access;  // how the tool opened it
  std::optional<std::uint64_t> size_bytes;
  std::string size_detail;  // what the size counts
  std::optional<std::uint32_t> format_version;
  std::string format;
  std::string durability;
  // A file log whose oldest events were archived (file/archive.hpp): positions 1..horizon are in
  // the archive directory only.
  std::uint64_t archive_horizon = 0;
  std::string archive_path;
};

// The stores this build reads. A backend built without leaves its alternative out.
using any_store = std::variant<std::unique_ptr<file_log>
#ifdef ANNAL_TOOL_WITH_SQLITE
                               ,
                               std::unique_ptr<sqlite_store>
#endif
#ifdef ANNAL_TOOL_WITH_POSTGRES
                               ,
                               std::unique_ptr<postgres_store>
#endif
                               >;

struct opened_store {
  any_store store;
  store_facts facts;
  bool created = false;  // a writable open made a new store
};

struct open_settings {
  bool verify = false;  // check every record at open and on every read (file log)
  std::string postgres_schema = "annal";
  // Open for appending, creating the store when there is none (a file log's directory, a SQLite
  // file, a PostgreSQL schema). A store that exists must be annal's: nothing else is written to.
  bool writable = false;
  durability sync = durability::durable;  // a writable file log's or SQLite file's
  // How a new PostgreSQL schema stores payloads: bytea keeps any payload byte for byte, as a copy
  // must (json and jsonb refuse binary payloads such as a tombstone's; jsonb reformats JSON).
  std::string new_payload_format = "bytea";
};

namespace impl {

[[noreturn]] inline void bad_input(const std::string& what) {
  throw error(errc::invalid_argument, what);
}

[[noreturn]] inline void built_without(const store_url& url, std::string_view component) {
  bad_input("cannot open '" + url.shown + "': this annal was built without " +
            std::string(component));
}

// Whether `dir` holds a file log segment ("00000001.log", "00000002.log"...).
inline bool is_segment_name(const std::string& name) {
  return name.size() == 12 && name.ends_with(".log") && name.find_first_not_of("0123456789") == 8;
}

// A file log to append to: an existing log, or a new one in a missing or empty directory.
inline opened_store open_file_log_for_writing(const store_url& url, const open_settings& settings) {
  namespace fs = std::filesystem;
  const fs::path dir = url.location;
  std::error_code ec;
  const bool exists = fs::exists(dir, ec);
  if (exists && !fs::is_directory(dir, ec))
    bad_input("'" + dir.string() + "' is not a directory: a file log is a directory");
  bool log = false, empty = true;
  if (exists)
    for (const auto& entry : fs::directory_iterator(dir, ec)) {
      empty = false;
      log = log || is_segment_name(entry.path().filename().string());
    }
  if (!empty && !log)
    bad_input("'" + dir.string() +
              "' is not empty and holds no file log (no segment file such as 00000001.log): "
              "write into a new or empty directory, or a file log");
  store_facts facts;
  facts.kind = store_kind::file;
  facts.url = url.shown;
  facts.access = "writable open";
  file_log_options options;
  options.sync = settings.sync;
  return {std::make_unique<file_log>(dir, options), std::move(facts), empty};
}

inline opened_store open_file_log(const store_url& url, const open_settings& settings) {
  namespace fs = std::filesystem;
  if (settings.writable) return open_file_log_for_writing(url, settings);
  const fs::path dir = url.location;
  std::error_code ec;
  if (!fs::is_directory(dir, ec))
    bad_input("file log directory '" + dir.string() +
              "' does not exist (a read command never creates one)");
  store_facts facts;
  facts.kind = store_kind::file;
  facts.url = url.shown;
  facts.access = "read-only open, beside any running writer";
  facts.durability = "not recorded in the log (each writer's file_log_options::sync)";
  std::uint64_t bytes = 0;
  std::uint32_t segments = 0;
  std::string first_segment;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    if (!entry.is_regular_file(ec)) continue;
    bytes += entry.file_size(ec);
    const std::string name = entry.path().filename().string();
    if (is_segment_name(name)) {
      ++segments;
      if (first_segment.empty() || name < first_segment) first_segment = name;
    }
  }
  if (segments == 0)
    bad_input("'" + dir.string() + "' holds no file log (no segment file such as 00000001.log)");
  facts.size_bytes = bytes;
  facts.size_detail = "every file in the directory: " + std::to_string(segments) +
                      (segments == 1 ? " segment" : " segments") + " with index and state files";
  // A segment starts with "ANNALLOG" and its format version (32 bits, little-endian).
  unsigned char header[12] = {};
  std::ifstream in(dir / first_segment, std::ios::binary);
  if (in.read(reinterpret_cast<char*>(header), sizeof header) &&
      std::memcmp(header, "ANNALLOG", 8) == 0) {
    facts.format_version = static_cast<std::uint32_t>(header[8]) | header[9] << 8 |
                           header[10] << 16 | static_cast<std::uint32_t>(header[11]) << 24;
    facts.format = "file log segment format " + std::to_string(*facts.format_version);
  }
  file_log_options options;
  options.read_only = true;
  options.create_if_missing = false;
  options.verify_reads = true;
  options.verify_on_open = settings.verify;
  auto log = std::make_unique<file_log>(dir, options);
  facts.archive_horizon = log->archive_horizon();
  if (facts.archive_horizon != 0) facts.archive_path = log->archive_directory().string();
  return {std::move(log), std::move(facts)};
}

#ifdef ANNAL_TOOL_WITH_SQLITE
// Looks at the file through a read-only connection before sqlite_store opens it: sqlite_store
// creates its table in a file without one, and a read command must never write.
// A writable open creates a missing file (in a directory that exists).
inline opened_store open_sqlite(const store_url& url, const open_settings& settings) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (settings.writable && !fs::exists(url.location, ec)) {
    const fs::path parent = fs::path(url.location).parent_path();
    if (!parent.empty() && !fs::is_directory(parent, ec))
      bad_input("cannot create SQLite store '" + url.location + "': directory '" + parent.string() +
                "' does not exist");
    store_facts facts;
    facts.kind = store_kind::sqlite;
    facts.url = url.shown;
    facts.access = "writable open of a new file";
    sqlite_options options;
    options.sync = settings.sync;
    options.pool_size = 1;
    return {std::make_unique<sqlite_store>(url.location, options), std::move(facts), true};
  }
  if (!fs::is_regular_file(url.location, ec))
    bad_input("SQLite store '" + url.location +
              "' does not exist (a read command never creates one)");
  sqlite3* db = nullptr;
  const int rc = sqlite3_open_v2(url.location.c_str(), &db, SQLITE_OPEN_READONLY, nullptr);
  const std::unique_ptr<sqlite3, decltype(&sqlite3_close)> owned(db, &sqlite3_close);
  if (rc != SQLITE_OK)
    bad_input("cannot open SQLite store '" + url.location + "': " + sqlite3_errstr(rc));
  const auto query_int = [&](const char* sql) -> std::int64_t {
    sqlite3_stmt* s = nullptr;
    const int prc = sqlite3_prepare_v2(db, sql, -1, &s, nullptr);
    const std::unique_ptr<sqlite3_stmt, decltype(&sqlite3_finalize)> stmt(s, &sqlite3_finalize);
    if (prc != SQLITE_OK)
      bad_input("'" + url.location + "' is not a SQLite database: " + sqlite3_errmsg(db));
    if (sqlite3_step(s) != SQLITE_ROW) return 0;
    return sqlite3_column_int64(s, 0);
  };
  const std::int64_t tables = query_int(
      "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'annal_events'");
  const std::int64_t version = query_int("PRAGMA user_version");
  if (tables == 0 || version == 0)
    bad_input("'" + url.location +
              "' is a SQLite database but not an annal store (no annal_events " + "table)");
  if (version > sqlite_schema_version)
    bad_input("SQLite store '" + url.location + "' has schema version " + std::to_string(version) +
              ", newer than this annal understands (" + std::to_string(sqlite_schema_version) +
              ")");
  store_facts facts;
  facts.kind = store_kind::sqlite;
  facts.url = url.shown;
  facts.access =
      "read-write open (sqlite_store has no read-only mode); the tool never writes to it";
  std::uint64_t bytes = fs::file_size(url.location, ec);
  if (ec) bytes = 0;
  if (const auto wal = fs::file_size(url.location + "-wal", ec); !ec) bytes += wal;
  facts.size_bytes = bytes;
  facts.size_detail = "the database file and its WAL";
  facts.format_version = static_cast<std::uint32_t>(version);
  facts.format = "annal SQLite schema version " + std::to_string(version);
  facts.durability = "not recorded in the file (each writer's sqlite_options::sync)";
  sqlite_options options;
  options.pool_size = 1;
  options.sync = settings.sync;
  // Checkpoints run in commits, and a read command makes none: no background thread copies the
  // WAL.
  options.checkpoint = sqlite_checkpoint::in_commit;
  if (settings.writable) facts.access = "writable open";
  auto store = std::make_unique<sqlite_store>(url.location, options);
  const archive_state archived = store->archived();
  facts.archive_horizon = archived.horizon;
  facts.archive_path = archived.archive;
  return {std::move(store), std::move(facts)};
}
#endif

#ifdef ANNAL_TOOL_WITH_POSTGRES
// A new schema for a writable open, its payloads stored as settings.new_payload_format says.
inline opened_store create_postgres(const store_url& url, const open_settings& settings) {
  postgres_options options;
  options.connection = url.location;
  options.schema = settings.postgres_schema;
  options.pool_size = 1;
  options.group_commit = false;
  const std::string& payload = settings.new_payload_format;
  if (payload == "bytea")
    options.payload_format = postgres_payload_format::bytea;
  else if (payload == "json")
    options.payload_format = postgres_payload_format::json;
  else if (payload == "jsonb")
    options.payload_format = postgres_payload_format::jsonb;
  else
    bad_input("--payload-format '" + payload + "': write bytea, json or jsonb");
  auto store = std::make_unique<postgres_store>(options);
  store->migrate();
  store_facts facts;
  facts.kind = store_kind::postgres;
  facts.url = url.shown;
  facts.access = "writable use of schema '" + options.schema + "', created";
  facts.format = "annal PostgreSQL schema version " + std::to_string(postgres_schema_version) +
                 ", payloads as " + payload;
  return {std::move(store), std::move(facts), true};
}

using pg_connection = std::unique_ptr<PGconn, decltype(&PQfinish)>;
using pg_result = std::unique_ptr<PGresult, decltype(&PQclear)>;

// A connection of the tool's own to look at a database before annal's classes open it. A malformed
// connection string or a server that cannot be reached is bad input, named with `url.shown`.
inline pg_connection connect_postgres(const store_url& url) {
  char* parse_error = nullptr;
  PQconninfoOption* parsed = PQconninfoParse(url.location.c_str(), &parse_error);
  if (!parsed) {
    std::string why = parse_error ? parse_error : "libpq cannot parse it";
    if (parse_error) PQfreemem(parse_error);
    while (!why.empty() && (why.back() == '\n' || why.back() == ' ')) why.pop_back();
    bad_input("malformed PostgreSQL connection string '" + url.shown + "': " + why);
  }
  PQconninfoFree(parsed);
  pg_connection conn(PQconnectdb(url.location.c_str()), &PQfinish);
  if (!conn || PQstatus(conn.get()) != CONNECTION_OK) {
    std::string why = conn ? PQerrorMessage(conn.get()) : "out of memory";
    for (auto& c : why)
      if (c == '\n') c = ' ';
    while (!why.empty() && why.back() == ' ') why.pop_back();
    bad_input("cannot connect to PostgreSQL at '" + url.shown + "': " + why);
  }
  return conn;
}

// One query's rows; errc::io_error naming `what` (and the URL) when it fails.
inline pg_result query_postgres(PGconn* conn, const store_url& url, std::string_view what,
                                const std::string& sql, std::vector<const char*> params = {}) {
  PGresult* r = PQexecParams(conn, sql.c_str(), static_cast<int>(params.size()), nullptr,
                             params.data(), nullptr, nullptr, 0);
  pg_result result(r, &PQclear);
  if (!r || PQresultStatus(r) != PGRES_TUPLES_OK) {
    std::string why = PQerrorMessage(conn);
    while (!why.empty() && (why.back() == '\n' || why.back() == ' ')) why.pop_back();
    throw error(errc::io_error, std::string(what) + " at '" + url.shown + "': " + why);
  }
  return result;
}

// Reads the schema's version and payload format through its own connection first: postgres_store
// needs the payload format to decode rows, and a missing schema must be reported, not created.
inline opened_store open_postgres(const store_url& url, const open_settings& settings) {
  const pg_connection conn = connect_postgres(url);
  const auto query = [&](const std::string& sql, std::vector<const char*> params = {}) {
    return query_postgres(conn.get(), url, "reading annal's schema", sql, std::move(params));
  };
  const std::string& schema = settings.postgres_schema;
  const auto found = query(
      "SELECT count(*) FROM pg_catalog.pg_tables WHERE schemaname = $1 AND tablename = "
      "'schema_info'",
      {schema.c_str()});
  if (std::string_view(PQgetvalue(found.get(), 0, 0)) == "0") {
    if (!settings.writable)
      bad_input("PostgreSQL database at '" + url.shown + "' holds no annal schema '" + schema +
                "' (writers create it with migrate(); a read command never does)");
    return create_postgres(url, settings);
  }
  char* quoted = PQescapeIdentifier(conn.get(), schema.c_str(), schema.size());
  const std::string s = quoted ? quoted : schema;
  if (quoted) PQfreemem(quoted);
  const auto info = query("SELECT version, payload_format FROM " + s + ".schema_info");
  if (PQntuples(info.get()) == 0)
    bad_input("PostgreSQL schema '" + schema + "' at '" + url.shown +
              "' has an empty schema_info table: it was never migrated");
  const int version = std::atoi(PQgetvalue(info.get(), 0, 0));
  const std::string payload = PQgetvalue(info.get(), 0, 1);
  if (version > postgres_schema_version)
    bad_input("PostgreSQL schema '" + schema + "' has annal schema version " +
              std::to_string(version) + ", newer than this annal understands (" +
              std::to_string(postgres_schema_version) + ")");
  postgres_options options;
  options.connection = url.location;
  options.schema = schema;
  options.pool_size = 1;
  options.group_commit = false;
  if (payload == "bytea")
    options.payload_format = postgres_payload_format::bytea;
  else if (payload == "json")
    options.payload_format = postgres_payload_format::json;
  else if (payload == "jsonb")
    options.payload_format = postgres_payload_format::jsonb;
  else
    bad_input("PostgreSQL schema '" + schema + "' stores payloads as '" + payload +
              "', which this annal does not read");

  store_facts facts;
  facts.kind = store_kind::postgres;
  facts.url = url.shown;
  facts.access = settings.writable
                     ? "writable use of schema '" + schema + "'"
                     : "read-only use of schema '" + schema + "' (never migrated by the tool)";
  const auto size = query("SELECT pg_total_relation_size('" + s + ".events')");
  facts.size_bytes = std::strtoull(PQgetvalue(size.get(), 0, 0), nullptr, 10);
  facts.size_detail = "the events table with its indexes";
  facts.format_version = static_cast<std::uint32_t>(version);
  facts.format =
      "annal PostgreSQL schema version " + std::to_string(version) + ", payloads as " + payload;
  const auto sync = query("SHOW synchronous_commit");
  const std::string commit = PQgetvalue(sync.get(), 0, 0);
  facts.durability = "synchronous_commit=" + commit + " (" +
                     (commit == "off" ? "durability::none" : "durability::durable") + ")";
  auto store = std::make_unique<postgres_store>(options);
  if (version >= 6) {  // the version that records an archive
    const archive_state archived = store->archived();
    facts.archive_horizon = archived.horizon;
    facts.archive_path = archived.archive;
  }
  return {std::move(store), std::move(facts)};
}
#endif

}  // namespace impl

// Opens the store `url` names, for reading. Throws errc::invalid_argument when the URL names no
// store this build can open, and whatever the store throws (errc::corrupt_log on damage).
inline opened_store open_store(const store_url& url, const open_settings& settings = {}) {
  switch (url.kind) {
    case store_kind::file:
      return impl::open_file_log(url, settings);
    case store_kind::sqlite:
#ifdef ANNAL_TOOL_WITH_SQLITE
      return impl::open_sqlite(url, settings);
#else
      impl::built_without(url, "sqlite");
#endif
    case store_kind::postgres:
#ifdef ANNAL_TOOL_WITH_POSTGRES
      return impl::open_postgres(url, settings);
#else
      impl::built_without(url, "postgres");
#endif
    case store_kind::kafka:
      // A topic is read through kafka_replay (tool/detail/kafka.hpp), never opened as a store.
      impl::bad_input("'" + url.shown +
                      "' is a Kafka topic: it is read by info, events and copy (as the source), "
                      "and is no store to open");
  }
  impl::bad_input("unknown store kind in '" + url.shown + "'");
}

}  // namespace annal::tool::detail
