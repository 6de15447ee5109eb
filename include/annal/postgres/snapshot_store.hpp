// The PostgreSQL snapshot store: snapshots as rows of `<schema>.snapshots`, beside the events.
// Needs the annal::postgres CMake component (libpq).
#pragma once

#include <algorithm>
#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <annal/core/detail/chrono.hpp>
#include <annal/core/error.hpp>
#include <annal/detail/sql/encoding.hpp>
#include <annal/detail/validate.hpp>
#include <annal/postgres/store.hpp>
#include <annal/runtime/log.hpp>
#include <annal/snapshot/snapshot_store.hpp>

namespace annal {

namespace detail::pg {
// Versions and times are bigint in PostgreSQL; bounds past its range mean "no bound".
inline std::int64_t clamp_to_bigint(std::uint64_t v) noexcept {
  return static_cast<std::int64_t>(std::min<std::uint64_t>(
      v, static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())));
}
}  // namespace detail::pg

// Snapshots live in the event store's database and schema (as Marten keeps them beside the
// events), in a table `<schema>.snapshots` keyed by (aggregate_name, stream_id, version): state as
// bytea, the event time in nanoseconds since the epoch, fingerprint (its bit pattern as bigint),
// revision, and the time it was taken. Each save is one transaction under the rules of
// snapshot_store::save.
// Thread-safe: every call borrows a connection from the store's pool.
//   annal::postgres_snapshot_store snapshots{store};
//   snapshots.migrate();
class postgres_snapshot_store {
 public:
  // Over an event store: same server, database, schema and connection pool.
  explicit postgres_snapshot_store(postgres_store& store, snapshot_retention retention = {})
      : store_(&store), retention_(detail::checked(retention)) {}
  // Alone: its own pool on `options.connection`, its table in `options.schema`.
  explicit postgres_snapshot_store(postgres_options options, snapshot_retention retention = {})
      : owned_(std::make_unique<postgres_store>(std::move(options))),
        store_(owned_.get()),
        retention_(detail::checked(retention)) {}
  postgres_snapshot_store(const postgres_snapshot_store&) = delete;
  postgres_snapshot_store& operator=(const postgres_snapshot_store&) = delete;

  // Creates the schema (if needed) and the snapshots table; idempotent. The event store's
  // migrate() does not create it: a deployment without snapshots has no such table. A table from
  // before aggregate names (no aggregate_name column) is dropped and created again: its rows could
  // belong to any aggregate reading their stream, and snapshots are only a cache.
  void migrate() {
    const std::int64_t dropped = store_->transact([&](postgres_transaction& tx) -> std::int64_t {
      tx.exec("SELECT pg_advisory_xact_lock(7061726, hashtext($1))", "snapshots:" + schema_name());
      tx.exec("CREATE SCHEMA IF NOT EXISTS " + tx.schema());
      const postgres_rows columns = tx.exec(
          "SELECT count(*), count(*) FILTER (WHERE column_name = 'aggregate_name')"
          " FROM information_schema.columns WHERE table_schema = $1 AND table_name = 'snapshots'",
          schema_name());
      std::int64_t old_rows = -1;
      if (columns.get_int(0, 0) > 0 && columns.get_int(0, 1) == 0) {
        old_rows = tx.exec("SELECT count(*) FROM " + table(tx)).get_int(0, 0);
        tx.exec("DROP TABLE " + table(tx));
      }
      tx.exec(
          "CREATE TABLE IF NOT EXISTS " + table(tx) +
          " (aggregate_name text NOT NULL CHECK (aggregate_name <> ''), stream_id text NOT NULL,"
          " version bigint NOT NULL CHECK (version > 0),"
          " event_time_ns bigint NOT NULL, fingerprint bigint NOT NULL,"
          " revision bigint NOT NULL, state bytea NOT NULL,"
          " taken_at timestamptz NOT NULL DEFAULT now(),"
          " PRIMARY KEY (aggregate_name, stream_id, version))");
      return old_rows;
    });
    if (dropped >= 0)
      log(log_level::info, "PostgreSQL snapshot store: dropped " + std::to_string(dropped) +
                               " snapshots in " + schema_name() +
                               ".snapshots taken before snapshots named their aggregate;"
                               " states are rebuilt from events and snapshotted again");
  }

  void save(const snapshot_record& r) {
    detail::validate_stream_id(r.stream_id);
    detail::validate_aggregate_name(r.aggregate_name);
    if (r.version == 0 ||
        r.version > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
      throw error(errc::invalid_argument,
                  "snapshot of stream " + detail::quoted_prefix(r.stream_id) + " has version " +
                      std::to_string(r.version) + "; versions run from 1 to 2^63-1");
    const auto time_ns =
        std::chrono::duration_cast<std::chrono::nanoseconds>(r.event_time.time_since_epoch());
    const auto fingerprint = static_cast<std::int64_t>(r.fingerprint);
    const auto version = static_cast<std::int64_t>(r.version);
    const auto keep = static_cast<std::int64_t>(retention_.keep);
    try {
      store_->transact([&](postgres_transaction& tx) {
        const std::string t = table(tx);
        tx.exec("DELETE FROM " + t +
                    " WHERE aggregate_name = $4 AND stream_id = $1 AND (fingerprint <> $2 OR "
                    "revision <> $3)",
                r.stream_id, fingerprint, std::int64_t{r.revision}, r.aggregate_name);
        // An upsert: two processes saving one version at once must not fail on the key.
        tx.exec(
            "INSERT INTO " + t +
                " (aggregate_name, stream_id, version, event_time_ns, fingerprint, revision, state)"
                " VALUES ($7, $1, $2, $3, $4, $5, $6) ON CONFLICT (aggregate_name, stream_id, "
                "version)"
                " DO UPDATE SET event_time_ns = excluded.event_time_ns, fingerprint = "
                "excluded.fingerprint,"
                " revision = excluded.revision, state = excluded.state, taken_at = now()",
            r.stream_id, version, static_cast<std::int64_t>(time_ns.count()), fingerprint,
            std::int64_t{r.revision}, postgres_bytea{r.state}, r.aggregate_name);
        tx.exec("DELETE FROM " + t +
                    " WHERE aggregate_name = $3 AND stream_id = $1 AND version < ALL"
                    " (SELECT version FROM " +
                    t +
                    " WHERE aggregate_name = $3 AND stream_id = $1 ORDER BY version DESC LIMIT $2)",
                r.stream_id, keep, r.aggregate_name);
      });
    } catch (const error& e) {
      throw error(e.code(), "saving the snapshot of aggregate " +
                                detail::quoted_aggregate(r.aggregate_name) + " for stream " +
                                detail::quoted_prefix(r.stream_id) + " at version " +
                                std::to_string(r.version) + ": " + e.what() + migrate_hint(e));
    }
  }

  // A row that cannot be a snapshot (edited by hand: a version below 1, a revision out of range,
  // state not in bytea form) is reported through annal::log and the next older one is used.
  std::optional<snapshot_record> load(std::string_view aggregate_name, std::string_view stream_id,
                                      snapshot_query q = {}) const {
    detail::validate_stream_id(stream_id);
    const std::string id(stream_id), name(aggregate_name);
    const auto max_ns =
        std::chrono::duration_cast<std::chrono::nanoseconds>(q.max_time.time_since_epoch());
    postgres_rows rows;
    try {
      rows = store_->transact([&](postgres_transaction& tx) {
        return tx.exec("SELECT version, event_time_ns, fingerprint, revision, state FROM " +
                           table(tx) +
                           " WHERE aggregate_name = $4 AND stream_id = $1 AND version <= $2"
                           " AND event_time_ns <= $3 ORDER BY version DESC",
                       id, detail::pg::clamp_to_bigint(q.max_version),
                       static_cast<std::int64_t>(max_ns.count()), name);
      });
    } catch (const error& e) {
      throw error(e.code(), "loading the snapshot of aggregate " + detail::quoted_aggregate(name) +
                                " for stream " + detail::quoted_prefix(id) + ": " + e.what() +
                                migrate_hint(e));
    }
    for (int i = 0; i < rows.rows(); ++i) {
      std::string why;
      if (std::optional<snapshot_record> r = decode_row(name, id, rows, i, why)) return r;
      log(log_level::warning, "corrupt snapshot row of stream " + detail::quoted_prefix(id) +
                                  " in " + schema_name() + ".snapshots ignored (" + why + ")");
    }
    return std::nullopt;
  }

  // Every snapshot kept for an aggregate and stream, oldest first: for tests and tools.
  std::vector<snapshot_record> list(std::string_view aggregate_name,
                                    std::string_view stream_id) const {
    return detail::list_by_loading(*this, aggregate_name, stream_id);
  }

  postgres_store& store() const noexcept { return *store_; }

 private:
  static std::string table(const postgres_transaction& tx) { return tx.schema() + ".snapshots"; }
  const std::string& schema_name() const noexcept { return store_->options().schema; }

  // A table from before aggregate names lacks the column (SQLSTATE 42703): its fix is migrate().
  static std::string migrate_hint(const error& e) {
    return std::string_view(e.what()).find("SQLSTATE 42703") == std::string_view::npos
               ? std::string()
               : " (the snapshots table predates aggregate names: call migrate())";
  }

  static std::optional<snapshot_record> decode_row(const std::string& name, const std::string& id,
                                                   const postgres_rows& rows, int i,
                                                   std::string& why) {
    snapshot_record r;
    r.aggregate_name = name;
    r.stream_id = id;
    try {
      const std::int64_t version = rows.get_int(i, 0);
      const std::int64_t revision = rows.get_int(i, 3);
      if (version < 1) {
        why = "version " + std::to_string(version);
        return std::nullopt;
      }
      if (revision < 0 || revision > std::numeric_limits<std::uint32_t>::max()) {
        why = "revision " + std::to_string(revision) + " at version " + std::to_string(version);
        return std::nullopt;
      }
      r.version = static_cast<std::uint64_t>(version);
      r.event_time = time_point(std::chrono::duration_cast<time_point::duration>(
          std::chrono::nanoseconds(rows.get_int(i, 1))));
      r.fingerprint = static_cast<std::uint64_t>(rows.get_int(i, 2));
      r.revision = static_cast<std::uint32_t>(revision);
      std::optional<std::string> state = detail::pg::bytea_bytes(rows.get(i, 4));
      if (!state) {
        why = "state at version " + std::to_string(version) + " is not bytea";
        return std::nullopt;
      }
      r.state = std::move(*state);
    } catch (const error& e) {
      why = e.what();
      return std::nullopt;
    }
    return r;
  }

  std::unique_ptr<postgres_store> owned_;
  postgres_store* store_;
  snapshot_retention retention_;
};

}  // namespace annal
