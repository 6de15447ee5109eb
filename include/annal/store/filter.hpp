// Filtered reads: which events a reader wants (stored type names, stream prefixes), answered by
// the store itself where it can, so a projection of 3 types out of 200 does not read the other 197.
#pragma once

#include <algorithm>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <annal/core/error.hpp>
#include <annal/core/record.hpp>
#include <annal/store/event_store.hpp>

namespace annal {

// The events a filtered read hands out: those whose stored type is one of `types` (all types when
// empty) and whose stream id starts with one of `stream_prefixes` (all streams when empty). A type
// is the stored name, every schema version of it: a reader that lists an event still meets the
// versions it cannot read, and stops on them.
struct event_filter {
  std::vector<std::string> types{};
  std::vector<std::string> stream_prefixes{};

  bool everything() const noexcept { return types.empty() && stream_prefixes.empty(); }

  bool matches_type(std::string_view type) const noexcept {
    return types.empty() || std::find(types.begin(), types.end(), type) != types.end();
  }
  bool matches_stream(std::string_view stream_id) const noexcept {
    return stream_prefixes.empty() ||
           std::any_of(stream_prefixes.begin(), stream_prefixes.end(),
                       [&](const std::string& p) { return stream_id.starts_with(p); });
  }
  bool matches(std::string_view stream_id, std::string_view type) const noexcept {
    return matches_type(type) && matches_stream(stream_id);
  }

  // Refuses what can only be a mistake: an empty type name (no event has one) or an empty prefix
  // (which would mean every stream, silently, when the caller meant some).
  void validate() const {
    for (const std::string& t : types)
      if (t.empty())
        throw error(errc::invalid_argument,
                    "event_filter: an empty type name matches no event; list stored type names, "
                    "or leave `types` empty for every type");
    for (const std::string& p : stream_prefixes)
      if (p.empty())
        throw error(errc::invalid_argument,
                    "event_filter: an empty stream prefix would match every stream; leave "
                    "`stream_prefixes` empty for every stream");
  }
};

// What a filtered read did: how many events it handed to the visitor, and where the next read
// starts. Every position before `next_position` was either visited or does not match, so a reader
// that keeps `next_position - 1` as its checkpoint does not scan a quiet range again.
struct read_progress {
  std::size_t visited = 0;
  std::uint64_t next_position = 1;

  friend bool operator==(const read_progress&, const read_progress&) = default;
};

// A store that answers filters itself (an index, a per-position type table):
//   read_all(from_position, filter, visitor[, max_count]) -> read_progress
// It visits matching events in position order until `max_count` were visited, the visitor returns
// false, or the end of what was stored when it looked is reached; then `next_position` is one past
// the last visited event, or past the end it reached.
template <class S>
concept filtering_store =
    event_store<S> && requires(const S& cs, std::uint64_t from, const event_filter& f,
                               detail::read_visitor_archetype visit) {
      { cs.read_all(from, f, visit) } -> std::same_as<read_progress>;
      { cs.read_all(from, f, visit, std::size_t{1}) } -> std::same_as<read_progress>;
    };

namespace detail {
// How many events the client-side fallback reads at once from a store that cannot filter.
inline constexpr std::size_t filter_fallback_batch = 1024;

// Reads every event from `r.next_position` on and tests each: for a store without a filtered read
// of its own, and for a range a store cannot answer from its index (below an archive horizon,
// where read_all stops at the first missing event). Never more per read than the caller's batch,
// so a bounded reader stays bounded.
template <event_store S, class F>
read_progress read_and_test(const S& store, read_progress r, const event_filter& filter, F& visit,
                            std::size_t max_count) {
  const std::size_t chunk = std::min(max_count - r.visited, filter_fallback_batch);
  for (;;) {
    bool stopped = false;
    const std::size_t seen = store.read_all(
        r.next_position,
        [&](const recorded_event& e) {
          r.next_position = e.position + 1;
          if (!filter.matches(e.stream_id, e.type)) return true;
          ++r.visited;
          stopped = !visit_continue(visit, e) || r.visited == max_count;
          return !stopped;
        },
        chunk);
    if (stopped || seen < chunk) return r;
  }
}
}  // namespace detail

// Reads the events `filter` selects from `from_position` on: through the store's own filtered
// read, or, for a store without one (a user's store, a decorator), by reading everything and
// testing each event here. The result is the same either way; only the cost differs.
template <event_store S, class F>
read_progress read_filtered(const S& store, std::uint64_t from_position, const event_filter& filter,
                            F&& visit, std::size_t max_count = unlimited) {
  filter.validate();
  read_progress r{0, std::max<std::uint64_t>(from_position, 1)};
  if (max_count == 0) return r;
  if constexpr (filtering_store<S>)
    return store.read_all(r.next_position, filter, visit, max_count);
  else
    return detail::read_and_test(store, r, filter, visit, max_count);
}

}  // namespace annal
