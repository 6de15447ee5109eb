// Readers push their event lists down to the store: projectors, partitioned projectors, reactor
// runners and filtered subscriptions ask for the stored names they read (old versions and retired
// events included), move their checkpoints past the rest, and a store without a filtered read of
// its own gets the same answers from read_filtered's fallback.
#include <annal/codec/registry.hpp>
#include <annal/projection/partitioned_runner.hpp>
#include <annal/projection/projector.hpp>
#include <annal/projection/reactor.hpp>
#include <annal/projection/read_model.hpp>
#include <annal/store/checkpoint.hpp>
#include <annal/store/filter.hpp>
#include <annal/store/memory.hpp>
#include <annal/store/subscription.hpp>
#include <annal/store/with_archive.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <deque>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "domain.hpp"
#include "store/filter_laws.hpp"
#include "testing/library_domain.hpp"

namespace {

// A memory store that records what filtered reads it was asked for and how many events it handed
// out through them; its unfiltered read_all counts too, so a reader that does not filter shows.
class recording_store {
 public:
  annal::append_result append(std::string_view id, annal::expected_version expect,
                              std::span<const annal::event_data> batch) {
    return inner_.append(id, expect, batch);
  }
  template <class F>
  std::size_t read_stream(std::string_view id, std::uint64_t from, F&& visit,
                          std::size_t max_count = annal::unlimited) const {
    return inner_.read_stream(id, from, visit, max_count);
  }
  template <class F>
  std::size_t read_all(std::uint64_t from, F&& visit,
                       std::size_t max_count = annal::unlimited) const {
    const std::size_t n = inner_.read_all(from, visit, max_count);
    const std::lock_guard lock(mutex_);
    unfiltered_ += n;
    return n;
  }
  template <class F>
  annal::read_progress read_all(std::uint64_t from, const annal::event_filter& filter, F&& visit,
                                std::size_t max_count = annal::unlimited) const {
    const annal::read_progress r = inner_.read_all(from, filter, visit, max_count);
    const std::lock_guard lock(mutex_);  // partitions read on threads of their own
    filters_.push_back(filter);
    handed_out_ += r.visited;
    return r;
  }
  std::uint64_t stream_version(std::string_view id) const { return inner_.stream_version(id); }
  std::uint64_t last_position() const { return inner_.last_position(); }
  bool wait_for_append(std::uint64_t after, annal::time_point deadline) const {
    return inner_.wait_for_append(after, deadline);
  }

  std::vector<annal::event_filter> filters() const {
    const std::lock_guard lock(mutex_);
    return filters_;
  }
  std::uint64_t handed_out() const {
    const std::lock_guard lock(mutex_);
    return handed_out_;
  }
  std::uint64_t unfiltered() const {
    const std::lock_guard lock(mutex_);
    return unfiltered_;
  }

 private:
  annal::memory_store inner_;
  mutable std::mutex mutex_;
  mutable std::vector<annal::event_filter> filters_;
  mutable std::uint64_t handed_out_ = 0;
  mutable std::uint64_t unfiltered_ = 0;
};
static_assert(annal::filtering_store<recording_store>);

// A store with the plain reads only: readers fall back to reading everything and testing here.
class plain_store {
 public:
  annal::append_result append(std::string_view id, annal::expected_version expect,
                              std::span<const annal::event_data> batch) {
    return inner_.append(id, expect, batch);
  }
  template <class F>
  std::size_t read_stream(std::string_view id, std::uint64_t from, F&& visit,
                          std::size_t max_count = annal::unlimited) const {
    return inner_.read_stream(id, from, visit, max_count);
  }
  template <class F>
  std::size_t read_all(std::uint64_t from, F&& visit,
                       std::size_t max_count = annal::unlimited) const {
    return inner_.read_all(from, visit, max_count);
  }
  std::uint64_t stream_version(std::string_view id) const { return inner_.stream_version(id); }
  std::uint64_t last_position() const { return inner_.last_position(); }

 private:
  annal::memory_store inner_;
};
static_assert(annal::event_store<plain_store> && !annal::filtering_store<plain_store>);

struct plain_fixture {
  plain_store s;
  plain_store& store() { return s; }
};

// Bank events among many of types no reader here lists, ending with some of those.
template <class Store>
void append_noisy_bank(Store& store) {
  for (int i = 0; i < 40; ++i) {
    const std::string account = "acct-" + std::to_string(i % 5);
    if (i < 5) proj::append(store, account, bank::opened{"owner"});
    proj::append(store, account, bank::deposited{10 + i});
    for (int k = 0; k < 9; ++k) {
      annal::event_data noise;
      noise.id = annal::new_event_id();
      noise.type = "audit.noted." + std::to_string(k);
      noise.payload = "x";
      store.append("audit-" + std::to_string(i), annal::expected_version::any(),
                   std::vector{noise});
    }
  }
}

std::set<std::string> as_set(const std::vector<std::string>& v) {
  return {v.begin(), v.end()};
}

}  // namespace

TEST_CASE("a store without a filtered read keeps the laws through read_filtered's fallback",
          "[projection][filter]") {
  plain_fixture fixture;
  annal_conformance::check_filtered_reads(fixture);
}

TEST_CASE("a projector asks for its projection's types and moves its checkpoint past the rest",
          "[projection][filter]") {
  recording_store store;
  append_noisy_bank(store);
  annal::memory_read_model<proj::balances> model;
  annal::projector projector{store, model, annal::projector_options{.batch_size = 16}};
  CHECK(projector.catch_up() == 45);  // 5 opened, 40 deposited: what it applied
  CHECK(model.read([](const proj::balances& b, std::uint64_t) { return b.deposits; }) == 40);
  // The log ends with events it does not list: the checkpoint is past them all the same.
  CHECK(projector.checkpoint() == store.last_position());
  CHECK(store.handed_out() == 45);
  CHECK(store.unfiltered() == 0);
  REQUIRE_FALSE(store.filters().empty());
  CHECK(as_set(store.filters().front().types) ==
        std::set<std::string>{"bank.opened", "bank.deposited", "bank.withdrawn"});
  CHECK(store.filters().front().stream_prefixes.empty());
  // Caught up, it does not read the quiet tail again.
  const std::uint64_t before = store.handed_out();
  CHECK(projector.step() == 0);
  CHECK(store.handed_out() == before);
}

TEST_CASE("readers ask for old versions' and retired events' names too", "[projection][filter]") {
  // `borrowed` has a previous version under its own name and a retired `swapped` that became a
  // return and a borrow: a reader of `borrowed` must still be handed `library.swapped` records.
  using registry = annal::event_registry<annal::events<library::borrowed, library::returned>>;
  CHECK(as_set(registry::stored_names()) ==
        std::set<std::string>{"library.borrowed", "library.swapped", "library.returned"});
}

TEST_CASE("a reactor runner reacts to its types only and its checkpoint passes the rest",
          "[projection][filter]") {
  recording_store store;
  append_noisy_bank(store);
  proj::mailer mailer;
  annal::memory_checkpoint checkpoint;
  annal::reactor_runner runner{
      store, mailer, checkpoint,
      annal::reactor_options{.batch_size = 7, .start = annal::reactor_start::from_beginning}};
  CHECK(runner.catch_up() == 40);
  CHECK(mailer.sent.size() == 40);
  CHECK(runner.checkpoint() == store.last_position());
  CHECK(checkpoint.load() == store.last_position());
  CHECK(store.handed_out() == 40);
  CHECK(store.unfiltered() == 0);
  CHECK(as_set(store.filters().front().types) == std::set<std::string>{"bank.deposited"});
}

TEST_CASE("a partitioned projector filters in every partition", "[projection][filter]") {
  recording_store store;
  append_noisy_bank(store);
  std::deque<annal::memory_read_model<proj::balances>> models(2);
  annal::partitioned_projector live{store, {&models[0], &models[1]}};
  live.catch_up();
  CHECK(live.checkpoint(0) == store.last_position());
  CHECK(live.checkpoint(1) == store.last_position());
  const auto deposits = [](const proj::balances& b, std::uint64_t) { return b.deposits; };
  CHECK(models[0].read(deposits) + models[1].read(deposits) == 40);
  CHECK(store.handed_out() == 2 * 45);  // each partition reads the projection's types once
  CHECK(store.unfiltered() == 0);
}

TEST_CASE("a filtered subscription delivers what its filter selects and passes the rest",
          "[projection][filter][subscription]") {
  recording_store store;
  append_noisy_bank(store);
  annal::subscription sub{
      store, 1,
      annal::subscription_options{.batch_size = 4,
                                  .filter = {{"audit.noted.3"}, {"audit-1"}}}};  // audit-1, -1x
  std::vector<std::string> got;
  CHECK(sub.catch_up([&](const annal::recorded_event& e) { got.push_back(e.stream_id); }) == 11);
  CHECK(got.front() == "audit-1");
  CHECK(std::all_of(got.begin(), got.end(),
                    [](const std::string& s) { return s.starts_with("audit-1"); }));
  CHECK(sub.position() == store.last_position() + 1);
  CHECK(store.unfiltered() == 0);
  // A filter that can only be a mistake is refused when the subscription is made.
  CHECK_THROWS_AS(
      (annal::subscription{store, 1, annal::subscription_options{.filter = {{""}, {}}}}),
      annal::error);
}

TEST_CASE("an archive and its hot log answer a filtered read as one log", "[projection][filter]") {
  // Positions 1..n in the archive, the same and more in the hot log: with_archive reads the first
  // from the archive and the rest from the hot log.
  annal::memory_store archive, hot;
  append_noisy_bank(archive);
  append_noisy_bank(hot);
  append_noisy_bank(hot);
  const annal::with_archive both{archive, hot};
  const annal::event_filter f{{"bank.deposited"}, {"acct-2"}};
  for (std::size_t per_read : {std::size_t{3}, std::size_t{1000}})
    CHECK(annal_conformance::positions_of(annal_conformance::read_in_steps(both, f, per_read)) ==
          annal_conformance::positions_of(annal_conformance::expected_matches(hot, f)));
}
