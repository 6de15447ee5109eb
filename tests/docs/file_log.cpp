// docs/file_log.md, compiled and run: open a log, append with an expectation, read back.
#include <catch2/catch.hpp>

#include <filesystem>
#include <string>
#include <vector>

#include <annal/file/log.hpp>

#include "store/store_test_support.hpp"

namespace {

// Runs the page's code in a scratch directory, so its "./data" is a fresh log.
struct in_scratch_directory {
  annal_test_store::scratch_dir dir;
  std::filesystem::path before = std::filesystem::current_path();
  in_scratch_directory() { std::filesystem::current_path(dir.path()); }
  ~in_scratch_directory() { std::filesystem::current_path(before); }
};

}  // namespace

TEST_CASE("docs/file_log.md: append with an expected version, read back", "[docs][file_log]") {
  in_scratch_directory scratch;
  const std::string encoded_bytes = "250 cents";
  {  // the stream is at version 7 when the page's code runs
    annal::file_log earlier{"./data"};
    std::vector<annal::event_data> seven(7);
    for (auto& e : seven) {
      e.id = annal::new_event_id();
      e.type = "bank.opened";
    }
    REQUIRE(earlier.append("account-42", annal::expected_version::no_stream(), seven).ok());
  }
  std::vector<std::string> types;
  std::size_t visited = 0;

  // [file-log]
  annal::file_log log{"./data"};  // creates ./data if missing; durable appends by default

  std::vector<annal::event_data> batch(1);
  batch[0].id = annal::new_event_id();
  batch[0].type = "bank.deposited";
  batch[0].payload = encoded_bytes;
  auto r = log.append("account-42", annal::expected_version::exact(7), batch);
  if (r.status == annal::append_status::conflict) {
    // reload at r.stream_version, decide again
  }

  log.read_stream("account-42", 1,
                  [&](const annal::recorded_event& e) { types.push_back(e.type); });
  // A visitor returning false stops the read.
  log.read_all(1, [&](const annal::recorded_event& e) {
    ++visited;
    return e.position < 5;
  });
  // [file-log]

  CHECK(std::filesystem::exists(scratch.dir.path() / "data"));
  CHECK(log.options().sync == annal::durability::durable);
  CHECK(r.status == annal::append_status::appended);
  CHECK(r.stream_version == 8);
  REQUIRE(types.size() == 8);
  CHECK(types.back() == "bank.deposited");
  CHECK(visited == 5);  // positions 1..5: the fifth returned false

  std::size_t payload_bytes = 0;
  std::string user;
  // [file-log-views]
  log.read_all_views(1, [&](const annal::recorded_event_view& e) {
    payload_bytes += e.payload.size();            // std::string_view into the read buffer
    if (auto u = e.meta.find("user")) user = *u;  // copy what must outlive the visit
  });
  // [file-log-views]
  CHECK(payload_bytes == encoded_bytes.size());  // only the deposit has a payload
  CHECK(user.empty());

  // The same expectation again is a conflict, a value, with the actual version.
  batch[0].id = annal::new_event_id();
  const auto again = log.append("account-42", annal::expected_version::exact(7), batch);
  CHECK(again.status == annal::append_status::conflict);
  CHECK(again.stream_version == 8);
}
