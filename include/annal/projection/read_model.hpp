// The read_model_store concept: a projection's state and its checkpoint, committed together.
#pragma once

#include <concepts>
#include <cstdint>
#include <mutex>
#include <shared_mutex>
#include <type_traits>
#include <utility>

#include <annal/projection/projection.hpp>

namespace annal {

namespace detail {
struct read_model_reader_archetype {
  template <class P>
  bool operator()(const P&, std::uint64_t) const {
    return true;
  }
};
struct read_model_updater_archetype {
  template <class P>
  void operator()(P&, std::uint64_t&) const {}
};

// A model and its checkpoint behind a reader-writer lock, so queries run beside the projector: the
// part every in-process read model shares. Derived models add update() and replace().
template <class P>
class locked_model {
 public:
  using model_type = P;

  std::uint64_t checkpoint() const {
    std::shared_lock lock(mutex_);
    return checkpoint_;
  }

  template <class F>
  decltype(auto) read(F&& f) const {
    std::shared_lock lock(mutex_);
    return std::forward<F>(f)(static_cast<const P&>(model_), checkpoint_);
  }

 protected:
  locked_model() = default;
  locked_model(P model, std::uint64_t checkpoint)
      : model_(std::move(model)), checkpoint_(checkpoint) {}

  mutable std::shared_mutex mutex_;
  P model_{};
  std::uint64_t checkpoint_ = 0;
};
}  // namespace detail

// Where a projection's read model lives. A store provides
//   using model_type = P;                          the projection
//   checkpoint() const -> uint64_t                 last global position applied (0: none)
//   read(f) const -> f(const P&, uint64_t)         for queries, concurrent with updates
//   update(f)                                      f(P&, uint64_t& checkpoint) applies a batch and
//       advances the checkpoint after each event; when f returns, model and checkpoint are
//       committed together (one atomic write for a file); when f throws, the store keeps only what
//       it can prove consistent: never an event applied without its checkpoint, never the reverse.
//   replace(P, uint64_t)                           swaps in a rebuilt model and its checkpoint.
template <class M>
concept read_model_store =
    requires { typename M::model_type; } && projection<typename M::model_type> &&
    requires(M& m, const M& cm, typename M::model_type&& p, std::uint64_t position) {
      { cm.checkpoint() } -> std::same_as<std::uint64_t>;
      cm.read(detail::read_model_reader_archetype{});
      m.update(detail::read_model_updater_archetype{});
      m.replace(std::move(p), position);
    };

// The read model in memory, guarded by a reader-writer lock: queries run beside the projector.
// The checkpoint advances with each handled event, so after a handler throws it sits just before
// the failing event and the events before it stay applied. A throwing handler must leave the model
// as it found it (the strong guarantee); a file read model rolls back the whole batch instead.
template <class P>
class memory_read_model : public detail::locked_model<P> {
  static_assert(check_projection<P>());
  using base = detail::locked_model<P>;
  using base::mutex_, base::model_, base::checkpoint_;

 public:
  memory_read_model() = default;
  explicit memory_read_model(P model, std::uint64_t checkpoint = 0)
      : base(std::move(model), checkpoint) {}
  memory_read_model(const memory_read_model&) = delete;
  memory_read_model& operator=(const memory_read_model&) = delete;

  template <class F>
  void update(F&& f) {
    std::unique_lock lock(mutex_);
    std::forward<F>(f)(model_, checkpoint_);
  }

  void replace(P model, std::uint64_t checkpoint) {
    std::unique_lock lock(mutex_);
    model_ = std::move(model);
    checkpoint_ = checkpoint;
  }

  // A copy of the model and its checkpoint, taken under the lock.
  std::pair<P, std::uint64_t> copy() const
    requires std::copy_constructible<P>
  {
    std::shared_lock lock(mutex_);
    return {model_, checkpoint_};
  }
};

}  // namespace annal
