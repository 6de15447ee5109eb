// Disaster recovery with the file log: a primary takes commands while a standby follows it; hourly
// backups (full, then incremental) and a restore to just before a bad deploy; then the primary's
// directory is lost, the standby is promoted, and the program counts what was lost: the lag in
// asynchronous mode, no acknowledged event in synchronous mode. It checks every claim it prints.
#include <CLI/CLI.hpp>

#include <chrono>
#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include <annal/annal.hpp>
#include <annal/file/backup.hpp>
#include <annal/file/restore.hpp>
#include <annal/store/replication.hpp>

#include "account.hpp"

namespace {

constexpr std::size_t account_count = 24;

std::string account_id(std::size_t i) {
  return "account-" + std::to_string(i);
}

std::string money(std::int64_t cents) {
  char text[32];
  std::snprintf(text, sizeof text, "%s%lld.%02lld", cents < 0 ? "-" : "",
                static_cast<long long>((cents < 0 ? -cents : cents) / 100),
                static_cast<long long>((cents < 0 ? -cents : cents) % 100));
  return text;
}

double milliseconds(std::chrono::nanoseconds d) {
  return std::chrono::duration<double, std::milli>(d).count();
}

// Every claim the program prints is checked; one that fails makes it exit with 1.
bool all_checks_passed = true;
void check(bool holds, const char* claim) {
  if (!holds) {
    std::fprintf(stderr, "CHECK FAILED: %s\n", claim);
    all_checks_passed = false;
  }
}

// What the service told its clients was done: an event store that forwards to another and keeps
// the ids of every batch whose append returned. Over a synchronous_primary, an append returns once
// the standby holds the batch too.
template <annal::event_store Store>
class acknowledging_store {
 public:
  explicit acknowledging_store(Store& store) : store_(&store) {}

  annal::append_result append(std::string_view stream_id, annal::expected_version expect,
                              std::span<const annal::event_data> batch) {
    const annal::append_result r = store_->append(stream_id, expect, batch);
    if (r.ok()) {
      std::lock_guard lock(mutex_);
      for (const annal::event_data& e : batch) acknowledged_.push_back(e.id);
    }
    return r;
  }
  template <class F>
  std::size_t read_stream(std::string_view stream_id, std::uint64_t from, F&& visit,
                          std::size_t max_count = annal::unlimited) const {
    return store_->read_stream(stream_id, from, std::forward<F>(visit), max_count);
  }
  template <class F>
  std::size_t read_all(std::uint64_t from, F&& visit,
                       std::size_t max_count = annal::unlimited) const {
    return store_->read_all(from, std::forward<F>(visit), max_count);
  }
  std::uint64_t stream_version(std::string_view stream_id) const {
    return store_->stream_version(stream_id);
  }
  std::uint64_t last_position() const { return store_->last_position(); }

  std::vector<annal::event_id> acknowledged() const {
    std::lock_guard lock(mutex_);
    return acknowledged_;
  }

 private:
  Store* store_;
  mutable std::mutex mutex_;
  std::vector<annal::event_id> acknowledged_;
};

// Tellers: threads issuing deposits and withdrawals, as a service's request handlers would, each
// on its own share of the accounts. A command whose append throws store_failed was not
// acknowledged (a synchronous primary lost its standby): its client gets the error and that
// teller stops; any other failure stops it too and is kept for failure().
class tellers {
 public:
  template <class Store>
  void start(Store& store, std::size_t count) {
    closed_ = false;
    for (std::size_t t = 0; t < count; ++t)
      threads_.emplace_back([this, &store, t, count] { serve(store, t, count); });
  }

  // No command starts after this; those in flight go on.
  void close() {
    std::lock_guard lock(mutex_);
    closed_ = true;
  }
  // Closes, and returns once the commands in flight are done and every teller has stopped.
  void halt() {
    close();
    threads_.clear();  // joins
  }

  std::uint64_t commands() const {
    std::lock_guard lock(mutex_);
    return commands_;
  }
  std::uint64_t unacknowledged() const {
    std::lock_guard lock(mutex_);
    return unacknowledged_;
  }
  std::string failure() const {
    std::lock_guard lock(mutex_);
    return failure_;
  }

 private:
  template <class Store>
  void serve(Store& store, std::size_t teller, std::size_t count) {
    annal::repository<bank::account, Store> accounts{store};
    std::mt19937 random(static_cast<unsigned>(teller) + 1);
    try {
      for (;;) {
        {
          std::lock_guard lock(mutex_);
          if (closed_) return;
        }
        const std::string id = account_id(teller + count * (random() % (account_count / count)));
        const std::int64_t cents = 100 + static_cast<std::int64_t>(random() % 50'000);
        if (random() % 5 < 3)
          accounts.handle(id, bank::deposit{cents});
        else
          accounts.handle(id, bank::withdraw{cents});  // may be rejected: insufficient funds
        {
          std::lock_guard lock(mutex_);
          ++commands_;
        }
        std::this_thread::sleep_for(std::chrono::microseconds(500));  // the next customer
      }
    } catch (const annal::error& e) {
      std::lock_guard lock(mutex_);
      if (e.code() == annal::errc::store_failed)
        ++unacknowledged_;
      else if (failure_.empty())
        failure_ = e.what();
    } catch (const std::exception& e) {
      std::lock_guard lock(mutex_);
      if (failure_.empty()) failure_ = e.what();
    }
  }

  mutable std::mutex mutex_;
  bool closed_ = false;
  std::uint64_t commands_ = 0;
  std::uint64_t unacknowledged_ = 0;
  std::string failure_;
  std::vector<std::jthread> threads_;
};

using file_standby = annal::standby<annal::file_log, annal::file_log>;

// promote() waits for the copying step in progress, so steps are kept short.
annal::replication_options standby_options() {
  return {.batch_events = 256};
}

// The standby's log syncs nothing per append: the replicator syncs it once a step, and a step
// copies one append per command here (commands of different accounts interleave), so a sync per
// append would be a sync per command.
annal::file_log_options standby_log() {
  return {.sync = annal::durability::none};
}

void print_lag(const char* when, const annal::replication_lag& lag) {
  std::printf("  lag %s: primary at %" PRIu64 ", standby at %" PRIu64 ": %" PRIu64
              " positions, %.3f ms behind\n",
              when, lag.primary_position, lag.standby_position, lag.positions_behind,
              milliseconds(lag.time_behind));
}

// Lets the tellers work for a while, printing the standby's lag now and then.
void watch_lag(const file_standby& standby, int samples) {
  for (int i = 0; i < samples; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    print_lag("now", standby.lag());
  }
}

template <class Store>
void open_accounts(Store& store) {
  annal::repository<bank::account, Store> accounts{store};
  for (std::size_t i = 0; i < account_count; ++i) {
    accounts.handle(account_id(i), bank::open{"owner " + std::to_string(i)});
    accounts.handle(account_id(i), bank::deposit{100'000});
  }
}

template <class Store>
std::map<std::string, std::int64_t> balances(Store& store) {
  annal::repository<bank::account, Store> accounts{store};
  std::map<std::string, std::int64_t> out;
  for (std::size_t i = 0; i < account_count; ++i)
    out[account_id(i)] = accounts.load(account_id(i)).state.balance;
  return out;
}

std::uint64_t count_of_type(const annal::file_log& log, std::string_view type) {
  std::uint64_t n = 0;
  log.read_all(1, [&](const annal::recorded_event& e) { n += e.type == type; });
  return n;
}

void print_backup(const char* what, const annal::backup_result& b) {
  std::printf("%s: %s, copied %" PRIu64 " bytes (%" PRIu64
              " new events) in %.1f ms; "
              "the backup holds positions 1 to %" PRIu64 ", %" PRIu64 " bytes\n",
              what, b.incremental ? "incremental" : "full", b.copied_bytes, b.new_events,
              milliseconds(b.elapsed), b.last_position, b.bytes);
}

// The disaster: the primary's disk is gone. From that instant the standby hears nothing more: it is
// promoted. The tellers' commands in flight finish against the primary alone (an asynchronous
// primary acknowledges them; a synchronous one cannot ship them and fails them), the primary is
// closed and its directory deleted. Then every event id the service acknowledged is looked up on
// the promoted standby.
struct failover {
  std::size_t lost = 0;        // acknowledged events the promoted standby lacks
  annal::replication_lag gap;  // the primary's positions it will never get
};
template <class Store>
failover fail_over(tellers& service, const acknowledging_store<Store>& acks,
                   std::optional<annal::file_log>& primary, file_standby& standby) {
  service.close();
  annal::file_log& promoted = standby.promote();  // stops following after the step in progress
  service.halt();
  // After promotion, the lag is what the standby will never get: the primary's positions after its
  // own, and the time between their newest events.
  const annal::replication_lag gap = standby.lag();
  const std::filesystem::path primary_dir = primary->directory();
  primary.reset();
  std::filesystem::remove_all(primary_dir);
  print_lag("when the standby was promoted", gap);
  std::printf("  the primary's directory %s is deleted\n", primary_dir.c_str());

  std::set<annal::event_id> held;
  promoted.read_all(1, [&](const annal::recorded_event& e) { held.insert(e.id); });
  const std::vector<annal::event_id> acknowledged = acks.acknowledged();
  std::size_t lost = 0;
  for (const annal::event_id& id : acknowledged) lost += held.count(id) == 0;
  std::printf("  the promoted standby holds positions 1 to %" PRIu64 " of the primary's %" PRIu64
              "; commands that failed unacknowledged: %" PRIu64 "\n",
              standby.promoted_position(), gap.primary_position, service.unacknowledged());
  std::printf("  of %zu events acknowledged to clients (their ids kept), the standby lacks %zu\n",
              acknowledged.size(), lost);
  // The standby holds a prefix of the primary: what it lacks is among the positions after its own.
  check(gap.standby_position == standby.promoted_position(), "promotion stopped the copying");
  check(lost <= gap.positions_behind, "only events after the standby's last position are lost");

  // Business goes on: the promoted standby takes commands.
  annal::repository<bank::account, annal::file_log> accounts{promoted};
  const auto r = accounts.handle(account_id(0), bank::deposit{2'500});
  check(r.accepted(), "the promoted standby takes commands");
  std::printf("  the promoted standby takes commands: deposit 25.00 into %s: version %" PRIu64
              ", position %" PRIu64 "\n",
              account_id(0).c_str(), r.version, promoted.last_position());
  return {lost, gap};
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"A primary, a standby, backups, a restore to a point in time, and a failover"};
  std::filesystem::path data;
  std::size_t teller_count = 4;
  app.add_option("--data", data, "directory for the logs and backups (default: a new temp dir)");
  app.add_option("--tellers", teller_count, "threads issuing commands")
      ->check(CLI::Range(std::size_t{1}, account_count));
  CLI11_PARSE(app, argc, argv);

  if (data.empty()) {
    // mkdtemp replaces the template's last six characters, which must be X.
    std::string name =
        (std::filesystem::temp_directory_path() / ("annal-dr-" + std::string(6, 'X'))).string();
    if (::mkdtemp(name.data()) == nullptr) {
      std::perror("creating a temporary directory");
      return 1;
    }
    data = name;
  }
  // Only what this program creates is removed: --data may name a directory holding other files.
  for (const char* sub :
       {"primary", "standby", "backup", "restored", "sync-primary", "sync-standby"})
    std::filesystem::remove_all(data / sub);
  std::filesystem::create_directories(data);
  std::printf("data: %s\n", data.c_str());

  try {
    // 1. A primary and an asynchronous standby. Both are durable; the primary commits in groups,
    // the standby syncs each append it copies, so it may fall a little behind under load.
    std::printf("\n1. the primary takes commands; a standby follows it (asynchronous)\n");
    std::optional<annal::file_log> primary;
    primary.emplace(data / "primary", annal::file_log_options{.sync = annal::durability::group});
    file_standby standby(*primary, standby_options(), data / "standby", standby_log());
    acknowledging_store service_store(*primary);
    open_accounts(service_store);
    tellers service;
    service.start(service_store, teller_count);
    watch_lag(standby, 3);

    // 2. The hourly backup, taken online: the tellers keep writing while it runs.
    const auto full = annal::backup(*primary, data / "backup");
    print_backup("2. hourly backup, online (the tellers go on)", full);
    check(!full.incremental && full.copied_bytes == full.bytes, "the first backup is full");
    watch_lag(standby, 3);
    service.halt();
    std::printf("  tellers ran %" PRIu64 " commands\n", service.commands());

    // 3. The bad deploy: the new interest job pays 250% instead of 2.5% (a basis-point bug).
    const std::map<std::string, std::int64_t> before = balances(*primary);
    const std::uint64_t position_before = primary->last_position();
    const annal::time_point deploy_time = annal::clock::now();
    // The deploy goes out a moment later: its events are recorded after deploy_time.
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
    {
      annal::repository<bank::account, acknowledging_store<annal::file_log>> accounts{
          service_store};
      for (std::size_t i = 0; i < account_count; ++i)
        accounts.handle(account_id(i), bank::pay_interest{25'000});  // meant: 250
    }
    const std::map<std::string, std::int64_t> after = balances(*primary);
    std::printf("\n3. bad deploy at position %" PRIu64 ": %s had %s, now has %s\n", position_before,
                account_id(0).c_str(), money(before.at(account_id(0))).c_str(),
                money(after.at(account_id(0))).c_str());

    // The next hourly backup copies only what is new since the first.
    const auto next = annal::backup(*primary, data / "backup");
    print_backup("  next hourly backup", next);
    check(next.incremental && next.copied_bytes < next.bytes,
          "the second backup copies only what is new");
    const annal::verified_backup verified = annal::verify_backup(data / "backup");
    std::printf("  verify_backup: %" PRIu64 " events in %" PRIu64 " streams, chain intact\n",
                verified.events, verified.streams);

    // Restore the backup to just before the deploy, into a new directory.
    const annal::restore_result restored_to = annal::restore(
        data / "backup", data / "restored", annal::restore_point::at_time(deploy_time));
    annal::file_log restored{data / "restored"};
    const std::uint64_t bad_in_primary =
        count_of_type(*primary, annal::event_name_of<bank::interest_paid>);
    const std::uint64_t bad_in_restore =
        count_of_type(restored, annal::event_name_of<bank::interest_paid>);
    const bool same_balances = balances(restored) == before;
    std::printf("  restored to just before the deploy: positions 1 to %" PRIu64 " (%" PRIu64
                " events left out)\n",
                restored_to.last_position, restored_to.left_out);
    std::printf("  %zu balances equal those before the deploy: %s (%s has %s)\n", before.size(),
                same_balances ? "yes" : "NO", account_id(0).c_str(),
                money(balances(restored).at(account_id(0))).c_str());
    std::printf("  bad interest payments: %" PRIu64 " in the primary, %" PRIu64
                " in the restored log\n",
                bad_in_primary, bad_in_restore);
    check(restored_to.last_position == position_before, "the restore ends where the deploy began");
    check(same_balances, "the restored balances are those before the deploy");
    check(bad_in_primary == account_count && bad_in_restore == 0,
          "the bad deploy's events are absent from the restore");

    // 4a. Disaster, asynchronous: whatever the standby had not copied yet is lost.
    std::printf("\n4a. disaster with asynchronous shipping\n");
    service.start(service_store, teller_count);
    watch_lag(standby, 2);
    const failover async = fail_over(service, service_store, primary, standby);
    // An asynchronous primary acknowledged every event it stored: the lag is all lost.
    check(async.lost == async.gap.positions_behind, "asynchronous shipping loses the lag");
    std::printf("  asynchronous: lost %zu acknowledged events, the lag: %.3f ms of history\n",
                async.lost, milliseconds(async.gap.time_behind));

    // 4b. Disaster, synchronous: an append is acknowledged once the standby holds it.
    std::printf("\n4b. disaster with synchronous shipping\n");
    std::optional<annal::file_log> sync_primary;
    sync_primary.emplace(data / "sync-primary",
                         annal::file_log_options{.sync = annal::durability::group});
    file_standby sync_standby(*sync_primary, standby_options(), data / "sync-standby",
                              standby_log());
    annal::synchronous_primary shipped(*sync_primary, sync_standby);
    acknowledging_store sync_store(shipped);
    open_accounts(sync_store);
    service.start(sync_store, teller_count);
    watch_lag(sync_standby, 3);
    const failover sync = fail_over(service, sync_store, sync_primary, sync_standby);
    // What the standby lacks are events of commands that failed: none was acknowledged. (A
    // failed command's events may have reached the standby all the same, before the promotion.)
    check(sync.lost == 0, "synchronous shipping loses no acknowledged event");
    check(sync.gap.positions_behind <= service.unacknowledged(),
          "the standby lacks only the events of commands that failed");
    std::printf("  synchronous: lost %zu acknowledged events\n", sync.lost);

    if (!service.failure().empty()) {
      std::fprintf(stderr, "a teller failed: %s\n", service.failure().c_str());
      return 1;
    }
  } catch (const annal::error& e) {
    std::fprintf(stderr, "disaster_recovery: %s\n", e.what());
    return 1;
  }
  std::printf("\n%s\n", all_checks_passed ? "all checks passed" : "SOME CHECKS FAILED");
  return all_checks_passed ? 0 : 1;
}
