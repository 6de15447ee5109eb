// A worker program started by a test as a process of its own, its output in a file: stopped,
// killed or paused by signals as the multi-process tests need; killed and reaped on destruction
// if still running.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

extern char** environ;

namespace annal_test {

class child_process {
 public:
  // `environment`: "NAME=value" entries added to this process's environment.
  child_process(std::string program, const std::vector<std::string>& args,
                std::filesystem::path output, const std::vector<std::string>& environment = {})
      : output_(std::move(output)) {
    std::vector<char*> argv;
    argv.push_back(program.data());
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    std::vector<char*> envp;
    for (char** e = environ; *e; ++e) envp.push_back(*e);
    for (const auto& e : environment) envp.push_back(const_cast<char*>(e.c_str()));
    envp.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, output_.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                     0644);
    posix_spawn_file_actions_adddup2(&actions, 1, 2);
    const int rc =
        ::posix_spawn(&pid_, program.c_str(), &actions, nullptr, argv.data(), envp.data());
    posix_spawn_file_actions_destroy(&actions);
    if (rc != 0) throw std::runtime_error("posix_spawn " + program);
  }
  child_process(const child_process&) = delete;
  child_process& operator=(const child_process&) = delete;
  ~child_process() {
    if (running_) {
      ::kill(pid_, SIGCONT);
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }

  void signal(int sig) const { ::kill(pid_, sig); }
  // Sends SIGTERM and returns the exit status (a clean stop exits 0).
  int stop() {
    ::kill(pid_, SIGTERM);
    return reap();
  }
  int kill() {
    ::kill(pid_, SIGKILL);
    return reap();
  }
  std::string output() const {
    std::ifstream in(output_);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }

 private:
  int reap() {
    int status = 0;
    ::waitpid(pid_, &status, 0);
    running_ = false;
    return status;
  }
  std::filesystem::path output_;
  pid_t pid_ = 0;
  bool running_ = true;
};

}  // namespace annal_test
