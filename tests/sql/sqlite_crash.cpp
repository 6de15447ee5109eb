// Kill -9 a process in the middle of appending: every acknowledged event must survive, intact,
// and no batch may be visible in part.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <map>
#include <random>
#include <thread>

#include <annal/sqlite/store.hpp>

#include "sql/sql_test_support.hpp"

using namespace annal;

namespace {

// What the child reports for each event of an acknowledged batch.
struct ack {
  unsigned char id[16];
  std::uint64_t tag;
  std::uint32_t index;
  std::uint32_t batch_size;
};
static_assert(sizeof(ack) == 32);

std::string payload_for(std::uint64_t tag, std::uint32_t index, std::uint32_t size) {
  return "{\"tag\":" + std::to_string(tag) + ",\"i\":" + std::to_string(index) +
         ",\"of\":" + std::to_string(size) + ",\"pad\":\"" + std::string(index * 37 % 300, 'x') +
         "\"}";
}

[[noreturn]] void run_child(const std::filesystem::path& file, int out, std::uint64_t round) {
  try {
    sqlite_store store(file);
    std::mt19937 rng(static_cast<unsigned>(round));
    for (std::uint64_t b = 0;; ++b) {
      const std::uint32_t n = 1 + rng() % 5;
      const std::uint64_t tag = round * 1000000 + b;
      std::vector<event_data> batch(n);
      ack acks[5];
      for (std::uint32_t i = 0; i < n; ++i) {
        batch[i].id = new_event_id();
        batch[i].type = "crash";
        batch[i].payload = payload_for(tag, i, n);
        std::memcpy(acks[i].id, batch[i].id.data, 16);
        acks[i].tag = tag;
        acks[i].index = i;
        acks[i].batch_size = n;
      }
      store.append("crash-" + std::to_string(b % 7), expected_version::any(), batch);
      // One write of at most PIPE_BUF bytes is atomic: a batch is reported whole or not at all.
      if (::write(out, acks, n * sizeof(ack)) != static_cast<ssize_t>(n * sizeof(ack))) ::_exit(2);
    }
  } catch (...) {
    ::_exit(1);
  }
}

}  // namespace

TEST_CASE("sqlite store keeps every acknowledged event across kill -9", "[store][sqlite][crash]") {
  annal_test::temp_dir dir;
  const auto file = dir.path() / "crash.db";
  { sqlite_store create(file); }
  std::mt19937 rng(std::random_device{}());
  std::map<std::string, ack> acknowledged;  // by id bytes
  constexpr int rounds = 6;
  for (int round = 1; round <= rounds; ++round) {
    int fds[2];
    REQUIRE(::pipe(fds) == 0);
    const pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      ::close(fds[0]);
      run_child(file, fds[1], static_cast<std::uint64_t>(round));
    }
    ::close(fds[1]);
    std::this_thread::sleep_for(std::chrono::milliseconds(30 + rng() % 250));
    REQUIRE(::kill(pid, SIGKILL) == 0);
    int status = 0;
    ::waitpid(pid, &status, 0);
    CHECK(WIFSIGNALED(status));
    ack a;
    std::size_t got = 0;
    for (;;) {
      const ssize_t r = ::read(fds[0], reinterpret_cast<char*>(&a) + got, sizeof a - got);
      if (r <= 0) break;
      got += static_cast<std::size_t>(r);
      if (got == sizeof a) {
        acknowledged[std::string(reinterpret_cast<const char*>(a.id), 16)] = a;
        got = 0;
      }
    }
    ::close(fds[0]);
    INFO("round " << round << ", acknowledged so far " << acknowledged.size());

    sqlite_store store(file);  // reopen after the crash
    std::map<std::string, const recorded_event*> stored;
    std::vector<recorded_event> all;
    std::uint64_t expect = 1;
    store.read_all(1, [&](const recorded_event& e) {
      REQUIRE(e.position == expect++);
      all.push_back(e);
    });
    std::map<std::uint64_t, std::uint32_t> per_tag;
    for (const auto& e : all) {
      stored[std::string(reinterpret_cast<const char*>(e.id.data), 16)] = &e;
      const auto tag_at = e.payload.find("\"tag\":") + 6;
      per_tag[std::stoull(e.payload.substr(tag_at))]++;
    }
    for (const auto& [key, a2] : acknowledged) {
      const auto it = stored.find(key);
      REQUIRE(it != stored.end());
      CHECK(it->second->payload == payload_for(a2.tag, a2.index, a2.batch_size));
    }
    // Atomic batches: every stored tag holds its whole batch.
    for (const auto& e : all) {
      const auto of_at = e.payload.find("\"of\":") + 5;
      const auto tag_at = e.payload.find("\"tag\":") + 6;
      REQUIRE(per_tag[std::stoull(e.payload.substr(tag_at))] ==
              std::stoul(e.payload.substr(of_at)));
    }
  }
  CHECK(acknowledged.size() > 0);
}
