// Tests for projection/subscription.hpp: bounded batches over a huge log, catch-up, live wake-ups.
#include <annal/projection/projector.hpp>
#include <annal/store/memory.hpp>
#include <annal/store/subscription.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <string>

#include "projection/domain.hpp"

namespace {

// A store that claims 100M events and makes each one up as it is read: the shape of a huge log
// without its memory. It records the largest read anyone asked of it.
class synthetic_store {
 public:
  static constexpr std::uint64_t size = 100'000'000;

  annal::append_result append(std::string_view, annal::expected_version,
                              std::span<const annal::event_data>) {
    throw annal::error(annal::errc::invalid_argument, "synthetic store is read-only");
  }
  template <class F>
  std::size_t read_stream(std::string_view, std::uint64_t, F&&,
                          std::size_t = annal::unlimited) const {
    return 0;
  }
  template <class F>
  std::size_t read_all(std::uint64_t from, F&& visit,
                       std::size_t max_count = annal::unlimited) const {
    largest_request = std::max(largest_request, max_count);
    annal::recorded_event e;
    e.type = std::string(annal::event_name_of<bank::deposited>);
    e.payload = annal::binary_codec::encode(bank::deposited{1});
    std::size_t n = 0;
    for (std::uint64_t p = std::max<std::uint64_t>(from, 1); p <= size && n < max_count; ++p) {
      e.position = p;
      e.stream_id = "acc-" + std::to_string(p % 1000);
      e.stream_version = p / 1000 + 1;
      ++n;
      if (!annal::detail::visit_continue(visit, e)) break;
    }
    return n;
  }
  std::uint64_t stream_version(std::string_view) const { return 0; }
  std::uint64_t last_position() const { return size; }

  mutable std::size_t largest_request = 0;
};
static_assert(annal::event_store<synthetic_store>);

}  // namespace

TEST_CASE("a subscription over 100M events never holds more than one batch",
          "[projection][subscription][memory]") {
  synthetic_store store;
  annal::subscription sub{store, 1, {.batch_size = 512}};
  std::uint64_t seen = 0;
  for (int batch = 0; batch < 400; ++batch) sub.poll([&](const annal::recorded_event&) { ++seen; });
  CHECK(seen == 400 * 512);
  CHECK(sub.position() == 400 * 512 + 1);
  CHECK(sub.largest_batch() == 512);
  CHECK(store.largest_request == 512);  // never "everything"

  // A projector over the same log reads in its own bounded batches too.
  annal::memory_read_model<proj::balances> model;
  annal::projector projector{store, model, {.batch_size = 300}};
  for (int i = 0; i < 100; ++i) CHECK(projector.step() == 300);
  CHECK(store.largest_request == 512);
  CHECK(model.read([](const proj::balances& b, std::uint64_t) { return b.deposits; }) == 30'000);
}

TEST_CASE("a subscription resumes from a position and stops where its handler threw",
          "[projection][subscription]") {
  annal::memory_store store;
  for (int i = 1; i <= 10; ++i) proj::append(store, "s", bank::deposited{i});
  annal::subscription sub{store, 4, {.batch_size = 3}};
  std::vector<std::uint64_t> positions;
  CHECK(sub.catch_up([&](const annal::recorded_event& e) { positions.push_back(e.position); }) ==
        7);
  CHECK(positions.front() == 4);
  CHECK(positions.back() == 10);
  CHECK(sub.poll([](const annal::recorded_event&) {}) == 0);

  annal::subscription failing{store, 1};
  CHECK_THROWS(failing.poll([](const annal::recorded_event& e) {
    if (e.position == 6) throw std::runtime_error("stop");
  }));
  CHECK(failing.position() == 6);
  CHECK_THROWS_AS(annal::subscription(store, 1, {.batch_size = 0}), annal::error);
}

TEST_CASE("a filtered subscription hands out what its filter selects",
          "[projection][subscription][filter]") {
  annal::memory_store store;
  proj::append(store, "acct-1", bank::opened{"ann"}, bank::deposited{5});
  proj::append(store, "acct-2", bank::opened{"bob"}, bank::withdrawn{3});
  proj::append(store, "acct-1", bank::deposited{7}, bank::closed{"bye"});
  std::vector<long> deposits;
  // [filtered]
  annal::subscription sub{store, 1, {.batch_size = 256, .filter = {.types = {"bank.deposited"}}}};
  sub.catch_up([&](const annal::recorded_event& e) {
    deposits.push_back(annal::binary_codec::decode<bank::deposited>(e.payload).cents);
  });
  // [filtered]
  CHECK(deposits == std::vector<long>{5, 7});
  CHECK(sub.position() == store.last_position() + 1);  // past the closing it left out
}
