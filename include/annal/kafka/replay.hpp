// Replays a topic written by kafka_publisher: every partition, by offset, as recorded_events again.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <stop_token>
#include <string>
#include <unordered_set>
#include <utility>

#include <librdkafka/rdkafka.h>
#include <boost/container_hash/hash.hpp>

#include <annal/core/error.hpp>
#include <annal/kafka/detail/client.hpp>
#include <annal/kafka/detail/handle.hpp>
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
  explicit kafka_replay(kafka_replay_options options) : options_(std::move(options)) {
    if (options_.topic.empty())
      throw error(errc::invalid_argument, "kafka replay: the topic name is empty");
    options_.held_per_partition = std::max<std::size_t>(options_.held_per_partition, 1);
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
  std::size_t remembered_ids() const noexcept { return seen_.size(); }
  const std::string& topic() const noexcept { return options_.topic; }

 private:
  // An event consumed but not yet handed over (position order only).
  struct held_event {
    recorded_event event;
    std::int64_t offset = 0;
  };
  struct partition_state {
    std::int64_t next = RD_KAFKA_OFFSET_BEGINNING;  // after the last event handed over
    std::int64_t end = 0;
    bool done = false;  // replay_to_end() has consumed everything below `end`
    // Position order: consumed, not yet handed over, in offset order; `reached` is where consuming
    // got to (next moves there once nothing is held); `paused` while `held` is full.
    std::deque<held_event> held;
    std::int64_t reached = RD_KAFKA_OFFSET_BEGINNING;
    bool paused = false;
    // dedupe_by_event_id: the ids of this partition's last events handed over, oldest first.
    std::deque<event_id> recent;
  };

  int metadata_ms() const { return static_cast<int>(options_.metadata_timeout.count()); }

  // Listing every topic rather than asking for this one: a request naming it could make a broker
  // with auto-creation on create it.
  void find_partitions() {
    const rd_kafka_metadata_t* raw = nullptr;
    if (const auto err = rd_kafka_metadata(consumer_.get(), 1, nullptr, &raw, metadata_ms()))
      throw error(errc::connection_error,
                  "kafka replay: could not list the topics of the cluster to find '" +
                      options_.topic + "': " + rd_kafka_err2str(err));
    const detail::kafka::metadata_ptr metadata(raw);
    for (int t = 0; t < metadata->topic_cnt; ++t) {
      const rd_kafka_metadata_topic_t& topic = metadata->topics[t];
      if (options_.topic != topic.topic) continue;
      if (topic.err)
        throw error(errc::connection_error, "kafka replay: topic '" + options_.topic +
                                                "' is unavailable: " + rd_kafka_err2str(topic.err));
      for (int p = 0; p < topic.partition_cnt; ++p) partitions_[topic.partitions[p].id] = {};
    }
    if (partitions_.empty())
      throw error(errc::invalid_argument,
                  "kafka replay: topic '" + options_.topic + "' does not exist");
    for (const auto& [partition, offset] : options_.from_offsets) {
      if (!partitions_.contains(partition))
        throw error(errc::invalid_argument, "kafka replay: from_offsets names partition " +
                                                std::to_string(partition) + ", but topic '" +
                                                options_.topic + "' has " +
                                                std::to_string(partitions_.size()) + " partitions");
      if (offset < 0 && offset != RD_KAFKA_OFFSET_BEGINNING)
        throw error(errc::invalid_argument, "kafka replay: from_offsets gives partition " +
                                                std::to_string(partition) +
                                                " the negative offset " + std::to_string(offset));
      partitions_[partition].next = offset;
    }
    for (auto& [partition, state] : partitions_) {
      std::int64_t low = 0, high = 0;
      if (const auto err = rd_kafka_query_watermark_offsets(consumer_.get(), options_.topic.c_str(),
                                                            partition, &low, &high, metadata_ms()))
        throw error(errc::connection_error,
                    "kafka replay: could not read the end offset of topic '" + options_.topic +
                        "' partition " + std::to_string(partition) + ": " + rd_kafka_err2str(err));
      state.end = high;
      if (high <= low && state.next < 0) state.next = high;  // empty: its next offset is known
      state.done = state.next >= high;
    }
  }

  void assign() {
    const detail::kafka::partition_list_ptr list(
        rd_kafka_topic_partition_list_new(static_cast<int>(partitions_.size())));
    for (const auto& [partition, state] : partitions_)
      rd_kafka_topic_partition_list_add(list.get(), options_.topic.c_str(), partition)->offset =
          state.next;
    if (const auto err = rd_kafka_assign(consumer_.get(), list.get()))
      throw error(errc::connection_error,
                  "kafka replay: could not assign the partitions of topic '" + options_.topic +
                      "': " + rd_kafka_err2str(err));
  }

  bool at_end() const {
    for (const auto& [partition, state] : partitions_)
      if (!state.done) return false;
    return true;
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
        held_event& h = state.held.emplace_back();
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
    if (options_.dedupe_by_event_id && seen_.contains(e.id)) {
      ++duplicates_;
      return 0;
    }
    current_partition_ = partition;
    current_offset_ = offset;
    go_on = detail::visit_continue(visit, e);
    if (options_.dedupe_by_event_id) remember(state, e.id);
    return 1;
  }

  // One set for all partitions, so that a duplicate is caught in whichever partition it lands;
  // each partition evicts its own oldest ids, so that a partition read far ahead of another
  // cannot push out the ids the other's duplicates will be checked against.
  void remember(partition_state& state, const event_id& id) {
    seen_.insert(id);
    state.recent.push_back(id);
    if (state.recent.size() > options_.dedupe_window) {
      seen_.erase(state.recent.front());
      state.recent.pop_front();
    }
  }

  // Moves a partition's next offset to `to`, or, while it holds events not yet handed over, notes
  // that consuming got there.
  void advance(partition_state& state, std::int64_t to) const {
    if (options_.in_position_order && !state.held.empty())
      state.reached = std::max(state.reached, to);
    else
      state.next = std::max(state.next, to);
  }

  bool nothing_held() const {
    for (const auto& [partition, state] : partitions_)
      if (!state.held.empty()) return false;
    return true;
  }

  // Hands over held events, lowest position first, while every partition not yet consumed to its
  // end holds one to compare. Returns how many were handed over.
  template <class F>
  std::uint64_t release_held(F& visit, bool& go_on) {
    std::uint64_t handed = 0;
    while (go_on) {
      std::map<std::int32_t, partition_state>::iterator lowest = partitions_.end();
      for (auto it = partitions_.begin(); it != partitions_.end(); ++it) {
        if (it->second.held.empty()) {
          if (!it->second.done) return handed;  // its next event may come before every held one
          continue;
        }
        if (lowest == partitions_.end() ||
            it->second.held.front().event.position < lowest->second.held.front().event.position)
          lowest = it;
      }
      if (lowest == partitions_.end()) return handed;
      partition_state& state = lowest->second;
      const held_event& h = state.held.front();
      handed += hand_over(visit, lowest->first, state, h.offset, h.event, go_on);
      state.next = h.offset + 1;
      state.held.pop_front();
      if (state.held.empty()) state.next = std::max(state.next, state.reached);
      if (state.paused && state.held.size() <= options_.held_per_partition / 2)
        pause(lowest->first, state, false);
    }
    return handed;
  }

  // After a replay_to_end() in position order that stopped early: what is held was not handed
  // over and is fetched again from `next`.
  void drop_held() {
    for (auto& [partition, state] : partitions_) {
      if (state.paused) pause(partition, state, false);
      if (state.held.empty()) continue;
      state.held.clear();
      state.reached = state.next;
      state.done = state.next >= state.end;
      refetch_ = true;
    }
  }

  void pause(std::int32_t partition, partition_state& state, bool on) {
    const detail::kafka::partition_list_ptr list(rd_kafka_topic_partition_list_new(1));
    rd_kafka_topic_partition_list_add(list.get(), options_.topic.c_str(), partition);
    const auto err = on ? rd_kafka_pause_partitions(consumer_.get(), list.get())
                        : rd_kafka_resume_partitions(consumer_.get(), list.get());
    if (err)
      throw error(errc::connection_error, std::string("kafka replay: could not ") +
                                              (on ? "pause" : "resume") + " topic '" +
                                              options_.topic + "' partition " +
                                              std::to_string(partition) + ": " +
                                              rd_kafka_err2str(err));
    state.paused = on;
  }

  void refetch_if_needed() {
    if (!refetch_) return;
    assign();
    refetch_ = false;
  }

  // librdkafka recovers from most consumer errors by itself (a broker restarts, a leader moves);
  // those are logged. The ones that cannot get better stop the replay.
  void consumer_failure(const rd_kafka_message_t& m) {
    const std::string what = rd_kafka_message_errstr(&m);
    switch (m.err) {
      case RD_KAFKA_RESP_ERR__AUTO_OFFSET_RESET:
      case RD_KAFKA_RESP_ERR_OFFSET_OUT_OF_RANGE:
        throw error(errc::invalid_argument,
                    "kafka replay: the start offset of topic '" + options_.topic + "' partition " +
                        std::to_string(m.partition) +
                        " is outside the partition (deleted by retention?): " + what);
      case RD_KAFKA_RESP_ERR__FATAL:
      case RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART:
      case RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC:
      case RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION:
      case RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED:
      case RD_KAFKA_RESP_ERR_GROUP_AUTHORIZATION_FAILED:
        throw error(errc::connection_error, "kafka replay: consuming topic '" + options_.topic +
                                                "' partition " + std::to_string(m.partition) +
                                                " failed: " + what);
      default:
        log(log_level::warning,
            "kafka replay of topic '" + options_.topic + "': " + what + " (retrying)");
    }
  }

  kafka_replay_options options_;
  std::map<std::int32_t, partition_state> partitions_;
  recorded_event event_;  // reused: its strings keep their capacity from message to message
  std::unordered_set<event_id, boost::hash<event_id>> seen_;
  std::uint64_t duplicates_ = 0;
  bool refetch_ = false;  // replay_to_end() consumed messages past its bound, which follow() wants
  std::int32_t current_partition_ = -1;
  std::int64_t current_offset_ = -1;
  detail::kafka::handle_ptr consumer_;
};

}  // namespace annal
