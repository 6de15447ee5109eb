// Replays a topic written by kafka_publisher: every partition, by offset, as recorded_events again.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <map>
#include <stop_token>
#include <string>
#include <utility>

#include <librdkafka/rdkafka.h>

#include <annal/core/detail/chrono.hpp>
#include <annal/core/error.hpp>
#include <annal/kafka/detail/client.hpp>
#include <annal/kafka/detail/dedupe.hpp>
#include <annal/kafka/detail/handle.hpp>
#include <annal/kafka/detail/merge.hpp>
#include <annal/kafka/detail/partitions.hpp>
#include <annal/kafka/detail/record.hpp>
#include <annal/kafka/properties.hpp>
#include <annal/store/event_store.hpp>

namespace annal {

struct kafka_replay_options {
  std::string topic{};
  // librdkafka consumer properties (bootstrap.servers, security...). group.id defaults to
  // "annal.replay": librdkafka needs one to assign partitions, but a replay never commits offsets.
  kafka_properties properties{};
  // Where each partition starts (an offset, or -2 for its beginning, as next_offsets() gives it): a
  // partition not listed starts at its beginning.
  std::map<std::int32_t, std::int64_t> from_offsets{};
  // Skip a message whose event id was handed over before (the publisher is at least once), among
  // the last `dedupe_window` events handed over from each partition.
  bool dedupe_by_event_id = false;
  // How many ids each partition remembers for dedupe_by_event_id (about 80 bytes each), so that a
  // replay that follows a topic for months holds bounded memory. A restarted publisher resends at
  // most its kafka_publisher_options::max_unconfirmed events that were delivered before, and a
  // window at least that large catches every copy: the defaults match; raise both together. A
  // copy the window missed is handed over again (at least once), never lost.
  std::size_t dedupe_window = 100000;
  // replay_to_end() hands events over in the store's global order (ascending `position`) instead
  // of partition by partition: it holds each partition's events until every partition not yet at
  // its end has one to compare. follow() hands events over as they arrive either way.
  bool in_position_order = false;
  // In position order, how many events one partition may hold while another partition's next
  // event is awaited; past it, fetching from that partition pauses. Bounds the memory held.
  std::size_t held_per_partition = 4096;
  // How long a wait for messages lasts; bounds how late a stop request is noticed.
  std::chrono::milliseconds poll_interval{100};
  // How long to wait for the cluster's answer about the topic's partitions and end offsets.
  std::chrono::milliseconds metadata_timeout{10000};
};

// Consumes every partition of a topic and hands each message, rebuilt from its headers, to a
// visitor `(const recorded_event&) -> void | bool` (false stops). One stream's events arrive in
// their order, because they share a partition; events of different partitions interleave, and
// `position` says where each stood in the store's global order (in_position_order makes a bounded
// replay follow it). A message without annal's headers,
// or with a header that does not parse, is an errc::decode_error naming topic, partition and
// offset.
class kafka_replay {
 public:
  explicit kafka_replay(kafka_replay_options options)
      : options_(std::move(options)), dedupe_(options_.dedupe_window) {
    if (options_.topic.empty())
      throw error(errc::invalid_argument, "kafka replay: the topic name is empty");
    if (options_.held_per_partition == 0)
      throw error(errc::invalid_argument,
                  "kafka_replay_options::held_per_partition must be at least 1, not 0");
    if (options_.dedupe_by_event_id && options_.dedupe_window == 0)
      throw error(errc::invalid_argument,
                  "kafka replay: dedupe_window is 0, so dedupe_by_event_id would remember no id; "
                  "give it at least the publisher's max_unconfirmed");
    detail::kafka::conf_ptr conf = detail::kafka::make_conf(
        {{"group.id", "annal.replay"}}, options_.properties,
        // Replays start where they are told and never move a group's committed offsets; a start
        // offset that retention deleted is an error, not a silent jump.
        {{"enable.auto.commit", "false"},
         {"enable.auto.offset.store", "false"},
         {"enable.partition.eof", "true"},
         {"auto.offset.reset", "error"}},
        "kafka replay");
    consumer_ = detail::kafka::make_handle(RD_KAFKA_CONSUMER, std::move(conf), "kafka replay");
    find_partitions();
    assign();
  }

  kafka_replay(const kafka_replay&) = delete;
  kafka_replay& operator=(const kafka_replay&) = delete;

  ~kafka_replay() {
    if (consumer_) rd_kafka_consumer_close(consumer_.get());
  }

  // A bounded replay: every message up to the end offsets the partitions had when this replay was
  // made (later messages are left for follow()). Returns how many events it handed over.
  template <class F>
  std::uint64_t replay_to_end(F&& visit, std::stop_token stop = {}) {
    refetch_if_needed();
    std::uint64_t handed = 0;
    bool go_on = true;
    if (options_.in_position_order) {
      try {
        for (;;) {
          handed += release_held(visit, go_on);
          if (!go_on || stop.stop_requested() || (at_end() && nothing_held())) break;
          poll_one(visit, true, go_on);
        }
      } catch (...) {
        drop_held();  // what was not handed over is fetched again by the next call
        throw;
      }
      drop_held();
      return handed;
    }
    while (!stop.stop_requested() && !at_end()) {
      handed += poll_one(visit, true, go_on);
      if (!go_on) break;
    }
    return handed;
  }

  // A continuous replay: hands over messages as they arrive until `stop` is requested or the
  // visitor returns false. Returns how many events it handed over.
  template <class F>
  std::uint64_t follow(F&& visit, std::stop_token stop) {
    refetch_if_needed();
    std::uint64_t handed = 0;
    bool go_on = true;
    while (go_on && !stop.stop_requested()) handed += poll_one(visit, false, go_on);
    return handed;
  }

  // The next offset of each partition: where a later replay (from_offsets) carries on. A partition
  // nothing was read from yet shows -2 (librdkafka's "beginning").
  std::map<std::int32_t, std::int64_t> next_offsets() const {
    std::map<std::int32_t, std::int64_t> out;
    for (const auto& [partition, state] : partitions_) out[partition] = state.next;
    return out;
  }
  // The end offsets observed when the replay was made: where replay_to_end() stops.
  std::map<std::int32_t, std::int64_t> end_offsets() const {
    std::map<std::int32_t, std::int64_t> out;
    for (const auto& [partition, state] : partitions_) out[partition] = state.end;
    return out;
  }
  // Where the event being handed to the visitor came from (valid during the visitor's call).
  std::int32_t partition() const noexcept { return current_partition_; }
  std::int64_t offset() const noexcept { return current_offset_; }
  std::uint64_t duplicates_skipped() const noexcept { return duplicates_; }
  // How many event ids dedupe_by_event_id holds now: at most dedupe_window per partition.
  std::size_t remembered_ids() const noexcept { return dedupe_.size(); }
  const std::string& topic() const noexcept { return options_.topic; }

 private:
  using partition_state = detail::kafka::partition_state;

  int metadata_ms() const { return static_cast<int>(options_.metadata_timeout.count()); }

  void find_partitions() {
    partitions_ = detail::kafka::find_partitions(consumer_.get(), options_.topic,
                                                 options_.from_offsets, metadata_ms());
  }
  void assign() { detail::kafka::assign_partitions(consumer_.get(), options_.topic, partitions_); }
  bool at_end() const { return detail::kafka::all_done(partitions_); }
  void pause(std::int32_t partition, partition_state& state, bool on) {
    detail::kafka::pause_partition(consumer_.get(), options_.topic, partition, state, on);
  }

  // Waits for one message or event; returns 1 when an event was handed to the visitor.
  template <class F>
  std::uint64_t poll_one(F& visit, bool bounded, bool& go_on) {
    const detail::kafka::message_ptr m(
        rd_kafka_consumer_poll(consumer_.get(), static_cast<int>(options_.poll_interval.count())));
    if (!m) return 0;
    const auto found = partitions_.find(m->partition);
    if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
      // The offset of an end-of-partition event is the partition's end at that moment.
      if (found != partitions_.end()) {
        partition_state& state = found->second;
        advance(state, bounded ? std::min(m->offset, state.end) : m->offset);
        if (m->offset >= state.end) state.done = true;
      }
      return 0;
    }
    if (m->err) {
      consumer_failure(*m);
      return 0;
    }
    if (found == partitions_.end()) return 0;
    partition_state& state = found->second;
    if (bounded && m->offset >= state.end) {
      // Past the bound: left for follow(), which fetches it again from `next`.
      advance(state, state.end);
      state.done = true;
      refetch_ = true;
      return 0;
    }
    // A message that fails to decode or to be handled is not passed: next_offsets() stays on it,
    // and the next call fetches again from there, so it meets the message again.
    try {
      if (bounded && options_.in_position_order) {
        detail::kafka::held_event& h = state.held.emplace_back();
        try {
          detail::kafka::decode_message(*m, options_.topic, h.event);
        } catch (...) {
          state.held.pop_back();
          throw;
        }
        h.offset = m->offset;
        state.reached = m->offset + 1;
        if (state.reached >= state.end) state.done = true;
        if (state.held.size() >= options_.held_per_partition) pause(found->first, state, true);
        return 0;
      }
      detail::kafka::decode_message(*m, options_.topic, event_);
      const std::uint64_t handed = hand_over(visit, m->partition, state, m->offset, event_, go_on);
      state.next = m->offset + 1;
      if (bounded && state.next >= state.end) state.done = true;
      return handed;
    } catch (...) {
      refetch_ = true;
      throw;
    }
  }

  // Hands one event to the visitor unless it is a duplicate to skip; returns 1 if it was handed.
  template <class F>
  std::uint64_t hand_over(F& visit, std::int32_t partition, partition_state& state,
                          std::int64_t offset, const recorded_event& e, bool& go_on) {
    if (options_.dedupe_by_event_id && dedupe_.contains(e.id)) {
      ++duplicates_;
      return 0;
    }
    current_partition_ = partition;
    current_offset_ = offset;
    go_on = detail::visit_continue(visit, e);
    if (options_.dedupe_by_event_id) dedupe_.remember(state.recent, e.id);
    return 1;
  }

  void advance(partition_state& state, std::int64_t to) const {
    detail::kafka::advance(state, to, options_.in_position_order);
  }
  bool nothing_held() const { return detail::kafka::nothing_held(partitions_); }

  // Position order: hands over what the partitions hold, lowest position first, as far as it can
  // be compared (see detail/merge.hpp).
  template <class F>
  std::uint64_t release_held(F& visit, bool& go_on) {
    return detail::kafka::release_held(
        partitions_, options_.held_per_partition, go_on,
        [&](std::int32_t partition, partition_state& state, const detail::kafka::held_event& h) {
          return hand_over(visit, partition, state, h.offset, h.event, go_on);
        },
        [&](std::int32_t partition, partition_state& state) { pause(partition, state, false); });
  }
  void drop_held() {
    if (detail::kafka::drop_held(partitions_, [&](std::int32_t partition, partition_state& state) {
          pause(partition, state, false);
        }))
      refetch_ = true;
  }

  void refetch_if_needed() {
    if (!refetch_) return;
    assign();
    refetch_ = false;
  }

  void consumer_failure(const rd_kafka_message_t& m) {
    detail::kafka::consumer_failure(m, options_.topic, "kafka replay");
  }

  kafka_replay_options options_;
  detail::kafka::partition_map partitions_;
  recorded_event event_;  // reused: its strings keep their capacity from message to message
  detail::kafka::dedupe_window dedupe_;
  std::uint64_t duplicates_ = 0;
  bool refetch_ = false;  // replay_to_end() consumed messages past its bound, which follow() wants
  std::int32_t current_partition_ = -1;
  std::int64_t current_offset_ = -1;
  detail::kafka::handle_ptr consumer_;
};

}  // namespace annal
