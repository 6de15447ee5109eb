// Publishes a store's events to a Kafka topic in global order, from a checkpoint, at least once.
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <stop_token>
#include <string>
#include <utility>

#include <librdkafka/rdkafka.h>

#include <annal/core/detail/chrono.hpp>
#include <annal/core/error.hpp>
#include <annal/kafka/detail/client.hpp>
#include <annal/kafka/detail/handle.hpp>
#include <annal/kafka/detail/record.hpp>
#include <annal/kafka/properties.hpp>
#include <annal/store/checkpoint.hpp>
#include <annal/store/event_store.hpp>
#include <annal/store/subscription.hpp>

namespace annal {

struct kafka_publisher_options {
  std::string topic{};
  // librdkafka producer properties (bootstrap.servers, linger.ms, security...). enable.idempotence
  // and acks are annal's: each stream's order and "delivered means stored on every in-sync replica"
  // rest on them, so setting them to anything but true / all is refused.
  kafka_properties properties{};
  std::size_t batch_size = 1024;  // events read from the store at once
  // The most events handed to librdkafka and not yet under the checkpoint; at the bound, the
  // publisher waits for delivery reports. One slow partition holds the checkpoint back while the
  // others' records are confirmed, so without a bound a crash could resend minutes of records; with
  // it, a restart resends at most this many that were delivered before (kafka_replay_options::
  // dedupe_window has the same default).
  std::size_t max_unconfirmed = 100000;
  // How long a wait (for appends, or for delivery reports) lasts before a stop request is noticed.
  std::chrono::milliseconds stop_check_interval{50};
};

// Sends every event of `store` after the checkpoint to one topic: key = stream id (Kafka keeps one
// key's records in one partition, in order), value = payload, headers = the envelope (see
// annal/kafka/headers.hpp), timestamp = recorded_at. The checkpoint advances only over events whose
// delivery librdkafka has confirmed, and only over an unbroken run of them in global order, so a
// crash or a failure resends from the first unconfirmed event: delivery is at least once, and
// consumers dedupe by the event-id header. A failed delivery stops the publisher (errc::
// connection_error, or invalid_argument for a record the broker will never take) and it stays
// stopped: make a new one to resume from the checkpoint.
template <event_store S, checkpoint_store C>
class kafka_publisher {
 public:
  kafka_publisher(const S& store, C& checkpoint, kafka_publisher_options options)
      : store_(&store),
        checkpoint_(&checkpoint),
        options_(checked(std::move(options))),
        confirmed_(checkpoint_->load().value_or(0)),
        subscription_(store, confirmed_ + 1,
                      subscription_options{options_.batch_size, options_.stop_check_interval}) {
    for (const auto& [name, value] : options_.properties) {
      if (name == "enable.idempotence" && value != "true")
        throw error(errc::invalid_argument,
                    "kafka publisher: enable.idempotence must stay true (it is '" + value +
                        "'): without it a retried send can reorder or duplicate a stream's events");
      if ((name == "acks" || name == "request.required.acks") && value != "all" && value != "-1")
        throw error(errc::invalid_argument,
                    "kafka publisher: " + name + " must stay 'all' (it is '" + value +
                        "'): a record is confirmed only once every in-sync replica holds it");
    }
    // murmur2_random: the partition a Java producer picks for the same key, so annal's topic can be
    // joined with topics other clients write.
    detail::kafka::conf_ptr conf = detail::kafka::make_conf(
        {{"partitioner", "murmur2_random"}}, options_.properties,
        {{"enable.idempotence", "true"}, {"acks", "all"}}, "kafka publisher");
    rd_kafka_conf_set_dr_msg_cb(conf.get(), &kafka_publisher::on_delivery);
    rd_kafka_conf_set_opaque(conf.get(), this);
    producer_ = detail::kafka::make_handle(RD_KAFKA_PRODUCER, std::move(conf), "kafka publisher");
    topic_.reset(rd_kafka_topic_new(producer_.get(), options_.topic.c_str(), nullptr));
    if (!topic_)
      throw error(errc::invalid_argument,
                  "kafka publisher: topic '" + options_.topic +
                      "' is refused: " + rd_kafka_err2str(rd_kafka_last_error()));
  }

  kafka_publisher(const kafka_publisher&) = delete;
  kafka_publisher& operator=(const kafka_publisher&) = delete;

  // Undelivered records are dropped, not waited for: the checkpoint is before them, so the next
  // publisher sends them again.
  ~kafka_publisher() {
    if (producer_)
      rd_kafka_purge(producer_.get(), RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
    if (producer_) rd_kafka_flush(producer_.get(), 0);
  }

  // Publishes everything stored now and waits until each record is confirmed (or, at worst,
  // librdkafka's message.timeout.ms passes); returns how many events it published.
  std::uint64_t publish_available() {
    check_running();
    std::uint64_t total = 0;
    while (const std::size_t n = produce_batch()) {
      total += n;
      rd_kafka_poll(producer_.get(), 0);
      settle();
    }
    drain();
    return total;
  }

  // Publishes what is stored, then follows the store live until `stop` is requested; on stop it
  // waits for the outstanding deliveries and saves the checkpoint before returning.
  void run(std::stop_token stop)
    requires waitable_store<S>
  {
    check_running();
    while (!stop.stop_requested()) {
      const std::size_t produced = produce_batch();
      // Delivery reports come through poll: block in it only when there is nothing new to send.
      rd_kafka_poll(producer_.get(), produced == 0 && !pending_.empty()
                                         ? static_cast<int>(options_.stop_check_interval.count())
                                         : 0);
      settle();
      if (produced == 0 && pending_.empty())
        subscription_.wait(clock::now() + options_.stop_check_interval);
    }
    drain();
  }

  // Like the publisher itself, these belong to the thread that publishes: read them there or after
  // run() returned.
  // The last position whose record, and every one before it, Kafka confirmed (0: none yet).
  std::uint64_t checkpoint() const noexcept { return confirmed_; }
  const std::string& topic() const noexcept { return options_.topic; }
  // Events handed to librdkafka and not under the checkpoint yet (at most max_unconfirmed).
  std::size_t in_flight() const noexcept { return pending_.size(); }

 private:
  struct pending {
    std::uint64_t position = 0;
    bool reported = false;
    rd_kafka_resp_err_t result = RD_KAFKA_RESP_ERR_NO_ERROR;
  };

  static kafka_publisher_options checked(kafka_publisher_options options) {
    if (options.topic.empty())
      throw error(errc::invalid_argument, "kafka publisher: the topic name is empty");
    if (options.batch_size == 0)
      throw error(errc::invalid_argument,
                  "kafka publisher: kafka_publisher_options::batch_size must be at least 1, not 0");
    if (options.max_unconfirmed == 0)
      throw error(
          errc::invalid_argument,
          "kafka publisher: kafka_publisher_options::max_unconfirmed must be at least 1, not 0");
    return options;
  }

  // Runs inside rd_kafka_poll/flush on the publisher's own thread. The message's opaque is its
  // pending entry, which std::deque keeps in place while others are added or removed.
  static void on_delivery(rd_kafka_t*, const rd_kafka_message_t* m, void* self) {
    static_cast<kafka_publisher*>(self)->report(*static_cast<pending*>(m->_private), m->err);
  }

  void report(pending& p, rd_kafka_resp_err_t result) noexcept {
    p.reported = true;
    p.result = result;
    --unreported_;
    if (result != RD_KAFKA_RESP_ERR_NO_ERROR && failures_++ == 0) first_error_ = result;
  }

  void check_running() const {
    if (failure_)
      throw error(errc::store_failed, "kafka publisher to topic '" + options_.topic +
                                          "' stopped after an earlier failure (" + *failure_ +
                                          "); make a new publisher to resume from checkpoint " +
                                          std::to_string(confirmed_));
  }

  std::size_t produce_batch() {
    const std::size_t n = subscription_.poll([&](const recorded_event& e) { produce(e); });
    if (failed()) fail();
    return n;
  }

  void produce(const recorded_event& e) {
    while (pending_.size() >= options_.max_unconfirmed) {
      rd_kafka_poll(producer_.get(), static_cast<int>(options_.stop_check_interval.count()));
      settle();
      if (failed()) fail();  // settle() stops at a failed record, so waiting longer frees nothing
    }
    encoder_.encode(e);
    pending& p = pending_.emplace_back(pending{e.position});
    ++unreported_;
    std::array<rd_kafka_vu_t, 6 + detail::kafka::header_names.size()> vu{};
    vu[0].vtype = RD_KAFKA_VTYPE_RKT;
    vu[0].u.rkt = topic_.get();
    vu[1].vtype = RD_KAFKA_VTYPE_KEY;
    vu[1].u.mem = {const_cast<char*>(e.stream_id.data()), e.stream_id.size()};
    vu[2].vtype = RD_KAFKA_VTYPE_VALUE;
    vu[2].u.mem = {const_cast<char*>(e.payload.data()), e.payload.size()};
    vu[3].vtype = RD_KAFKA_VTYPE_MSGFLAGS;
    vu[3].u.i = RD_KAFKA_MSG_F_COPY;
    vu[4].vtype = RD_KAFKA_VTYPE_TIMESTAMP;
    vu[4].u.i64 = detail::kafka::millis_since_epoch(e.recorded_at);
    vu[5].vtype = RD_KAFKA_VTYPE_OPAQUE;
    vu[5].u.ptr = &p;
    for (std::size_t i = 0; i < detail::kafka::header_names.size(); ++i) {
      const std::string_view value = encoder_.value(i);
      auto& h = vu[6 + i];
      h.vtype = RD_KAFKA_VTYPE_HEADER;
      h.u.header = {detail::kafka::header_names[i].data(), value.data(),
                    static_cast<ssize_t>(value.size())};
    }
    for (;;) {
      const detail::kafka::error_ptr refused(
          rd_kafka_produceva(producer_.get(), vu.data(), vu.size()));
      if (!refused) return;
      const rd_kafka_resp_err_t code = rd_kafka_error_code(refused.get());
      if (code != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
        // Never queued, so never reported: it fails here, with what librdkafka said.
        report(p, code);
        return;
      }
      // librdkafka's queue is full: serve delivery reports, which make room, then try again.
      rd_kafka_poll(producer_.get(), static_cast<int>(options_.stop_check_interval.count()));
      try {
        settle();
      } catch (...) {
        // The checkpoint store failed; this event was never handed over, so it must not be waited
        // for.
        pending_.pop_back();
        --unreported_;
        throw;
      }
    }
  }

  bool failed() const noexcept { return failures_ != 0; }

  // Moves the checkpoint over the confirmed prefix and saves it when it moved.
  void settle() {
    const std::uint64_t before = confirmed_;
    while (!pending_.empty() && pending_.front().reported &&
           pending_.front().result == RD_KAFKA_RESP_ERR_NO_ERROR) {
      confirmed_ = pending_.front().position;
      pending_.pop_front();
    }
    if (confirmed_ != before) checkpoint_->save(confirmed_);
  }

  // Waits until every record handed over is reported, then settles; a failure among them throws.
  void drain() {
    while (unreported_ != 0)
      rd_kafka_flush(producer_.get(), static_cast<int>(options_.stop_check_interval.count()));
    rd_kafka_poll(producer_.get(), 0);
    settle();
    if (failed()) fail();
  }

  // The first failed record ends publishing: everything handed over is waited for so that the
  // checkpoint covers all confirmed events before it, then the error names the event.
  [[noreturn]] void fail() {
    while (unreported_ != 0)
      rd_kafka_flush(producer_.get(), static_cast<int>(options_.stop_check_interval.count()));
    settle();
    const pending& first = pending_.front();  // settle() stopped at it
    std::string where = "position " + std::to_string(first.position);
    store_->read_all(
        first.position,
        [&](const recorded_event& e) {
          where +=
              " (stream '" + e.stream_id + "' version " + std::to_string(e.stream_version) + ")";
        },
        1);
    std::string why = rd_kafka_err2str(first.result);
    if (first.result == RD_KAFKA_RESP_ERR__FATAL) {
      char fatal[512] = "";
      rd_kafka_fatal_error(producer_.get(), fatal, sizeof fatal);
      why += std::string(": ") + fatal;
    }
    // The lowest failed position may have failed for a consequence (a purge, a destroyed broker
    // handle) of the error that came first: name that one too, it is the cause.
    if (first_error_ != first.result)
      why += std::string(" (the first delivery error was: ") + rd_kafka_err2str(first_error_) + ")";
    failure_ =
        "the event at " + where + " was not delivered to topic '" + options_.topic + "': " + why;
    const bool never_fits = first.result == RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE;
    throw error(never_fits ? errc::invalid_argument : errc::connection_error,
                "kafka publisher: " + *failure_ + "; the checkpoint stays at " +
                    std::to_string(confirmed_) + ", so a restart resends from position " +
                    std::to_string(first.position));
  }

  const S* store_;
  C* checkpoint_;
  kafka_publisher_options options_;
  std::uint64_t confirmed_;
  subscription<S> subscription_;
  detail::kafka::header_encoder encoder_;
  std::deque<pending> pending_;  // in produce order, i.e. ascending positions
  std::size_t unreported_ = 0;   // entries of pending_ without a delivery report yet
  std::size_t failures_ = 0;     // reports that said the record was not delivered
  rd_kafka_resp_err_t first_error_ = RD_KAFKA_RESP_ERR_NO_ERROR;  // of the earliest such report
  std::optional<std::string> failure_;
  // Declared last, destroyed first: no delivery report can outlive the entries it points at.
  detail::kafka::handle_ptr producer_;
  detail::kafka::topic_ptr topic_;
};

}  // namespace annal
