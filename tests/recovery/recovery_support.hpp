// What the backup and restore tests of every store share: filling a store, reading it back,
// comparing two copies, and matching an error by its code and the parts of its message.
#pragma once

#include <catch2/catch.hpp>

#include <fcntl.h>
#include <linux/fs.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <annal/core/error.hpp>
#include <annal/core/record.hpp>
#include <annal/runtime/new_event_id.hpp>

namespace recovery_test {

// Appends `batches` batches of 1 to 3 events over five streams; returns the last position.
template <class Store>
std::uint64_t fill(Store& store, int batches, unsigned seed = 1) {
  std::mt19937 rng(seed);
  std::uint64_t last = 0;
  for (int b = 0; b < batches; ++b) {
    std::vector<annal::event_data> batch(1 + rng() % 3);
    for (auto& e : batch) {
      e.id = annal::new_event_id();
      e.type = "test.happened";
      e.payload = std::string(50 + rng() % 200, static_cast<char>('a' + b % 26));
      e.meta["n"] = std::to_string(b);
    }
    last = store.append("s-" + std::to_string(rng() % 5), annal::expected_version::any(), batch)
               .last_position;
  }
  return last;
}

template <class Store>
std::vector<annal::recorded_event> all_events(const Store& store) {
  std::vector<annal::recorded_event> out;
  store.read_all(1, [&](const annal::recorded_event& e) { out.push_back(e); });
  return out;
}

// `n` events of type "test.happened", each with a new id.
inline std::vector<annal::event_data> batch_of(std::size_t n) {
  std::vector<annal::event_data> batch(n);
  for (auto& e : batch) {
    e.id = annal::new_event_id();
    e.type = "test.happened";
    e.payload = "x";
  }
  return batch;
}

// Both stores hold the same events, equal in every field (recorded_event's operator==).
template <class A, class B>
void require_same_log(const A& a, const B& b) {
  const auto x = all_events(a);
  const auto y = all_events(b);
  REQUIRE(x.size() == y.size());
  for (std::size_t i = 0; i < x.size(); ++i) {
    INFO("position " << x[i].position);
    REQUIRE(x[i] == y[i]);
  }
}

// What a copy must keep of each event: id, position, stream version, payload, time, metadata.
inline bool same_events(const std::vector<annal::recorded_event>& a,
                        const std::vector<annal::recorded_event>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (a[i].id != b[i].id || a[i].position != b[i].position ||
        a[i].stream_version != b[i].stream_version || a[i].payload != b[i].payload ||
        a[i].recorded_at != b[i].recorded_at || a[i].meta != b[i].meta)
      return false;
  return true;
}

inline auto error_with(annal::errc code, std::vector<std::string> parts) {
  return Catch::Predicate<annal::error>(
      [=](const annal::error& e) {
        if (e.code() != annal::make_error_code(code)) return false;
        for (const auto& p : parts)
          if (std::string(e.what()).find(p) == std::string::npos) return false;
        return true;
      },
      "an annal::error naming every expected part");
}

// Makes an existing directory unwritable for as long as it lives. Root writes through permission
// bits, so as root the immutable attribute is set instead; `locked()` is false where neither
// works (then the caller skips, with a warning).
class unwritable_directory {
 public:
  explicit unwritable_directory(const std::filesystem::path& dir)
      : dir_(dir), fd_(::open(dir.c_str(), O_RDONLY | O_DIRECTORY)) {
    REQUIRE(fd_ >= 0);
    immutable_ = ::geteuid() == 0 && ::ioctl(fd_, FS_IOC_GETFLAGS, &flags_) == 0 &&
                 (flags_ |= FS_IMMUTABLE_FL, ::ioctl(fd_, FS_IOC_SETFLAGS, &flags_) == 0);
    if (!immutable_)
      std::filesystem::permissions(
          dir, std::filesystem::perms::owner_read | std::filesystem::perms::owner_exec);
  }
  unwritable_directory(const unwritable_directory&) = delete;
  unwritable_directory& operator=(const unwritable_directory&) = delete;
  ~unwritable_directory() {
    if (immutable_) {
      flags_ &= ~FS_IMMUTABLE_FL;
      ::ioctl(fd_, FS_IOC_SETFLAGS, &flags_);
    }
    ::close(fd_);
    std::filesystem::permissions(dir_, std::filesystem::perms::owner_all);
  }
  bool locked() const { return immutable_ || ::access(dir_.c_str(), W_OK) != 0; }

 private:
  std::filesystem::path dir_;
  int fd_;
  int flags_ = 0;
  bool immutable_ = false;
};

// The number of kill -9 trials a crash test runs (ANNAL_CRASH_TRIALS, else `fallback`) and the seed
// of their random moments (ANNAL_CRASH_SEED, else a random one); a test prints both when it fails.
inline int crash_trials(int fallback = 200) {
  const char* env = std::getenv("ANNAL_CRASH_TRIALS");
  return env ? std::atoi(env) : fallback;
}
inline unsigned crash_seed() {
  const char* env = std::getenv("ANNAL_CRASH_SEED");
  return env ? static_cast<unsigned>(std::strtoul(env, nullptr, 10)) : std::random_device{}();
}

// The range a kill's random delay is drawn from: `at_least`, or three times the longest of three
// runs of `timed` (which returns how long the child's work takes here to reach the phase the test
// wants some kills after) if that is more. On a slow machine or under a sanitizer the child's
// work takes several times longer, and a fixed range would kill it before it got there every time.
template <class Timed>
std::chrono::microseconds kill_delay_range(std::chrono::microseconds at_least, Timed&& timed) {
  std::chrono::microseconds longest{0};
  for (int run = 0; run < 3; ++run)
    longest = std::max(longest, std::chrono::duration_cast<std::chrono::microseconds>(timed()));
  return std::max(at_least, 3 * longest);
}

// The stream a crash writer's batch goes to, from its first event's id: five streams.
inline std::string crash_stream_for(const annal::event_id& id) {
  return "crash-" + std::to_string(id.data[1] % 5);
}

// Ends a forked child that failed: the message on stderr, exit status 3 (which the parent's
// check of a kill -9 reports).
[[noreturn]] inline void child_failed(const std::exception& e) {
  const std::string text = std::string("child failed: ") + e.what() + "\n";
  if (::write(2, text.data(), text.size()) < 0) ::_exit(5);
  ::_exit(3);
}

struct killed_child {
  std::vector<char> bytes;  // what it wrote to its pipe
  bool exited = false;      // it finished before the kill
};

// Forks `run(write_end)`, kills it after `delay`, and gathers what it wrote.
template <class Run>
killed_child fork_and_kill(std::chrono::microseconds delay, Run run) {
  int fds[2];
  REQUIRE(::pipe(fds) == 0);
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    ::close(fds[0]);
    run(fds[1]);
    ::_exit(0);
  }
  ::close(fds[1]);
  std::this_thread::sleep_for(delay);
  ::kill(pid, SIGKILL);
  int status = 0;
  REQUIRE(::waitpid(pid, &status, 0) == pid);
  INFO("child exit status " << status);
  REQUIRE((WIFSIGNALED(status) ? WTERMSIG(status) == SIGKILL : WEXITSTATUS(status) == 0));
  killed_child out;
  out.exited = WIFEXITED(status);
  char buffer[4096];
  for (ssize_t n; (n = ::read(fds[0], buffer, sizeof buffer)) > 0;)
    out.bytes.insert(out.bytes.end(), buffer, buffer + n);
  ::close(fds[0]);
  return out;
}

}  // namespace recovery_test
