// Crash trials with readers: reader processes follow a file log read-only while a writer process
// appends and is killed with SIGKILL. Readers must never see a torn record, a gap, or a record past
// what the writer published; afterwards they reach every acknowledged event and stop, and every
// record they saw is in the log the next writer opens. ANNAL_CRASH_TRIALS sets the number of
// trials (default 8), ANNAL_CRASH_SEED the seed.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <annal/file/log.hpp>

#include "store/crash_writer.hpp"
#include "store/faulty_io.hpp"
#include "store/store_test_support.hpp"

namespace {

using annal::event_id;

using annal_test_store::ack;
using annal_test_store::max_batch;
using annal_test_store::payload_for;

// The stream follows from the event id, so any process can check any event it reads.
std::string stream_for(const event_id& id) {
  return "follow-" + std::to_string(id.data[1] % 5);
}

// What a reader reports when it stops: the last position it read and a hash of every (position,
// event id) it read, so the parent can check them against the log the next writer opens.
struct reader_report {
  std::uint64_t last_seen;
  std::uint64_t hash;
};

std::uint64_t mix(std::uint64_t h, std::uint64_t position, const event_id& id) {
  const auto step = [&](std::uint8_t b) { h = (h ^ b) * 0x100000001B3ull; };
  for (int i = 0; i < 8; ++i) step(static_cast<std::uint8_t>(position >> (8 * i)));
  for (std::uint8_t b : id.data) step(b);
  return h;
}
constexpr std::uint64_t hash_seed = 0xCBF29CE484222325ull;

[[noreturn]] void fail_child(int code, const std::string& why) {
  const std::string text = "reader " + std::to_string(::getpid()) + ": " + why + "\n";
  if (::write(2, text.data(), text.size()) < 0) ::_exit(code + 1);
  ::_exit(code);
}

// A writer: durable (one thread), group (four) or none (two), its syncs slowed down so that
// written-but-unacknowledged batches sit in the log long enough for a reader to meet them.
[[noreturn]] void writer_child(const std::filesystem::path& dir, int out, int mode, unsigned seed) {
  annal::file_log_options options;
  options.segment_size = 48 * 1024;
  options.sync = mode == 0   ? annal::durability::durable
                 : mode == 1 ? annal::durability::group
                             : annal::durability::none;
  const int threads = mode == 0 ? 1 : mode == 1 ? 4 : 2;
  try {
    annal_test_store::faulty_io io;
    io.plan->sync_time = std::chrono::microseconds(300);
    annal::basic_file_log<annal_test_store::faulty_io> log(dir, options, io);
    annal_test_store::append_and_acknowledge(log, out, threads, seed, "follow.test", stream_for);
  } catch (const std::exception& e) {
    const std::string text = std::string("writer failed: ") + e.what() + "\n";
    if (::write(2, text.data(), text.size()) < 0) ::_exit(5);
    ::_exit(3);
  }
  ::_exit(0);
}

// A reader: a projector's loop (read_all in bounded batches, wait_for_append when caught up) that
// checks each event as it goes. `control` brings the last acknowledged position once the writer is
// dead; the reader stops when it has read that far and reports to `report`.
[[noreturn]] void reader_child(const std::filesystem::path& dir, int control, int report) {
  try {
    annal::file_log_options options;
    options.read_only = true;
    const annal::file_log log(dir, options);
    std::uint64_t next = 1, hash = hash_seed, target = 0;
    bool have_target = false;
    std::map<std::string, std::uint64_t> versions;
    // Bounds a hang (a reader that never reaches the target), not a speed.
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::minutes(3);
    for (;;) {
      const std::size_t n = log.read_all(
          next,
          [&](const annal::recorded_event& e) {
            if (e.position != next)
              fail_child(10, "read position " + std::to_string(e.position) + " where " +
                                 std::to_string(next) + " belongs");
            if (e.payload != payload_for(e.id) || e.type != "follow.test")
              fail_child(11, "event at position " + std::to_string(e.position) + " is not intact");
            const auto m = e.meta.find("stream");
            if (m == e.meta.end() || m->second != e.stream_id)
              fail_child(12, "event at position " + std::to_string(e.position) + " is in stream " +
                                 e.stream_id + " but was written to another");
            if (e.stream_version != ++versions[e.stream_id])
              fail_child(13, "stream " + e.stream_id + " skips to version " +
                                 std::to_string(e.stream_version));
            hash = mix(hash, e.position, e.id);
            ++next;
          },
          256);
      if (!have_target) {
        std::uint64_t value = 0;
        if (::read(control, &value, sizeof value) == static_cast<ssize_t>(sizeof value)) {
          target = value;
          have_target = true;
        }
      }
      if (have_target && next > target) {
        const reader_report r{next - 1, hash};
        if (::write(report, &r, sizeof r) != static_cast<ssize_t>(sizeof r)) ::_exit(6);
        ::_exit(0);
      }
      if (std::chrono::steady_clock::now() > give_up)
        fail_child(20, "stuck at position " + std::to_string(next - 1) + ", told to reach " +
                           (have_target ? std::to_string(target) : std::string("(nothing yet)")));
      if (n == 0)
        log.wait_for_append(next - 1, annal::clock::now() + std::chrono::milliseconds(20));
    }
  } catch (const std::exception& e) {
    fail_child(30, std::string("failed: ") + e.what());
  }
}

// The position the writer last published, read as readers read it.
std::uint64_t published_position(const std::filesystem::path& dir) {
  std::ifstream in(dir / "PUBLISHED", std::ios::binary);
  std::uint64_t words[2] = {0, 0};
  in.read(reinterpret_cast<char*>(words), sizeof words);
  REQUIRE(in.gcount() == static_cast<std::streamsize>(sizeof words));
  REQUIRE(words[1] == ~words[0]);
  return words[0];
}

struct reader_process {
  pid_t pid;
  int control;  // parent writes the target here
  int report;   // parent reads the reader's report here
};

}  // namespace

TEST_CASE(
    "file_log read-only: readers following a writer that is killed see no torn or "
    "unpublished record, then everything acknowledged",
    "[store][file_log][read_only][crash]") {
  const char* env_trials = std::getenv("ANNAL_CRASH_TRIALS");
  const int trials = env_trials ? std::atoi(env_trials) : 8;
  const char* env_seed = std::getenv("ANNAL_CRASH_SEED");
  const unsigned seed = env_seed ? static_cast<unsigned>(std::strtoul(env_seed, nullptr, 10))
                                 : std::random_device{}();
  INFO("ANNAL_CRASH_SEED=" << seed << " ANNAL_CRASH_TRIALS=" << trials);
  std::mt19937 rng(seed);
  annal_test_store::scratch_dir dir;
  std::filesystem::create_directories(dir.log());
  std::map<std::uint64_t, event_id> acked;  // position -> id, over all trials
  constexpr int readers_per_trial = 3;
  // A reader that failed has exited before it is told its target: the write to it must fail with
  // EPIPE and be reported with the reader's status and message, not kill this process.
  const auto old_sigpipe = ::signal(SIGPIPE, SIG_IGN);
  struct restore_sigpipe {
    decltype(old_sigpipe) handler;
    ~restore_sigpipe() { ::signal(SIGPIPE, handler); }
  } restore{old_sigpipe};

  for (int trial = 0; trial < trials; ++trial) {
    INFO("trial " << trial);
    // Readers start first: some open before the writer has, some while it opens or appends.
    std::vector<reader_process> readers;
    for (int r = 0; r < readers_per_trial; ++r) {
      int control[2], report[2];
      REQUIRE(::pipe(control) == 0);
      REQUIRE(::pipe(report) == 0);
      const pid_t pid = ::fork();
      REQUIRE(pid >= 0);
      if (pid == 0) {
        ::close(control[1]);
        ::close(report[0]);
        ::fcntl(control[0], F_SETFL, O_NONBLOCK);
        reader_child(dir.log(), control[0], report[1]);
      }
      ::close(control[0]);
      ::close(report[1]);
      readers.push_back({pid, control[1], report[0]});
      if (r == 0) std::this_thread::sleep_for(std::chrono::microseconds(rng() % 3000));
    }
    int acks[2];
    REQUIRE(::pipe(acks) == 0);
    const unsigned writer_seed = static_cast<unsigned>(rng());
    const pid_t writer = ::fork();
    REQUIRE(writer >= 0);
    if (writer == 0) {
      ::close(acks[0]);
      writer_child(dir.log(), acks[1], trial % 3, writer_seed);
    }
    ::close(acks[1]);
    std::vector<char> bytes;
    char buffer[4096];
    // Wait for a first acknowledgement, so that the kill lands among appends, not during the open.
    for (ssize_t n; bytes.size() < sizeof(ack) && (n = ::read(acks[0], buffer, sizeof buffer)) > 0;)
      bytes.insert(bytes.end(), buffer, buffer + n);
    std::this_thread::sleep_for(std::chrono::microseconds(5000 + rng() % 150000));
    ::kill(writer, SIGKILL);
    int status = 0;
    REQUIRE(::waitpid(writer, &status, 0) == writer);
    INFO("writer exit status " << status);
    REQUIRE((WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL));
    for (ssize_t n; (n = ::read(acks[0], buffer, sizeof buffer)) > 0;)
      bytes.insert(bytes.end(), buffer, buffer + n);
    ::close(acks[0]);
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
    const std::uint64_t last_acked = acked.empty() ? 0 : acked.rbegin()->first;
    // What the dead writer published: at least everything it acknowledged, and the most any
    // reader may have read.
    const std::uint64_t published = published_position(dir.log());
    INFO("acknowledged up to " << last_acked << ", published up to " << published);
    CHECK(published >= last_acked);

    std::vector<reader_report> reports;
    for (const reader_process& r : readers) {
      const bool told = ::write(r.control, &last_acked, sizeof last_acked) ==
                        static_cast<ssize_t>(sizeof last_acked);
      int reader_status = 0;
      REQUIRE(::waitpid(r.pid, &reader_status, 0) == r.pid);
      INFO("reader exit status " << reader_status << " (stderr has its reason)");
      CHECK((WIFEXITED(reader_status) && WEXITSTATUS(reader_status) == 0));
      CHECK(told);
      reader_report rep{0, 0};
      if (::read(r.report, &rep, sizeof rep) == static_cast<ssize_t>(sizeof rep)) {
        reports.push_back(rep);
        CHECK(rep.last_seen >= last_acked);
        CHECK(rep.last_seen <= published);  // nothing the writer had not published
      }
      ::close(r.control);
      ::close(r.report);
    }
    REQUIRE(reports.size() == readers.size());

    // The next writer keeps every record any reader saw, unchanged.
    annal::file_log log(dir.log());
    REQUIRE(log.recovery().intact_records_cut == 0);
    std::uint64_t hash = hash_seed;
    std::map<std::uint64_t, std::uint64_t> hash_at;  // last position -> hash up to it
    for (const reader_report& rep : reports) hash_at.emplace(rep.last_seen, 0);
    std::size_t wrong_ids = 0;
    log.read_all(1, [&](const annal::recorded_event& e) {
      hash = mix(hash, e.position, e.id);
      if (const auto h = hash_at.find(e.position); h != hash_at.end()) h->second = hash;
      const auto a = acked.find(e.position);
      wrong_ids += a != acked.end() && a->second != e.id;
    });
    CHECK(wrong_ids == 0);
    CHECK(log.last_position() >= last_acked);
    for (const reader_report& rep : reports) {
      INFO("a reader stopped at " << rep.last_seen);
      CHECK(hash_at[rep.last_seen] == rep.hash);
    }
  }
  INFO("acknowledged events " << acked.size());
  CHECK(acked.size() > 0);
}
