// Rebuild: replay the log from position 0 into a fresh read model beside the serving one, then
// swap.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <utility>
#include <vector>

#include <annal/codec/binary.hpp>
#include <annal/core/detail/chrono.hpp>
#include <annal/core/error.hpp>
#include <annal/projection/partitioned.hpp>
#include <annal/projection/projection.hpp>
#include <annal/projection/read_model.hpp>
#include <annal/store/event_store.hpp>

namespace annal {

// Where a rebuild stands, reported through rebuild_options::on_progress.
struct rebuild_progress {
  std::uint64_t position = 0;  // last global position read
  std::uint64_t target = 0;    // the position the rebuild runs to
  std::uint64_t events = 0;    // events read so far
  double events_per_second = 0;
  std::chrono::duration<double> elapsed{};
  std::chrono::duration<double> eta{};  // at the current rate
  bool done = false;                    // the last report of the run

  double fraction() const noexcept {
    return target == 0 ? 1.0 : static_cast<double>(position) / static_cast<double>(target);
  }
};

struct rebuild_options {
  std::size_t workers = 1;        // >1: partitioned by stream id (needs the projection's merge)
  std::size_t batch_size = 8192;  // events per read; bounds memory with the workers' chunks
  std::uint64_t up_to = 0;        // last position to apply; 0: the store's last position at start
  std::function<void(const rebuild_progress&)> on_progress{};  // called on the rebuilding thread
  std::chrono::milliseconds progress_interval{250};            // at most one report per interval
};

struct rebuild_result {
  std::uint64_t checkpoint = 0;  // the position the model covers
  std::uint64_t events = 0;      // events read
  std::chrono::nanoseconds elapsed{};
};

template <class P>
struct rebuilt : rebuild_result {
  P model{};
};

namespace detail {
// Turns positions and counts into rebuild_progress reports, at most one per progress_interval.
class progress_reporter {
 public:
  progress_reporter(const rebuild_options& options, std::uint64_t target,
                    std::chrono::steady_clock::time_point started)
      : options_(&options), target_(target), started_(started), last_(started) {}

  void operator()(std::uint64_t position, std::uint64_t events, bool done) {
    if (!options_->on_progress) return;
    const auto now = std::chrono::steady_clock::now();
    if (!done && now - last_ < options_->progress_interval) return;
    last_ = now;
    rebuild_progress p;
    p.position = position;
    p.target = target_;
    p.events = events;
    p.elapsed = now - started_;
    p.events_per_second =
        p.elapsed.count() > 0 ? static_cast<double>(events) / p.elapsed.count() : 0;
    p.eta = std::chrono::duration<double>(p.events_per_second > 0 && target_ > position
                                              ? static_cast<double>(target_ - position) /
                                                    p.events_per_second
                                              : 0.0);
    p.done = done;
    options_->on_progress(p);
  }

 private:
  const rebuild_options* options_;
  std::uint64_t target_;
  std::chrono::steady_clock::time_point started_, last_;
};
}  // namespace detail

// Replays positions 1..up_to into a fresh P. Only projections can be rebuilt: a reactor (a type
// with `react` members) is refused at compile time, so no side effect fires during a rebuild.
template <class P, class Codec = binary_codec, event_store S>
rebuilt<P> rebuild(const S& store, rebuild_options options = {}) {
  static_assert(check_projection<P>());
  if (options.workers == 0)
    throw error(errc::invalid_argument, "rebuild_options::workers must be at least 1, not 0");
  if (options.batch_size == 0)
    throw error(errc::invalid_argument, "rebuild_options::batch_size must be at least 1, not 0");
  const auto started = std::chrono::steady_clock::now();
  const std::uint64_t target = options.up_to != 0 ? options.up_to : store.last_position();

  detail::progress_reporter report(options, target, started);

  rebuilt<P> out;
  std::uint64_t events = 0;
  std::uint64_t position = 0;
  const auto on_batch = [&](std::uint64_t last, std::size_t n) {
    position = last;
    events += n;
    report(position, events, false);
  };
  if (options.workers == 1) {
    std::vector<P> shard(1);
    project_partitioned<P, Codec>(store, shard, 1, target, options.batch_size, on_batch);
    out.model = std::move(shard[0]);
  } else {
    if constexpr (mergeable_projection<P>) {
      std::vector<P> shards(options.workers);
      project_partitioned<P, Codec>(store, shards, 1, target, options.batch_size, on_batch);
      out.model = std::move(shards[0]);
      for (std::size_t i = 1; i < shards.size(); ++i) out.model.merge(std::move(shards[i]));
    } else {
      throw error(errc::invalid_argument,
                  "rebuild_options::workers > 1 needs a projection with `void merge(P&& shard)`");
    }
  }
  out.checkpoint = position;
  out.events = events;
  out.elapsed = std::chrono::steady_clock::now() - started;
  report(position, events, true);
  return out;
}

// Rebuilds the model's projection beside the serving model, which keeps answering reads (and may
// keep being updated by its projector) meanwhile; then swaps the fresh one in with its checkpoint.
// A projector on the same model continues from there. Returns the rebuild's figures.
template <class Codec = binary_codec, event_store S, read_model_store M>
rebuild_result rebuild_and_swap(const S& store, M& model, rebuild_options options = {}) {
  rebuilt<typename M::model_type> fresh =
      rebuild<typename M::model_type, Codec>(store, std::move(options));
  model.replace(std::move(fresh.model), fresh.checkpoint);
  return static_cast<const rebuild_result&>(fresh);
}

}  // namespace annal
