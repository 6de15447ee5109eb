// Log shipping: copy every event of one store into another, in global order, keeping ids, stream
// versions, positions and recorded times, and follow it live; a standby that only reads until it
// is promoted; and a primary whose appends are acknowledged once the standby holds them.
#pragma once

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <limits>
#include <mutex>
#include <optional>
#include <span>
#include <stop_token>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include <annal/core/detail/chrono.hpp>
#include <annal/core/detail/event_id.hpp>
#include <annal/core/error.hpp>
#include <annal/core/record.hpp>
#include <annal/detail/validate.hpp>
#include <annal/store/event_store.hpp>
#include <annal/store/subscription.hpp>

namespace annal {

// How far a standby is behind its primary.
struct replication_lag {
  std::uint64_t primary_position = 0;  // the primary's last position
  std::uint64_t standby_position = 0;  // the standby's last position: everything up to it is copied
  std::uint64_t positions_behind = 0;
  // The primary's newest event's recorded_at minus the standby's newest: how much of the
  // primary's history, in time, a loss of the primary would lose now. Zero when caught up.
  std::chrono::nanoseconds time_behind{};

  bool caught_up() const noexcept { return positions_behind == 0; }
};

struct replication_options {
  // Events read from the primary (and so held) at once.
  std::size_t batch_events = 4096;
  // How long a wait for the primary's appends lasts before the stop request is looked at again
  // (appends wake a waitable primary at once); how often a primary without wait_for_append is
  // polled.
  std::chrono::milliseconds poll_interval{50};
  // Called on the replicating thread after every step that copied events.
  std::function<void(const replication_lag&)> on_progress{};
};

namespace detail {

inline void check_replication_options(const replication_options& o) {
  if (o.batch_events == 0)
    throw error(errc::invalid_argument,
                "replication_options::batch_events must be at least 1: a replicator that reads "
                "no events never catches up");
  if (o.poll_interval.count() <= 0)
    throw error(errc::invalid_argument,
                "replication_options::poll_interval must be positive, not " +
                    std::to_string(o.poll_interval.count()) + " ms");
}

inline std::string describe_stored(const recorded_event& e) {
  return "event " + id_text(e.id) + " (stream " + quoted_prefix(e.stream_id) + " version " +
         std::to_string(e.stream_version) + ")";
}

// The one event at `position`, if the store holds it.
template <event_store S>
std::optional<recorded_event> event_at(const S& store, std::uint64_t position) {
  std::optional<recorded_event> out;
  if (position == 0) return out;
  store.read_all(
      position,
      [&](const recorded_event& e) {
        if (e.position == position) out = e;
      },
      1);
  return out;
}

}  // namespace detail

// Appends recorded events, in global position order, to a standby so that it holds them at the
// same positions, stream versions and recorded times as the store they came from. The standby's
// own last position is where it stands: it is written in the same atomic append as the events, so
// no separate checkpoint can disagree with it after a crash of either side. Events the standby
// holds already are skipped; a standby whose history differs from the events it is given (another
// event at the same position, a stream at another version) is refused with both named.
//
// The sink of replicator, and of any other source of recorded events in order, such as a Kafka
// replay in position order (docs/recovery.md).
template <event_store Target>
class replica_writer {
 public:
  explicit replica_writer(Target& target) : target_(&target) {}

  // The next position the standby needs.
  std::uint64_t next_position() const { return target_->last_position() + 1; }

  // Appends `events` (ascending, gap-free positions) that the standby does not hold yet. Returns
  // how many were appended. Consecutive events of one stream recorded at one instant go in one
  // append; every append states the stream version it expects, so a standby written to by anyone
  // else is noticed, not overwritten.
  std::size_t write(std::span<const recorded_event> events) {
    std::size_t written = 0;
    std::uint64_t next = next_position();
    std::size_t i = 0;
    while (i < events.size() && events[i].position < next) ++i;  // held already
    while (i < events.size()) {
      if (events[i].position != next) throw_gap(events[i], next);
      std::size_t end = i + 1;
      while (end < events.size() && events[end].stream_id == events[i].stream_id &&
             events[end].recorded_at == events[i].recorded_at &&
             events[end].position == events[end - 1].position + 1)
        ++end;
      append_run(events.subspan(i, end - i));
      written += end - i;
      next = events[end - 1].position + 1;
      i = end;
    }
    return written;
  }

  // Checks that the standby's history is the prefix of `source`'s that its positions say: its last
  // event is the source's event at the same position, and the source reaches that far.
  template <event_store Source>
  void check_continues(const Source& source) const {
    const std::uint64_t held = target_->last_position();
    if (held == 0) return;
    const std::uint64_t source_last = source.last_position();
    if (held > source_last)
      throw error(errc::diverged,
                  "the standby holds positions up to " + std::to_string(held) +
                      " but the primary ends at position " + std::to_string(source_last) +
                      ": the standby's history diverges from the primary's (was the primary "
                      "restored to an earlier point, or is this another store?)");
    const auto mine = detail::event_at(*target_, held);
    const auto theirs = detail::event_at(source, held);
    if (!mine || !theirs || mine->id != theirs->id || mine->stream_id != theirs->stream_id ||
        mine->stream_version != theirs->stream_version)
      throw error(errc::diverged,
                  "the standby's position " + std::to_string(held) + " holds " +
                      (mine ? detail::describe_stored(*mine) : std::string("no event")) +
                      " but the primary's position " + std::to_string(held) + " holds " +
                      (theirs ? detail::describe_stored(*theirs) : std::string("no event")) +
                      ": their histories diverge at or before position " + std::to_string(held));
  }

 private:
  void append_run(std::span<const recorded_event> run) {
    batch_.clear();
    for (const recorded_event& e : run) batch_.push_back(as_recorded_event_data(e));
    const recorded_event& first = run.front();
    const recorded_event& last = run.back();
    const append_result r =
        target_->append(first.stream_id, expected_version::exact(first.stream_version - 1), batch_);
    if (r.status == append_status::conflict)
      throw error(errc::diverged, "the standby's stream " + detail::quoted_prefix(first.stream_id) +
                                      " is at version " + std::to_string(r.stream_version) +
                                      " but the primary's event at position " +
                                      std::to_string(first.position) + " is its version " +
                                      std::to_string(first.stream_version) +
                                      ": their histories diverge (was the standby written to?)");
    if (r.first_position != first.position || r.last_position != last.position)
      throw error(errc::diverged, "the primary's positions " + std::to_string(first.position) +
                                      " to " + std::to_string(last.position) + " (stream " +
                                      detail::quoted_prefix(first.stream_id) +
                                      ") went to the standby's positions " +
                                      std::to_string(r.first_position) + " to " +
                                      std::to_string(r.last_position) +
                                      ": their histories diverge (was the standby written to?)");
  }

  [[noreturn]] static void throw_gap(const recorded_event& e, std::uint64_t next) {
    throw error(errc::invalid_argument, "the standby needs position " + std::to_string(next) +
                                            " next but was given " + detail::describe_stored(e) +
                                            " at position " + std::to_string(e.position) +
                                            ": events reach a standby in gap-free position order");
  }

  Target* target_;
  std::vector<event_data> batch_;
};

// Copies a primary's events into a standby (see replica_writer), from where the standby stands,
// and follows the primary live. Idempotent and resumable: rerun after a crash of either side and
// it goes on from the standby's last position; events are never copied twice.
template <event_store Source, event_store Target>
class replicator {
 public:
  replicator(const Source& primary, Target& standby, replication_options options = {})
      : primary_(&primary), writer_(standby), target_(&standby), options_(std::move(options)) {
    detail::check_replication_options(options_);
  }

  // Copies at most options.batch_events events the standby lacks, up to position `through`.
  // Returns how many it copied: 0 when the standby holds everything up to `through`.
  std::size_t step(std::uint64_t through = std::numeric_limits<std::uint64_t>::max()) {
    check_once();
    const std::uint64_t from = writer_.next_position();
    if (from > through) return 0;
    // Copied over the last step's events, whose strings and metadata nodes are reused: no
    // allocation per event once the buffer has grown.
    std::size_t count = 0;
    primary_->read_all(
        from,
        [&](const recorded_event& e) {
          if (e.position > through) return false;
          if (count < events_.size())
            events_[count] = e;
          else
            events_.push_back(e);
          ++count;
          return true;
        },
        options_.batch_events);
    if (count == 0) return 0;
    std::size_t n = 0;
    try {
      n = writer_.write(std::span<const recorded_event>(events_).first(count));
    } catch (...) {
      checked_ = false;  // a failed append is looked at afresh on the next step
      throw;
    }
    // One sync a step: a standby opened without a sync per append (a file log with
    // durability::none) is durable up to its last position when the step returns, at the cost of
    // one sync instead of one per append.
    if constexpr (requires(Target& t) { t.sync(); })
      if (n != 0) target_->sync();
    if (n != 0 && options_.on_progress) options_.on_progress(lag());
    return n;
  }

  // Copies until the standby holds every event up to `through` (default: what the primary holds
  // when called). Returns how many events it copied.
  std::uint64_t catch_up(std::uint64_t through = 0) {
    check_once();
    if (through == 0) through = primary_->last_position();
    std::uint64_t total = 0;
    while (target_->last_position() < through) {
      const std::size_t n = step(through);
      if (n == 0) {
        // The primary did not give what it said it holds.
        throw error(errc::invalid_argument,
                    "the primary ends at position " + std::to_string(primary_->last_position()) +
                        " but read no event at the standby's next position " +
                        std::to_string(writer_.next_position()) +
                        " (positions below its first, as after archiving, cannot be copied)");
      }
      total += n;
    }
    return total;
  }

  // Follows the primary until `stop` is requested: copies what there is, then waits for appends.
  void run(std::stop_token stop) {
    while (!stop.stop_requested()) {
      if (step() != 0) continue;
      wait(target_->last_position());
    }
  }

  replication_lag lag() const {
    replication_lag out;
    out.primary_position = primary_->last_position();
    out.standby_position = target_->last_position();
    out.positions_behind = out.primary_position > out.standby_position
                               ? out.primary_position - out.standby_position
                               : 0;
    if (out.positions_behind != 0) {
      const auto newest = detail::event_at(*primary_, out.primary_position);
      const auto held = detail::event_at(*target_, out.standby_position);
      if (newest)
        out.time_behind = std::chrono::duration_cast<std::chrono::nanoseconds>(
            newest->recorded_at - (held ? held->recorded_at : newest->recorded_at));
    }
    return out;
  }

  // Waits up to one poll interval for the primary to hold a position above `after`.
  void wait(std::uint64_t after) const {
    if constexpr (waitable_store<Source>) {
      primary_->wait_for_append(after, clock::now() + options_.poll_interval);
    } else {
      std::this_thread::sleep_for(options_.poll_interval);
    }
  }

  const replication_options& options() const noexcept { return options_; }

 private:
  // Whether the standby continues the primary is looked at once, before the first copy (and again
  // after a failed one): later appends each check their stream version and position.
  void check_once() {
    if (checked_) return;
    writer_.check_continues(*primary_);
    checked_ = true;
  }

  const Source* primary_;
  replica_writer<Target> writer_;
  Target* target_;
  replication_options options_;
  std::vector<recorded_event> events_;
  bool checked_ = false;
};

// A standby: a store of its own (constructed in place from `target_args`) that follows a primary
// on a thread of its own and offers only reads until it is promoted. Promotion stops following at
// a whole append of the standby (so it opens as a consistent store) and hands the store over for
// writing. A failure while following (a diverging history, the standby's disk) stops following; it
// is kept for failure() and promote() does not hide it.
template <event_store Source, event_store Target>
class standby {
 public:
  template <class... TargetArgs>
  explicit standby(const Source& primary, replication_options options, TargetArgs&&... target_args)
      : target_(std::forward<TargetArgs>(target_args)...),
        replicator_(primary, target_, std::move(options)) {
    thread_ = std::jthread([this](std::stop_token stop) { follow(stop); });
  }

  standby(const standby&) = delete;
  standby& operator=(const standby&) = delete;
  ~standby() { stop_following(); }

  // The standby's store, for reads while it follows.
  const Target& store() const noexcept { return target_; }

  // There is none: what a standby holds comes from its primary, or another write could make their
  // histories diverge.
  template <class... Args>
  void append(Args&&...) {
    static_assert(sizeof...(Args) == ~std::size_t{0},
                  "a standby only reads until it is promoted: call promote() and append to the "
                  "store it returns");
  }

  // Both stores' positions, read while the follower copies: no wait for its step.
  replication_lag lag() const { return replicator_.lag(); }

  // Returns once the standby holds every event up to `position`, copying them on the calling
  // thread if the follower has not yet: the acknowledgement of a synchronous primary.
  void ship(std::uint64_t position) {
    std::lock_guard lock(step_mutex_);
    if (promoted_)
      throw error(errc::invalid_argument, "the standby was promoted at position " +
                                              std::to_string(promoted_at_) +
                                              " and follows no primary any more");
    try {
      replicator_.catch_up(position);
    } catch (...) {
      failure_ = std::current_exception();
      throw;
    }
  }

  // Stops following after the append in progress and returns the store, writable: the standby is
  // now a primary. Its last position is promoted_position(). Promoting twice returns the same
  // store.
  Target& promote() {
    stop_following();
    std::lock_guard lock(step_mutex_);
    if (!promoted_) {
      promoted_ = true;
      promoted_at_ = target_.last_position();
    }
    return target_;
  }

  bool promoted() const {
    std::lock_guard lock(step_mutex_);
    return promoted_;
  }
  std::uint64_t promoted_position() const {
    std::lock_guard lock(step_mutex_);
    return promoted_at_;
  }

  // The last failure to copy (a null pointer while all is well). A diverging history
  // (errc::diverged) stops following; other failures are retried every poll interval.
  std::exception_ptr failure() const {
    std::lock_guard lock(step_mutex_);
    return failure_;
  }

 private:
  // A diverging history stops following for good; any other failure (a lost connection, a full
  // disk) is kept for failure() and the step is tried again after a poll interval.
  void follow(std::stop_token stop) {
    while (!stop.stop_requested()) {
      std::size_t copied = 0;
      bool failed = false;
      {
        std::lock_guard lock(step_mutex_);
        try {
          copied = replicator_.step();
          failure_ = nullptr;
        } catch (const error& e) {
          failure_ = std::current_exception();
          if (e.code() == errc::diverged) return;
          failed = true;
        } catch (...) {
          failure_ = std::current_exception();
          failed = true;
        }
      }
      if (failed) {
        std::unique_lock lock(stop_mutex_);
        std::condition_variable_any().wait_for(lock, stop, replicator_.options().poll_interval,
                                               [] { return false; });
      } else if (copied == 0) {
        replicator_.wait(target_.last_position());
      }
    }
  }

  void stop_following() {
    if (thread_.joinable()) {
      thread_.request_stop();
      thread_.join();
    }
  }

  Target target_;
  replicator<Source, Target> replicator_;
  mutable std::mutex step_mutex_;
  std::mutex stop_mutex_;  // for the interruptible pause after a failed step
  bool promoted_ = false;
  std::uint64_t promoted_at_ = 0;
  std::exception_ptr failure_;
  std::jthread thread_;  // last: it stops before the members it uses go
};

// A primary whose appends are acknowledged only once a standby holds them (synchronous log
// shipping): when the primary's disk is lost, nothing it acknowledged is. An event_store; reads go
// to the primary. If the standby cannot take an appended batch, append throws errc::store_failed
// naming the positions the primary holds but the standby does not: the append is stored on the
// primary, and retrying it (same event ids) returns `duplicate` and ships it again.
template <event_store Source, event_store Target>
class synchronous_primary {
 public:
  synchronous_primary(Source& primary, standby<Source, Target>& standby)
      : primary_(&primary), standby_(&standby) {}

  append_result append(std::string_view stream_id, expected_version expect,
                       std::span<const event_data> batch) {
    const append_result r = primary_->append(stream_id, expect, batch);
    if (r.status == append_status::conflict) return r;
    try {
      standby_->ship(r.last_position);
    } catch (const std::exception& ex) {
      throw error(errc::store_failed, "the append to stream " + detail::quoted_prefix(stream_id) +
                                          " is stored on the primary at positions " +
                                          std::to_string(r.first_position) + " to " +
                                          std::to_string(r.last_position) +
                                          " but the standby did not acknowledge it: " + ex.what() +
                                          "; retry the same batch to ship it again");
    }
    return r;
  }

  template <class F>
  std::size_t read_stream(std::string_view stream_id, std::uint64_t from, F&& visit,
                          std::size_t max_count = unlimited) const {
    return primary_->read_stream(stream_id, from, std::forward<F>(visit), max_count);
  }
  template <class F>
  std::size_t read_all(std::uint64_t from, F&& visit, std::size_t max_count = unlimited) const {
    return primary_->read_all(from, std::forward<F>(visit), max_count);
  }
  std::uint64_t stream_version(std::string_view stream_id) const {
    return primary_->stream_version(stream_id);
  }
  std::uint64_t last_position() const { return primary_->last_position(); }

  bool wait_for_append(std::uint64_t after, time_point deadline) const
    requires waitable_store<Source>
  {
    return primary_->wait_for_append(after, deadline);
  }

 private:
  Source* primary_;
  standby<Source, Target>* standby_;
};

}  // namespace annal
