// Client-side group commit for PostgreSQL appends: concurrent appends share one call, one
// transaction and so one WAL flush, which is what bounds single-event appends on a real disk.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <exception>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <annal/postgres/connection.hpp>
#include <annal/postgres/detail/append.hpp>
#include <annal/postgres/detail/pool.hpp>
#include <annal/store/event_store.hpp>

namespace annal {

// How appends have shared transactions since the store was opened.
struct postgres_append_stats {
  std::uint64_t appends = 0;       // append calls that reached the server through the store
  std::uint64_t transactions = 0;  // transactions (and so WAL flushes) they ran in
};

namespace detail::pg {

// Runs the calls as one call of annal_append_group: one round trip, one transaction. Returns the
// rows, ordered by call, or throws if the server refused the group (then nothing of it is stored,
// or, if the connection broke, its outcome is unknown): the caller runs each call on its own, where
// event ids make a repeat of a call that did commit a duplicate, not a second copy.
inline postgres_rows run_group_call(connection& conn, std::span<const append_call* const> calls) {
  append_call::group_arrays a(calls.front()->sql().format);
  for (const append_call* call : calls) call->add_to(a);
  const std::string now = append_call::now_param();
  std::vector<wire_param> params;
  for (const binary_array* column : {&a.streams, &a.kinds, &a.expected, &a.counts})
    params.push_back(append_call::binary(*column));
  for (const binary_array* column : a.events.all()) params.push_back(append_call::binary(*column));
  params.push_back({now.c_str()});
  return conn.exec_prepared_wire(slot_append_group, "annal_append_group",
                                 calls.front()->sql().append_group, params,
                                 "a group of " + std::to_string(calls.size()) + " appends");
}

// Appends wait in a queue; one thread at a time leads: it takes every waiting call (up to a bound),
// runs them in one transaction and hands each its answer, while the next group gathers; then the
// first call in the queue leads the next group. A thread
// appending alone leads a group of one and runs its call directly, as without group commit.
// A call with its own recorded_at (a copy) is a group of one in its turn in the queue: a group
// shares one recorded time.
class group_commit {
 public:
  // One append's answer, or the error it raised.
  struct outcome {
    append_result result{};
    std::exception_ptr error;
  };

  group_commit(std::size_t max_calls, std::size_t max_bytes) noexcept
      : max_calls_(max_calls == 0 ? 1 : max_calls), max_bytes_(max_bytes) {}

  // Returns the call's answer or throws its error, as running it alone would.
  append_result append(pool& connections, const append_call& call) {
    member self(&call);
    std::unique_lock lock(mutex_);
    queue_.push_back(&self);
    // Any queued call may lead when no group runs, so a thread that arrives then leads at once
    // rather than waiting for a sleeping one to wake; ending a group wakes its members and the
    // first in the queue only, not every waiting thread.
    const auto ready = [&] {
      return self.state != member_state::waiting || (!leading_ && self.queued);
    };
    self.wake.wait(lock, ready);
    while (self.state == member_state::waiting) {  // queued, and no group running: lead
      leading_ = true;
      std::vector<member*> group;
      std::size_t bytes = 0;
      while (!queue_.empty() && group.size() < max_calls_ &&
             (group.empty() || (bytes + queue_.front()->call->wire_size() <= max_bytes_ &&
                                !queue_.front()->call->exact()))) {
        bytes += queue_.front()->call->wire_size();
        queue_.front()->queued = false;
        group.push_back(queue_.front());
        queue_.pop_front();
        if (group.back()->call->exact()) break;
      }
      lock.unlock();
      const bool together = lead(connections, group);
      lock.lock();
      if (together) {
        ++stats_.transactions;
        stats_.appends += group.size();
      }
      for (member* m : group) {
        m->state = together ? member_state::done : member_state::alone;
        if (m != &self) m->wake.notify_one();
      }
      leading_ = false;
      if (!queue_.empty()) queue_.front()->wake.notify_one();
      self.wake.wait(lock, ready);  // returns at once unless the queue outgrew one group
    }
    lock.unlock();
    if (self.state == member_state::alone) {
      const append_result r = run_alone(connections, call);
      std::lock_guard count(mutex_);
      ++stats_.transactions;
      ++stats_.appends;
      return r;
    }
    if (self.out.error) std::rethrow_exception(self.out.error);
    return self.out.result;
  }

  postgres_append_stats stats() const {
    std::lock_guard lock(mutex_);
    return stats_;
  }

 private:
  enum class member_state : std::uint8_t { waiting, done, alone };
  struct member {
    explicit member(const append_call* c) noexcept : call(c) {}
    const append_call* call;
    outcome out;
    member_state state = member_state::waiting;  // these two are written under mutex_
    bool queued = true;
    std::condition_variable wake;
  };

  static append_result run_alone(pool& connections, const append_call& call) {
    auto conn = connections.acquire();
    return call.run(*conn);
  }

  // Runs the group, writing each member's outcome; false when each must run alone instead.
  // Written here, outside the lock: a member reads them only after its state, set under the lock,
  // says they are ready.
  static bool lead(pool& connections, std::span<member* const> group) noexcept {
    if (group.size() == 1) {
      try {
        group[0]->out.result = run_alone(connections, *group[0]->call);
      } catch (...) {
        group[0]->out.error = std::current_exception();
      }
      return true;
    }
    try {
      std::vector<const append_call*> calls;
      calls.reserve(group.size());
      for (member* m : group) calls.push_back(m->call);
      auto outcomes = run_together(connections, calls);
      if (!outcomes) return false;
      for (std::size_t i = 0; i < group.size(); ++i) group[i]->out = std::move((*outcomes)[i]);
      return true;
    } catch (...) {
      return false;  // no memory: each call meets that on its own
    }
  }

 public:
  // Runs several calls in one transaction and reads each one's answer (or the error reading it
  // raised). nullopt if the group did not commit, or no connection could be had, or a call brings
  // its own recorded_at (annal_append_group records every call at one time): each call must then
  // run alone, where it meets its own error.
  static std::optional<std::vector<outcome>> run_together(
      pool& connections, std::span<const append_call* const> calls) {
    for (const append_call* call : calls)
      if (call->exact()) return std::nullopt;
    std::optional<pool::lease> conn;
    postgres_rows rows;
    try {
      conn.emplace(connections.acquire());
      rows = run_group_call(**conn, calls);
    } catch (...) {
      if (conn && !(*conn)->healthy()) conn->discard();
      return std::nullopt;
    }
    conn.reset();
    // Rows come ordered by call number (column 0, from 1); each call reads its own range.
    std::vector<outcome> out(calls.size());
    int row = 0;
    for (std::size_t i = 0; i < calls.size(); ++i) {
      const int begin = row;
      while (row < rows.rows() && rows.get_int(row, 0) == static_cast<std::int64_t>(i + 1)) ++row;
      try {
        out[i].result = calls[i]->read_answer(rows, begin, row, 1);
      } catch (...) {
        out[i].error = std::current_exception();
      }
    }
    return out;
  }

 private:
  std::size_t max_calls_;
  std::size_t max_bytes_;
  mutable std::mutex mutex_;
  std::deque<member*> queue_;
  // One group at a time: a second one in flight (sent, waiting on the server for the position
  // lock) measured 2-3x slower with 16 writers, as groups split into two half-size cohorts.
  bool leading_ = false;
  postgres_append_stats stats_;
};

}  // namespace detail::pg
}  // namespace annal
