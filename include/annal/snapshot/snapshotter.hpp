// Snapshots in a repository: restore the newest matching snapshot, fold the rest, save per policy.
#pragma once

#include <concepts>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

#include <annal/codec/binary.hpp>
#include <annal/codec/detail/reflect.hpp>
#include <annal/codec/fingerprint.hpp>
#include <annal/core/aggregate.hpp>
#include <annal/core/error.hpp>
#include <annal/detail/validate.hpp>
#include <annal/runtime/log.hpp>
#include <annal/snapshot/policy.hpp>
#include <annal/snapshot/snapshot_store.hpp>

namespace annal {

// An aggregate whose state can be snapshotted: its members are reflected with Boost.Hana
// (BOOST_HANA_DEFINE_STRUCT or BOOST_HANA_ADAPT_STRUCT), so binary_codec can store it and
// schema_fingerprint_v can describe it.
template <class A>
concept snapshottable = aggregate<A> && detail::reflected<A>;

// Bump `static constexpr std::uint32_t snapshot_revision = N;` in an aggregate when its apply logic
// changes without its members changing: snapshots taken by the old logic are then ignored.
template <class A>
inline constexpr std::uint32_t snapshot_revision_v = [] {
  if constexpr (requires { A::snapshot_revision; })
    return static_cast<std::uint32_t>(A::snapshot_revision);
  else
    return std::uint32_t{0};
}();

namespace diagnostic {
template <class Aggregate>
struct aggregate_state_is_not_reflected_so_it_cannot_be_snapshotted;
}

namespace detail {
template <class A>
constexpr bool check_snapshottable() {
  if constexpr (!check_aggregate<A>()) {
    return false;
  } else if constexpr (aggregate_name_of<A>.empty()) {
    static_assert(always_false<A>, "annal: an aggregate's declared name must not be empty");
    return false;
  } else if constexpr (!reflected<A>) {
    // An error here: snapshots store the aggregate's members, so annal must be able to list them.
    (void)sizeof(diagnostic::aggregate_state_is_not_reflected_so_it_cannot_be_snapshotted<A>);
    static_assert(always_false<A>,
                  "annal: a snapshotted aggregate must be reflected; declare its members with "
                  "BOOST_HANA_DEFINE_STRUCT(Aggregate, (type, name)...) or adapt it with "
                  "BOOST_HANA_ADAPT_STRUCT(Aggregate, name...)");
    return false;
  } else {
    return true;
  }
}
}  // namespace detail

// The snapshot side of a repository: a snapshot store and the policy that decides when to save.
//   annal::memory_snapshot_store snapshots;
//   annal::snapshotter snap{snapshots, annal::snapshot_every{100}};
//   auto accounts = annal::make_repository<account>(store, snap);
// Snapshots are keyed by the aggregate's name (aggregate_name_of<A>) and the stream id, so
// aggregates reading one stream never load each other's. A snapshot whose fingerprint or revision
// differs from the code is ignored, the state is rebuilt from events and saved again at once.
// Saving is best effort: a failed save is reported through annal::log as a warning and never fails
// the load or the command that triggered it.
template <snapshot_store Store, snapshot_policy Policy = snapshot_every>
class snapshotter {
 public:
  snapshotter(Store& store, Policy policy) : store_(&store), policy_(std::move(policy)) {}

  Store& store() const noexcept { return *store_; }
  const Policy& policy() const noexcept { return policy_; }

  // Restores the newest usable snapshot at or before both bounds into `state`; returns its version
  // (0: none). Sets `stale` when the newest snapshot no longer matches the code or is damaged.
  template <class A>
  std::uint64_t restore(std::string_view stream_id, std::uint64_t max_version, time_point max_time,
                        A& state, bool& stale) const {
    static_assert(detail::check_snapshottable<A>());
    const std::optional<snapshot_record> found =
        store_->load(aggregate_name_of<A>, stream_id, {max_version, max_time});
    if (!found) return 0;
    if (found->fingerprint != schema_fingerprint_v<A> ||
        found->revision != snapshot_revision_v<A>) {
      stale = true;
      log(log_level::info, "snapshot of stream " + detail::quoted_prefix(stream_id) +
                               " at version " + std::to_string(found->version) +
                               " was taken by other code (schema fingerprint or snapshot_revision "
                               "differ); rebuilding from events");
      return 0;
    }
    try {
      state = binary_codec::decode<A>(found->state);
    } catch (const error& e) {
      if (e.code() != make_error_code(errc::decode_error)) throw;
      stale = true;
      state = A{};
      log(log_level::warning, "corrupt snapshot of stream " + detail::quoted_prefix(stream_id) +
                                  " at version " + std::to_string(found->version) + " ignored (" +
                                  e.what() + "); rebuilding from events");
      return 0;
    }
    return found->version;
  }

  // Saves a snapshot when the policy asks for one or the stream's snapshot was stale; returns the
  // newest snapshot version. `event_time()` gives the recorded time of the event at the version.
  template <class A, class EventTime>
  std::uint64_t observe(std::string_view stream_id, const A& state, const load_report& report,
                        EventTime&& event_time) {
    static_assert(detail::check_snapshottable<A>());
    if (report.version == 0 || report.version == report.snapshot_version)
      return report.snapshot_version;
    const snapshot_context context{stream_id, report.version, report.snapshot_version,
                                   report.events_replayed, report.elapsed};
    if (!report.stale_snapshot && !static_cast<bool>(policy_(context)))
      return report.snapshot_version;
    snapshot_record record;
    record.aggregate_name = std::string(aggregate_name_of<A>);
    record.stream_id = std::string(stream_id);
    record.version = report.version;
    record.fingerprint = schema_fingerprint_v<A>;
    record.revision = snapshot_revision_v<A>;
    try {
      record.event_time = event_time();
      binary_codec::encode(state, record.state);
      store_->save(record);
    } catch (const error& e) {
      // A snapshot is a cache: losing one costs a longer load, never correctness.
      log(log_level::warning, "snapshot of stream " + detail::quoted_prefix(stream_id) +
                                  " at version " + std::to_string(report.version) +
                                  " not saved: " + e.what());
      return report.snapshot_version;
    }
    return report.version;
  }

 private:
  Store* store_;
  Policy policy_;
};

}  // namespace annal
