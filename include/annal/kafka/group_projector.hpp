// A projection fed from the topic kafka_publisher writes, shared by the members of a Kafka consumer
// group: Kafka assigns the partitions, and each partition's offset is stored in the read model's
// own transaction, never committed to Kafka.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <map>
#include <optional>
#include <stop_token>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include <librdkafka/rdkafka.h>

#include <annal/codec/binary.hpp>
#include <annal/core/error.hpp>
#include <annal/kafka/detail/client.hpp>
#include <annal/kafka/detail/handle.hpp>
#include <annal/kafka/detail/record.hpp>
#include <annal/kafka/properties.hpp>
#include <annal/projection/detail/apply.hpp>
#include <annal/projection/read_model.hpp>
#include <annal/runtime/log.hpp>

namespace annal {

struct kafka_group_options {
  std::string topic{};     // the topic a kafka_publisher writes
  std::string group_id{};  // the consumer group: every worker of one projection uses the same
  // librdkafka consumer properties (bootstrap.servers, session.timeout.ms,
  // partition.assignment.strategy, security...). Offsets are annal's: group.id, enable.auto.commit,
  // enable.auto.offset.store and auto.offset.reset set here are refused.
  kafka_properties properties{};
  std::size_t batch_size = 1024;  // the most messages one poll gathers; each partition's share of
                                  // them is applied in one update of its read model
  // How long a wait for messages lasts; bounds how late a stop request is noticed.
  std::chrono::milliseconds poll_interval{100};
  // Told, on the polling thread, which partitions Kafka gave this worker or took from it.
  std::function<void(const std::vector<std::int32_t>&)> on_assigned{};
  std::function<void(const std::vector<std::int32_t>&)> on_revoked{};
};

// Runs projection M::model_type over the messages of one topic as a member of a Kafka consumer
// group. Each partition has its own read model, which model_of(partition) returns (the same one
// every time, and a different one for each partition); its checkpoint is the partition's next
// offset, not a store position. When Kafka assigns a partition, consumption starts at the offset
// its read model holds; each batch applies the partition's messages and moves that offset in one
// update(), so rows and offset commit together. Inside the update a message below the stored
// offset is skipped (another member applied it: a rebalance, or this member was paused past its
// session and fenced out of the group) and a stored offset below what this member fetched makes
// the partition fetch again from it, so each event takes effect once with a transactional read
// model (postgres_read_model, file_read_model) across rebalances, crashes and zombies.
//   std::map<std::int32_t, annal::postgres_read_model<balances_sql>> models;
//   annal::kafka_group_projector<annal::postgres_read_model<balances_sql>> live{
//       {.topic = "bank", .group_id = "balances", .properties = {{"bootstrap.servers", brokers}}},
//       [&](std::int32_t p) -> auto& { ... }};
//   live.run(stop_token);  // in every process
// A listed event that cannot be read stops the projector with the error before it, its offset
// kept: the next start meets it again. A message without annal's headers is an errc::decode_error
// naming topic, partition and offset.
template <read_model_store M, class Codec = binary_codec>
class kafka_group_projector {
 public:
  using model_type = M;
  using projection_type = typename M::model_type;

  kafka_group_projector(kafka_group_options options, std::function<M&(std::int32_t)> model_of)
      : options_(checked(std::move(options))), model_of_(std::move(model_of)) {
    if (!model_of_)
      throw error(errc::invalid_argument,
                  "kafka_group_projector: model_of is empty; give a "
                  "function returning each partition's read model");
    detail::kafka::conf_ptr conf = detail::kafka::make_conf(
        {}, options_.properties,
        // The offsets live in the read models; a start offset that retention deleted is an error,
        // not a jump over events the projection never saw.
        {{"group.id", options_.group_id},
         {"enable.auto.commit", "false"},
         {"enable.auto.offset.store", "false"},
         {"enable.partition.eof", "false"},
         {"auto.offset.reset", "error"}},
        who());
    rd_kafka_conf_set_rebalance_cb(conf.get(), &kafka_group_projector::on_rebalance);
    rd_kafka_conf_set_opaque(conf.get(), this);
    consumer_ = detail::kafka::make_handle(RD_KAFKA_CONSUMER, std::move(conf), who());
    rd_kafka_poll_set_consumer(consumer_.get());
    const detail::kafka::partition_list_ptr topics(rd_kafka_topic_partition_list_new(1));
    rd_kafka_topic_partition_list_add(topics.get(), options_.topic.c_str(), RD_KAFKA_PARTITION_UA);
    if (const auto err = rd_kafka_subscribe(consumer_.get(), topics.get()))
      throw error(errc::connection_error, who() + ": could not subscribe to topic '" +
                                              options_.topic + "': " + rd_kafka_err2str(err));
  }

  kafka_group_projector(const kafka_group_projector&) = delete;
  kafka_group_projector& operator=(const kafka_group_projector&) = delete;

  // Leaves the group, so that the others take this worker's partitions over at once.
  ~kafka_group_projector() {
    if (!consumer_) return;
    closing_ = true;
    rd_kafka_consumer_close(consumer_.get());
  }

  // Waits up to poll_interval for messages, gathers what else is ready (at most batch_size), and
  // applies each partition's share in one update of its read model. Rebalances are handled inside.
  // Returns how many events it applied.
  std::size_t poll() {
    reseek();
    if (empty_since_ && owned_.empty() &&
        std::chrono::steady_clock::now() - *empty_since_ >= cooperative_standby_after) {
      empty_since_.reset();
      log_standby();
    }
    std::size_t gathered = 0;
    for (int wait = static_cast<int>(options_.poll_interval.count());
         gathered < options_.batch_size; wait = 0) {
      detail::kafka::message_ptr m(rd_kafka_consumer_poll(consumer_.get(), wait));
      rethrow_callback_failure();
      if (!m) break;
      if (m->err) {
        detail::kafka::consumer_failure(*m, options_.topic, who());
        continue;
      }
      const auto owned = owned_.find(m->partition);
      if (owned == owned_.end()) continue;  // fetched before its partition was revoked
      partition_state& state = owned->second;
      if (state.pending.empty()) state.pending_from = state.next;
      state.next = m->offset + 1;
      state.pending.push_back(std::move(m));
      ++gathered;
    }
    std::size_t applied = 0;
    for (auto& [partition, state] : owned_) applied += apply_pending(partition, state);
    return applied;
  }

  // Polls until `stop` is requested; a failure (an event that cannot be read, a read model that
  // cannot commit) is rethrown, and the destructor then leaves the group.
  void run(std::stop_token stop) {
    while (!stop.stop_requested()) poll();
  }

  // The partitions Kafka gave this worker now.
  std::vector<std::int32_t> assigned() const {
    std::vector<std::int32_t> out;
    for (const auto& [partition, state] : owned_) out.push_back(partition);
    return out;
  }
  // Messages skipped because their partition's stored offset was past them: applied by another
  // member before this one got there.
  std::uint64_t duplicates_skipped() const noexcept { return duplicates_; }
  const std::string& topic() const noexcept { return options_.topic; }

 private:
  struct partition_state {
    M* model = nullptr;
    std::vector<detail::kafka::message_ptr> pending;
    bool reseek = false;  // fetch again from the read model's offset before the next poll
    // Where this member's fetch goes on (the offset it was assigned or moved to, or past the last
    // message gathered), and where it stood before the first pending message: Kafka has no
    // message for the projection between pending_from and that message (a transaction's marker
    // may sit there), so a stored offset in that range is no reason to fetch again.
    std::int64_t next = 0;
    std::int64_t pending_from = 0;
  };

  static std::string who() { return "kafka_group_projector"; }

  static kafka_group_options checked(kafka_group_options o) {
    if (o.topic.empty())
      throw error(errc::invalid_argument, "kafka_group_projector: the topic name is empty");
    if (o.group_id.empty())
      throw error(errc::invalid_argument,
                  "kafka_group_projector: group_id is empty; every worker of one projection "
                  "names the same consumer group");
    if (o.batch_size == 0)
      throw error(errc::invalid_argument,
                  "kafka_group_options::batch_size must be at least 1, not 0");
    for (const auto& [name, value] : o.properties)
      if (name == "group.id" || name == "enable.auto.commit" ||
          name == "enable.auto.offset.store" || name == "auto.offset.reset")
        throw error(errc::invalid_argument,
                    "kafka_group_projector: the property '" + name +
                        "' is annal's to set (offsets live in the read models' transactions; the "
                        "group is kafka_group_options::group_id)");
    return o;
  }

  static void on_rebalance(rd_kafka_t* rk, rd_kafka_resp_err_t err,
                           rd_kafka_topic_partition_list_t* partitions, void* opaque) {
    auto* self = static_cast<kafka_group_projector*>(opaque);
    // An exception must not cross librdkafka's C frames: it is kept and rethrown by poll().
    try {
      self->rebalance(rk, err, partitions);
    } catch (...) {
      if (!self->failure_) self->failure_ = std::current_exception();
      self->owned_.clear();
      let_go(rk);
    }
  }

  // Gives up every partition, by the call the group's protocol accepts (librdkafka refuses a plain
  // assign under cooperative rebalancing).
  static void let_go(rd_kafka_t* rk) {
    if (std::string_view(rd_kafka_rebalance_protocol(rk)) != "COOPERATIVE") {
      rd_kafka_assign(rk, nullptr);
      return;
    }
    rd_kafka_topic_partition_list_t* held = nullptr;
    if (rd_kafka_assignment(rk, &held)) return;
    const detail::kafka::partition_list_ptr owned(held);
    const detail::kafka::error_ptr ignored(rd_kafka_incremental_unassign(rk, held));
  }

  void rebalance(rd_kafka_t* rk, rd_kafka_resp_err_t err,
                 rd_kafka_topic_partition_list_t* partitions) {
    const bool cooperative = std::string_view(rd_kafka_rebalance_protocol(rk)) == "COOPERATIVE";
    std::vector<std::int32_t> changed;
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
      for (int i = 0; i < partitions->cnt; ++i) {
        rd_kafka_topic_partition_t& p = partitions->elems[i];
        M& model = model_of_(p.partition);
        for (const auto& [other, state] : owned_)
          if (state.model == &model && other != p.partition)
            throw error(errc::invalid_argument,
                        who() + ": model_of returned the same read model for partitions " +
                            std::to_string(other) + " and " + std::to_string(p.partition) +
                            " of topic '" + options_.topic +
                            "': each partition needs its own, since its checkpoint is the "
                            "partition's offset");
        p.offset = static_cast<std::int64_t>(model.checkpoint());
        partition_state& state = owned_[p.partition];
        state = partition_state{};
        state.model = &model;
        state.next = p.offset;
        changed.push_back(p.partition);
      }
      assign(rk, partitions, cooperative, true);
      // A cooperative rebalance's first step gives a joining member nothing while the others let
      // partitions go: only an assignment that stays empty means it stands by (see poll()).
      empty_since_.reset();
      if (owned_.empty()) {
        if (cooperative)
          empty_since_ = std::chrono::steady_clock::now();
        else
          log_standby();
      }
      if (options_.on_assigned && !closing_ && !changed.empty()) options_.on_assigned(changed);
      return;
    }
    // Revoked (or lost, after a session timeout): what was gathered and not applied is dropped;
    // the next owner starts from the offset its read model holds.
    for (int i = 0; i < partitions->cnt; ++i) {
      owned_.erase(partitions->elems[i].partition);
      changed.push_back(partitions->elems[i].partition);
    }
    if (err == RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS && rd_kafka_assignment_lost(rk))
      log(log_level::warning, who() + " '" + options_.group_id +
                                  "': partitions lost to the group (session timed out); another "
                                  "member goes on from their stored offsets");
    if (cooperative)
      assign(rk, partitions, true, false);
    else
      rd_kafka_assign(rk, nullptr);
    if (err != RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS)
      throw error(errc::connection_error, who() + ": rebalance of group '" + options_.group_id +
                                              "' failed: " + rd_kafka_err2str(err));
    if (options_.on_revoked && !closing_ && !changed.empty()) options_.on_revoked(changed);
  }

  void assign(rd_kafka_t* rk, rd_kafka_topic_partition_list_t* partitions, bool cooperative,
              bool add) {
    if (cooperative) {
      const detail::kafka::error_ptr e(add ? rd_kafka_incremental_assign(rk, partitions)
                                           : rd_kafka_incremental_unassign(rk, partitions));
      if (e)
        throw error(errc::connection_error, who() + ": could not " + (add ? "" : "un") +
                                                "assign partitions of topic '" + options_.topic +
                                                "': " + rd_kafka_error_string(e.get()));
    } else if (const auto err = rd_kafka_assign(rk, partitions)) {
      throw error(errc::connection_error, who() + ": could not assign partitions of topic '" +
                                              options_.topic + "': " + rd_kafka_err2str(err));
    }
  }

  void rethrow_callback_failure() {
    if (!failure_) return;
    std::exception_ptr f = std::exchange(failure_, nullptr);
    std::rethrow_exception(f);
  }

  // One update of the partition's read model: the gathered messages from its stored offset on.
  std::size_t apply_pending(std::int32_t partition, partition_state& state) {
    if (state.pending.empty()) return 0;
    // Applied or dropped, the gathered messages go (a failed update fetches them again).
    const auto gathered = std::exchange(state.pending, {});
    std::size_t applied = 0;
    std::uint64_t skipped = 0;
    std::uint64_t stored = 0;
    try {
      state.model->update([&](projection_type& p, std::uint64_t& checkpoint) {
        applied = 0;
        skipped = 0;
        auto shown_to = static_cast<std::uint64_t>(state.pending_from);
        for (const detail::kafka::message_ptr& m : gathered) {
          const auto offset = static_cast<std::uint64_t>(m->offset);
          if (offset < checkpoint) {
            ++skipped;  // applied by another member: the partition moved meanwhile
            shown_to = offset + 1;
            continue;
          }
          // The stored offset is before what this member fetched (another member, or a rebuild,
          // left it there): fetch again from it rather than pass over its messages.
          if (offset > checkpoint && checkpoint < shown_to) break;
          detail::kafka::decode_message(*m, options_.topic, event_);
          detail::project_record<projection_type, Codec>(p, event_);
          checkpoint = offset + 1;
          shown_to = offset + 1;
          ++applied;
        }
        stored = checkpoint;
      });
    } catch (const std::exception& e) {
      // Fetch again from what the read model kept, should the caller poll on.
      state.reseek = true;
      // A lost connection (the server ended a batch this member left idle while paused, or went
      // away) committed the batch whole or not at all; the offsets in the update make a retry
      // safe either way. If the store cannot be reached, reading its offset before the next poll
      // throws.
      if (!detail::lost_connection(e)) throw;
      log(log_level::warning, who() + " '" + options_.group_id + "': topic '" + options_.topic +
                                  "' partition " + std::to_string(partition) +
                                  ": the read model's connection was lost (" + e.what() +
                                  "); fetching again from its stored offset");
      return 0;
    }
    duplicates_ += skipped;
    if (static_cast<std::int64_t>(stored) != state.next) seek(partition, state, stored);
    return applied;
  }

  void reseek() {
    for (auto& [partition, state] : owned_)
      if (state.reseek) seek(partition, state, state.model->checkpoint());
  }

  void seek(std::int32_t partition, partition_state& state, std::uint64_t offset) {
    const detail::kafka::partition_list_ptr list(rd_kafka_topic_partition_list_new(1));
    rd_kafka_topic_partition_list_add(list.get(), options_.topic.c_str(), partition)->offset =
        static_cast<std::int64_t>(offset);
    const detail::kafka::error_ptr e(
        rd_kafka_seek_partitions(consumer_.get(), list.get(), seek_timeout_ms));
    const rd_kafka_resp_err_t err = e ? rd_kafka_error_code(e.get()) : list->elems[0].err;
    if (err)
      throw error(errc::connection_error,
                  who() + ": could not move to offset " + std::to_string(offset) + " of topic '" +
                      options_.topic + "' partition " + std::to_string(partition) + ": " +
                      rd_kafka_err2str(err));
    state.reseek = false;
    state.next = static_cast<std::int64_t>(offset);
  }

  void log_standby() const {
    log(log_level::info, who() + " '" + options_.group_id + "': no partition of topic '" +
                             options_.topic +
                             "' is assigned to this worker (the group has more members than the "
                             "topic has partitions); it stands by");
  }

  static constexpr int seek_timeout_ms = 10000;
  // How long a member of a cooperative group must have held nothing to be said to stand by: its
  // rebalances take a round more than eager ones.
  static constexpr std::chrono::seconds cooperative_standby_after{30};

  kafka_group_options options_;
  std::function<M&(std::int32_t)> model_of_;
  std::map<std::int32_t, partition_state> owned_;
  recorded_event event_;  // reused: its strings keep their capacity from message to message
  std::exception_ptr failure_;
  std::optional<std::chrono::steady_clock::time_point> empty_since_;  // cooperative: see poll()
  std::uint64_t duplicates_ = 0;
  bool closing_ = false;
  detail::kafka::handle_ptr consumer_;  // last: destroyed first, while the rest is still there
};

// The read model's type comes from what model_of returns, as other class templates deduce theirs.
template <class F>
kafka_group_projector(kafka_group_options, F)
    -> kafka_group_projector<std::remove_cvref_t<std::invoke_result_t<F&, std::int32_t>>>;

}  // namespace annal
