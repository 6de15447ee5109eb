// A read model in PostgreSQL tables: the projection's rows and its checkpoint commit in one
// transaction; rebuilt beside itself and swapped in, or reconciled row by row with a replay. Needs
// the annal::postgres CMake component (libpq).
#pragma once

#include <algorithm>
#include <concepts>
#include <cstdint>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <annal/codec/binary.hpp>
#include <annal/core/detail/chrono.hpp>
#include <annal/core/error.hpp>
#include <annal/postgres/store.hpp>
#include <annal/projection/detail/apply.hpp>
#include <annal/projection/projection.hpp>
#include <annal/projection/read_model.hpp>
#include <annal/projection/rebuild.hpp>
#include <annal/projection/reconcile.hpp>
#include <annal/store/event_store.hpp>

namespace annal {

template <class P>
class postgres_read_model;

// The base of a projection whose read model is SQL tables. Its handlers write through sql(), the
// transaction of the batch being applied; it commits with the batch's checkpoint or not at all.
// Unqualified table names resolve in the read model's own schema (its search_path).
class postgres_projection {
 public:
  postgres_transaction& sql() const {
    if (!tx_)
      throw error(
          errc::invalid_argument,
          "annal::postgres_projection::sql() was called outside a batch: a PostgreSQL read model "
          "hands its projection a transaction only while it applies events or migrates "
          "(annal::rebuild<P> cannot build one in memory; use rebuild_and_swap)");
    return *tx_;
  }

 private:
  template <class P>
  friend class postgres_read_model;
  postgres_transaction* tx_ = nullptr;
};

// A projection a postgres_read_model can run: derived from postgres_projection, with a member
// `void migrate(annal::postgres_transaction&)` that creates its tables (idempotently:
// CREATE TABLE IF NOT EXISTS), run by the model's migrate() and in a rebuild's fresh schema.
template <class P>
concept postgres_read_model_projection =
    projection<P> && std::derived_from<P, postgres_projection> &&
    requires(P& p, postgres_transaction& tx) { p.migrate(tx); };

struct postgres_read_model_options {
  std::string name{};    // the projection's name: the key of its checkpoint row
  std::string schema{};  // the PostgreSQL schema of its tables; empty: the name
  // When above zero, the server ends a batch's transaction (and its connection) left idle this
  // long: a process paused or hung in the middle of a batch then no longer holds the checkpoint
  // row's lock, which another instance of the projection waits for (a Kafka group's next owner of
  // the partition). Give it more than the longest pause between a batch's statements.
  std::chrono::milliseconds idle_timeout{0};
};

namespace detail::pg {

// Every table of `schema` as reconciliation entries: "<table>" for its columns and their types,
// and "<table>[<primary key>]" for each row (the key's columns joined by commas; the whole row
// where the table has no primary key), hashed over the row's text. Sorted by key.
inline std::vector<model_entry> schema_entries(postgres_transaction& tx,
                                               const std::string& schema) {
  std::vector<model_entry> out;
  const postgres_rows tables = tx.exec(
      "SELECT c.oid, c.relname FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n "
      "ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relkind IN ('r', 'p')",
      schema);
  for (int t = 0; t < tables.rows(); ++t) {
    const std::string oid(tables.get(t, 0));
    const std::string table(tables.get(t, 1));
    // Columns in order, each with its place in the primary key (0: not in it; indkey counts from
    // 0).
    const postgres_rows columns = tx.exec(
        "SELECT a.attname, format_type(a.atttypid, a.atttypmod), "
        "COALESCE(array_position(i.indkey::int2[], a.attnum) - array_lower(i.indkey::int2[], 1) + "
        "1, "
        "0) "
        "FROM pg_catalog.pg_attribute a LEFT JOIN pg_catalog.pg_index i "
        "ON i.indrelid = a.attrelid AND i.indisprimary "
        "WHERE a.attrelid = $1::oid AND a.attnum > 0 AND NOT a.attisdropped "
        "ORDER BY a.attnum",
        oid);
    std::string shape;
    std::vector<std::pair<std::int64_t, std::string>> key;
    for (int c = 0; c < columns.rows(); ++c) {
      shape.append(columns.get(c, 0)).append(" ").append(columns.get(c, 1)).append(",");
      if (const std::int64_t at = columns.get_int(c, 2); at > 0)
        key.emplace_back(at, quote_ident(columns.get(c, 0)));
    }
    out.push_back({table, annal::detail::fnv1a(shape)});
    std::sort(key.begin(), key.end());
    std::string key_sql = "ROW(annal_row.*)::text";
    if (!key.empty()) {
      key_sql = "concat_ws(','";
      for (const auto& k : key) key_sql += ", annal_row." + k.second;
      key_sql += ")";
    }
    const postgres_rows rows =
        tx.exec("SELECT " + key_sql + ", ROW(annal_row.*)::text FROM " + quote_ident(schema) + "." +
                quote_ident(table) + " annal_row");
    for (int r = 0; r < rows.rows(); ++r)
      out.push_back(
          {table + "[" + std::string(rows.get(r, 0)) + "]", annal::detail::fnv1a(rows.get(r, 1))});
  }
  std::sort(out.begin(), out.end(),
            [](const model_entry& a, const model_entry& b) { return a.key < b.key; });
  return out;
}

}  // namespace detail::pg

namespace diagnostic {
template <class Projection>
struct postgres_read_model_projection_must_derive_from_postgres_projection;
template <class Projection>
struct postgres_read_model_projection_has_no_migrate_member;
}  // namespace diagnostic

namespace detail {
template <class P>
constexpr bool check_postgres_read_model_projection() {
  if constexpr (!check_projection<P>()) {
    return false;
  } else if constexpr (!std::derived_from<P, postgres_projection>) {
    (void)sizeof(
        diagnostic::postgres_read_model_projection_must_derive_from_postgres_projection<P>);
    static_assert(
        always_false<P>,
        "annal::postgres_read_model<P>: P must derive from annal::postgres_projection, whose "
        "sql() gives its handlers the batch's transaction");
    return false;
  } else if constexpr (!requires(P& p, postgres_transaction& tx) { p.migrate(tx); }) {
    // An error here: the read model creates the projection's tables, in its schema and in a
    // rebuild's fresh one, by calling this member.
    (void)sizeof(diagnostic::postgres_read_model_projection_has_no_migrate_member<P>);
    static_assert(always_false<P>,
                  "annal::postgres_read_model<P>: P needs a member "
                  "`void migrate(annal::postgres_transaction& tx)` creating its tables with "
                  "CREATE TABLE IF NOT EXISTS");
    return false;
  } else {
    return true;
  }
}
}  // namespace detail

// A read_model_store over postgres_store::transact. Each projector batch is one transaction: it
// locks the checkpoint row (SELECT ... FOR UPDATE), applies the events through the projection's
// SQL, saves the checkpoint and commits. A crash or a throwing handler commits nothing, so an event
// is never applied twice or skipped, and a restart retries the batch. Two instances of one
// projection (threads or processes) serialize on the row lock: the second waits, then continues
// from the first's checkpoint. The tables live in their own schema so that rebuild_and_swap can
// build a fresh copy beside them and swap it in with a rename.
//   annal::postgres_read_model<balances> model{store, {.name = "balances"}};
//   model.migrate();
//   annal::projector projector{store, model};
// The projection object itself is not stored: keep the read model's state in its tables.
template <class P>
class postgres_read_model {
  static_assert(detail::check_postgres_read_model_projection<P>());

 public:
  using model_type = P;

  postgres_read_model(postgres_store& store, postgres_read_model_options options, P model = {})
      : store_(&store), options_(std::move(options)), model_(std::move(model)) {
    if (options_.schema.empty()) options_.schema = options_.name;
    if (options_.name.empty())
      throw error(errc::invalid_argument, "postgres_read_model_options::name must not be empty");
    if (options_.idle_timeout.count() < 0)
      throw error(errc::invalid_argument,
                  "postgres_read_model_options::idle_timeout must not be negative, not " +
                      std::to_string(options_.idle_timeout.count()) + " ms");
    // The rebuild schema adds a suffix; PostgreSQL truncates names past 63 bytes.
    if (options_.schema.size() > 63 - rebuild_suffix.size())
      throw error(errc::invalid_argument,
                  "PostgreSQL read model schema '" + options_.schema + "' is longer than " +
                      std::to_string(63 - rebuild_suffix.size()) + " bytes");
  }
  postgres_read_model(const postgres_read_model&) = delete;
  postgres_read_model& operator=(const postgres_read_model&) = delete;

  const postgres_read_model_options& options() const noexcept { return options_; }
  postgres_store& store() const noexcept { return *store_; }

  // Creates the schema and the projection's tables (P::migrate) and the checkpoint row, which the
  // batches lock. Idempotent; call it before projecting.
  void migrate() {
    std::unique_lock lock(mutex_);
    store_->transact([&](postgres_transaction& tx) {
      tx.exec("SELECT pg_advisory_xact_lock(7061726, hashtext($1))",
              "read model:" + options_.schema);
      tx.exec("CREATE SCHEMA IF NOT EXISTS " + detail::pg::quote_ident(options_.schema));
      use_schema(tx, options_.schema);
      const bound b(model_, tx);
      model_.migrate(tx);
      tx.load_checkpoint(options_.name);  // creates the row at 0 if it is missing
    });
  }

  // The committed checkpoint, as the server has it (another instance may have moved it).
  std::uint64_t checkpoint() const { return store_->load_checkpoint(options_.name); }

  // f(const P&, checkpoint): the projection object is rarely what queries want; see query().
  template <class F>
  decltype(auto) read(F&& f) const {
    std::shared_lock lock(mutex_);
    return std::forward<F>(f)(static_cast<const P&>(model_), checkpoint());
  }

  // f(postgres_transaction&, checkpoint) in a read-only REPEATABLE READ transaction with the
  // model's schema on the search_path: the rows and the checkpoint it sees belong to one commit.
  template <class F>
  auto query(F&& f) const {
    return store_->transact([&](postgres_transaction& tx) {
      tx.exec("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY");
      use_schema(tx, options_.schema);
      const postgres_rows r = tx.exec(
          "SELECT position FROM " + tx.schema() + ".checkpoints WHERE name = $1", options_.name);
      const std::uint64_t checkpoint = r.rows() ? static_cast<std::uint64_t>(r.get_int(0, 0)) : 0;
      return f(tx, checkpoint);
    });
  }

  // One batch, one transaction (see the class comment). The checkpoint handed to f is the locked
  // row's, so a batch always starts where the last committed one ended.
  template <class F>
  void update(F&& f) {
    update(std::forward<F>(f), [](postgres_transaction&) {});
  }

  // The same, with fence(tx) run first in the batch's transaction, before the checkpoint row is
  // locked and f runs: a fence that throws rolls the batch back (postgres_leased_projector's lease
  // check), and what it sets for the transaction (a timeout) covers every lock the batch takes.
  template <class F, class Fence>
  void update(F&& f, Fence&& fence) {
    std::unique_lock lock(mutex_);
    store_->transact([&](postgres_transaction& tx) {
      if (options_.idle_timeout.count() > 0)
        tx.exec("SET LOCAL idle_in_transaction_session_timeout = " +
                std::to_string(options_.idle_timeout.count()));
      std::forward<Fence>(fence)(tx);
      use_schema(tx, options_.schema);
      const std::uint64_t before = tx.load_checkpoint(options_.name);
      std::uint64_t checkpoint = before;
      const bound b(model_, tx);
      std::forward<F>(f)(model_, checkpoint);
      if (checkpoint != before) tx.save_checkpoint(options_.name, checkpoint);
    });
  }

  // Takes `model` as the projection object and sets the checkpoint; the tables are left as they
  // are (for a read model restored by other means). Rebuild tables with rebuild_and_swap.
  void replace(P model, std::uint64_t checkpoint) {
    std::unique_lock lock(mutex_);
    store_->transact([&](postgres_transaction& tx) {
      tx.load_checkpoint(options_.name);
      tx.save_checkpoint(options_.name, checkpoint);
    });
    model_ = std::move(model);
  }

  // Replays positions 1..up_to into a fresh schema (`<schema>_rebuild`, dropped first if a failed
  // rebuild left it) while this one keeps serving, then, in one transaction holding the checkpoint
  // row, drops the serving schema, renames the fresh one into its place and sets the checkpoint.
  // Projectors continue from there. Use through rebuild_and_swap(store, model, options).
  template <class Codec = binary_codec, event_store S>
  rebuild_result rebuild_and_swap(const S& events, rebuild_options options) {
    if (options.workers != 1)
      throw error(errc::invalid_argument,
                  "postgres_read_model '" + options_.name +
                      "' rebuilds on one worker: its handlers write through "
                      "one transaction (rebuild_options::workers must be 1)");
    if (options.batch_size == 0)
      throw error(errc::invalid_argument, "rebuild_options::batch_size must be at least 1, not 0");
    const auto started = std::chrono::steady_clock::now();
    const std::string fresh_schema = options_.schema + std::string(rebuild_suffix);
    const std::uint64_t target = options.up_to != 0 ? options.up_to : events.last_position();
    detail::progress_reporter report(options, target, started);

    P fresh{};
    store_->transact([&](postgres_transaction& tx) {
      tx.exec("DROP SCHEMA IF EXISTS " + detail::pg::quote_ident(fresh_schema) + " CASCADE");
      tx.exec("CREATE SCHEMA " + detail::pg::quote_ident(fresh_schema));
      use_schema(tx, fresh_schema);
      const bound b(fresh, tx);
      fresh.migrate(tx);
    });

    std::uint64_t position = 0, count = 0;
    // One transaction per batch; a batch that reads nothing new, or reaches the target, is the
    // last.
    bool more = position < target;
    while (more) {
      more = store_->transact([&](postgres_transaction& tx) {
        use_schema(tx, fresh_schema);
        const bound b(fresh, tx);
        std::uint64_t read = 0;
        bool past_target = false;
        events.read_all(
            position + 1,
            [&](const recorded_event& e) {
              if (e.position > target) {
                past_target = true;
                return false;
              }
              detail::project_record<P, Codec>(fresh, e);
              position = e.position;
              ++read;
              return true;
            },
            options.batch_size);
        count += read;
        return read > 0 && !past_target && position < target;
      });
      report(position, count, false);
    }

    // This process's projector first, then the row: the order its batches take them in.
    std::unique_lock lock(mutex_);
    store_->transact([&](postgres_transaction& tx) {
      tx.load_checkpoint(options_.name);  // waits for any instance's running batch
      tx.exec("DROP SCHEMA IF EXISTS " + detail::pg::quote_ident(options_.schema) + " CASCADE");
      tx.exec("ALTER SCHEMA " + detail::pg::quote_ident(fresh_schema) + " RENAME TO " +
              detail::pg::quote_ident(options_.schema));
      tx.save_checkpoint(options_.name, position);
    });
    model_ = std::move(fresh);
    report(position, count, true);
    rebuild_result result;
    result.checkpoint = position;
    result.events = count;
    result.elapsed = std::chrono::steady_clock::now() - started;
    return result;
  }

  // Compares the tables with a replay of `events` up to the checkpoint, row by row. The live rows
  // and the checkpoint are read in one snapshot; the replay runs in a scratch schema inside a
  // transaction that keeps nothing (a savepoint rolled back), so the model is never written and
  // its projectors never wait. Needs the right to create a schema. Use through
  // reconcile_with_log(store, model, options).
  template <class Codec = binary_codec, event_store S>
  reconciliation reconcile_with_log(const S& events, rebuild_options options) const {
    if (options.workers != 1)
      throw error(errc::invalid_argument,
                  "postgres_read_model '" + options_.name +
                      "' replays on one worker: its handlers write through one transaction "
                      "(rebuild_options::workers must be 1)");
    if (options.batch_size == 0)
      throw error(errc::invalid_argument, "rebuild_options::batch_size must be at least 1, not 0");
    std::vector<model_entry> live;
    const std::uint64_t checkpoint = query([&](postgres_transaction& tx, std::uint64_t at) {
      live = detail::pg::schema_entries(tx, options_.schema);
      return at;
    });
    const auto started = std::chrono::steady_clock::now();
    detail::progress_reporter report(options, checkpoint, started);
    std::vector<model_entry> fresh;
    store_->transact([&](postgres_transaction& tx) {
      tx.exec("SAVEPOINT annal_reconcile");
      // Named after this connection's backend: two reconciliations never meet on one name.
      const std::string scratch =
          "annal_reconcile_" + std::string(tx.exec("SELECT pg_backend_pid()").get(0, 0));
      tx.exec("CREATE SCHEMA " + detail::pg::quote_ident(scratch));
      use_schema(tx, scratch);
      P replayed{};
      const bound b(replayed, tx);
      replayed.migrate(tx);
      std::uint64_t position = 0, count = 0;
      for (bool more = position < checkpoint; more;) {
        std::uint64_t read = 0;
        bool past_checkpoint = false;
        events.read_all(
            position + 1,
            [&](const recorded_event& e) {
              if (e.position > checkpoint) {
                past_checkpoint = true;
                return false;
              }
              detail::project_record<P, Codec>(replayed, e);
              position = e.position;
              ++read;
              return true;
            },
            options.batch_size);
        count += read;
        report(position, count, false);
        more = read > 0 && !past_checkpoint && position < checkpoint;
      }
      fresh = detail::pg::schema_entries(tx, scratch);
      tx.exec("ROLLBACK TO SAVEPOINT annal_reconcile");
      report(position, count, true);
    });
    reconciliation r;
    r.checkpoint = checkpoint;
    r.live_digest = annal::detail::digest_entries(live);
    r.fresh_digest = annal::detail::digest_entries(fresh);
    r.differing_keys = annal::detail::diff_entries(live, fresh);
    return r;
  }

 private:
  static constexpr std::string_view rebuild_suffix = "_rebuild";

  // Hands the projection the transaction for one scope, and takes it back even on a throw.
  class bound {
   public:
    bound(P& p, postgres_transaction& tx) noexcept : p_(p) {
      static_cast<postgres_projection&>(p_).tx_ = &tx;
    }
    bound(const bound&) = delete;
    bound& operator=(const bound&) = delete;
    ~bound() { static_cast<postgres_projection&>(p_).tx_ = nullptr; }

   private:
    P& p_;
  };

  static void use_schema(postgres_transaction& tx, const std::string& schema) {
    // set_config(..., true) is SET LOCAL: it ends with the transaction, before the pool reuses it.
    tx.exec("SELECT set_config('search_path', $1, true)", detail::pg::quote_ident(schema));
  }

  postgres_store* store_;
  postgres_read_model_options options_;
  mutable std::shared_mutex mutex_;
  P model_;
};

// rebuild_and_swap for a PostgreSQL read model: into a fresh schema, then swapped in by rename.
template <class Codec = binary_codec, event_store S, class P>
rebuild_result rebuild_and_swap(const S& store, postgres_read_model<P>& model,
                                rebuild_options options = {}) {
  return model.template rebuild_and_swap<Codec>(store, std::move(options));
}

// reconcile_with_log for a PostgreSQL read model: its tables against a replay up to its checkpoint
// in a scratch schema that is never committed; a differing key is "<table>[<primary key>]" (or
// "<table>" when its columns differ). The replay runs on one worker.
template <class Codec = binary_codec, event_store S, class P>
reconciliation reconcile_with_log(const S& store, const postgres_read_model<P>& model,
                                  rebuild_options options = {}) {
  return model.template reconcile_with_log<Codec>(store, std::move(options));
}

}  // namespace annal
