// Crash trials: a child process appends with durable acknowledgements sent over a pipe, the parent
// kill -9s it at a random moment, reopens the log and checks every acknowledged event is there and
// intact. ANNAL_CRASH_TRIALS sets the number of trials (default 200); ANNAL_CRASH_SEED the seed.
#include <catch2/catch.hpp>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <map>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <annal/file/log.hpp>

#include "store/crash_writer.hpp"
#include "store/store_test_support.hpp"

namespace {

using annal::event_id;

using annal_test_store::ack;
using annal_test_store::max_batch;
using annal_test_store::payload_for;

// The stream follows from the event id, so any process can check any event it reads.
std::string stream_for(const event_id& id) {
  return "crash-" + std::to_string(id.data[1] % 7);
}

[[noreturn]] void child(const std::filesystem::path& dir, int out, int mode, unsigned seed) {
  annal::file_log_options options;
  options.segment_size = 64 * 1024;
  options.sync = mode == 1 ? annal::durability::group : annal::durability::durable;
  const int threads = mode == 0 ? 1 : 4;
  try {
    annal::file_log log(dir, options);
    annal_test_store::append_and_acknowledge(log, out, threads, seed, "crash.test", stream_for);
  } catch (const std::exception& e) {
    const std::string text = std::string("child failed: ") + e.what() + "\n";
    if (::write(2, text.data(), text.size()) < 0) ::_exit(5);
    ::_exit(3);
  }
  ::_exit(0);
}

}  // namespace

TEST_CASE("file_log: kill -9 at random moments loses no acknowledged event",
          "[store][file_log][crash]") {
  const char* env_trials = std::getenv("ANNAL_CRASH_TRIALS");
  const int trials = env_trials ? std::atoi(env_trials) : 200;
  const char* env_seed = std::getenv("ANNAL_CRASH_SEED");
  const unsigned seed = env_seed ? static_cast<unsigned>(std::strtoul(env_seed, nullptr, 10))
                                 : std::random_device{}();
  INFO("ANNAL_CRASH_SEED=" << seed << " ANNAL_CRASH_TRIALS=" << trials);
  std::mt19937 rng(seed);
  annal_test_store::scratch_dir dir;
  std::map<std::uint64_t, event_id> acked;  // position -> id, over all trials
  std::uint64_t torn_tails = 0;

  for (int trial = 0; trial < trials; ++trial) {
    INFO("trial " << trial);
    int fds[2];
    REQUIRE(::pipe(fds) == 0);
    const int mode = trial % 3;
    const unsigned child_seed = static_cast<unsigned>(rng());
    const pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      ::close(fds[0]);
      child(dir.log(), fds[1], mode, child_seed);
    }
    ::close(fds[1]);
    std::vector<char> bytes;
    char buffer[4096];
    // Every fourth trial waits for a first acknowledgement, so that slow machines (sanitizers,
    // busy CI) still kill writers in the middle of appending, not only while they open.
    if (trial % 4 == 3) {
      for (ssize_t n;
           bytes.size() < sizeof(ack) && (n = ::read(fds[0], buffer, sizeof buffer)) > 0;)
        bytes.insert(bytes.end(), buffer, buffer + n);
    }
    // Mostly early kills (during open and the first appends), some later ones.
    const auto delay =
        std::chrono::microseconds(rng() % 4 == 0 ? rng() % 5000 : 5000 + rng() % 80000);
    std::this_thread::sleep_for(delay);
    ::kill(pid, SIGKILL);
    int status = 0;
    REQUIRE(::waitpid(pid, &status, 0) == pid);
    const bool killed = WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL;
    INFO("child exit status " << status);
    REQUIRE(killed);
    for (ssize_t n; (n = ::read(fds[0], buffer, sizeof buffer)) > 0;)
      bytes.insert(bytes.end(), buffer, buffer + n);
    ::close(fds[0]);
    // A kill can cut the last ack short: an ack half-sent was not received.
    for (std::size_t at = 0; at + sizeof(ack) <= bytes.size(); at += sizeof(ack)) {
      ack a;
      std::memcpy(&a, bytes.data() + at, sizeof a);
      for (std::uint32_t i = 0; i < a.count; ++i) {
        event_id id;
        std::memcpy(id.data, a.ids[i], 16);
        acked.emplace(a.first_position + i, id);
      }
    }

    annal::file_log log(dir.log());
    torn_tails += log.recovery().cut;
    INFO("recovery: " << log.recovery().reason);
    REQUIRE(log.recovery().intact_records_cut == 0);
    // A torn tail's bytes are kept beside the log, not dropped.
    if (log.recovery().cut) CHECK(log.recovery().saved_as.size() == 1);
    std::uint64_t expect = 1;
    std::size_t bad = 0;
    std::map<std::string, std::uint64_t> versions;
    log.read_all(1, [&](const annal::recorded_event& e) {
      bad += e.position != expect++;
      bad += e.payload != payload_for(e.id);
      bad += e.type != "crash.test";
      const auto m = e.meta.find("stream");
      bad += m == e.meta.end() || m->second != e.stream_id;
      bad += e.stream_version != ++versions[e.stream_id];
      const auto a = acked.find(e.position);
      bad += a != acked.end() && a->second != e.id;
    });
    CHECK(bad == 0);
    REQUIRE(log.last_position() >= (acked.empty() ? 0 : acked.rbegin()->first));
  }
  INFO("acknowledged events " << acked.size() << ", torn tails cut " << torn_tails);
  CHECK(acked.size() > 0);
}
