// docs/sqlite.md, compiled and run: open a database file, append, read a stream.
#include <catch2/catch.hpp>

#include <filesystem>
#include <string>
#include <vector>

#include <annal/sqlite/store.hpp>

#include "store/store_test_support.hpp"

TEST_CASE("docs/sqlite.md: open, append, read", "[docs][sqlite]") {
  annal_test_store::scratch_dir dir;
  const std::filesystem::path file = dir.path() / "events.db";  // e.g. /var/lib/orders/events.db
  std::vector<annal::event_data> events(2);
  for (auto& e : events) {
    e.id = annal::new_event_id();
    e.type = "order.placed";
    e.payload = R"({"amount":3})";
  }
  std::vector<std::uint64_t> versions;

  // [sqlite]
  annal::sqlite_store store(file);  // creates the file and schema if needed
  auto r = store.append("order-17", annal::expected_version::no_stream(), events);
  store.read_stream("order-17", 1,
                    [&](const annal::recorded_event& e) { versions.push_back(e.stream_version); });
  // [sqlite]

  CHECK(std::filesystem::exists(file));
  CHECK(r.status == annal::append_status::appended);
  CHECK(r.stream_version == 2);
  CHECK(versions == std::vector<std::uint64_t>{1, 2});
  STATIC_REQUIRE(annal::event_store<annal::sqlite_store>);
}
