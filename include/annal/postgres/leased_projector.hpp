// One projection shared by several processes or machines: its K segments are leased in PostgreSQL,
// and each batch of a segment commits only while its worker still holds the segment's lease.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <limits>
#include <stop_token>
#include <string>
#include <utility>
#include <vector>

#include <annal/codec/binary.hpp>
#include <annal/core/detail/chrono.hpp>
#include <annal/core/error.hpp>
#include <annal/postgres/read_model.hpp>
#include <annal/postgres/segment_leases.hpp>
#include <annal/postgres/store.hpp>
#include <annal/projection/partitioned.hpp>
#include <annal/projection/projector.hpp>
#include <annal/store/filter.hpp>

namespace annal {

struct postgres_leased_projector_options {
  std::string name{};  // the projection's name: its leases' key, its models' "<name>/<k>-of-<K>"
  // The PostgreSQL schema of its tables, shared by the K segments; empty: the name.
  std::string schema{};
  std::size_t segments = 1;  // K: fixed for the projection's life (see docs/projection.md)
  postgres_segment_lease_options lease{};
  projector_options projector{};
  // Told when this worker loses segment k (renewal found it taken over, or the fence refused a
  // batch) and why; the worker goes on with its other segments.
  std::function<void(std::size_t, const std::string&)> on_lost{};
};

// A projection over PostgreSQL read models whose K segments are shared by every process running a
// postgres_leased_projector of the same name on the same store. Segment k is partition k of
// partition_of(stream_id, K), with its own read model "<name>/<k>-of-<K>" (one checkpoint row each,
// one set of tables). run() claims the worker's fair share of the segments, renews the leases and
// steps each owned segment as partitioned_projector does; each batch runs read_model.update with
// the lease's fence, so a worker whose segment was taken over (it paused past its lease) writes
// nothing. Segments owned by one worker are stepped in turn on the calling thread.
//   annal::postgres_leased_projector<balances_sql> live{store, {.name = "b", .segments = 4}};
//   live.run(stop_token);  // in every process
template <class P, class Codec = binary_codec>
class postgres_leased_projector {
 public:
  using model_type = postgres_read_model<P>;

  postgres_leased_projector(postgres_store& store, postgres_leased_projector_options options)
      : store_(&store),
        options_(std::move(options)),
        segments_(store, options_.name, options_.segments, options_.lease, options_.on_lost,
                  "postgres_leased_projector"),
        filter_(detail::filter_of<typename P::events, Codec>()) {
    if (options_.projector.batch_size == 0)
      throw error(errc::invalid_argument,
                  "projector_options::batch_size must be at least 1, not 0");
    const std::string schema = options_.schema.empty() ? options_.name : options_.schema;
    for (std::size_t k = 0; k < options_.segments; ++k) {
      models_.emplace_back(
          store, postgres_read_model_options{.name = options_.name + "/" + std::to_string(k) +
                                                     "-of-" + std::to_string(options_.segments),
                                             .schema = schema});
      models_.back().migrate();
    }
    // One batch at a time holds a connection while reading through another.
    detail::check_connections(store, models_.front(), 1, "postgres_leased_projector");
  }
  postgres_leased_projector(const postgres_leased_projector&) = delete;
  postgres_leased_projector& operator=(const postgres_leased_projector&) = delete;

  // Renews, releases and claims leases (postgres_segment_leases::maintain), reporting the lost.
  postgres_segment_changes maintain() { return segments_.maintain(); }

  // One fenced batch of owned segment k: the events of the projection's types, those of partition
  // k's streams applied, the checkpoint moved past the rest. Returns how many it read (0: caught
  // up). Throws errc::store_locked when the fence finds the segment taken over: nothing of the
  // batch is written, and the segment is no longer this worker's.
  std::size_t step(std::size_t k) {
    segments_.check_owned(k);
    const std::size_t partitions = options_.segments;
    std::size_t read = 0;
    std::uint64_t reached = 0;
    segments_.fenced(k, [&](const auto& fence) {
      models_[k].update(
          [&](P& p, std::uint64_t& checkpoint) {
            const read_progress r = read_filtered(
                *store_, checkpoint + 1, filter_,
                [&](const recorded_event& e) {
                  checkpoint = e.position - 1;  // what the filter passed over before it is done
                  if (partitions == 1 || partition_of(e.stream_id, partitions) == k)
                    detail::project_record<P, Codec>(p, e);
                  checkpoint = e.position;
                },
                options_.projector.batch_size);
            read = r.visited;
            checkpoint = std::max(checkpoint, r.next_position - 1);
            reached = checkpoint;
          },
          fence);
    });
    segments_.known[k] = reached;
    return read;
  }

  // Follows the log until `stop` is requested: steps every owned segment, renews the leases every
  // renew_interval, waits for appends when every owned segment has caught up. A segment lost to
  // another worker is dropped, not the run. On return (stopped, or a failure rethrown) it releases
  // its segments so that others take over at once.
  void run(std::stop_token stop) {
    segments_.run(*store_, options_.projector.stop_check_interval, std::move(stop),
                  [&](std::size_t k) { return step(k); });
  }

  std::size_t segments() const noexcept { return options_.segments; }
  std::vector<std::size_t> owned() const { return segments_.leases.owned(); }
  postgres_segment_leases& leases() noexcept { return segments_.leases; }
  model_type& model(std::size_t k) { return models_.at(k); }
  // The position every segment has reached, as the server has it: all events up to it are applied.
  std::uint64_t checkpoint() const {
    std::uint64_t low = std::numeric_limits<std::uint64_t>::max();
    for (const model_type& m : models_) low = std::min(low, m.checkpoint());
    return low;
  }

 private:
  postgres_store* store_;
  postgres_leased_projector_options options_;
  detail::leased_segments segments_;
  std::deque<model_type> models_;
  event_filter filter_;
};

}  // namespace annal
