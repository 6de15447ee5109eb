// new_event_id(): time-ordered UUIDv7 ids, so stores' unique indexes on ids grow at one end.
#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <set>
#include <thread>
#include <vector>

#include <sys/wait.h>
#include <unistd.h>

#include <boost/uuid/uuid_io.hpp>

#include <annal/core/detail/event_id.hpp>
#include <annal/runtime/new_event_id.hpp>

namespace {

std::uint64_t millis_of(const annal::event_id& id) {
  std::uint64_t ms = 0;
  for (int i = 0; i < 6; ++i) ms = ms << 8 | id.data[i];
  return ms;
}

}  // namespace

TEST_CASE("new_event_id makes RFC 9562 version 7 ids", "[core][event_id]") {
  const auto before = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  const annal::event_id id = annal::new_event_id();
  const auto after = std::chrono::duration_cast<std::chrono::milliseconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count();
  CHECK((id.data[6] >> 4) == 7);  // Boost 1.81 predates version 7: read the nibble
  CHECK(id.variant() == boost::uuids::uuid::variant_rfc_4122);
  CHECK(millis_of(id) >= static_cast<std::uint64_t>(before));
  CHECK(millis_of(id) <= static_cast<std::uint64_t>(after));
}

TEST_CASE("new_event_id: later ids sort later, and ids never repeat", "[core][event_id]") {
  std::vector<annal::event_id> ids;
  std::set<annal::event_id> seen;
  for (int round = 0; round < 3; ++round) {
    const annal::event_id id = annal::new_event_id();
    if (!ids.empty()) CHECK(ids.back() < id);  // 2 ms apart: the time prefix orders them
    ids.push_back(id);
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  // Within one millisecond, the 74 random bits keep ids apart, across threads too.
  std::vector<std::vector<annal::event_id>> made(4);
  std::vector<std::thread> threads;
  for (auto& out : made)
    threads.emplace_back([&out] {
      for (int i = 0; i < 50000; ++i) out.push_back(annal::new_event_id());
    });
  for (auto& t : threads) t.join();
  for (const auto& out : made) seen.insert(out.begin(), out.end());
  CHECK(seen.size() == 4 * 50000);
}

TEST_CASE("new_event_id: a forked child does not repeat its parent's ids", "[core][event_id]") {
  // Random bytes are drawn from the system in blocks: after this id, the parent's block holds more,
  // and the child starts with a copy of it.
  (void)annal::new_event_id();
  int pipe_fds[2];
  REQUIRE(::pipe(pipe_fds) == 0);
  const pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    const annal::event_id id = annal::new_event_id();
    const bool sent = ::write(pipe_fds[1], id.data, sizeof id.data) == sizeof id.data;
    ::_exit(sent ? 0 : 1);
  }
  const annal::event_id mine = annal::new_event_id();
  annal::event_id childs;
  const bool received = ::read(pipe_fds[0], childs.data, sizeof childs.data) == sizeof childs.data;
  int status = 0;
  ::waitpid(child, &status, 0);
  ::close(pipe_fds[0]);
  ::close(pipe_fds[1]);
  REQUIRE(received);
  CHECK(WIFEXITED(status));
  // The time prefix may match; the 74 random bits must not.
  CHECK(!std::equal(mine.data + 6, mine.data + 16, childs.data + 6));
}

TEST_CASE("an event id's text is Boost's canonical form, and its hash spreads every byte",
          "[core][event_id]") {
  annal::event_id id{};
  CHECK(annal::detail::id_text(id) == "00000000-0000-0000-0000-000000000000");
  for (int i = 0; i < 16; ++i) id.data[i] = static_cast<std::uint8_t>(0x10 * i + 0xF - i);
  CHECK(annal::detail::id_text(id) == boost::uuids::to_string(id));
  for (int n = 0; n < 100; ++n) {
    const annal::event_id fresh = annal::new_event_id();
    CHECK(annal::detail::id_text(fresh) == boost::uuids::to_string(fresh));
  }
  // A change in any one byte changes the hash (its table position depends on every bit).
  const annal::detail::event_id_hash hash;
  const std::size_t base = hash(id);
  for (int i = 0; i < 16; ++i) {
    annal::event_id other = id;
    other.data[i] ^= 1;
    CHECK(hash(other) != base);
  }
}
