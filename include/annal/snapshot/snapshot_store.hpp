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

namespace annal {

// One saved state. A reader uses it only when `fingerprint` and `revision` match its code.
struct snapshot_record {
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

// How many snapshots a store keeps per stream. More than one serves time travel: "as of version v"
// starts from the latest kept snapshot at or before v. With snapshot_every{N} they sit N versions
// apart, so the default keeps the last 16 × N versions reachable without a full replay.
struct snapshot_retention {
  std::size_t keep = 16;
};

// A store of snapshots. Every implementation provides:
//   save(const snapshot_record&)                -> void: keeps it beside the stream's others (up to
//       its retention), replacing one at the same version, dropping those whose fingerprint or
//       revision differ (code that could read them is gone);
//   load(stream_id, snapshot_query)             -> optional<snapshot_record>: the latest snapshot
//       within the query's bounds; a damaged one is reported through annal::log and left out.
template <class S>
concept snapshot_store = requires(S& s, const S& cs, const snapshot_record& r, std::string_view id,
                                  snapshot_query q) {
  { s.save(r) } -> std::same_as<void>;
  { cs.load(id, q) } -> std::same_as<std::optional<snapshot_record>>;
};

namespace detail {
// Adds `record` to a stream's snapshots, oldest first, under the rules of snapshot_store::save.
inline void keep_snapshot(std::vector<snapshot_record>& kept, snapshot_record record,
                          snapshot_retention retention) {
  std::erase_if(kept, [&](const snapshot_record& r) {
    return r.version == record.version || r.fingerprint != record.fingerprint ||
           r.revision != record.revision;
  });
  const auto at = std::upper_bound(
      kept.begin(), kept.end(), record.version,
      [](std::uint64_t v, const snapshot_record& r) { return v < r.version; });
  kept.insert(at, std::move(record));
  const std::size_t keep = std::max<std::size_t>(retention.keep, 1);
  if (kept.size() > keep) kept.erase(kept.begin(), kept.end() - static_cast<std::ptrdiff_t>(keep));
}

inline const snapshot_record* find_snapshot(const std::vector<snapshot_record>& kept,
                                            snapshot_query q) {
  for (auto it = kept.rbegin(); it != kept.rend(); ++it)
    if (it->version <= q.max_version && it->event_time <= q.max_time) return &*it;
  return nullptr;
}

// Every snapshot a store keeps for a stream, oldest first, found by loading below each one in
// turn: for the SQL stores, which keep no list in memory.
template <class S>
std::vector<snapshot_record> list_by_loading(const S& store, std::string_view stream_id) {
  std::vector<snapshot_record> out;
  for (std::uint64_t below = std::numeric_limits<std::uint64_t>::max();;) {
    auto r = store.load(stream_id, {below, time_point::max()});
    if (!r) break;
    below = r->version - 1;
    out.insert(out.begin(), std::move(*r));
    if (below == 0) break;
  }
  return out;
}
}  // namespace detail

}  // namespace annal
