// Snapshot policies: when a repository saves a snapshot (every N events, after a slow load, or a
// predicate).
#pragma once

#include <concepts>
#include <cstdint>
#include <string_view>
#include <tuple>
#include <utility>

#include <annal/core/detail/chrono.hpp>
#include <annal/core/envelope.hpp>

namespace annal {

// How a load went: what a repository with snapshots hands to its snapshotter.
struct load_report {
  std::uint64_t version = 0;
  time_point event_time{};             // recorded time of the event at `version`
  std::uint64_t snapshot_version = 0;  // the snapshot the load started from (0: none)
  std::uint64_t events_replayed = 0;
  std::chrono::nanoseconds elapsed{};
  bool stale_snapshot = false;  // a snapshot was found that no longer matches the code
};

// What a policy decides on, after a load or after a command appended events.
struct snapshot_context {
  std::string_view stream_id;
  std::uint64_t version = 0;             // the state's stream version now
  std::uint64_t snapshot_version = 0;    // the newest snapshot of the stream known (0: none)
  std::uint64_t events_replayed = 0;     // events the last load folded on top of that snapshot
  std::chrono::nanoseconds load_time{};  // how long the last load took
};

// A policy is a callable `bool(const snapshot_context&)`.
template <class P>
concept snapshot_policy =
    std::copy_constructible<P> && requires(const P& p, const snapshot_context& c) {
      { p(c) } -> std::convertible_to<bool>;
    };

// Whenever the version crosses a multiple of `events`: snapshots sit at N, 2N, 3N..., which also
// keeps time-travel loads within N events of a snapshot.
struct snapshot_every {
  std::uint64_t events;
  constexpr bool operator()(const snapshot_context& c) const noexcept {
    return events != 0 && c.version / events > c.snapshot_version / events;
  }
};

// When loading took at least `threshold`: streams that are expensive to fold get snapshots.
struct snapshot_when_slow {
  std::chrono::nanoseconds threshold;
  constexpr bool operator()(const snapshot_context& c) const noexcept {
    return c.version > c.snapshot_version && c.load_time >= threshold;
  }
};

// When the user's predicate says so: `annal::snapshot_if{[](const annal::snapshot_context& c)
// {...}}`.
template <class F>
struct snapshot_if {
  F predicate;
  bool operator()(const snapshot_context& c) const {
    return c.version > c.snapshot_version && static_cast<bool>(predicate(c));
  }
};
template <class F>
snapshot_if(F) -> snapshot_if<F>;

// Never: snapshots are only read (another process writes them) or only taken when one is stale.
struct snapshot_never {
  constexpr bool operator()(const snapshot_context&) const noexcept { return false; }
};

// When any of several policies says so: `annal::snapshot_any_of{snapshot_every{500},
// snapshot_when_slow{5ms}}`.
template <snapshot_policy... P>
struct snapshot_any_of {
  std::tuple<P...> policies;
  explicit snapshot_any_of(P... p) : policies(std::move(p)...) {}
  bool operator()(const snapshot_context& c) const {
    return std::apply([&](const auto&... p) { return (static_cast<bool>(p(c)) || ...); }, policies);
  }
};

}  // namespace annal
