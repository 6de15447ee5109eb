// Subscriptions: read the log from a position in bounded batches, then follow it live, woken by
// appends.
#pragma once

#include <algorithm>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <stop_token>
#include <utility>

#include <annal/core/detail/chrono.hpp>
#include <annal/core/error.hpp>
#include <annal/store/event_store.hpp>
#include <annal/store/filter.hpp>

namespace annal {

// A store that can wake a reader when something is appended: `wait_for_append(after, deadline)`
// blocks until a position above `after` is stored or the deadline passes. The in-process stores
// (memory, file log) and the SQL stores provide it.
template <class S>
concept waitable_store =
    event_store<S> && requires(const S& s, std::uint64_t after, time_point deadline) {
      { s.wait_for_append(after, deadline) } -> std::same_as<bool>;
    };

struct subscription_options {
  // The most events read (and so held) at once: a subscription catching up over 100M events never
  // holds more than this, whatever the store.
  std::size_t batch_size = 1024;
  // How long a live wait lasts before it looks at the stop token again. Appends wake it at once;
  // this only bounds how late a stop request is noticed.
  std::chrono::milliseconds stop_check_interval{50};
  // The events wanted (store/filter.hpp); the default is every event. The store answers it where
  // it can, and the position moves past the events it leaves out.
  event_filter filter{};
};

// Delivers every event from `from_position` (1-based, inclusive) on, in global order, to a handler.
// The position advances past an event only once the handler returned: when it throws, the
// exception reaches the caller and the next read starts with the same event.
template <event_store S>
class subscription {
 public:
  explicit subscription(const S& store, std::uint64_t from_position = 1,
                        subscription_options options = {})
      : store_(&store), position_(std::max<std::uint64_t>(from_position, 1)), options_(options) {
    if (options_.batch_size == 0)
      throw error(errc::invalid_argument,
                  "subscription_options::batch_size must be at least 1, not 0");
    options_.filter.validate();
  }

  // Reads at most batch_size events and hands each to `on_event(const recorded_event&)`; returns
  // how many were delivered (0: caught up).
  template <class F>
  std::size_t poll(F&& on_event) {
    std::size_t delivered = 0;
    const auto deliver = [&](const recorded_event& e) {
      on_event(e);
      position_ = e.position + 1;
      ++delivered;
    };
    if (options_.filter.everything()) {
      store_->read_all(position_, deliver, options_.batch_size);
    } else {
      const read_progress r =
          read_filtered(*store_, position_, options_.filter, deliver, options_.batch_size);
      position_ = std::max(position_, r.next_position);
    }
    largest_batch_ = std::max(largest_batch_, delivered);
    return delivered;
  }

  // Delivers everything stored up to now; returns how many events.
  template <class F>
  std::uint64_t catch_up(F&& on_event) {
    std::uint64_t total = 0;
    while (const std::size_t n = poll(on_event)) total += n;
    return total;
  }

  // Blocks until an event past the position is stored or the deadline passes; true when one is.
  bool wait(time_point deadline) const
    requires waitable_store<S>
  {
    return store_->wait_for_append(position_ - 1, deadline);
  }

  // Catches up, then follows the log live until `stop` is requested.
  template <class F>
    requires waitable_store<S>
  void run(F&& on_event, std::stop_token stop) {
    while (!stop.stop_requested()) {
      if (poll(on_event) == 0) wait(clock::now() + options_.stop_check_interval);
    }
  }

  std::uint64_t position() const noexcept { return position_; }  // the next position to read
  // The most events one read delivered: never more than batch_size (the memory bound).
  std::size_t largest_batch() const noexcept { return largest_batch_; }
  const subscription_options& options() const noexcept { return options_; }

 private:
  const S* store_;
  std::uint64_t position_;
  subscription_options options_;
  std::size_t largest_batch_ = 0;
};

}  // namespace annal
