// Partitioned live processing: one projection or reactor run by K workers in one process, each
// owning the streams partition_of sends it, each with its own checkpoint.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <initializer_list>
#include <mutex>
#include <stop_token>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <annal/codec/binary.hpp>
#include <annal/codec/decode.hpp>
#include <annal/core/detail/chrono.hpp>
#include <annal/core/error.hpp>
#include <annal/projection/detail/apply.hpp>
#include <annal/projection/partitioned.hpp>
#include <annal/projection/projection.hpp>
#include <annal/projection/projector.hpp>
#include <annal/projection/reactor.hpp>
#include <annal/projection/read_model.hpp>
#include <annal/store/checkpoint.hpp>
#include <annal/store/event_store.hpp>
#include <annal/store/subscription.hpp>

namespace annal {

namespace detail {

// Refuses what would silently corrupt a partitioned run: no partition, a missing object, or one
// object given to two partitions (two workers would write one checkpoint).
template <class T>
void check_partition_objects(const std::vector<T*>& objects, const char* who, const char* what) {
  if (objects.empty())
    throw error(errc::invalid_argument,
                std::string(who) + ": needs at least one " + what + " (one per partition), got 0");
  for (std::size_t i = 0; i < objects.size(); ++i) {
    if (objects[i] == nullptr)
      throw error(errc::invalid_argument, std::string(who) + ": the " + what + " of partition " +
                                              std::to_string(i) + " is null");
    for (std::size_t j = 0; j < i; ++j)
      if (objects[j] == objects[i])
        throw error(errc::invalid_argument,
                    std::string(who) + ": partitions " + std::to_string(j) + " and " +
                        std::to_string(i) + " were given the same " + what +
                        "; each partition needs its own, as each keeps its own checkpoint");
  }
}

// The index of partition k among `partitions`, refused with a message when there is no such one.
inline std::size_t partition_index(std::size_t k, std::size_t partitions, const char* who) {
  if (k >= partitions)
    throw error(errc::invalid_argument, std::string(who) + ": there is no partition " +
                                            std::to_string(k) + " among " +
                                            std::to_string(partitions) + " (they count from 0)");
  return k;
}

// Runs work(k, stop) for every partition k: 1..K-1 on their own threads, 0 on the calling one. The
// first exception stops the others (through `stop`) and is rethrown here once all have joined.
template <class Work>
void run_partitions(std::size_t partitions, std::stop_token outer, Work&& work) {
  std::stop_source inner;
  const std::stop_callback forward(outer, [&] { inner.request_stop(); });
  std::mutex mutex;
  std::exception_ptr failure;
  const auto guarded = [&](std::size_t k) {
    try {
      work(k, inner.get_token());
    } catch (...) {
      {
        std::lock_guard lock(mutex);
        if (!failure) failure = std::current_exception();
      }
      inner.request_stop();
    }
  };
  {
    std::vector<std::jthread> workers;
    workers.reserve(partitions - 1);
    for (std::size_t k = 1; k < partitions; ++k) workers.emplace_back([&, k] { guarded(k); });
    guarded(0);
  }  // joins
  if (failure) std::rethrow_exception(failure);
}

}  // namespace detail

// A projection run live by K workers, one per read model given: worker k applies, in log order,
// the events of the streams with partition_of(stream_id, K) == k, so each stream keeps its order.
// Each worker reads the log from its own model's checkpoint and commits its rows and checkpoint
// together per batch through the model's update(); its checkpoint also advances over the other
// partitions' events, so a quiet partition does not read them again. A handler that throws stops
// its worker with errc::handler_failed (its checkpoint before the event), the others stop too, and
// run()/catch_up() rethrow it. At K = 1 it is the projector's loop.
// K is fixed by the models' count; the checkpoints mean nothing under another K, so changing K
// means new models: empty ones at checkpoint 0, or shards from project_partitioned put in with
// replace() (docs/projection.md). rebuild_and_swap would fill each with every partition's streams.
//   std::deque<annal::memory_read_model<balances>> models(2);
//   annal::partitioned_projector live{store, {&models[0], &models[1]}};
//   live.catch_up();
template <event_store S, read_model_store M, class Codec = binary_codec>
class partitioned_projector {
 public:
  using projection_type = typename M::model_type;
  static_assert(check_projection<projection_type>());

  partitioned_projector(const S& store, std::vector<M*> models, projector_options options = {})
      : store_(&store),
        models_(std::move(models)),
        options_(options),
        filter_(detail::filter_of<typename projection_type::events, Codec>()) {
    detail::check_partition_objects(models_, "partitioned_projector", "read model");
    for (const M* m : models_)
      detail::check_connections(store, *m, models_.size(), "partitioned_projector");
    if (options_.batch_size == 0)
      throw error(errc::invalid_argument,
                  "projector_options::batch_size must be at least 1, not 0");
  }

  // {&model_0, &model_1, ...}: lets the class template deduce M from a braced list.
  partitioned_projector(const S& store, std::initializer_list<M*> models,
                        projector_options options = {})
      : partitioned_projector(store, std::vector<M*>(models), options) {}

  // Applies at most one batch to partition k; returns how many events of the projection's types
  // it read (0: caught up). Like the projector, it reads only the types the projection lists.
  std::size_t step(std::size_t k) {
    detail::partition_index(k, models_.size(), "partitioned_projector");
    std::size_t read = 0;
    const std::size_t partitions = models_.size();
    models_[k]->update([&](projection_type& p, std::uint64_t& checkpoint) {
      const read_progress r = read_filtered(
          *store_, checkpoint + 1, filter_,
          [&](const recorded_event& e) {
            checkpoint = e.position - 1;  // what the filter passed over before it is done
            if (partitions == 1 || partition_of(e.stream_id, partitions) == k)
              detail::project_record<projection_type, Codec>(p, e);
            checkpoint = e.position;
          },
          options_.batch_size);
      read = r.visited;
      checkpoint = std::max(checkpoint, r.next_position - 1);
    });
    return read;
  }

  // Brings every partition up to the log's end (K workers, joined); returns the most events one
  // partition read (at K = 1, what projector::catch_up returns).
  std::uint64_t catch_up() {
    std::vector<std::uint64_t> read(models_.size(), 0);
    detail::run_partitions(models_.size(), {}, [&](std::size_t k, std::stop_token stop) {
      for (std::size_t n = 0; !stop.stop_requested() && (n = step(k)) != 0;) read[k] += n;
    });
    return *std::max_element(read.begin(), read.end());
  }

  // Catches every partition up, then follows the log live until `stop` is requested or a worker
  // fails (rethrown here after every worker has stopped).
  void run(std::stop_token stop)
    requires waitable_store<S>
  {
    detail::run_partitions(models_.size(), stop, [&](std::size_t k, std::stop_token inner) {
      while (!inner.stop_requested()) {
        if (step(k) == 0)
          store_->wait_for_append(models_[k]->checkpoint(),
                                  clock::now() + options_.stop_check_interval);
      }
    });
  }

  std::size_t partitions() const noexcept { return models_.size(); }
  std::uint64_t checkpoint(std::size_t k) const {
    return models_[detail::partition_index(k, models_.size(), "partitioned_projector")]
        ->checkpoint();
  }
  // The position every partition has reached: all events up to it are applied.
  std::uint64_t checkpoint() const {
    std::uint64_t low = models_[0]->checkpoint();
    for (const M* m : models_) low = std::min(low, m->checkpoint());
    return low;
  }
  M& model(std::size_t k) const {
    return *models_[detail::partition_index(k, models_.size(), "partitioned_projector")];
  }

 private:
  const S* store_;
  std::vector<M*> models_;
  projector_options options_;
  event_filter filter_;
};

// A reactor run live by K workers: K reactor instances and K checkpoint stores, worker k reacting
// to the events of its partition's streams in order. Each partition gets its own reactor object,
// so a reactor needs no locking of its own (state it shares across instances is the user's to
// guard). Delivery, start position and failures are as for reactor_runner, per partition.
template <event_store S, class R, checkpoint_store C, class Codec = binary_codec>
class partitioned_reactor_runner {
  static_assert(detail::check_reactor<R>());

 public:
  partitioned_reactor_runner(const S& store, std::vector<R*> reactors, std::vector<C*> checkpoints,
                             reactor_options options = {})
      : store_(&store),
        reactors_(std::move(reactors)),
        checkpoints_(std::move(checkpoints)),
        options_(options) {
    detail::check_partition_objects(reactors_, "partitioned_reactor_runner", "reactor");
    detail::check_partition_objects(checkpoints_, "partitioned_reactor_runner", "checkpoint store");
    if (reactors_.size() != checkpoints_.size())
      throw error(errc::invalid_argument,
                  "partitioned_reactor_runner: " + std::to_string(reactors_.size()) +
                      " reactors but " + std::to_string(checkpoints_.size()) +
                      " checkpoint stores; give one of each per partition");
    if (options_.batch_size == 0)
      throw error(errc::invalid_argument, "reactor_options::batch_size must be at least 1, not 0");
    positions_.resize(reactors_.size());
    const std::uint64_t now = store_->last_position();
    for (std::size_t k = 0; k < checkpoints_.size(); ++k) {
      if (const auto saved = checkpoints_[k]->load()) {
        positions_[k] = *saved;
      } else {
        positions_[k] = options_.start == reactor_start::from_now ? now : 0;
        checkpoints_[k]->save(positions_[k]);
      }
    }
  }

  partitioned_reactor_runner(const S& store, std::initializer_list<R*> reactors,
                             std::initializer_list<C*> checkpoints, reactor_options options = {})
      : partitioned_reactor_runner(store, std::vector<R*>(reactors), std::vector<C*>(checkpoints),
                                   options) {}

  // Handles at most one batch of partition k; returns how many events it read (0: caught up).
  std::size_t step(std::size_t k) {
    detail::partition_index(k, reactors_.size(), "partitioned_reactor_runner");
    return detail::react_batch(
        *store_, filter_, positions_[k], options_.batch_size,
        [&](const recorded_event& e) { handle(k, e); },
        [&](std::uint64_t position, bool) { checkpoints_[k]->save(position); });
  }

  // Handles everything stored up to now on K workers (joined).
  void catch_up() {
    detail::run_partitions(reactors_.size(), {}, [&](std::size_t k, std::stop_token stop) {
      while (!stop.stop_requested() && step(k) != 0) continue;
    });
  }

  // Catches up, then follows the log live until `stop` is requested or a worker fails.
  void run(std::stop_token stop)
    requires waitable_store<S>
  {
    detail::run_partitions(reactors_.size(), stop, [&](std::size_t k, std::stop_token inner) {
      while (!inner.stop_requested()) {
        if (step(k) == 0)
          store_->wait_for_append(positions_[k], clock::now() + options_.stop_check_interval);
      }
    });
  }

  std::size_t partitions() const noexcept { return reactors_.size(); }
  // Partition k's position; read it while workers run only through its checkpoint store.
  std::uint64_t checkpoint(std::size_t k) const {
    return positions_[detail::partition_index(k, positions_.size(), "partitioned_reactor_runner")];
  }

 private:
  void handle(std::size_t k, const recorded_event& e) {
    const std::size_t partitions = reactors_.size();
    const bool reacted = (partitions == 1 || partition_of(e.stream_id, partitions) == k) &&
                         detail::react_to_record<R, Codec>(*reactors_[k], e);
    positions_[k] = e.position;
    if (reacted && options_.checkpoint_each_event) checkpoints_[k]->save(e.position);
  }

  const S* store_;
  std::vector<R*> reactors_;
  std::vector<C*> checkpoints_;
  reactor_options options_;
  std::vector<std::uint64_t> positions_;
  event_filter filter_ = detail::filter_of<typename R::events, Codec>();
};

}  // namespace annal
