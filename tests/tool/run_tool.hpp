// Runs the built `annal` tool (its path is ANNAL_TOOL_PATH) and collects what it printed, and
// writes the sample events both tool tests read back from every store.
#pragma once

#include <catch2/catch.hpp>

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <boost/json.hpp>

#include <annal/core/record.hpp>
#include <annal/runtime/new_event_id.hpp>
#include <annal/store/tombstone.hpp>

extern char** environ;

namespace annal_test_tool {

namespace fs = std::filesystem;

struct tool_run {
  int status = -1;  // the exit status
  std::string out;  // stdout
  std::string err;  // stderr

  // Every line of stdout.
  std::vector<std::string> lines() const {
    std::vector<std::string> v;
    std::string line;
    for (const char c : out) {
      if (c == '\n') {
        v.push_back(line);
        line.clear();
      } else {
        line += c;
      }
    }
    if (!line.empty()) v.push_back(line);
    return v;
  }
  // stdout as JSON lines.
  std::vector<boost::json::object> json_lines() const {
    std::vector<boost::json::object> v;
    for (const auto& l : lines()) v.push_back(boost::json::parse(l).as_object());
    return v;
  }
  std::size_t err_lines() const {
    return static_cast<std::size_t>(std::count(err.begin(), err.end(), '\n'));
  }
};

// A fresh directory under the system's temporary one, removed with everything in it.
class scratch {
 public:
  scratch() {
    std::string pattern = (fs::temp_directory_path() / "annal-tool-XXXXXX").string();
    if (!::mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
  }
  scratch(const scratch&) = delete;
  scratch& operator=(const scratch&) = delete;
  ~scratch() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const fs::path& path() const noexcept { return path_; }

 private:
  fs::path path_;
};

inline std::string read_whole(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

namespace detail {

// Starts `program args...` with stdout and stderr in the files named.
inline pid_t spawn_tool(const std::vector<std::string>& args, const std::string& out_path,
                        const std::string& err_path, const char* program = ANNAL_TOOL_PATH) {
  std::vector<std::string> argv_strings{program};
  argv_strings.insert(argv_strings.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& s : argv_strings) argv.push_back(s.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                   0600);
  posix_spawn_file_actions_addopen(&actions, 2, err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                   0600);
  pid_t pid = 0;
  const int rc = ::posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) throw std::runtime_error(std::string("cannot run ") + program);
  return pid;
}

inline int exit_status(int status) {
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

}  // namespace detail

// Runs `annal args...` (or another program, such as a typed tool) with stdout and stderr in files
// (no pipe to fill up), waits for it.
inline tool_run run_tool(const std::vector<std::string>& args,
                         const char* program = ANNAL_TOOL_PATH) {
  const scratch dir;
  const std::string out_path = (dir.path() / "out").string(),
                    err_path = (dir.path() / "err").string();
  const pid_t pid = detail::spawn_tool(args, out_path, err_path, program);
  int status = 0;
  ::waitpid(pid, &status, 0);
  tool_run r;
  r.status = detail::exit_status(status);
  r.out = read_whole(out_path);
  r.err = read_whole(err_path);
  return r;
}

// `annal args...` left running (events --follow), its output read while it runs. The destructor
// kills it if the test did not stop it.
class running_tool {
 public:
  explicit running_tool(const std::vector<std::string>& args)
      : out_path_((dir_.path() / "out").string()),
        err_path_((dir_.path() / "err").string()),
        pid_(detail::spawn_tool(args, out_path_, err_path_)) {}
  running_tool(const running_tool&) = delete;
  running_tool& operator=(const running_tool&) = delete;
  ~running_tool() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    int status = 0;
    ::waitpid(pid_, &status, 0);
  }

  // What it printed so far, as a finished run's fields (status -1: still running).
  tool_run so_far() const {
    tool_run r;
    r.out = read_whole(out_path_);
    r.err = read_whole(err_path_);
    return r;
  }

  // Waits until what it printed satisfies `done`, or `timeout` passes; returns the output last
  // read. The caller checks `done` again and fails with the output in hand.
  tool_run wait_for(const std::function<bool(const tool_run&)>& done,
                    std::chrono::seconds timeout = std::chrono::seconds(60)) const {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      tool_run r = so_far();
      if (done(r) || std::chrono::steady_clock::now() > deadline) return r;
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        // It ended on its own: nothing more will come.
        pid_ = 0;
        r = so_far();
        r.status = detail::exit_status(status);
        return r;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }

  // Waits until its stderr holds `text` (a lag line, a banner).
  tool_run wait_for_err(const std::string& text) const {
    return wait_for([&](const tool_run& t) { return t.err.find(text) != std::string::npos; });
  }
  // Waits for it to end on its own (after a signal another process sent it), up to `timeout`.
  tool_run wait_for_end(std::chrono::seconds timeout = std::chrono::seconds(30)) const {
    return wait_for([](const tool_run&) { return false; }, timeout);
  }

  // Sends `sig` and waits for it to end; returns its exit status.
  int stop(int sig) {
    if (pid_ <= 0) throw std::runtime_error("the tool has ended already");
    ::kill(pid_, sig);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = 0;
    return detail::exit_status(status);
  }

  bool running() const noexcept { return pid_ > 0; }
  pid_t pid() const noexcept { return pid_; }

 private:
  scratch dir_;
  std::string out_path_, err_path_;
  mutable pid_t pid_ = 0;
};

inline annal::event_data sample_event(std::string type, std::string payload,
                                      annal::metadata meta = {}) {
  annal::event_data e;
  e.id = annal::new_event_id();
  e.type = std::move(type);
  e.payload = std::move(payload);
  e.meta = std::move(meta);
  return e;
}

// Five events in three streams: JSON, binary and text payloads, and a deleted stream.
//   1 account-1 v1 deposited {"cents":100}   (metadata user=ann)
//   2 account-1 v2 withdrawn {"cents":30}
//   3 account-2 v1 opened    bytes 01 02 ff
//   4 order-7   v1 noted     hello world
//   5 order-7   v2 annal.stream_deleted (its tombstone)
template <class Store>
void write_sample(Store& store) {
  const annal::event_data account_1[] = {
      sample_event("deposited", R"({"cents":100})", {{"user", "ann"}}),
      sample_event("withdrawn", R"({"cents":30})")};
  store.append("account-1", annal::expected_version::no_stream(), account_1);
  const annal::event_data account_2[] = {sample_event("opened", std::string("\x01\x02\xff", 3))};
  store.append("account-2", annal::expected_version::no_stream(), account_2);
  const annal::event_data order[] = {sample_event("noted", "hello world")};
  store.append("order-7", annal::expected_version::no_stream(), order);
  annal::delete_stream(store, "order-7", annal::expected_version::exact(1), "cancelled");
}

inline bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// What every bad input must give: exit 2, one line on stderr naming `what`, nothing on stdout.
// `program` starts the line: a typed tool's own name.
inline void check_bad_input(const tool_run& r, const std::string& what,
                            const std::string& program = "annal") {
  INFO("stderr: " << r.err << "stdout: " << r.out);
  CHECK(r.status == 2);
  CHECK(r.err_lines() == 1);
  CHECK(r.err.rfind(program + ": ", 0) == 0);
  CHECK(contains(r.err, what));
  CHECK(r.out.empty());
}

}  // namespace annal_test_tool
