// Tests for annal::repository: loading, deciding, appending with the expected version, retries.
#include <catch2/catch.hpp>

#include <atomic>
#include <filesystem>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include <annal/codec/binary.hpp>
#include <annal/file/log.hpp>
#include <annal/projection/projector.hpp>
#include <annal/projection/read_model.hpp>
#include <annal/store/memory.hpp>
#include <annal/store/repository.hpp>
#include <annal/store/tombstone.hpp>

#include "common/bank_domain.hpp"

namespace {

using accounts_t = annal::repository<bank::account, annal::memory_store>;

annal::event_data raw_event(std::string type, std::uint32_t version, std::string payload) {
  annal::event_data e;
  e.id = annal::new_event_id();
  e.type = std::move(type);
  e.schema_version = version;
  e.payload = std::move(payload);
  return e;
}

template <class E>
annal::event_data encoded(const E& e) {
  annal::event_data d =
      raw_event(std::string(annal::event_name_of<E>), annal::event_version_of<E>, "");
  annal::binary_codec::encode(e, d.payload);
  return d;
}

// A store decorator whose appends first let `interfere` write to the inner store: a competing
// writer that lands between the repository's load and its append, deterministically.
template <class F>
class interfering_store {
 public:
  interfering_store(annal::memory_store& inner, F interfere)
      : inner_(&inner), interfere_(interfere) {}
  annal::append_result append(std::string_view id, annal::expected_version expect,
                              std::span<const annal::event_data> batch) {
    interfere_(*inner_, id);
    return inner_->append(id, expect, batch);
  }
  template <class V>
  std::size_t read_stream(std::string_view id, std::uint64_t from, V&& v,
                          std::size_t max = annal::unlimited) const {
    return inner_->read_stream(id, from, std::forward<V>(v), max);
  }
  template <class V>
  std::size_t read_all(std::uint64_t from, V&& v, std::size_t max = annal::unlimited) const {
    return inner_->read_all(from, std::forward<V>(v), max);
  }
  std::uint64_t stream_version(std::string_view id) const { return inner_->stream_version(id); }
  std::uint64_t last_position() const { return inner_->last_position(); }

 private:
  annal::memory_store* inner_;
  F interfere_;
};

// Runs f, which must throw annal::error with `code` and a message containing every part.
template <class F>
void require_error(F&& f, annal::errc code, std::initializer_list<const char*> parts) {
  try {
    f();
    FAIL("no annal::error was thrown");
  } catch (const annal::error& e) {
    CHECK(e.code() == code);
    for (const char* part : parts) CHECK_THAT(e.what(), Catch::Contains(part));
  }
}

}  // namespace

TEST_CASE("an unknown stream loads as the default state at version 0", "[store][repository]") {
  annal::memory_store store;
  accounts_t accounts{store};
  const auto loaded = accounts.load("nobody");
  CHECK(loaded.version == 0);
  CHECK_FALSE(loaded.state.is_open);
  CHECK(loaded.state.balance == 0);
}

TEST_CASE("an accepted command appends its events with envelopes", "[store][repository]") {
  annal::memory_store store;
  accounts_t accounts{store};
  annal::command_context ctx;
  ctx.correlation_id = annal::new_event_id();
  ctx.causation_id = annal::new_event_id();
  ctx.meta = {{"user", "ada"}};

  REQUIRE(accounts.handle("acc-1", bank::open{"acc-1"}).accepted());
  const auto r = accounts.handle("acc-1", bank::deposit{700}, ctx);
  REQUIRE(r.accepted());
  CHECK(r.version == 2);
  CHECK(r.state.balance == 700);
  CHECK(r.attempts == 1);
  REQUIRE(r.events.size() == 1);
  CHECK(std::get<bank::deposited>(r.events[0]).cents == 700);

  std::vector<annal::recorded_event> stored;
  store.read_stream("acc-1", 1, [&](const annal::recorded_event& e) { stored.push_back(e); });
  REQUIRE(stored.size() == 2);
  CHECK(stored[1].type == "bank.deposited");
  CHECK(stored[1].schema_version == 1);
  CHECK(stored[1].correlation_id == ctx.correlation_id);
  CHECK(stored[1].causation_id == ctx.causation_id);
  CHECK(stored[1].meta == ctx.meta);
  CHECK(annal::binary_codec::decode<bank::deposited>(stored[1].payload).cents == 700);

  const auto history = accounts.history("acc-1");
  REQUIRE(history.size() == 2);
  CHECK(history[1].stream_version == 2);
  CHECK(history[1].position == 2);
  CHECK(std::get<bank::deposited>(history[1].event).cents == 700);
}

TEST_CASE("a rejected command appends nothing and carries its reason", "[store][repository]") {
  annal::memory_store store;
  accounts_t accounts{store};
  accounts.handle("acc-1", bank::open{"acc-1"});
  const auto r = accounts.handle("acc-1", bank::withdraw{1});
  REQUIRE(r.rejected());
  CHECK(r.rejection->reason == "insufficient funds");
  CHECK(r.version == 1);
  CHECK(store.stream_version("acc-1") == 1);
  CHECK(store.last_position() == 1);
}

TEST_CASE("custom rejection types come back as values", "[store][repository]") {
  annal::memory_store store;
  annal::repository<bank::wallet, annal::memory_store> wallets{store};
  const auto r = wallets.handle("w-1", bank::deposit{5});
  REQUIRE(r.rejected());
  CHECK(*r.rejection == bank::refusal::not_open);
  CHECK(store.last_position() == 0);
}

TEST_CASE("a decision with no events is accepted and appends nothing", "[store][repository]") {
  annal::memory_store store;
  accounts_t accounts{store};
  const auto r = accounts.handle("acc-1", bank::close{});
  CHECK(r.accepted());
  CHECK(r.events.empty());
  CHECK(store.last_position() == 0);
}

TEST_CASE("one command may append several events atomically", "[store][repository]") {
  annal::memory_store store;
  accounts_t accounts{store};
  accounts.handle("acc-1", bank::open{"acc-1"});
  accounts.handle("acc-1", bank::deposit{300});
  const auto r = accounts.handle("acc-1", bank::close{});
  REQUIRE(r.accepted());
  CHECK(r.events.size() == 2);
  CHECK(r.version == 4);
  CHECK(r.state.balance == 0);
  CHECK_FALSE(r.state.is_open);
}

TEST_CASE("a conflict reloads, decides again on the new state and appends", "[store][repository]") {
  annal::memory_store store;
  annal::repository<bank::account, annal::memory_store>{store}.handle("acc-1", bank::open{"acc-1"});
  annal::repository<bank::account, annal::memory_store>{store}.handle("acc-1", bank::deposit{100});
  int interferences = 0;
  annal::event_data competing = encoded(bank::withdrawn{60});
  auto competitor = [&](annal::memory_store& inner, std::string_view id) {
    if (interferences++ == 0) {
      competing.id = annal::new_event_id();
      REQUIRE(inner.append(id, annal::expected_version::any(), std::span(&competing, 1)).ok());
    }
  };
  interfering_store racing{store, competitor};
  annal::repository<bank::account, decltype(racing)> accounts{racing};

  // Decided on balance 100, but 60 was taken meanwhile: the retry decides on 40 and rejects.
  const auto r = accounts.handle("acc-1", bank::withdraw{50});
  CHECK(r.attempts == 2);
  REQUIRE(r.rejected());
  CHECK(r.rejection->reason == "insufficient funds");
  CHECK(store.stream_version("acc-1") == 3);

  // A competing deposit: the retry decides on the larger balance and is accepted.
  interferences = 0;
  competing = encoded(bank::deposited{30});
  const auto ok = accounts.handle("acc-1", bank::withdraw{30});
  CHECK(ok.attempts == 2);
  REQUIRE(ok.accepted());
  CHECK(ok.version == 5);
  CHECK(ok.state.balance == 100 - 60 + 30 - 30);
}

TEST_CASE("conflicts past the retry bound are returned with the actual version",
          "[store][repository]") {
  annal::memory_store store;
  annal::repository<bank::account, annal::memory_store>{store}.handle("acc-1", bank::open{"acc-1"});
  auto always = [](annal::memory_store& inner, std::string_view id) {
    const auto d = encoded(bank::deposited{1});
    REQUIRE(inner.append(id, annal::expected_version::any(), std::span(&d, 1)).ok());
  };
  interfering_store racing{store, always};
  annal::repository_options options;
  options.max_conflict_retries = 2;
  annal::repository<bank::account, decltype(racing)> accounts{racing, options};
  const auto r = accounts.handle("acc-1", bank::deposit{5});
  REQUIRE(r.conflicted());
  CHECK(r.attempts == 3);
  CHECK(r.version == store.stream_version("acc-1"));
  // Every stored deposit is the competitor's: none of ours got in.
  CHECK(accounts.load("acc-1").state.balance == 3);
}

TEST_CASE("concurrent commands on one stream never lose an update", "[store][repository]") {
  annal::memory_store store;
  annal::repository_options options;
  options.max_conflict_retries = 1000;
  accounts_t accounts{store, options};
  accounts.handle("acc-1", bank::open{"acc-1"});
  constexpr int threads = 4, per_thread = 50;
  std::vector<std::thread> pool;
  std::atomic<int> accepted{0};
  for (int t = 0; t < threads; ++t)
    pool.emplace_back([&] {
      for (int i = 0; i < per_thread; ++i)
        if (accounts.handle("acc-1", bank::deposit{1}).accepted()) ++accepted;
    });
  for (auto& t : pool) t.join();
  CHECK(accepted == threads * per_thread);
  const auto loaded = accounts.load("acc-1");
  CHECK(loaded.state.balance == threads * per_thread);
  CHECK(loaded.version == 1 + threads * per_thread);
}

TEST_CASE("a command id makes re-sending a command idempotent", "[store][repository]") {
  annal::memory_store store;
  accounts_t accounts{store};
  accounts.handle("acc-1", bank::open{"acc-1"});
  accounts.handle("acc-1", bank::deposit{100});
  annal::command_context ctx;
  ctx.command_id = annal::new_event_id();
  const auto first = accounts.handle("acc-1", bank::close{}, ctx);
  REQUIRE(first.accepted());
  CHECK_FALSE(first.duplicate);
  CHECK(store.stream_version("acc-1") == 4);

  // The account is closed now, so deciding again returns no events: nothing is stored twice.
  const auto again = accounts.handle("acc-1", bank::close{}, ctx);
  CHECK(again.accepted());
  CHECK(store.stream_version("acc-1") == 4);

  // A re-sent deposit with the same command id on the same state maps to the same event ids.
  annal::memory_store other;
  accounts_t replica{other};
  replica.handle("acc-2", bank::open{"acc-2"});
  annal::command_context dep;
  dep.command_id = annal::new_event_id();
  const auto d1 = replica.handle("acc-2", bank::deposit{5}, dep);
  std::vector<annal::event_id> ids;
  other.read_stream("acc-2", 2, [&](const annal::recorded_event& e) { ids.push_back(e.id); });
  REQUIRE(ids.size() == 1);
  CHECK(d1.accepted());
  // The lost-acknowledgement case: the same event ids reach the store again.
  const auto batch = [&] {
    auto e = encoded(bank::deposited{5});
    e.id = ids[0];
    return e;
  }();
  const auto retry = other.append("acc-2", annal::expected_version::exact(1), std::span(&batch, 1));
  CHECK(retry.status == annal::append_status::duplicate);
  CHECK(other.stream_version("acc-2") == 2);
}

TEST_CASE("state as of a version or a time", "[store][repository]") {
  annal::memory_store store;
  accounts_t accounts{store};
  accounts.handle("acc-1", bank::open{"acc-1"});
  accounts.handle("acc-1", bank::deposit{100});
  const annal::time_point between = annal::clock::now();
  std::this_thread::sleep_for(std::chrono::milliseconds(2));
  accounts.handle("acc-1", bank::deposit{20});

  CHECK(accounts.load("acc-1", annal::at_version{2}).state.balance == 100);
  CHECK(accounts.load("acc-1", annal::at_version{2}).version == 2);
  CHECK(accounts.load("acc-1", annal::at_version{0}).version == 0);
  CHECK(accounts.load("acc-1", annal::at_version{99}).state.balance == 120);
  CHECK(accounts.load("acc-1", annal::at_time{between}).state.balance == 100);
  CHECK(accounts.load("acc-1", annal::at_time{annal::time_point{}}).version == 0);
  CHECK(accounts.load("acc-1", annal::at_time{annal::clock::now()}).version == 3);
}

TEST_CASE("unknown stored event types: an error naming them, or skipped by policy",
          "[store][repository]") {
  annal::memory_store store;
  const std::vector<annal::event_data> batch{
      encoded(bank::opened{"acc-1"}), raw_event("bank.frozen", 1, ""), encoded(bank::deposited{9})};
  store.append("acc-1", annal::expected_version::no_stream(), batch);

  accounts_t strict{store};
  require_error([&] { strict.load("acc-1"); }, annal::errc::unknown_event_type,
                {"stream 'acc-1' version 2", "'bank.frozen' v1", "unknown event type"});
  annal::repository_options options;
  options.unknown_events = annal::unknown_event_policy::skip;
  accounts_t lenient{store, options};
  const auto loaded = lenient.load("acc-1");
  CHECK(loaded.version == 3);
  CHECK(loaded.state.balance == 9);
}

TEST_CASE("undecodable bytes: an error naming stream, version and type", "[store][repository]") {
  annal::memory_store store;
  const std::vector<annal::event_data> batch{encoded(bank::opened{"acc-1"}),
                                             raw_event("bank.deposited", 1, "\x01")};
  store.append("acc-1", annal::expected_version::no_stream(), batch);
  accounts_t accounts{store};
  require_error([&] { accounts.load("acc-1"); }, annal::errc::decode_error,
                {"stream 'acc-1' version 2", "'bank.deposited' v1"});
}

TEST_CASE("bad stream ids are refused before anything is appended", "[store][repository]") {
  annal::memory_store store;
  accounts_t accounts{store};
  require_error([&] { accounts.handle("", bank::open{"x"}); }, annal::errc::invalid_stream_id,
                {"stream id is empty"});
  require_error(
      [&] { accounts.handle(std::string(annal::max_stream_id_size + 1, 'a'), bank::open{"x"}); },
      annal::errc::invalid_stream_id, {"257 bytes long; the limit is 256"});
  CHECK(store.last_position() == 0);
}

TEST_CASE("the repository works the same over the file log, across a reopen",
          "[store][repository][file_log]") {
  const auto dir =
      std::filesystem::temp_directory_path() / ("annal-repository-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  {
    annal::file_log log{dir};
    annal::repository<bank::account, annal::file_log> accounts{log};
    accounts.handle("acc-1", bank::open{"acc-1"});
    accounts.handle("acc-1", bank::deposit{250});
    CHECK(accounts.handle("acc-1", bank::withdraw{400}).rejected());
  }
  {
    annal::file_log log{dir};
    annal::repository<bank::account, annal::file_log> accounts{log};
    const auto loaded = accounts.load("acc-1");
    CHECK(loaded.version == 2);
    CHECK(loaded.state.balance == 250);
    CHECK(accounts.handle("acc-1", bank::withdraw{50}).version == 3);
  }
  std::filesystem::remove_all(dir);
}

namespace {
// Balances per account, with a row removed when its stream is deleted.
struct balances {
  using events = annal::events<bank::opened, bank::deposited, annal::stream_deleted>;
  std::map<std::string, std::int64_t> by_account;
  void on(const bank::opened&, const annal::envelope_header& h) { by_account[h.stream_id] = 0; }
  void on(const bank::deposited& e, const annal::envelope_header& h) {
    by_account[h.stream_id] += e.cents;
  }
  void on(const annal::stream_deleted&, const annal::envelope_header& h) {
    by_account.erase(h.stream_id);
  }
};
}  // namespace

TEST_CASE("a deleted stream: loads and commands refuse it, its past stays readable",
          "[store][repository][tombstone]") {
  annal::memory_store store;
  accounts_t accounts{store};
  accounts.handle("acc-1", bank::open{"acc-1"});
  accounts.handle("acc-1", bank::deposit{100});
  const annal::time_point before = annal::clock::now();
  std::this_thread::sleep_for(std::chrono::milliseconds(2));
  const auto deleted =
      annal::delete_stream(accounts, "acc-1", annal::expected_version::exact(2), "customer asked");
  CHECK(deleted.status == annal::append_status::appended);
  CHECK(deleted.stream_version == 3);
  CHECK(annal::is_deleted(store, "acc-1"));
  CHECK_FALSE(annal::is_deleted(store, "never-written"));

  require_error([&] { accounts.load("acc-1"); }, annal::errc::stream_deleted,
                {"'acc-1'", "version 3", "tombstone", "at_version{2}"});
  require_error([&] { accounts.handle("acc-1", bank::deposit{5}); }, annal::errc::stream_deleted,
                {"'acc-1'", "version 3"});
  require_error([&] { accounts.load("acc-1", annal::at_version{3}); }, annal::errc::stream_deleted,
                {"'acc-1'"});
  require_error([&] { accounts.load("acc-1", annal::at_time{annal::clock::now()}); },
                annal::errc::stream_deleted, {"'acc-1'"});
  // Time travel to before the deletion, and the history, work as before.
  CHECK(accounts.load("acc-1", annal::at_version{2}).state.balance == 100);
  CHECK(accounts.load("acc-1", annal::at_time{before}).state.balance == 100);
  CHECK(accounts.history("acc-1").size() == 2);
  std::vector<annal::recorded_event> stored;
  store.read_stream("acc-1", 1, [&](const annal::recorded_event& e) { stored.push_back(e); });
  REQUIRE(stored.size() == 3);
  CHECK(stored[2].type == annal::tombstone_type);
  CHECK(annal::binary_codec::decode<annal::stream_deleted>(stored[2].payload).reason ==
        "customer asked");
  // Deleting again is an error, not a silent second tombstone.
  require_error([&] { annal::delete_stream(accounts, "acc-1", annal::expected_version::any()); },
                annal::errc::stream_deleted, {"'acc-1'"});
  CHECK(store.stream_version("acc-1") == 3);

  // A wrong expectation is a conflict, as for any append; the stream lives on.
  accounts.handle("acc-2", bank::open{"acc-2"});
  const auto conflict =
      annal::delete_stream(accounts, "acc-2", annal::expected_version::exact(5), "too late");
  CHECK(conflict.status == annal::append_status::conflict);
  CHECK(conflict.stream_version == 1);
  CHECK_FALSE(annal::is_deleted(store, "acc-2"));
  CHECK(accounts.handle("acc-2", bank::deposit{7}).accepted());

  // With a command id, re-sending the deletion (a lost acknowledgement) is a duplicate.
  annal::command_context ctx;
  ctx.command_id = annal::new_event_id();
  ctx.correlation_id = annal::new_event_id();
  const auto first =
      annal::delete_stream(store, "acc-2", annal::expected_version::exact(2), "closed", ctx);
  const auto resent =
      annal::delete_stream(store, "acc-2", annal::expected_version::exact(2), "closed", ctx);
  CHECK(first.status == annal::append_status::appended);
  CHECK(resent.status == annal::append_status::duplicate);
  CHECK(resent.last_position == first.last_position);
  store.read_stream("acc-2", 3, [&](const annal::recorded_event& e) {
    CHECK(e.correlation_id == ctx.correlation_id);
  });

  // A projection that lists the tombstone removes the stream's row.
  accounts.handle("acc-3", bank::open{"acc-3"});
  accounts.handle("acc-3", bank::deposit{30});
  annal::memory_read_model<balances> model;
  annal::projector projector{store, model};
  projector.catch_up();
  model.read([&](const balances& b, std::uint64_t) {
    CHECK(b.by_account.size() == 1);
    CHECK(b.by_account.at("acc-3") == 30);
  });
}
