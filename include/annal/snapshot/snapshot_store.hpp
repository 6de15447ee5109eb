// The snapshot_store concept: saved aggregate states, each with the stream version it covers.
#pragma once

#include <algorithm>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <annal/core/envelope.hpp>
#include <annal/core/error.hpp>

namespace annal {

// One saved state, keyed by (aggregate_name, stream_id, version). A reader uses it only when
// `aggregate_name`, `fingerprint` and `revision` match its code: two aggregates with one state
// layout reading one stream keep apart.
struct snapshot_record {
  std::string aggregate_name;  // aggregate_name_of the aggregate whose state this is
  std::string stream_id;
  std::uint64_t version = 0;      // the stream version the state covers
  time_point event_time{};        // when the event at `version` was recorded
  std::uint64_t fingerprint = 0;  // schema_fingerprint_v of the state type
  std::uint32_t revision = 0;     // the aggregate's snapshot_revision (0 when it declares none)
  std::string state;              // the state, encoded with binary_codec
};

// Which snapshot a load may start from: the latest one at or before both bounds (time travel).
struct snapshot_query {
  std::uint64_t max_version = std::numeric_limits<std::uint64_t>::max();
  time_point max_time = time_point::max();
};

// How many snapshots a store keeps per aggregate and stream. More than one serves time travel: "as
// of version v" starts from the latest kept snapshot at or before v. With snapshot_every{N} they
// sit N versions apart, so the default keeps the last 16 × N versions reachable without a full
// replay.
struct snapshot_retention {
  std::size_t keep = 16;
};

namespace detail {
// Keeping no snapshot would make every save pointless: refused, as every invalid option is.
inline snapshot_retention checked(snapshot_retention retention) {
  if (retention.keep == 0)
    throw error(errc::invalid_argument, "snapshot_retention::keep must be at least 1, not 0");
  return retention;
}
}  // namespace detail

// A store of snapshots, keyed by aggregate name and stream id. Every implementation provides:
//   save(const snapshot_record&)  -> void: keeps it beside the others of its aggregate and stream
//       (up to its retention), replacing one at the same version, dropping those whose fingerprint
//       or revision differ (code that could read them is gone); never touches another aggregate's;
//   load(aggregate_name, stream_id, snapshot_query) -> optional<snapshot_record>: the latest
//       snapshot of that aggregate and stream within the query's bounds; a damaged one is reported
//       through annal::log and left out.
template <class S>
concept snapshot_store = requires(S& s, const S& cs, const snapshot_record& r,
                                  std::string_view name, std::string_view id, snapshot_query q) {
  { s.save(r) } -> std::same_as<void>;
  { cs.load(name, id, q) } -> std::same_as<std::optional<snapshot_record>>;
};

namespace detail {
// An aggregate name as errors quote it.
inline std::string quoted_aggregate(std::string_view name) {
  return "'" + std::string(name) + "'";
}

// An aggregate name fit to key snapshots: not empty (the empty name is no aggregate's) and free of
// NUL bytes, which C strings and SQL text would cut.
inline void validate_aggregate_name(std::string_view name) {
  if (name.empty()) throw error(errc::invalid_argument, "a snapshot's aggregate name is empty");
  if (name.find('\0') != std::string_view::npos)
    throw error(errc::invalid_argument, "the aggregate name " +
                                            quoted_aggregate(name.substr(0, name.find('\0'))) +
                                            "... of a snapshot holds a NUL byte");
}

// Adds `record` to one stream's snapshots of every aggregate, sorted by (aggregate name, version),
// under the rules of snapshot_store::save: only `record`'s aggregate's snapshots are replaced,
// dropped or trimmed.
inline void keep_snapshot(std::vector<snapshot_record>& kept, snapshot_record record,
                          snapshot_retention retention) {
  std::erase_if(kept, [&](const snapshot_record& r) {
    return r.aggregate_name == record.aggregate_name &&
           (r.version == record.version || r.fingerprint != record.fingerprint ||
            r.revision != record.revision);
  });
  const auto before = [](const snapshot_record& a, const snapshot_record& b) {
    return a.aggregate_name != b.aggregate_name ? a.aggregate_name < b.aggregate_name
                                                : a.version < b.version;
  };
  const std::string name = record.aggregate_name;
  const auto at = std::upper_bound(kept.begin(), kept.end(), record, before);
  kept.insert(at, std::move(record));
  const auto same = [&](const snapshot_record& r) { return r.aggregate_name == name; };
  const auto first = std::find_if(kept.begin(), kept.end(), same);
  const auto last = std::find_if_not(first, kept.end(), same);
  const auto keep = static_cast<std::ptrdiff_t>(checked(retention).keep);
  if (last - first > keep) kept.erase(first, last - keep);
}

inline const snapshot_record* find_snapshot(const std::vector<snapshot_record>& kept,
                                            std::string_view aggregate_name, snapshot_query q) {
  for (auto it = kept.rbegin(); it != kept.rend(); ++it)
    if (it->aggregate_name == aggregate_name && it->version <= q.max_version &&
        it->event_time <= q.max_time)
      return &*it;
  return nullptr;
}

// One aggregate's snapshots among a stream's, oldest first.
inline std::vector<snapshot_record> snapshots_of(const std::vector<snapshot_record>& kept,
                                                 std::string_view aggregate_name) {
  std::vector<snapshot_record> out;
  for (const snapshot_record& r : kept)
    if (r.aggregate_name == aggregate_name) out.push_back(r);
  return out;
}

// Every snapshot a store keeps for an aggregate and stream, oldest first, found by loading below
// each one in turn: for the SQL stores, which keep no list in memory.
template <class S>
std::vector<snapshot_record> list_by_loading(const S& store, std::string_view aggregate_name,
                                             std::string_view stream_id) {
  std::vector<snapshot_record> out;
  for (std::uint64_t below = std::numeric_limits<std::uint64_t>::max();;) {
    auto r = store.load(aggregate_name, stream_id, {below, time_point::max()});
    if (!r) break;
    below = r->version - 1;
    out.insert(out.begin(), std::move(*r));
    if (below == 0) break;
  }
  return out;
}
}  // namespace detail

}  // namespace annal
