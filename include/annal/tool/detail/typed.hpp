// What the typed tool (<annal/tool.hpp>) adds to the generic one: decoding and upcasting the user's
// events for `events` and `verify`, and running the user's projections by name (rebuild, replay,
// reconcile with a file or PostgreSQL read model). The generic tool instantiates none of it
// (no_types).
#pragma once

#include <array>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <ostream>
#include <set>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include <boost/json.hpp>

#include <annal/codec/binary.hpp>
#include <annal/codec/detail/reflect.hpp>
#include <annal/codec/json.hpp>
#include <annal/codec/registry.hpp>
#include <annal/core/error.hpp>
#include <annal/core/event.hpp>
#include <annal/core/event_list.hpp>
#include <annal/file/read_model.hpp>
#include <annal/projection/projection.hpp>
#include <annal/projection/rebuild.hpp>
#include <annal/projection/reconcile.hpp>
#include <annal/store/event_store.hpp>
#include <annal/tool/detail/commands.hpp>
#include <annal/tool/detail/open_store.hpp>
#include <annal/tool/detail/recovery_commands.hpp>
#include <annal/tool/detail/store_url.hpp>

#ifdef ANNAL_TOOL_WITH_POSTGRES
#include <annal/postgres/read_model.hpp>
#include <annal/postgres/store.hpp>
#endif

namespace annal::tool {

// The name `rebuild <name>` finds projection P by: P::tool_name when P declares one
// (`static constexpr std::string_view tool_name = "balances";`), else P's unqualified type name.
// Specialize it to name a projection whose type you cannot change.
template <class P>
struct projection_name;

}  // namespace annal::tool

namespace annal::tool::detail {

// "bank::balances" as the compiler spells T in this function's signature.
template <class T>
constexpr std::string_view spelled_type_name() {
  const std::string_view f = __PRETTY_FUNCTION__;
  // g++: "... [with T = bank::balances; std::string_view = ...]"; clang: "... [T = bank::balances]"
  const std::size_t from = f.find("T = ") + 4;
  const std::size_t to = f.find_first_of(";]", from);
  return f.substr(from, to - from);
}

// The type's name without its namespaces: "balances".
template <class T>
constexpr std::string_view unqualified_type_name() {
  const std::string_view full = spelled_type_name<T>();
  const std::size_t template_at = full.find('<');
  const std::size_t colon = full.substr(0, template_at).rfind("::");
  return colon == std::string_view::npos ? full : full.substr(colon + 2);
}

template <class P>
concept names_itself = requires {
  { P::tool_name } -> std::convertible_to<std::string_view>;
};

}  // namespace annal::tool::detail

namespace annal::tool {

template <class P>
struct projection_name {
  static constexpr std::string_view value = [] {
    if constexpr (detail::names_itself<P>)
      return std::string_view(P::tool_name);
    else
      return detail::unqualified_type_name<P>();
  }();
};

}  // namespace annal::tool

namespace annal::tool::detail {

// The generic tool: no event types, no projections.
struct no_types {
  static constexpr bool typed = false;
};

// The user's events and projections, as <annal/tool.hpp> is given them.
template <class Events, class... Projections>
struct tool_types {
  static_assert(event_list<Events>,
                "annal::tool::main<Events, Projections...>: Events must be annal::events<...>");
  static_assert((check_projection<Projections>() && ...));
  static constexpr bool typed = true;
  using events = Events;
  static constexpr std::size_t projection_count = sizeof...(Projections);
  static constexpr std::array<std::string_view, sizeof...(Projections)> projection_names{
      projection_name<Projections>::value...};

  // f(std::type_identity<P>{}) for the projection named `name`; false when none is.
  template <class F>
  static bool with_projection(std::string_view name, F&& f) {
    return ((projection_name<Projections>::value == name
                 ? (f(std::type_identity<Projections>{}), true)
                 : false) ||
            ...);
  }
};

// The codec stored payloads are read with: `--codec binary|json`, or found by looking at the store.
enum class payload_codec { binary, json };

// --codec auto: json when the first event of a listed type among the store's first events holds a
// JSON object, else binary (annal's default codec). A store is written through one codec.
template <class Types, event_store Store>
payload_codec detect_codec(const Store& store, std::uint64_t from) {
  using registry = event_registry<typename Types::events, binary_codec>;
  static constexpr std::size_t looked_at = 4096;
  payload_codec found = payload_codec::binary;
  bool decided = false;
  boost::json::basic_parser<impl::json_checker> checker({});
  const auto is_json = [&](std::string_view payload) {
    checker.reset();
    boost::json::error_code ec;
    return checker.write_some(false, payload.data(), payload.size(), ec) == payload.size() && !ec;
  };
  read_all_events(
      store, from,
      [&](const auto& e) {
        if (decided || !registry::knows_name(e.type)) return;
        decided = true;
        if (!e.payload.empty() && e.payload.front() == '{' && is_json(e.payload))
          found = payload_codec::json;
      },
      looked_at);
  return found;
}

inline payload_codec parse_codec(std::string_view text) {
  return text == "json" ? payload_codec::json : payload_codec::binary;
}

// "position 12 (stream 'account-1' version 3, event type 'bank.deposited' v1)": where a decode
// failed, for messages.
template <class Event>
std::string event_identity(const Event& e) {
  return "position " + std::to_string(e.position) + " (stream '" + std::string(e.stream_id) +
         "' version " + std::to_string(e.stream_version) + ", event type '" + std::string(e.type) +
         "' v" + std::to_string(e.schema_version) + ")";
}

// Decodes one stored event through the list's registry (upcasting it) and calls
// on_event(const E&) for each current event it becomes. Returns false for a type the list does not
// know by name; throws errc::decode_error (bad bytes) or errc::unknown_event_type (a listed type at
// a version this build cannot read), naming the event.
template <class Events, class Event, class F>
bool decode_listed(const Event& e, payload_codec codec, F&& on_event) {
  const auto decode = [&]<class Codec>(std::type_identity<Codec>) {
    using registry = event_registry<Events, Codec>;
    bool known = false;
    try {
      known = registry::decode(e.type, e.schema_version, e.payload, on_event);
    } catch (const error& failure) {
      if (failure.code() != make_error_code(errc::decode_error)) throw;
      throw error(errc::decode_error, event_identity(e) + " does not decode as " +
                                          std::string(Codec::name) + ": " + failure.what());
    }
    if (!known && registry::knows_name(e.type))
      throw error(errc::unknown_event_type,
                  event_identity(e) + ": this tool lists the event type but reads only schema " +
                      "version(s) " + registry::versions_of(e.type) +
                      "; rebuild the tool with the program that wrote it");
    return known;
  };
  return codec == payload_codec::json ? decode(std::type_identity<json_codec>{})
                                      : decode(std::type_identity<binary_codec>{});
}

// The typed `events`: a listed event printed as what it decodes to (upcast to the current version,
// fields by name through json_codec); others as the generic tool prints them, flagged.
template <class Events>
struct typed_decoder {
  static constexpr bool decodes = true;
  payload_codec codec = payload_codec::binary;

  // After the time: "bank.deposited v1 {"cents":100}", several joined by " + " for a split.
  template <class Event>
  bool append_text(const Event& e, std::string& line) const {
    bool first = true;
    return decode_listed<Events>(e, codec, [&]<class E>(const E& current) {
      if (!first) line += " + ";
      first = false;
      if (event_name_of<E> != std::string_view(e.type) || event_version_of<E> != e.schema_version) {
        line += "-> ";
        line += event_name_of<E>;
        line += " v";
        line += std::to_string(event_version_of<E>);
        line += ' ';
      }
      json_codec::encode(current, line);
    });
  }

  // ,"decoded":[{"type":"bank.deposited","schema_version":1,"data":{"cents":100}}]: an array, as
  // an upcast may split a stored event into several (or retire it into none).
  template <class Event>
  bool append_json(const Event& e, std::string& line) const {
    const std::size_t at = line.size();
    line += ",\"decoded\":[";
    bool first = true;
    const bool listed = decode_listed<Events>(e, codec, [&]<class E>(const E& current) {
      if (!first) line += ',';
      first = false;
      line += "{\"type\":";
      impl::append_json_string(line, event_name_of<E>);
      line += ",\"schema_version\":";
      impl::append_uint(line, event_version_of<E>);
      line += ",\"data\":";
      json_codec::encode(current, line);
      line += '}';
    });
    if (!listed) {
      line.resize(at);
      return false;
    }
    line += ']';
    return true;
  }
};

// The typed `verify`: every listed event decoded and upcast; each failure is a problem.
template <class Events>
struct decode_check {
  payload_codec codec = payload_codec::binary;
  template <class Event>
  void operator()(const Event& e, verify_report& r) const {
    try {
      decode_listed<Events>(e, codec, [](const auto&) {});
    } catch (const error& failure) {
      if (failure.code() != make_error_code(errc::decode_error) &&
          failure.code() != make_error_code(errc::unknown_event_type))
        throw;
      r.add(failure.what());
    }
  }
};

// ---- rebuild, replay, reconcile ----------------------------------------------------------------

struct projection_run {
  std::string projection;
  std::uint64_t checkpoint = 0;
  std::uint64_t events = 0;
  std::chrono::nanoseconds elapsed{};
  bool has_digest = false;  // the projection is reflected: annal::digest applies
  std::uint64_t digest = 0;
};

inline std::string digest_text(std::uint64_t d) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(d));
  return buf;
}

// Rebuild's progress on stderr: a bar with the ETA on a terminal, plain lines elsewhere.
inline std::function<void(const rebuild_progress&)> rebuild_reporter(progress_line& line,
                                                                     std::string name,
                                                                     bool terminal) {
  return [&line, name = std::move(name), terminal](const rebuild_progress& p) {
    if (p.done) return;
    std::string text = name + ": ";
    if (terminal) {
      constexpr int width = 30;
      const int filled = static_cast<int>(p.fraction() * width);
      text += '[' + std::string(static_cast<std::size_t>(filled), '#') +
              std::string(static_cast<std::size_t>(width - filled), '.') + "] ";
    }
    char rate[64];
    std::snprintf(rate, sizeof rate, "%.0f events/s, ETA %.1f s", p.events_per_second,
                  p.eta.count());
    text += "position " + std::to_string(p.position) + " of " + std::to_string(p.target) + " (" +
            percent(p.position, p.target) + "), " + std::to_string(p.events) + " events, " + rate;
    line.show(text);
  };
}

// Whether P keeps its read model in PostgreSQL tables (annal::postgres_read_model).
template <class P>
constexpr bool keeps_postgres_model() {
#ifdef ANNAL_TOOL_WITH_POSTGRES
  return postgres_read_model_projection<P>;
#else
  return false;
#endif
}

// Replays positions 1..up_to (0: the end) into a fresh P, as annal::rebuild does.
template <class P, event_store Store>
projection_run run_projection(const Store& store, payload_codec codec, std::uint64_t up_to,
                              progress_line& progress, bool terminal) {
  if constexpr (keeps_postgres_model<P>()) {
    (void)store, (void)codec, (void)up_to, (void)progress, (void)terminal;
    throw error(errc::invalid_argument,
                "projection '" + std::string(projection_name<P>::value) +
                    "' keeps its read model in PostgreSQL tables, which a replay in memory cannot "
                    "build: your program rebuilds them (annal::rebuild_and_swap); the tool "
                    "compares them with the log (reconcile --model postgresql://...)");
  } else {
    rebuild_options options;
    options.up_to = up_to;
    // Every batch reports: progress_line keeps to a line a second, and shows a terminal the first.
    options.progress_interval = std::chrono::milliseconds(0);
    options.on_progress =
        rebuild_reporter(progress, std::string(projection_name<P>::value), terminal);
    rebuilt<P> built = codec == payload_codec::json ? rebuild<P, json_codec>(store, options)
                                                    : rebuild<P, binary_codec>(store, options);
    progress.end();
    projection_run r;
    r.projection = std::string(projection_name<P>::value);
    r.checkpoint = built.checkpoint;
    r.events = built.events;
    r.elapsed = built.elapsed;
    if constexpr (annal::detail::reflected<P>) {
      r.has_digest = true;
      r.digest = digest(built.model);
    }
    return r;
  }
}

inline void print_projection_run(const projection_run& r, bool json, std::ostream& out) {
  if (json) {
    boost::json::object o;
    o["projection"] = r.projection;
    o["checkpoint"] = r.checkpoint;
    o["events"] = r.events;
    o["seconds"] = std::chrono::duration<double>(r.elapsed).count();
    o["digest"] = r.has_digest ? boost::json::value(digest_text(r.digest)) : nullptr;
    out << boost::json::serialize(o) << '\n';
    return;
  }
  out << "projection: " << r.projection << '\n'
      << "checkpoint: " << r.checkpoint << '\n'
      << "events:     " << r.events << '\n'
      << "time:       " << seconds_text(r.elapsed) << '\n'
      << "digest:     "
      << (r.has_digest ? digest_text(r.digest)
                       : std::string("none (the projection is not Hana-reflected)"))
      << '\n';
}

// reconcile: the file read model at `model_path` against a replay up to its checkpoint.
template <class P, event_store Store>
reconciliation reconcile_file_model(const Store& store, payload_codec codec,
                                    const std::filesystem::path& model_path) {
  if constexpr (keeps_postgres_model<P>()) {
    throw error(errc::invalid_argument,
                "projection '" + std::string(projection_name<P>::value) +
                    "' keeps its read model in PostgreSQL: pass --model postgresql://... (and "
                    "--model-schema, --model-name where they are not the projection's name), not "
                    "the file '" +
                    model_path.string() + "'");
  } else if constexpr (annal::detail::reflected<P>) {
    std::error_code ec;
    if (!std::filesystem::is_regular_file(model_path, ec))
      throw error(errc::invalid_argument,
                  "read model file '" + model_path.string() + "' does not exist");
    const file_read_model<P> model(model_path);
    return codec == payload_codec::json ? reconcile_with_log<json_codec>(store, model)
                                        : reconcile_with_log<binary_codec>(store, model);
  } else {
    throw error(errc::invalid_argument,
                "projection '" + std::string(projection_name<P>::value) +
                    "' is not Hana-reflected: it has no file read model to reconcile");
  }
}

// reconcile --model: a file_read_model's file, or a postgres_read_model's database by URL with the
// names it was made with.
struct model_settings {
  std::string model;              // --model
  std::string name;               // --model-name; empty: the projection's name
  std::string schema;             // --model-schema; empty: the model's name
  std::string checkpoint_schema;  // --checkpoint-schema; empty: store_schema
  std::string store_schema;       // --schema
};

inline bool is_postgres_url(std::string_view s) {
  return s.starts_with("postgresql://") || s.starts_with("postgres://");
}

// reconcile: P's PostgreSQL read model (its tables in `m.schema`, its checkpoint named `m.name` in
// the annal schema `m.checkpoint_schema`) against a replay up to that checkpoint. Everything it
// needs is looked at first, through a connection of the tool's own: a read command never creates
// a schema, a table or a checkpoint row.
template <class P, event_store Store>
reconciliation reconcile_postgres_model(const Store& events, payload_codec codec,
                                        const model_settings& m) {
  const std::string projection(projection_name<P>::value);
#ifdef ANNAL_TOOL_WITH_POSTGRES
  if constexpr (keeps_postgres_model<P>()) {
    const store_url url = parse_store_url(m.model);
    const std::string name = m.name.empty() ? projection : m.name;
    const std::string schema = m.schema.empty() ? name : m.schema;
    const std::string& checkpoints =
        m.checkpoint_schema.empty() ? m.store_schema : m.checkpoint_schema;
    std::set<std::string> tables;
    {
      const impl::pg_connection conn = impl::connect_postgres(url);
      const auto count = [&](const std::string& sql, std::vector<const char*> params) {
        const impl::pg_result r =
            impl::query_postgres(conn.get(), url, "reading the read model", sql, std::move(params));
        return std::string_view(PQgetvalue(r.get(), 0, 0)) != "0";
      };
      if (!count("SELECT count(*) FROM pg_catalog.pg_tables WHERE schemaname = $1 AND "
                 "tablename = 'checkpoints'",
                 {checkpoints.c_str()}))
        throw error(errc::invalid_argument,
                    "PostgreSQL database at '" + url.shown + "' holds no annal schema '" +
                        checkpoints +
                        "' with a checkpoints table, where the read model's checkpoint is kept "
                        "(--checkpoint-schema, default --schema; a read command never creates "
                        "one)");
      if (!count("SELECT count(*) FROM " + annal::detail::pg::quote_ident(checkpoints) +
                     ".checkpoints WHERE name = $1",
                 {name.c_str()}))
        throw error(errc::invalid_argument,
                    "no checkpoint named '" + name + "' in schema '" + checkpoints + "' at '" +
                        url.shown +
                        "': the read model was never migrated, or has another name "
                        "(--model-name, default the projection's)");
      if (!count("SELECT count(*) FROM pg_catalog.pg_namespace WHERE nspname = $1",
                 {schema.c_str()}))
        throw error(errc::invalid_argument,
                    "PostgreSQL read model schema '" + schema + "' does not exist at '" +
                        url.shown +
                        "' (--model-schema, default the model's name; a read "
                        "command never creates one)");
      const impl::pg_result r = impl::query_postgres(
          conn.get(), url, "reading the read model",
          "SELECT c.relname FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = "
          "c.relnamespace WHERE n.nspname = $1 AND c.relkind IN ('r', 'p')",
          {schema.c_str()});
      for (int i = 0; i < PQntuples(r.get()); ++i) tables.insert(PQgetvalue(r.get(), i, 0));
    }
    postgres_options options;
    options.connection = url.location;
    options.schema = checkpoints;
    options.pool_size = 1;
    options.group_commit = false;
    const auto store = std::make_unique<postgres_store>(options);
    const postgres_read_model<P> model(*store, {.name = name, .schema = schema});
    reconciliation r = codec == payload_codec::json
                           ? annal::reconcile_with_log<json_codec>(events, model)
                           : annal::reconcile_with_log<binary_codec>(events, model);
    // A key without "[row]" names a table; one the projection creates and the schema lacks means
    // the schema is not this model's.
    for (const std::string& key : r.differing_keys)
      if (key.find('[') == std::string::npos && !tables.contains(key))
        throw error(errc::invalid_argument,
                    "PostgreSQL read model schema '" + schema + "' has no table '" + key +
                        "' at '" + url.shown + "', which projection '" + projection +
                        "' creates (its migrate()): is --model-schema right?");
    return r;
  } else {
    (void)events;
    (void)codec;
    throw error(errc::invalid_argument,
                "projection '" + projection +
                    "' keeps no PostgreSQL read model (it does not derive from "
                    "annal::postgres_projection): reconcile its file read model with --model FILE");
  }
#else
  (void)events;
  (void)codec;
  (void)m;
  throw error(errc::invalid_argument, "cannot open '" + mask_password(m.model) +
                                          "': this annal was built without postgres");
#endif
}

// reconcile: the read model --model names, a file or a PostgreSQL database.
template <class P, event_store Store>
reconciliation reconcile_model(const Store& store, payload_codec codec, const model_settings& m) {
  if (is_postgres_url(m.model)) return reconcile_postgres_model<P>(store, codec, m);
  for (const auto& [given, option] :
       {std::pair{&m.name, "--model-name"}, std::pair{&m.schema, "--model-schema"},
        std::pair{&m.checkpoint_schema, "--checkpoint-schema"}})
    if (!given->empty())
      throw error(errc::invalid_argument,
                  std::string(option) + " describes a PostgreSQL read model, and '" + m.model +
                      "' is a file: pass --model postgresql://...");
  return reconcile_file_model<P>(store, codec, m.model);
}

inline void print_reconciliation(std::string_view name, const reconciliation& r, bool json,
                                 std::ostream& out) {
  static constexpr std::size_t max_listed = 100;
  if (json) {
    boost::json::object o;
    o["projection"] = name;
    o["matches"] = r.matches();
    o["checkpoint"] = r.checkpoint;
    o["live_digest"] = digest_text(r.live_digest);
    o["fresh_digest"] = digest_text(r.fresh_digest);
    boost::json::array keys;
    for (const auto& k : r.differing_keys) keys.emplace_back(k);
    o["differing_keys"] = std::move(keys);
    out << boost::json::serialize(o) << '\n';
    return;
  }
  for (std::size_t i = 0; i < r.differing_keys.size() && i < max_listed; ++i)
    out << "differs: " << r.differing_keys[i] << '\n';
  if (r.differing_keys.size() > max_listed)
    out << "differs: ... and " << r.differing_keys.size() - max_listed << " more\n";
  out << (r.matches() ? "matches: " : "DIFFERS: ") << name << " at checkpoint " << r.checkpoint
      << ", read model digest " << digest_text(r.live_digest) << ", replay digest "
      << digest_text(r.fresh_digest) << '\n';
}

}  // namespace annal::tool::detail
