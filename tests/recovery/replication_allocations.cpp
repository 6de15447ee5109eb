// What a replicator allocates while copying, counted by a replaced global operator new: its read
// buffer is reused from step to step, so copying costs no more allocations than the batches it
// appends (bench/replication measures what the extra copies cost).
#include <catch2/catch.hpp>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <new>
#include <span>
#include <string>
#include <string_view>

#include <annal/runtime/new_event_id.hpp>
#include <annal/store/memory.hpp>
#include <annal/store/replication.hpp>

#include "common/count_allocations.hpp"

using annal_test::allocation_count;

namespace {

// A standby that keeps nothing and allocates nothing, so that the count is the replicator's own.
class null_store {
 public:
  annal::append_result append(std::string_view, annal::expected_version expect,
                              std::span<const annal::event_data> batch) {
    annal::append_result r;
    r.first_position = last_ + 1;
    last_ += batch.size();
    r.last_position = last_;
    r.stream_version = expect.version() + batch.size();
    return r;
  }
  template <class F>
  std::size_t read_stream(std::string_view, std::uint64_t, F&&,
                          std::size_t = annal::unlimited) const {
    return 0;
  }
  template <class F>
  std::size_t read_all(std::uint64_t, F&&, std::size_t = annal::unlimited) const {
    return 0;
  }
  std::uint64_t stream_version(std::string_view) const { return 0; }
  std::uint64_t last_position() const { return last_; }

 private:
  std::uint64_t last_ = 0;
};
static_assert(annal::event_store<null_store>);

}  // namespace

TEST_CASE("a replicator reuses its read buffer: copying allocates only for the batches it appends",
          "[recovery][replication]") {
  // The counter works: an explicit call to operator new, which the optimizer may not remove.
  const std::size_t before_probe = allocation_count.load();
  void* probe = ::operator new(16);
  ::operator delete(probe);
  REQUIRE(allocation_count.load() == before_probe + 1);

  // Payloads longer than std::string's inline buffer, so that every copy of one allocates.
  annal::memory_store primary;
  for (int i = 0; i < 2048; ++i) {
    annal::event_data e;
    e.id = annal::new_event_id();
    e.type = "test.happened";
    e.payload.assign(64, 'p');
    primary.append("s-" + std::to_string(i % 8), annal::expected_version::any(),
                   std::span<const annal::event_data>(&e, 1));
  }
  null_store standby;
  annal::replication_options options;
  options.batch_events = 256;
  annal::replicator replicator(primary, standby, options);
  REQUIRE(replicator.catch_up(1024) == 1024);  // the buffers grow to their size here

  const std::size_t before = allocation_count.load();
  const std::uint64_t copied = replicator.catch_up(2048);
  const std::size_t allocations = allocation_count.load() - before;
  REQUIRE(copied == 1024);
  // One per event, the copy of its payload into the event_data appended (as any copy into a batch
  // makes), and a few per step; none for the read buffer, which would add one per event.
  CHECK(allocations <= copied + 64);
}
