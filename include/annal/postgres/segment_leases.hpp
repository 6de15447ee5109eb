// Leases on a projection's K segments in PostgreSQL: which process works on which segment, with a
// fencing token that grows with every claim. Timed by the database's clock, never the worker's.
#pragma once

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <limits>
#include <mutex>
#include <optional>
#include <random>
#include <stop_token>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <annal/core/detail/chrono.hpp>
#include <annal/core/error.hpp>
#include <annal/postgres/store.hpp>

namespace annal {

namespace detail {
// A segment's checkpoint before any batch of this worker has told it.
inline constexpr std::uint64_t unknown_position = std::numeric_limits<std::uint64_t>::max();
}  // namespace detail

struct postgres_segment_lease_options {
  // This worker's id, unique among the live workers; empty: "<host>:<pid>:<random>".
  std::string owner{};
  // How long a claim or a renewal holds on the database's clock: a worker that stops renewing
  // (dead, paused, cut off) loses its segments this long after its last renewal.
  std::chrono::milliseconds lease{10000};
  // How often leases are renewed and the fair share recomputed; well below `lease`.
  std::chrono::milliseconds renew_interval{3000};
};

// What one maintain() changed: segments claimed, released (to give others their share) and lost
// (another worker took them over).
struct postgres_segment_changes {
  std::vector<std::size_t> claimed;
  std::vector<std::size_t> released;
  std::vector<std::size_t> lost;
};

// One worker's view of a projection's segment leases, in two tables of the store's schema:
// segment_leases (one row per segment: owner, expiry, fencing token) and segment_workers (a
// heartbeat per worker, so a worker that owns nothing yet still counts for the fair share).
// One thread maintains the leases and runs the batches, calling maintain() between batches;
// owns(), owned() and token() may be read from any thread.
//   annal::postgres_segment_leases leases{store, "balances", 4, {.lease = 10s}};
//   leases.maintain();  // claims up to this worker's fair share
//   model.update(f, [&](annal::postgres_transaction& tx) { leases.fence(tx, k); });
class postgres_segment_leases {
 public:
  postgres_segment_leases(postgres_store& store, std::string projection, std::size_t segments,
                          postgres_segment_lease_options options = {})
      : store_(&store),
        projection_(std::move(projection)),
        segments_(segments),
        options_(std::move(options)),
        tokens_(segments) {
    if (projection_.empty())
      throw error(errc::invalid_argument, "postgres_segment_leases: the projection name is empty");
    if (segments_ == 0 || segments_ > 1'000'000)
      throw error(errc::invalid_argument, "postgres_segment_leases: projection '" + projection_ +
                                              "' needs 1 to 1000000 segments, not " +
                                              std::to_string(segments_));
    if (options_.lease.count() <= 0 || options_.renew_interval.count() <= 0 ||
        options_.renew_interval >= options_.lease)
      throw error(errc::invalid_argument, "postgres_segment_lease_options: renew_interval (" +
                                              std::to_string(options_.renew_interval.count()) +
                                              " ms) must be positive and below lease (" +
                                              std::to_string(options_.lease.count()) +
                                              " ms), or leases expire between renewals");
    if (options_.owner.empty()) options_.owner = default_owner();
    store_->transact([&](postgres_transaction& tx) {
      // Serializes the first workers: CREATE TABLE IF NOT EXISTS and the K inserts race otherwise.
      tx.exec("SELECT pg_advisory_xact_lock(7061726, hashtext($1))",
              "segment leases:" + tx.schema());
      tx.exec("CREATE TABLE IF NOT EXISTS " + table() +
              " (projection text NOT NULL, segment integer NOT NULL, segments integer, owner text,"
              " expires_at timestamptz, token bigint, PRIMARY KEY (projection, segment))");
      tx.exec("CREATE TABLE IF NOT EXISTS " + workers() +
              " (projection text NOT NULL, owner text NOT NULL, expires_at timestamptz NOT NULL,"
              " PRIMARY KEY (projection, owner))");
      if (tx.exec("SELECT 1 FROM " + table() + " WHERE projection = $1 LIMIT 1", projection_)
              .rows() == 0)
        tx.exec("INSERT INTO " + table() +
                    " SELECT $1, s, $2, NULL, '-infinity', 0 FROM generate_series(0, $2 - 1) s",
                projection_, static_cast<std::int64_t>(segments_));
      check_rows(tx);
    });
  }
  postgres_segment_leases(const postgres_segment_leases&) = delete;
  postgres_segment_leases& operator=(const postgres_segment_leases&) = delete;

  const std::string& projection() const noexcept { return projection_; }
  const std::string& owner() const noexcept { return options_.owner; }
  std::size_t segments() const noexcept { return segments_; }
  const postgres_segment_lease_options& options() const noexcept { return options_; }

  bool owns(std::size_t k) const {
    std::lock_guard lock(mutex_);
    return tokens_.at(k).has_value();
  }
  std::vector<std::size_t> owned() const {
    std::lock_guard lock(mutex_);
    std::vector<std::size_t> out;
    for (std::size_t k = 0; k < segments_; ++k)
      if (tokens_[k]) out.push_back(k);
    return out;
  }
  // The fencing token of this worker's claim on segment k (nullopt: not owned).
  std::optional<std::int64_t> token(std::size_t k) const {
    std::lock_guard lock(mutex_);
    return tokens_.at(k);
  }

  // One transaction: checks the rows, beats this worker's heartbeat, renews what it owns (a
  // segment whose row has another token was taken over: lost), then releases segments above its
  // fair share or claims free and expired ones up to it. The share: K segments over the live
  // workers ordered by id, the first K mod n taking one more, so the shares add up to K.
  postgres_segment_changes maintain() {
    postgres_segment_changes changes;
    std::vector<std::optional<std::int64_t>> tokens = tokens_;
    store_->transact([&](postgres_transaction& tx) {
      changes = {};
      tokens = tokens_;
      check_rows(tx);
      const std::int64_t lease_ms = options_.lease.count();
      tx.exec("INSERT INTO " + workers() +
                  " VALUES ($1, $2, now() + $3::bigint * interval '1 millisecond')"
                  " ON CONFLICT (projection, owner) DO UPDATE SET expires_at = EXCLUDED.expires_at",
              projection_, options_.owner, lease_ms);
      // Dead workers' heartbeats go; SKIP LOCKED, so two workers deleting them never deadlock.
      tx.exec("DELETE FROM " + workers() +
                  " WHERE (projection, owner) IN (SELECT projection, owner"
                  " FROM " +
                  workers() +
                  " WHERE projection = $1 AND expires_at < now()"
                  " FOR UPDATE SKIP LOCKED)",
              projection_);
      for (std::size_t k = 0; k < segments_; ++k) {
        if (!tokens[k]) continue;
        const postgres_rows renewed = tx.exec(
            "UPDATE " + table() +
                " SET expires_at = now() + $5::bigint * interval '1 millisecond'"
                " WHERE projection = $1 AND segment = $2 AND owner = $3 AND token = $4"
                " RETURNING token",
            projection_, static_cast<std::int64_t>(k), options_.owner, *tokens[k], lease_ms);
        if (renewed.rows() == 0) {
          tokens[k].reset();
          changes.lost.push_back(k);
        }
      }
      const std::size_t share = fair_share(tx);
      std::size_t have = 0;
      for (const auto& t : tokens) have += t.has_value();
      // Extras go from the highest segment down; the caller is between batches.
      for (std::size_t k = segments_; k-- > 0 && have > share;) {
        if (!tokens[k]) continue;
        tx.exec("UPDATE " + table() +
                    " SET owner = NULL, expires_at = now()"
                    " WHERE projection = $1 AND segment = $2 AND owner = $3 AND token = $4",
                projection_, static_cast<std::int64_t>(k), options_.owner, *tokens[k]);
        tokens[k].reset();
        changes.released.push_back(k);
        --have;
      }
      for (std::size_t k = 0; k < segments_ && have < share; ++k) {
        if (tokens[k]) continue;
        // SKIP LOCKED: a segment whose batch is open (its fence holds FOR SHARE) is not waited
        // for, so one paused worker's transaction cannot stall this one's renewals.
        if (tx.exec("SELECT 1 FROM " + table() +
                        " WHERE projection = $1 AND segment = $2 AND (owner IS NULL OR "
                        "expires_at < now()) FOR NO KEY UPDATE SKIP LOCKED",
                    projection_, static_cast<std::int64_t>(k))
                .rows() == 0)
          continue;
        const postgres_rows claimed =
            tx.exec("UPDATE " + table() +
                        " SET owner = $3, expires_at = now() + $4::bigint * interval "
                        "'1 millisecond', token = token + 1"
                        " WHERE projection = $1 AND segment = $2 RETURNING token",
                    projection_, static_cast<std::int64_t>(k), options_.owner, lease_ms);
        tokens[k] = claimed.get_int(0, 0);
        changes.claimed.push_back(k);
        ++have;
      }
    });
    std::lock_guard lock(mutex_);
    tokens_ = std::move(tokens);
    return changes;
  }

  // In a batch's transaction: locks segment k's row FOR SHARE (a claim skips a segment whose batch
  // is open, so none lands before this transaction ends) and refuses, with errc::store_locked, to
  // go on when the row's token is not this worker's: another worker took the segment over, and this
  // batch must write nothing.
  void fence(postgres_transaction& tx, std::size_t k) const {
    const std::optional<std::int64_t> mine = tokens_.at(k);
    // A worker that hangs inside its batch (stopped, stuck in a handler) would hold these row
    // locks, and the claim that skips them, forever: the server ends a transaction left idle for
    // a lease, so the segment is taken over as the lease promises and this batch writes nothing.
    tx.exec("SET LOCAL idle_in_transaction_session_timeout = " +
            std::to_string(options_.lease.count()));
    const postgres_rows r = tx.exec(
        "SELECT token FROM " + table() + " WHERE projection = $1 AND segment = $2 FOR SHARE",
        projection_, static_cast<std::int64_t>(k));
    const std::string now = r.rows() == 0 || r.is_null(0, 0) ? "none" : std::string(r.get(0, 0));
    if (!mine || now != std::to_string(*mine))
      throw error(errc::store_locked, "lease of segment " + std::to_string(k) + " of projection '" +
                                          projection_ + "' was taken over (token " +
                                          (mine ? std::to_string(*mine) : "none") + ", now " + now +
                                          "): worker '" + options_.owner +
                                          "' stops working on it and writes nothing of this batch");
  }

  // Forgets segment k without touching its row (after fence refused it).
  void drop(std::size_t k) {
    std::lock_guard lock(mutex_);
    tokens_.at(k).reset();
  }

  // A clean stop: gives up every owned segment at once (owner NULL, expired now) and removes this
  // worker's heartbeat, so the others take over without waiting for the leases to expire.
  void release_all() {
    store_->transact([&](postgres_transaction& tx) {
      for (std::size_t k = 0; k < segments_; ++k)
        if (tokens_[k])
          tx.exec("UPDATE " + table() +
                      " SET owner = NULL, expires_at = now()"
                      " WHERE projection = $1 AND segment = $2 AND owner = $3 AND token = $4",
                  projection_, static_cast<std::int64_t>(k), options_.owner, *tokens_[k]);
      tx.exec("DELETE FROM " + workers() + " WHERE projection = $1 AND owner = $2", projection_,
              options_.owner);
    });
    std::lock_guard lock(mutex_);
    for (auto& t : tokens_) t.reset();
  }

 private:
  std::string table() const { return store_schema() + ".segment_leases"; }
  std::string workers() const { return store_schema() + ".segment_workers"; }
  std::string store_schema() const { return detail::pg::quote_ident(store_->options().schema); }

  static std::string default_owner() {
    char host[256] = {};
    if (::gethostname(host, sizeof host - 1) != 0) host[0] = '\0';
    std::random_device random;
    return std::string(host) + ":" + std::to_string(::getpid()) + ":" +
           std::to_string(random() % 1'000'000'000u);
  }

  // This worker's share of the K segments among the live workers (heartbeats not expired),
  // ordered by id; this worker's heartbeat is in the same transaction, so n >= 1.
  std::size_t fair_share(postgres_transaction& tx) const {
    const postgres_rows live = tx.exec("SELECT owner FROM " + workers() +
                                           " WHERE projection = $1 AND expires_at >= now()"
                                           " ORDER BY owner COLLATE \"C\"",
                                       projection_);
    const std::size_t n = static_cast<std::size_t>(live.rows());
    std::size_t rank = 0;
    while (rank < n && live.get(static_cast<int>(rank), 0) != options_.owner) ++rank;
    if (n == 0) return segments_;
    return segments_ / n + (rank < segments_ % n ? 1 : 0);
  }

  std::string row_name(std::string_view segment) const {
    return "segment lease row (projection '" + projection_ + "', segment " + std::string(segment) +
           ") in " + table();
  }

  // Refuses rows annal did not write as it writes them: another deployment's K, a segment out of
  // range or missing, a NULL, a negative token. They are never repaired silently: a second
  // deployment or a hand edit is the operator's to resolve (with no worker running).
  void check_rows(postgres_transaction& tx) const {
    const postgres_rows r =
        tx.exec("SELECT segment, segments, token, (expires_at IS NULL)::int FROM " + table() +
                    " WHERE projection = $1 ORDER BY segment",
                projection_);
    const std::string k = std::to_string(segments_);
    const std::string advice =
        "; annal does not repair lease rows: with every worker of the projection stopped, fix "
        "them or delete the projection's rows (the next worker recreates them)";
    std::vector<bool> seen(segments_, false);
    for (int i = 0; i < r.rows(); ++i) {
      const std::string segment(r.get(i, 0));
      if (r.is_null(i, 1) || r.is_null(i, 2) || r.get_int(i, 3) != 0)
        throw error(errc::invalid_argument,
                    row_name(segment) + " holds a NULL (segments, token or expires_at)" + advice);
      const std::int64_t s = r.get_int(i, 0);
      const std::int64_t of = r.get_int(i, 1);
      if (of != static_cast<std::int64_t>(segments_))
        throw error(
            errc::invalid_argument,
            "projection '" + projection_ + "' has segment leases for K=" + std::to_string(of) +
                " segments (" + row_name(segment) + "), but this worker was started with K=" + k +
                ": two deployments with different K; changing K means stopping every "
                "worker and starting the new K from a common position (docs/projection.md)");
      if (s < 0 || s >= of)
        throw error(errc::invalid_argument, row_name(segment) + " is outside segments 0.." +
                                                std::to_string(segments_ - 1) + advice);
      if (r.get_int(i, 2) < 0)
        throw error(errc::invalid_argument, row_name(segment) + " has a negative token (" +
                                                std::string(r.get(i, 2)) + ")" + advice);
      seen[static_cast<std::size_t>(s)] = true;
    }
    for (std::size_t s = 0; s < segments_; ++s)
      if (!seen[s])
        throw error(errc::invalid_argument,
                    "projection '" + projection_ + "' has no segment lease row for segment " +
                        std::to_string(s) + " of K=" + k + " in " + table() + advice);
  }

  postgres_store* store_;
  std::string projection_;
  std::size_t segments_;
  postgres_segment_lease_options options_;
  // Written only by the worker's thread, under the mutex, so that others may read owned().
  mutable std::mutex mutex_;
  std::vector<std::optional<std::int64_t>> tokens_;
};

namespace detail {

// The loop of the leased runners: steps every owned segment not known to be caught up (`known[k]`,
// the checkpoint its last batch reached, kept by step), maintains the leases every renew_interval
// (maintain(), which reports the lost), waits for appends when idle. A segment whose fence refused
// a batch (step threw errc::store_locked and the segment is no longer owned) is dropped, not the
// run. On return, stopped or failing, the segments are released so that others take over at once.
template <class Step, class Maintain>
void run_leased(const postgres_store& store, postgres_segment_leases& leases,
                const std::vector<std::uint64_t>& known, std::chrono::milliseconds stop_check,
                std::stop_token stop, Step&& step, Maintain&& maintain) {
  // Renewals are timed on the steady clock: a wall clock stepped back would hold them off (and
  // lose every lease) for as long as the step.
  using steady = std::chrono::steady_clock;
  try {
    auto renew_at = steady::now();
    while (!stop.stop_requested()) {
      bool busy = false;
      const std::uint64_t last = store.last_position();
      for (std::size_t k : leases.owned()) {
        if (stop.stop_requested()) break;
        if (known[k] != unknown_position && known[k] >= last) continue;  // no transaction
        try {
          busy = step(k) != 0 || busy;
        } catch (const error& e) {
          // A batch can fail because the segment was taken over: the fence refused it, or the
          // server ended it, left idle past the lease while this worker was paused (see fence),
          // and the handler's write or the commit found the connection gone. Renewing says
          // which: a segment no longer this worker's wrote nothing and is dropped; a lost
          // connection on one still its own is stepped again; anything else is a real failure.
          if (leases.owns(k)) {
            maintain();
            renew_at = steady::now() + leases.options().renew_interval;
          }
          if (!leases.owns(k) || lost_connection(e)) continue;
          throw;
        }
      }
      if (steady::now() >= renew_at) {
        maintain();
        renew_at = steady::now() + leases.options().renew_interval;
        busy = true;  // newly claimed segments are stepped before waiting
      }
      if (!busy && !stop.stop_requested())
        store.wait_for_append(
            last, clock::now() + std::min<steady::duration>(renew_at - steady::now(), stop_check));
    }
  } catch (...) {
    // The failure being rethrown matters more than a release that fails too (leases expire).
    try {
      leases.release_all();
    } catch (...) {
    }
    throw;
  }
  leases.release_all();
}

// What a leased runner keeps of its K segments: the leases, each owned segment's position after
// its last batch, and whom to tell when one is lost. The leased projector and reactor runner hold
// one each.
class leased_segments {
 public:
  using on_lost_type = std::function<void(std::size_t, const std::string&)>;

  leased_segments(postgres_store& store, const std::string& name, std::size_t segments,
                  const postgres_segment_lease_options& options, on_lost_type on_lost,
                  std::string_view who)
      : leases(store, name, segments, options),
        known(segments, unknown_position),
        on_lost_(std::move(on_lost)),
        who_(std::string(who) + " '" + name + "'") {}

  // Renews, releases and claims leases, and forgets what it knew of segments claimed or lost.
  postgres_segment_changes maintain() {
    postgres_segment_changes changes = leases.maintain();
    for (std::size_t k : changes.claimed) known[k] = unknown_position;
    for (std::size_t k : changes.lost) lost(k, "its lease was taken over by another worker");
    return changes;
  }

  void check_owned(std::size_t k) const {
    if (k >= known.size() || !leases.owns(k))
      throw error(errc::invalid_argument, who_ + ": this worker does not own segment " +
                                              std::to_string(k) + " of " +
                                              std::to_string(known.size()));
  }

  // body(fence), where fence(tx) checks segment k's lease inside the caller's transaction; a
  // refusal drops the segment before it is rethrown.
  template <class Body>
  decltype(auto) fenced(std::size_t k, Body&& body) {
    bool fencing = false;
    try {
      return std::forward<Body>(body)([&](postgres_transaction& tx) {
        fencing = true;
        leases.fence(tx, k);
        fencing = false;
      });
    } catch (const error& e) {
      if (fencing && e.code() == make_error_code(errc::store_locked)) lost(k, e.what());
      throw;
    }
  }

  template <class Step>
  void run(const postgres_store& store, std::chrono::milliseconds stop_check, std::stop_token stop,
           Step&& step) {
    run_leased(store, leases, known, stop_check, std::move(stop), std::forward<Step>(step),
               [&] { maintain(); });
  }

  void lost(std::size_t k, const std::string& why) {
    leases.drop(k);
    known[k] = unknown_position;
    if (on_lost_) on_lost_(k, why);
  }

  postgres_segment_leases leases;
  std::vector<std::uint64_t> known;  // each owned segment's checkpoint after its last batch

 private:
  on_lost_type on_lost_;
  std::string who_;
};

}  // namespace detail

}  // namespace annal
