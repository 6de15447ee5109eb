// The in-memory event store: thread-safe, for tests, examples and short-lived processes.
#pragma once

#include <algorithm>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <annal/core/detail/chrono.hpp>
#include <annal/core/detail/event_id.hpp>
#include <annal/detail/idempotency.hpp>
#include <annal/detail/validate.hpp>
#include <annal/store/event_store.hpp>
#include <annal/store/filter.hpp>

namespace annal {

namespace detail {
struct string_hash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const noexcept {
    return std::hash<std::string_view>{}(s);
  }
};
}  // namespace detail

class memory_store {
 public:
  memory_store() = default;
  memory_store(const memory_store&) = delete;
  memory_store& operator=(const memory_store&) = delete;

  // Defined below the class, a template only so that the separately compiled mode compiles it once
  // (see detail/validate.hpp).
  template <class = void>
  append_result append(std::string_view stream_id, expected_version expect,
                       std::span<const event_data> batch);

  template <class F>
  std::size_t read_stream(std::string_view stream_id, std::uint64_t from_version, F&& visit,
                          std::size_t max_count = unlimited) const {
    detail::validate_stream_id(stream_id);
    std::vector<const recorded_event*> slice;
    {
      std::shared_lock lock(mutex_);
      const auto it = streams_.find(stream_id);
      if (it == streams_.end()) return 0;
      const auto& events = it->second;
      const std::size_t begin = from_version == 0 ? 0 : from_version - 1;
      if (begin >= events.size()) return 0;
      const std::size_t n = std::min(events.size() - begin, max_count);
      slice.assign(events.begin() + begin, events.begin() + begin + n);
    }
    return visit_all(slice, visit);
  }

  template <class F>
  std::size_t read_all(std::uint64_t from_position, F&& visit,
                       std::size_t max_count = unlimited) const {
    std::vector<const recorded_event*> slice;
    {
      std::shared_lock lock(mutex_);
      const std::size_t begin = from_position == 0 ? 0 : from_position - 1;
      if (begin >= log_.size()) return 0;
      const std::size_t n = std::min(log_.size() - begin, max_count);
      slice.reserve(n);
      for (std::size_t i = begin; i < begin + n; ++i) slice.push_back(&log_[i]);
    }
    return visit_all(slice, visit);
  }

  // The events `filter` selects (store/filter.hpp), picked under the lock: a few types through
  // each type's list of events (so a rare type costs its own events, not the log's), many types or
  // prefixes alone by testing every event.
  template <class F>
  read_progress read_all(std::uint64_t from_position, const event_filter& filter, F&& visit,
                         std::size_t max_count = unlimited) const {
    filter.validate();
    read_progress r{0, std::max<std::uint64_t>(from_position, 1)};
    std::vector<const recorded_event*> slice;
    {
      std::shared_lock lock(mutex_);
      if (!filter.types.empty() && filter.types.size() <= max_merged_types) {
        r.next_position = pick_by_type(r.next_position, filter, max_count, slice);
      } else {
        std::size_t i = static_cast<std::size_t>(r.next_position - 1);
        for (; i < log_.size() && slice.size() < max_count; ++i)
          if (filter.matches(log_[i].stream_id, log_[i].type)) slice.push_back(&log_[i]);
        r.next_position = std::max<std::uint64_t>(r.next_position, i + 1);
      }
    }
    for (const recorded_event* e : slice) {
      ++r.visited;
      if (!detail::visit_continue(visit, *e)) {
        r.next_position = e->position + 1;
        break;
      }
    }
    return r;
  }

  std::uint64_t stream_version(std::string_view stream_id) const {
    detail::validate_stream_id(stream_id);
    std::shared_lock lock(mutex_);
    const auto it = streams_.find(stream_id);
    return it == streams_.end() ? 0 : it->second.size();
  }

  std::uint64_t last_position() const {
    std::shared_lock lock(mutex_);
    return log_.size();
  }

  // Blocks until an event with position > `after` is stored or `deadline` passes; returns whether
  // one is. Subscriptions use it so that a live reader sleeps instead of polling.
  bool wait_for_append(std::uint64_t after, time_point deadline) const {
    const auto until = detail::steady_deadline(deadline);
    std::unique_lock lock(wait_mutex_);
    return appended_.wait_until(lock, until, [&] { return last_position() > after; });
  }

 private:
  using stream_events = std::vector<const recorded_event*>;

  std::optional<detail::stored_ref> lookup(const event_id& id) const {
    const auto it = ids_.find(id);
    if (it == ids_.end()) return std::nullopt;
    return detail::stored_ref{it->second->stream_id, it->second->stream_version,
                              it->second->position};
  }

  // Records are immutable once stored and std::deque never moves them, so visiting happens
  // without the lock: a visitor may append to this store without deadlocking.
  template <class F>
  static std::size_t visit_all(const std::vector<const recorded_event*>& slice, F& visit) {
    std::size_t n = 0;
    for (const recorded_event* e : slice) {
      ++n;
      if (!detail::visit_continue(visit, *e)) break;
    }
    return n;
  }

  mutable std::shared_mutex mutex_;
  // Up to this many types a filtered read merges the types' own lists; beyond, it tests events.
  static constexpr std::size_t max_merged_types = 16;

  // Merges the wanted types' lists from `from` on, in position order, until `max_count` events
  // of the wanted streams are picked; returns the next position to read. Caller holds the lock.
  std::uint64_t pick_by_type(std::uint64_t from, const event_filter& filter, std::size_t max_count,
                             std::vector<const recorded_event*>& slice) const {
    struct cursor {
      const stream_events* events;
      std::size_t at;
    };
    std::vector<cursor> cursors;
    for (const std::string& type : filter.types) {
      const auto found = by_type_.find(type);
      if (found == by_type_.end()) continue;
      const stream_events& list = found->second;
      if (std::any_of(cursors.begin(), cursors.end(),
                      [&](const cursor& c) { return c.events == &list; }))
        continue;  // listed twice
      const auto first = std::lower_bound(
          list.begin(), list.end(), from,
          [](const recorded_event* e, std::uint64_t p) { return e->position < p; });
      cursors.push_back({&list, static_cast<std::size_t>(first - list.begin())});
    }
    while (slice.size() < max_count) {
      cursor* next = nullptr;
      for (cursor& c : cursors)
        if (c.at < c.events->size() &&
            (!next || (*c.events)[c.at]->position < (*next->events)[next->at]->position))
          next = &c;
      if (!next) return std::max<std::uint64_t>(from, log_.size() + 1);
      const recorded_event* e = (*next->events)[next->at++];
      if (filter.matches_stream(e->stream_id)) slice.push_back(e);
    }
    return slice.back()->position + 1;
  }

  std::deque<recorded_event> log_;
  // Each stored type's events in position order, for filtered reads.
  std::unordered_map<std::string, stream_events, detail::string_hash, std::equal_to<>> by_type_;
  std::unordered_map<std::string, stream_events, detail::string_hash, std::equal_to<>> streams_;
  std::unordered_map<event_id, const recorded_event*, detail::event_id_hash> ids_;
  time_point last_recorded_at_{};
  mutable std::mutex wait_mutex_;
  mutable std::condition_variable appended_;
};

template <class>
append_result memory_store::append(std::string_view stream_id, expected_version expect,
                                   std::span<const event_data> batch) {
  detail::validate_batch(stream_id, batch);
  std::unique_lock lock(mutex_);
  if (auto dup = detail::check_stored_ids(stream_id, batch,
                                          [&](const event_id& id) { return lookup(id); }))
    return *dup;

  auto it = streams_.find(stream_id);
  const std::uint64_t actual = it == streams_.end() ? 0 : it->second.size();
  if (actual != 0 && it->second.back()->type == tombstone_type)
    detail::throw_stream_deleted(stream_id, actual);
  if (!expect.matches(actual)) return {append_status::conflict, actual, 0, 0};
  if (it == streams_.end()) it = streams_.emplace(std::string(stream_id), stream_events{}).first;

  // Recorded times never go backwards, so "state as of t" is well defined even if the clock is.
  const time_point now =
      detail::batch_recorded_at(stream_id, batch, last_recorded_at_, clock::now());
  last_recorded_at_ = now;
  const std::uint64_t first_position = log_.size() + 1;
  for (std::size_t i = 0; i < batch.size(); ++i) {
    const event_data& in = batch[i];
    recorded_event& out = log_.emplace_back();
    out.stream_id = it->first;
    out.stream_version = actual + i + 1;
    out.position = first_position + i;
    out.id = in.id;
    out.recorded_at = now;
    out.correlation_id = in.correlation_id;
    out.causation_id = in.causation_id;
    out.meta = in.meta;
    out.type = in.type;
    out.schema_version = in.schema_version;
    out.payload = in.payload;
    it->second.push_back(&out);
    by_type_[out.type].push_back(&out);
    ids_.emplace(in.id, &out);
  }
  const append_result result{append_status::appended, actual + batch.size(), first_position,
                             log_.size()};
  lock.unlock();
  // Taking wait_mutex_ orders this notify after any waiter's predicate check: no lost wake-up.
  { std::lock_guard wake(wait_mutex_); }
  appended_.notify_all();
  return result;
}

#if defined(ANNAL_SEPARATE_COMPILATION)
extern template append_result memory_store::append(std::string_view, expected_version,
                                                   std::span<const event_data>);
#endif

}  // namespace annal
