// A reactor shared by several processes through PostgreSQL segment leases: each segment's events
// reach one worker at a time, at least once, and a worker that lost a segment reacts to no more.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <stop_token>
#include <string>
#include <utility>
#include <vector>

#include <annal/codec/binary.hpp>
#include <annal/codec/decode.hpp>
#include <annal/core/error.hpp>
#include <annal/postgres/segment_leases.hpp>
#include <annal/postgres/store.hpp>
#include <annal/projection/detail/apply.hpp>
#include <annal/projection/partitioned.hpp>
#include <annal/projection/partitioned_runner.hpp>
#include <annal/projection/reactor.hpp>
#include <annal/store/filter.hpp>

namespace annal {

struct postgres_leased_reactor_options {
  // The reactor's name: its leases' key (shared with projections' names: give each its own) and
  // its checkpoints' "<name>/<k>-of-<K>".
  std::string name{};
  postgres_segment_lease_options lease{};
  reactor_options reactor{};  // `start` applies once, when the checkpoints are first created
  // Told when this worker loses segment k (renewal found it taken over, or the fence refused a
  // read or a save of its checkpoint) and why; the worker goes on with its other segments.
  std::function<void(std::size_t, const std::string&)> on_lost{};
};

// K reactor objects, one per segment (K is their count), whose segments are shared by every process
// running a postgres_leased_reactor_runner of the same name on the same store. Segment k's
// checkpoint is the store's checkpoint row "<name>/<k>-of-<K>". A batch reads that checkpoint under
// the segment's fence (a worker that lost the segment reacts to nothing), reacts outside any
// transaction, then saves the checkpoint under the fence again. Delivery is at least once: a worker
// that dies, or loses its lease while reacting, has its batch repeated by the next owner (its save
// refused), so side effects should be idempotent, e.g. keyed by the event id.
template <class R, class Codec = binary_codec>
class postgres_leased_reactor_runner {
  static_assert(detail::check_reactor<R>());

 public:
  postgres_leased_reactor_runner(postgres_store& store, std::vector<R*> reactors,
                                 postgres_leased_reactor_options options)
      : store_(&store),
        reactors_(checked(std::move(reactors))),
        options_(std::move(options)),
        segments_(store, options_.name, reactors_.size(), options_.lease, options_.on_lost,
                  "postgres_leased_reactor_runner") {
    if (options_.reactor.batch_size == 0)
      throw error(errc::invalid_argument, "reactor_options::batch_size must be at least 1, not 0");
    // The first worker decides where the segments start; the others find the rows made.
    const std::uint64_t start =
        options_.reactor.start == reactor_start::from_now ? store.last_position() : 0;
    store.transact([&](postgres_transaction& tx) {
      for (std::size_t k = 0; k < reactors_.size(); ++k)
        tx.exec("INSERT INTO " + tx.schema() +
                    ".checkpoints (name, position, updated_at) VALUES ($1, $2, now())"
                    " ON CONFLICT (name) DO NOTHING",
                checkpoint_name(k), start);
    });
  }
  postgres_leased_reactor_runner(const postgres_leased_reactor_runner&) = delete;
  postgres_leased_reactor_runner& operator=(const postgres_leased_reactor_runner&) = delete;

  // Renews, releases and claims leases (postgres_segment_leases::maintain), reporting the lost.
  postgres_segment_changes maintain() { return segments_.maintain(); }

  // One batch of owned segment k; returns how many events of the reactor's types it read (0:
  // caught up). Throws errc::store_locked when the fence finds the segment taken over, before the
  // batch (nothing reacted to) or at its save (the next owner repeats it); the segment is then no
  // longer this worker's. A throwing handler saves the checkpoint before its event and rethrows.
  std::size_t step(std::size_t k) {
    segments_.check_owned(k);
    std::uint64_t position =
        fenced(k, [&](postgres_transaction& tx) { return tx.load_checkpoint(checkpoint_name(k)); });
    // The events before a failing one are done: recorded unless the segment was lost on the way.
    const std::size_t read = detail::react_batch(
        *store_, filter_, position, options_.reactor.batch_size,
        [&](const recorded_event& e) { handle(k, e); },
        [&](std::uint64_t at, bool failed) {
          if (!failed || segments_.leases.owns(k)) save(k, at);
        });
    segments_.known[k] = position;
    return read;
  }

  // Follows the log until `stop` is requested, as postgres_leased_projector::run does; on return
  // it releases its segments.
  void run(std::stop_token stop) {
    segments_.run(*store_, options_.reactor.stop_check_interval, std::move(stop),
                  [&](std::size_t k) { return step(k); });
  }

  std::size_t segments() const noexcept { return reactors_.size(); }
  std::vector<std::size_t> owned() const { return segments_.leases.owned(); }
  postgres_segment_leases& leases() noexcept { return segments_.leases; }
  // Segment k's committed checkpoint, as the server has it.
  std::uint64_t checkpoint(std::size_t k) const {
    return store_->load_checkpoint(checkpoint_name(
        detail::partition_index(k, reactors_.size(), "postgres_leased_reactor_runner")));
  }

 private:
  static std::vector<R*> checked(std::vector<R*> reactors) {
    detail::check_partition_objects(reactors, "postgres_leased_reactor_runner", "reactor");
    return reactors;
  }

  std::string checkpoint_name(std::size_t k) const {
    return options_.name + "/" + std::to_string(k) + "-of-" + std::to_string(reactors_.size());
  }

  // f(tx) in a transaction that first passes segment k's fence; a refusal drops the segment.
  template <class F>
  auto fenced(std::size_t k, F&& f) {
    return segments_.fenced(k, [&](const auto& fence) {
      return store_->transact([&](postgres_transaction& tx) {
        fence(tx);
        return f(tx);
      });
    });
  }

  void save(std::size_t k, std::uint64_t position) {
    fenced(k, [&](postgres_transaction& tx) {
      tx.load_checkpoint(checkpoint_name(k));
      tx.save_checkpoint(checkpoint_name(k), position);
    });
  }

  void handle(std::size_t k, const recorded_event& e) {
    const std::size_t partitions = reactors_.size();
    if (partitions != 1 && partition_of(e.stream_id, partitions) != k) return;
    const bool reacted = detail::react_to_record<R, Codec>(*reactors_[k], e);
    if (reacted && options_.reactor.checkpoint_each_event) save(k, e.position);
  }

  postgres_store* store_;
  std::vector<R*> reactors_;
  postgres_leased_reactor_options options_;
  detail::leased_segments segments_;
  event_filter filter_ = detail::filter_of<typename R::events, Codec>();
};

}  // namespace annal
