// Promotion of a standby: the claim a running `replicate` holds on its standby (a marker file
// beside a file log or SQLite store, a session advisory lock in PostgreSQL), found and ended by
// `promote`, which then opens the standby writable and says how far it is behind its primary.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <sys/types.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <optional>
#include <ostream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>

#include <boost/json.hpp>

#include <annal/core/error.hpp>
#include <annal/store/event_store.hpp>
#include <annal/store/replication.hpp>
#include <annal/tool/detail/open_store.hpp>
#include <annal/tool/detail/recovery_commands.hpp>
#include <annal/tool/detail/store_url.hpp>

namespace annal::tool::detail {

// A running process, told apart from a later one that reuses its pid (after it ends, or after a
// reboot): its start time in clock ticks since boot and the boot's id.
struct process_identity {
  long pid = 0;
  std::uint64_t start = 0;
  std::string boot;
  std::string host;
};

namespace promotion {

inline std::string first_line_of(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line;
}

// Field 22 of /proc/<pid>/stat; nullopt when no such process runs.
inline std::optional<std::uint64_t> start_ticks(long pid) {
  const std::string stat = first_line_of("/proc/" + std::to_string(pid) + "/stat");
  // The command name, field 2, is in parentheses and may hold spaces: count after the last ')'.
  const auto close = stat.rfind(')');
  if (close == std::string::npos) return std::nullopt;
  std::istringstream fields(stat.substr(close + 1));
  std::string field;
  for (int n = 3; n <= 22; ++n)
    if (!(fields >> field)) return std::nullopt;
  return std::strtoull(field.c_str(), nullptr, 10);
}

inline std::string host_name() {
  char name[256] = {};
  if (::gethostname(name, sizeof name - 1) != 0) return "unknown";
  return name;
}

inline process_identity this_process() {
  process_identity me;
  me.pid = static_cast<long>(::getpid());
  me.start = start_ticks(me.pid).value_or(0);
  me.boot = first_line_of("/proc/sys/kernel/random/boot_id");
  me.host = host_name();
  return me;
}

enum class liveness { running, ended, elsewhere };

// Whether the process `who` still runs: only a process on this host, since this boot, can be
// looked at; one elsewhere is taken to run.
inline liveness look_at(const process_identity& who) {
  const process_identity me = this_process();
  if (who.host != me.host) return liveness::elsewhere;
  if (!who.boot.empty() && who.boot != me.boot) return liveness::ended;
  const std::optional<std::uint64_t> start = start_ticks(who.pid);
  return start && *start == who.start ? liveness::running : liveness::ended;
}

inline std::string describe(const process_identity& who) {
  return "pid " + std::to_string(who.pid) + " on host " + who.host;
}

}  // namespace promotion

// What a replicate's marker says: who writes the standby, from where, since when.
struct replication_marker {
  process_identity by;
  std::string primary;  // the primary's URL, any password masked
  std::string since;    // UTC, ISO 8601
};

// Where a replicate into `standby` leaves its marker: in a file log's directory, beside a SQLite
// file (as SQLite's own -wal and -shm); empty for PostgreSQL, where the claim is a lock.
inline std::filesystem::path marker_path(const store_url& standby) {
  if (standby.kind == store_kind::file)
    return std::filesystem::path(standby.location) / "REPLICATING";
  if (standby.kind == store_kind::sqlite)
    return std::filesystem::path(standby.location + "-replicating");
  return {};
}

inline std::string marker_text(const replication_marker& m) {
  return "annal replicate\npid " + std::to_string(m.by.pid) + "\nstart " +
         std::to_string(m.by.start) + "\nboot " + m.by.boot + "\nhost " + m.by.host + "\nprimary " +
         m.primary + "\nsince " + m.since + "\n";
}

// The marker at `path`, if there is one. One that is not a marker is refused, naming the file: it
// is not the tool's to remove.
inline std::optional<replication_marker> read_marker(const std::filesystem::path& path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  std::string line;
  std::getline(in, line);
  if (line != "annal replicate")
    throw error(errc::invalid_argument,
                path.string() +
                    " is not a replicate marker (it should start with 'annal replicate'): "
                    "remove or rename it");
  replication_marker m;
  while (std::getline(in, line)) {
    const auto space = line.find(' ');
    if (space == std::string::npos) continue;
    const std::string key = line.substr(0, space), value = line.substr(space + 1);
    if (key == "pid") m.by.pid = std::strtol(value.c_str(), nullptr, 10);
    if (key == "start") m.by.start = std::strtoull(value.c_str(), nullptr, 10);
    if (key == "boot") m.by.boot = value;
    if (key == "host") m.by.host = value;
    if (key == "primary") m.primary = value;
    if (key == "since") m.since = value;
  }
  if (m.by.pid <= 0 || m.by.host.empty())
    throw error(errc::invalid_argument, path.string() +
                                            " names no process (no pid or host line): remove it "
                                            "if no replicate runs into this standby");
  return m;
}

inline std::string now_text() {
  const auto t = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm utc{};
  ::gmtime_r(&t, &utc);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &utc);
  return buf;
}

// `about` says how the claim was found: the marker's file, or the lock; `advice`, what to do.
inline error held_by(
    const std::string& standby, const process_identity& who, const std::string& about,
    const std::string& advice = "one replicate per standby; stop it first, or run promote") {
  return error(errc::store_locked, "'" + standby + "' is the standby of a replicate running as " +
                                       promotion::describe(who) + " (" + about + "): " + advice);
}

inline std::string marker_about(const replication_marker& m, const std::filesystem::path& path) {
  return "since " + m.since + ", from " + m.primary + ", says " + path.string();
}

// A replicate's claim on its standby, held while it runs and given up when it ends (a process
// killed leaves its marker, which names a process that no longer runs and is taken over).
class standby_claim {
 public:
  standby_claim() = default;
  standby_claim(const standby_claim&) = delete;
  standby_claim& operator=(const standby_claim&) = delete;
  standby_claim(standby_claim&& o) noexcept
      : marker_(std::exchange(o.marker_, {}))
#ifdef ANNAL_TOOL_WITH_POSTGRES
        ,
        lock_(std::move(o.lock_))
#endif
  {
  }
  ~standby_claim() {
    std::error_code ec;
    if (!marker_.empty()) std::filesystem::remove(marker_, ec);
  }

  // Refuses a standby another replicate writes; run before the standby is opened, so that the
  // holder is named rather than a busy lock.
  static void check_free(const store_url& standby) {
    const std::filesystem::path path = marker_path(standby);
    if (path.empty()) return;
    if (const auto m = read_marker(path)) {
      const promotion::liveness l = promotion::look_at(m->by);
      if (l == promotion::liveness::running)
        throw held_by(standby.shown, m->by, marker_about(*m, path));
      if (l == promotion::liveness::elsewhere)
        throw held_by(standby.shown, m->by,
                      marker_about(*m, path) + "; if it no longer runs there, remove that file");
    }
  }

  // Takes the claim on `standby` for this process; `primary` is what the marker says it copies.
  static standby_claim take(const store_url& standby, [[maybe_unused]] const std::string& schema,
                            const std::string& primary) {
    standby_claim claim;
    if (standby.kind == store_kind::postgres) {
#ifdef ANNAL_TOOL_WITH_POSTGRES
      claim.lock_ = lock_postgres(standby, schema);
#endif
      return claim;
    }
    const std::filesystem::path path = marker_path(standby);
    replication_marker m{promotion::this_process(), primary, now_text()};
    const std::string text = marker_text(m);
    for (int attempt = 0;; ++attempt) {
      const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
      if (fd >= 0) {
        const bool whole =
            ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
        ::close(fd);
        if (!whole) {
          std::filesystem::remove(path);
          throw error(errc::io_error, "writing " + path.string() + " failed");
        }
        claim.marker_ = path;
        return claim;
      }
      if (errno != EEXIST || attempt == 1)
        throw error(errc::io_error, "cannot create " + path.string() + ": " + std::strerror(errno));
      // A marker left by a replicate that no longer runs is taken over; a live one is refused.
      check_free(standby);
      std::error_code ec;
      std::filesystem::remove(path, ec);
    }
  }

 private:
#ifdef ANNAL_TOOL_WITH_POSTGRES
  static impl::pg_connection lock_postgres(const store_url& standby, const std::string& schema);
#endif

  std::filesystem::path marker_;
#ifdef ANNAL_TOOL_WITH_POSTGRES
  impl::pg_connection lock_{nullptr, &PQfinish};
#endif
};

#ifdef ANNAL_TOOL_WITH_POSTGRES
namespace promotion {

// The advisory lock a replicate into a PostgreSQL schema holds in a session of its own, which the
// server gives up when that session ends, however the process ended. The session's
// application_name names the process: "annal replicate <pid> <start> <host>".
inline const char* lock_key_sql = "7061726, hashtext('annal replicate ' || $1)";

inline std::string application_name(const process_identity& p) {
  std::string name =
      "annal replicate " + std::to_string(p.pid) + " " + std::to_string(p.start) + " " + p.host;
  return name.substr(0, 63);  // what PostgreSQL keeps of it (NAMEDATALEN - 1)
}

// The process holding the lock on `schema`'s standby, if any.
inline std::optional<process_identity> postgres_holder(PGconn* conn, const store_url& url,
                                                       const std::string& schema) {
  const auto rows = impl::query_postgres(
      conn, url, "looking for a replicate into schema '" + schema + "'",
      std::string("SELECT a.application_name FROM pg_catalog.pg_locks l JOIN "
                  "pg_catalog.pg_stat_activity a ON a.pid = l.pid WHERE l.locktype = "
                  "'advisory' AND l.granted AND l.objsubid = 2 AND l.classid = 7061726 AND "
                  "l.objid::bigint = (hashtext('annal replicate ' || $1)::bigint & 4294967295) "
                  "AND l.database = (SELECT oid FROM pg_catalog.pg_database WHERE datname = "
                  "current_database())"),
      {schema.c_str()});
  if (PQntuples(rows.get()) == 0) return std::nullopt;
  std::istringstream name(PQgetvalue(rows.get(), 0, 0));
  std::string annal, replicate;
  process_identity who;
  name >> annal >> replicate >> who.pid >> who.start >> who.host;
  if (annal != "annal" || replicate != "replicate" || who.pid <= 0)
    who.host = "(a session named '" + std::string(PQgetvalue(rows.get(), 0, 0)) + "')";
  return who;
}

}  // namespace promotion

inline impl::pg_connection standby_claim::lock_postgres(const store_url& standby,
                                                        const std::string& schema) {
  impl::pg_connection conn = impl::connect_postgres(standby);
  const process_identity me = promotion::this_process();
  const std::string app = promotion::application_name(me);
  impl::query_postgres(conn.get(), standby, "naming the replicate's session",
                       "SELECT set_config('application_name', $1, false)", {app.c_str()});
  const auto got = impl::query_postgres(
      conn.get(), standby, "locking schema '" + schema + "' for a replicate",
      std::string("SELECT pg_try_advisory_lock(") + promotion::lock_key_sql + ")",
      {schema.c_str()});
  if (std::string_view(PQgetvalue(got.get(), 0, 0)) != "t") {
    const auto who = promotion::postgres_holder(conn.get(), standby, schema);
    throw held_by(standby.shown, who.value_or(process_identity{0, 0, {}, "(ended just now)"}),
                  "it holds the replicate lock on schema '" + schema + "'");
  }
  return conn;
}
#endif

// ---- promote -----------------------------------------------------------------------------------

// The replicate promote found writing the standby, and what became of it.
struct stopped_replicate {
  process_identity who;
  bool was_running = true;  // false: its marker named a process that had ended; it was removed
};

namespace promotion {

// Sends SIGTERM to `who`, a replicate on this host, and waits up to `wait` until `released()`
// says its claim is given up (it looks at the signal between batches, so every append is whole).
template <class Released>
void stop_and_wait(const std::string& standby, const process_identity& who,
                   std::chrono::seconds wait, Released released) {
  if (::kill(static_cast<pid_t>(who.pid), SIGTERM) != 0 && errno != ESRCH)
    throw error(errc::invalid_argument, "cannot stop the replicate into '" + standby + "' (" +
                                            describe(who) + "): " + std::strerror(errno));
  const auto deadline = std::chrono::steady_clock::now() + wait;
  while (!released()) {
    if (std::chrono::steady_clock::now() > deadline)
      throw std::runtime_error("the replicate into '" + standby + "' (" + describe(who) +
                               ") did not stop within " + std::to_string(wait.count()) +
                               " s of SIGTERM; nothing was promoted");
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

}  // namespace promotion

// Finds the replicate writing `standby` and ends it. One on another host is refused, named: the
// tool cannot signal it there.
inline std::optional<stopped_replicate> stop_replicate(const store_url& standby,
                                                       [[maybe_unused]] const std::string& schema,
                                                       std::chrono::seconds wait) {
  namespace pr = promotion;
  if (standby.kind == store_kind::postgres) {
#ifdef ANNAL_TOOL_WITH_POSTGRES
    const impl::pg_connection conn = impl::connect_postgres(standby);
    const auto holder = [&] { return pr::postgres_holder(conn.get(), standby, schema); };
    const std::optional<process_identity> who = holder();
    if (!who) return std::nullopt;
    if (pr::look_at(*who) != pr::liveness::running)
      throw held_by(standby.shown, *who,
                    "it holds the replicate lock on schema '" + schema + "' from another host",
                    "nothing was promoted; stop it there (SIGTERM), then run promote again");
    pr::stop_and_wait(standby.shown, *who, wait, [&] { return !holder(); });
    return stopped_replicate{*who, true};
#endif
  }
  const std::filesystem::path path = marker_path(standby);
  const std::optional<replication_marker> m = path.empty() ? std::nullopt : read_marker(path);
  if (!m) return std::nullopt;
  std::error_code ec;
  switch (pr::look_at(m->by)) {
    case pr::liveness::elsewhere:
      throw held_by(standby.shown, m->by, marker_about(*m, path),
                    "nothing was promoted; stop it there (SIGTERM), or remove that file if it no "
                    "longer runs, then run promote again");
    case pr::liveness::ended:
      std::filesystem::remove(path, ec);
      return stopped_replicate{m->by, false};
    case pr::liveness::running:
      break;
  }
  pr::stop_and_wait(standby.shown, m->by, wait, [&] {
    // Gone with its marker, or killed without removing it.
    return !std::filesystem::exists(path, ec) || pr::look_at(m->by) != pr::liveness::running;
  });
  std::filesystem::remove(path, ec);
  return stopped_replicate{m->by, true};
}

struct promote_report {
  std::string standby;
  std::uint64_t position = 0;  // the standby's last position, where it goes on as a primary
  std::optional<stopped_replicate> stopped;
  std::string primary;        // empty: not asked for
  std::string primary_error;  // the primary could not be read: why
  replication_lag lag;
  std::string mismatch;  // the standby's history is not the primary's: where
};

inline void print_promote(const promote_report& r, bool json, std::ostream& out) {
  const bool primary_read = !r.primary.empty() && r.primary_error.empty();
  if (json) {
    boost::json::object o;
    o["standby"] = r.standby;
    o["position"] = r.position;
    if (r.stopped) {
      boost::json::object s;
      s["pid"] = r.stopped->who.pid;
      s["host"] = r.stopped->who.host;
      s["was_running"] = r.stopped->was_running;
      o["stopped_replicate"] = s;
    } else {
      o["stopped_replicate"] = nullptr;
    }
    o["primary"] = r.primary.empty() ? boost::json::value(nullptr) : boost::json::value(r.primary);
    o["primary_error"] =
        r.primary_error.empty() ? boost::json::value(nullptr) : boost::json::value(r.primary_error);
    if (primary_read) {
      o["primary_position"] = r.lag.primary_position;
      o["positions_behind"] = r.lag.positions_behind;
      o["seconds_behind"] = std::chrono::duration<double>(r.lag.time_behind).count();
      o["history_matches"] = r.mismatch.empty();
    }
    out << boost::json::serialize(o) << '\n';
    return;
  }
  out << "promoted " << r.standby << " at position " << r.position
      << ": it takes appends of its own now\n";
  if (r.stopped)
    out << (r.stopped->was_running
                ? "stopped the replicate into it (" + promotion::describe(r.stopped->who) + ")"
                : "removed the marker of a replicate that no longer runs (" +
                      promotion::describe(r.stopped->who) + ")")
        << '\n';
  if (r.primary.empty()) return;
  if (!r.primary_error.empty()) {
    out << "primary " << r.primary << " not read (" << r.primary_error
        << "): what the standby lacks is unknown\n";
    return;
  }
  if (!r.mismatch.empty()) {
    out << "MISMATCH: " << r.mismatch << '\n';
    return;
  }
  out << "primary " << r.primary << " at position " << r.lag.primary_position << ": "
      << (r.lag.caught_up() ? std::string("the standby holds all of it")
                            : "the standby lacks " + std::to_string(r.lag.positions_behind) +
                                  (r.lag.positions_behind == 1 ? " position, " : " positions, ") +
                                  seconds_text(r.lag.time_behind) + " of its history")
      << '\n';
}

// How the promoted standby stands against its primary: what it lacks, and whether what it holds is
// the primary's (the same event at its last position).
template <event_store Primary, event_store Standby>
void compare_with_primary(const Primary& primary, const Standby& standby, promote_report& r) {
  r.lag.standby_position = r.position;
  r.lag.primary_position = primary.last_position();
  if (r.position > r.lag.primary_position) {
    r.mismatch = "the standby holds positions up to " + std::to_string(r.position) +
                 ", the primary only up to " + std::to_string(r.lag.primary_position) +
                 ": it is not this primary's standby, or the primary lost events";
    return;
  }
  r.lag.positions_behind = r.lag.primary_position - r.position;
  const auto held = annal::detail::event_at(standby, r.position);
  if (r.position != 0) {
    const auto theirs = annal::detail::event_at(primary, r.position);
    if (!held || !theirs || held->id != theirs->id || held->stream_id != theirs->stream_id ||
        held->stream_version != theirs->stream_version) {
      r.mismatch = "the standby's event at position " + std::to_string(r.position) + " is " +
                   (held ? annal::detail::describe_stored(*held) : std::string("missing")) +
                   ", the primary's " +
                   (theirs ? annal::detail::describe_stored(*theirs) : std::string("missing")) +
                   ": the standby holds another history";
      return;
    }
  }
  if (r.lag.positions_behind != 0) {
    const auto newest = annal::detail::event_at(primary, r.lag.primary_position);
    if (newest)
      r.lag.time_behind = std::chrono::duration_cast<std::chrono::nanoseconds>(
          newest->recorded_at - (held ? held->recorded_at : newest->recorded_at));
  }
}

}  // namespace annal::tool::detail
