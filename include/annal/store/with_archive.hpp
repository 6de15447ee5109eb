// A log whose oldest events were archived, read in one pass: positions up to the archive's end
// from the archive, the rest from the hot store. An event_store, so rebuilds, replays and
// subscriptions take it as they take any store; appends go to the hot store.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <utility>

#include <annal/core/record.hpp>
#include <annal/store/event_store.hpp>
#include <annal/store/filter.hpp>
#include <annal/store/subscription.hpp>

namespace annal {

template <event_store Archive, event_store Hot>
class with_archive {
 public:
  // `archive` holds positions 1..archive.last_position() (a file log opened on the directory
  // annal::archive writes); `hot` the log they were archived from.
  with_archive(const Archive& archive, Hot& hot) : archive_(&archive), hot_(&hot) {}

  append_result append(std::string_view stream_id, expected_version expect,
                       std::span<const event_data> batch) {
    return hot_->append(stream_id, expect, batch);
  }

  template <class F>
  std::size_t read_all(std::uint64_t from, F&& visit, std::size_t max_count = unlimited) const {
    const std::uint64_t horizon = archive_->last_position();
    std::size_t n = 0;
    if (from <= horizon) {
      bool go_on = true;
      n = archive_->read_all(
          from,
          [&](const recorded_event& e) {
            go_on = detail::visit_continue(visit, e);
            return go_on;
          },
          max_count);
      if (!go_on || n == max_count) return n;
    }
    return n + hot_->read_all(std::max(from, horizon + 1), visit, max_count - n);
  }

  // A filtered read (store/filter.hpp), answered by each side as it can.
  template <class F>
  read_progress read_all(std::uint64_t from, const event_filter& filter, F&& visit,
                         std::size_t max_count = unlimited) const {
    const std::uint64_t horizon = archive_->last_position();
    read_progress r{0, std::max<std::uint64_t>(from, 1)};
    if (r.next_position <= horizon) {
      bool go_on = true;
      r = read_filtered(
          *archive_, r.next_position, filter,
          [&](const recorded_event& e) {
            go_on = detail::visit_continue(visit, e);
            return go_on;
          },
          max_count);
      if (!go_on || r.visited == max_count) return r;
      // The archive was read to its end: the hot store goes on after it.
      r.next_position = std::max(r.next_position, horizon + 1);
    }
    const read_progress hot =
        read_filtered(*hot_, r.next_position, filter, visit, max_count - r.visited);
    return {r.visited + hot.visited, hot.next_position};
  }

  template <class F>
  std::size_t read_stream(std::string_view stream_id, std::uint64_t from_version, F&& visit,
                          std::size_t max_count = unlimited) const {
    const std::uint64_t archived = archive_->stream_version(stream_id);
    std::size_t n = 0;
    if (from_version <= archived) {
      bool go_on = true;
      n = archive_->read_stream(
          stream_id, from_version,
          [&](const recorded_event& e) {
            go_on = detail::visit_continue(visit, e);
            return go_on;
          },
          max_count);
      if (!go_on || n == max_count) return n;
    }
    return n +
           hot_->read_stream(stream_id, std::max(from_version, archived + 1), visit, max_count - n);
  }

  std::uint64_t stream_version(std::string_view stream_id) const {
    return hot_->stream_version(stream_id);
  }
  std::uint64_t last_position() const { return hot_->last_position(); }

  bool wait_for_append(std::uint64_t after, time_point deadline) const
    requires waitable_store<Hot>
  {
    return hot_->wait_for_append(after, deadline);
  }

  const Archive& archive() const noexcept { return *archive_; }
  Hot& hot() const noexcept { return *hot_; }

 private:
  const Archive* archive_;
  Hot* hot_;
};

}  // namespace annal
