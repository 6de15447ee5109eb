// Partitioned processing: K workers, each owning the streams whose id hashes to it, so one stream's
// events keep their order while different streams are projected in parallel.
#pragma once

#include <algorithm>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <mutex>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include <annal/core/error.hpp>
#include <annal/projection/detail/apply.hpp>
#include <annal/projection/projection.hpp>
#include <annal/store/event_store.hpp>
#include <annal/store/filter.hpp>

namespace annal {

// The partition of a stream among `partitions`: FNV-1a of the stream id, stable across runs and
// machines (std::hash is neither), as Kafka keeps a key on one partition.
constexpr std::size_t partition_of(std::string_view stream_id, std::size_t partitions) noexcept {
  std::uint64_t h = 14695981039346656037ull;
  for (const char c : stream_id) h = (h ^ static_cast<unsigned char>(c)) * 1099511628211ull;
  return partitions <= 1 ? 0 : static_cast<std::size_t>(h % partitions);
}

// A projection whose shards can be combined: `void merge(P&& shard)` folds a shard built by another
// worker into this one. Partitioned rebuilds need it; only the projection knows whether its keys
// are per stream (a plain insert) or span streams (totals to add).
template <class P>
concept mergeable_projection =
    projection<P> && requires(P& into, P&& shard) { into.merge(std::move(shard)); };

namespace diagnostic {
template <class Projection>
struct projection_has_no_merge_so_it_cannot_run_partitioned;
}

namespace detail {
template <class P>
constexpr bool check_mergeable() {
  if constexpr (!check_projection<P>()) {
    return false;
  } else if constexpr (!mergeable_projection<P>) {
    // An error here: a partitioned run builds one shard per worker and merges them at the end.
    (void)sizeof(diagnostic::projection_has_no_merge_so_it_cannot_run_partitioned<P>);
    static_assert(
        always_false<P>,
        "annal: running a projection on several workers needs a member "
        "`void merge(Projection&& shard)` that folds another worker's shard into this one");
    return false;
  } else {
    return true;
  }
}

// A batch of copied records on its way from the reader to a worker; recycled, never freed midway.
struct record_chunk {
  std::vector<recorded_event> events;
  std::size_t size = 0;
};

// One worker's queues: chunks to apply, and emptied chunks coming back to the reader. Three chunks
// circulate per worker, which bounds the memory of a partitioned run.
struct partition_lane {
  static constexpr std::size_t chunks = 3;
  std::mutex mutex;
  std::condition_variable changed;
  std::vector<record_chunk*> full;  // FIFO of chunks to apply
  std::vector<record_chunk*> empty;
  bool closed = false;
  record_chunk storage[chunks];
  record_chunk* filling = nullptr;  // owned by the reader
};

struct partition_failure {
  std::mutex mutex;
  std::exception_ptr error;
  bool failed = false;
};
}  // namespace detail

// Applies the events at positions [from, upto] to `shards` (one projection per worker; every
// stream's events reach the same shard, in order). The calling thread reads batches of
// `batch_size`, applies partition 0 itself and copies the other records into per-worker chunks;
// workers 1..K-1 decode and apply them. At most
// 3 chunks of records per worker are in flight. `on_batch(last_position, events)` runs on the
// calling thread after each read. The first failure stops every worker and is rethrown here.
// Returns the number of events read.
template <class P, class Codec, event_store S, class OnBatch>
std::uint64_t project_partitioned(const S& store, std::vector<P>& shards, std::uint64_t from,
                                  std::uint64_t upto, std::size_t batch_size, OnBatch&& on_batch) {
  static_assert(detail::check_projection<P>());
  const std::size_t k = shards.size();
  std::uint64_t total = 0;
  std::uint64_t position = std::max<std::uint64_t>(from, 1);
  if (batch_size == 0)
    throw error(errc::invalid_argument,
                "project_partitioned: batch_size must be at least 1, not 0");

  // Reads batches of the projection's event types in order (the store skips the rest, see
  // store/filter.hpp); `on_record` returns false to stop the run. `on_batch` hears of every
  // position passed, so the run ends at `upto` even when the last events are of other types.
  const event_filter filter = detail::filter_of<typename P::events, Codec>();
  const auto read_batches = [&](auto&& on_record) {
    bool go_on = true;
    while (go_on && position <= upto) {
      std::size_t n = 0;
      const read_progress r = read_filtered(
          store, position, filter,
          [&](const recorded_event& e) {
            if (e.position > upto || !(go_on = on_record(e))) return false;
            ++n;
            return true;
          },
          batch_size);
      total += n;
      if (!go_on) break;
      const std::uint64_t passed = std::min(r.next_position - 1, upto);
      if (passed < position) break;  // nothing more is stored
      position = passed + 1;
      on_batch(passed, n);
    }
  };

  if (k <= 1) {
    if (k == 1)
      read_batches([&](const recorded_event& e) {
        detail::project_record<P, Codec>(shards[0], e);
        return true;
      });
    return total;
  }

  const std::size_t chunk_size = std::clamp<std::size_t>(batch_size / k, 64, 4096);
  std::vector<detail::partition_lane> lanes(k);
  detail::partition_failure failure;
  const auto fail = [&](std::exception_ptr e) {
    {
      std::lock_guard lock(failure.mutex);
      if (!failure.failed) failure.error = e;
      failure.failed = true;
    }
    for (auto& lane : lanes) {
      std::lock_guard lock(lane.mutex);
      lane.closed = true;
      lane.changed.notify_all();
    }
  };
  const auto failed = [&] {
    std::lock_guard lock(failure.mutex);
    return failure.failed;
  };

  for (auto& lane : lanes)
    for (auto& c : lane.storage) {
      c.events.reserve(chunk_size);
      lane.empty.push_back(&c);
    }

  // Partition 0 is applied by the reading thread itself: one copy and one thread fewer.
  std::vector<std::jthread> workers;
  workers.reserve(k - 1);
  for (std::size_t w = 1; w < k; ++w) {
    workers.emplace_back([&, w] {
      detail::partition_lane& lane = lanes[w];
      for (;;) {
        detail::record_chunk* chunk = nullptr;
        {
          std::unique_lock lock(lane.mutex);
          lane.changed.wait(lock, [&] { return !lane.full.empty() || lane.closed; });
          if (lane.full.empty()) return;
          chunk = lane.full.front();
          lane.full.erase(lane.full.begin());
        }
        try {
          for (std::size_t i = 0; i < chunk->size; ++i)
            detail::project_record<P, Codec>(shards[w], chunk->events[i]);
        } catch (...) {
          fail(std::current_exception());
          return;
        }
        std::lock_guard lock(lane.mutex);
        chunk->size = 0;
        lane.empty.push_back(chunk);
        lane.changed.notify_all();
      }
    });
  }

  // Hands the lane's filling chunk to its worker; false once the run has failed.
  const auto ship = [&](detail::partition_lane& lane) {
    std::lock_guard lock(lane.mutex);
    if (lane.closed) return false;
    lane.full.push_back(lane.filling);
    lane.filling = nullptr;
    lane.changed.notify_all();
    return true;
  };
  const auto take_empty = [&](detail::partition_lane& lane) {
    std::unique_lock lock(lane.mutex);
    lane.changed.wait(lock, [&] { return !lane.empty.empty() || lane.closed; });
    if (lane.empty.empty()) return false;
    lane.filling = lane.empty.back();
    lane.empty.pop_back();
    return true;
  };

  try {
    read_batches([&](const recorded_event& e) {
      const std::size_t part = partition_of(e.stream_id, k);
      if (part == 0) {
        detail::project_record<P, Codec>(shards[0], e);
        return true;
      }
      detail::partition_lane& lane = lanes[part];
      if (!lane.filling && !take_empty(lane)) return false;
      detail::record_chunk& chunk = *lane.filling;
      if (chunk.size < chunk.events.size())
        chunk.events[chunk.size] = e;  // reuses the strings' capacity: no allocation per event
      else
        chunk.events.push_back(e);
      return ++chunk.size < chunk_size || ship(lane);
    });
    for (auto& lane : lanes)
      if (lane.filling && lane.filling->size != 0) ship(lane);
  } catch (...) {
    fail(std::current_exception());
  }
  for (auto& lane : lanes) {
    std::lock_guard lock(lane.mutex);
    lane.closed = true;
    lane.changed.notify_all();
  }
  workers.clear();  // joins
  if (failed()) std::rethrow_exception(failure.error);
  return total;
}

}  // namespace annal
