// The projector: runs a projection over the log from its read model's checkpoint, in batches, then
// live.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <stop_token>
#include <string>

#include <annal/codec/binary.hpp>
#include <annal/core/detail/chrono.hpp>
#include <annal/core/error.hpp>
#include <annal/projection/detail/apply.hpp>
#include <annal/projection/projection.hpp>
#include <annal/projection/read_model.hpp>
#include <annal/store/event_store.hpp>
#include <annal/store/filter.hpp>
#include <annal/store/subscription.hpp>

namespace annal {

namespace detail {
// A read model kept in the very store it reads (a PostgreSQL read model over the postgres_store
// whose events it projects) holds one of the store's connections for each batch's transaction
// while it reads the batch through another: `updates` batches at once need a pool above
// `updates`, or every worker waits for a connection forever. Refused at construction instead.
template <class S, class M>
void check_connections(const S& store, const M& model, std::size_t updates, const char* who) {
  if constexpr (requires {
                  { &model.store() } -> std::convertible_to<const S*>;
                  { store.options().pool_size } -> std::convertible_to<std::size_t>;
                }) {
    if (&model.store() != &store || store.options().pool_size > updates) return;
    const std::string models =
        updates == 1 ? "a read model kept in the store it reads needs"
                     : std::to_string(updates) + " read models kept in the store they read need";
    throw error(errc::invalid_argument,
                std::string(who) + ": " + models + " a connection pool of at least " +
                    std::to_string(updates + 1) + " (pool_size is " +
                    std::to_string(store.options().pool_size) +
                    "): each batch's transaction holds one connection while the batch is read "
                    "through another; raise postgres_options::pool_size");
  }
}
}  // namespace detail

struct projector_options {
  std::size_t batch_size = 1024;  // events per commit of the read model, and most events held
  std::chrono::milliseconds stop_check_interval{50};  // see subscription_options
};

// Each batch is read from the read model's checkpoint and applied inside the model's update, so the
// events and the checkpoint commit together. A handler that throws stops the projector with
// errc::handler_failed naming stream, version, position and event type (the handler's exception
// nested inside); the checkpoint stays before that event, and the next run retries it.
//   annal::memory_read_model<balances> model;
//   annal::projector projector{store, model};
//   projector.catch_up();
template <event_store S, read_model_store M, class Codec = binary_codec>
class projector {
 public:
  using projection_type = typename M::model_type;
  static_assert(check_projection<projection_type>());

  projector(const S& store, M& model, projector_options options = {})
      : store_(&store),
        model_(&model),
        options_(options),
        filter_(detail::filter_of<typename projection_type::events, Codec>()) {
    detail::check_connections(store, model, 1, "projector");
    if (options_.batch_size == 0)
      throw error(errc::invalid_argument,
                  "projector_options::batch_size must be at least 1, not 0");
  }

  // Applies at most one batch; returns how many events it applied (0: caught up). It asks the
  // store only for the event types the projection lists (read_filtered), and the checkpoint moves
  // past the events of other types too, so a quiet projection does not scan them again.
  std::size_t step() {
    std::size_t read = 0;
    model_->update([&](projection_type& p, std::uint64_t& checkpoint) {
      const read_progress r = read_filtered(
          *store_, checkpoint + 1, filter_,
          [&](const recorded_event& e) {
            checkpoint = e.position - 1;  // what the filter passed over before it is done
            detail::project_record<projection_type, Codec>(p, e);
            checkpoint = e.position;
          },
          options_.batch_size);
      read = r.visited;
      checkpoint = std::max(checkpoint, r.next_position - 1);
    });
    return read;
  }

  // Applies everything stored up to now; returns how many events it read.
  std::uint64_t catch_up() {
    std::uint64_t total = 0;
    while (const std::size_t n = step()) total += n;
    return total;
  }

  // Catches up, then follows the log live (woken by appends) until `stop` is requested.
  void run(std::stop_token stop)
    requires waitable_store<S>
  {
    while (!stop.stop_requested()) {
      if (step() == 0)
        store_->wait_for_append(model_->checkpoint(), clock::now() + options_.stop_check_interval);
    }
  }

  std::uint64_t checkpoint() const { return model_->checkpoint(); }
  M& model() const noexcept { return *model_; }

 private:
  const S* store_;
  M* model_;
  projector_options options_;
  event_filter filter_;
};

}  // namespace annal
