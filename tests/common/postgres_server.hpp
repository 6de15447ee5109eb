// A throwaway PostgreSQL server for tests and benchmarks: initdb into a temporary directory, a free
// port on 127.0.0.1, stopped and deleted afterwards, even when the process dies.
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <pwd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

extern char** environ;

#ifndef ANNAL_TEST_PG_BINDIR
#define ANNAL_TEST_PG_BINDIR "/usr/lib/postgresql/15/bin"
#endif

namespace annal_test {

class postgres_server {
 public:
  static constexpr const char* user = "annal";
  static constexpr const char* password = "annal-test-pw";

  // `settings` are extra "-c name=value" server options; `environment` holds "NAME=value" entries
  // for the server's environment.
  explicit postgres_server(std::vector<std::string> settings = {},
                           std::vector<std::string> environment = {},
                           std::string bindir = ANNAL_TEST_PG_BINDIR)
      : bindir_(std::move(bindir)),
        settings_(std::move(settings)),
        environment_(std::move(environment)) {
    std::string pattern = (std::filesystem::temp_directory_path() / "annal-pg-XXXXXX").string();
    if (!::mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp failed: " + pattern);
    dir_ = pattern;
    // PostgreSQL refuses to run as root: run it as an unprivileged user that owns the directory.
    if (::geteuid() == 0) {
      const passwd* pw = ::getpwnam("nobody");
      if (!pw)
        throw std::runtime_error(
            "running as root and there is no user 'nobody' to run "
            "PostgreSQL as");
      run_as_ = "nobody";
      if (::chown(dir_.c_str(), pw->pw_uid, pw->pw_gid) != 0)
        throw std::runtime_error("chown " + dir_.string() + " failed");
    }
    start_watchdog();
    {
      std::ofstream(dir_ / "pw") << password << "\n";
      give_away(dir_ / "pw");
    }
    run({bindir_ + "/initdb", "-D", (dir_ / "data").string(), "-U", user,
         "--pwfile=" + (dir_ / "pw").string(), "--auth-local=trust", "--auth-host=scram-sha-256",
         "-E", "UTF8", "--no-locale", "--no-sync"},
        "initdb");
    port_ = free_port();
    start();
  }

  postgres_server(const postgres_server&) = delete;
  postgres_server& operator=(const postgres_server&) = delete;

  ~postgres_server() {
    // The watchdog stops the server and deletes the directory once its pipe closes; wait for it.
    ::close(watchdog_fd_);
    int status = 0;
    ::waitpid(watchdog_pid_, &status, 0);
  }

  // One server per process, started on first use.
  static postgres_server& shared() {
    static postgres_server server;
    return server;
  }

  int port() const noexcept { return port_; }
  const std::filesystem::path& directory() const noexcept { return dir_; }

  std::string conninfo(const std::string& dbname = "postgres") const {
    return "host=127.0.0.1 port=" + std::to_string(port_) + " dbname=" + dbname + " user=" + user +
           " password=" + password + " connect_timeout=10";
  }

  void start() {
    std::string opts = "-p " + std::to_string(port_) + " -k " + dir_.string() +
                       " -c listen_addresses=127.0.0.1 -c max_connections=300";
    for (const auto& s : settings_) opts += " -c " + s;
    std::vector<std::string> argv = {bindir_ + "/pg_ctl",
                                     "-D",
                                     (dir_ / "data").string(),
                                     "-l",
                                     (dir_ / "server.log").string(),
                                     "-w",
                                     "-t",
                                     "60",
                                     "-o",
                                     opts,
                                     "start"};
    if (!environment_.empty()) {  // env NAME=value... pg_ctl ...
      argv.insert(argv.begin(), environment_.begin(), environment_.end());
      argv.insert(argv.begin(), "env");
    }
    run(std::move(argv), "pg_ctl start");
  }

  // mode: "fast" (clean shutdown) or "immediate" (like a crash: no checkpoint, clients cut off).
  void stop(const std::string& mode = "fast") {
    run({bindir_ + "/pg_ctl", "-D", (dir_ / "data").string(), "-m", mode, "-w", "stop"},
        "pg_ctl stop");
  }

  void restart(const std::string& mode = "immediate") {
    stop(mode);
    start();
  }

  std::string log() const {
    std::ifstream in(dir_ / "server.log");
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }

 private:
  void give_away(const std::filesystem::path& p) const {
    if (run_as_.empty()) return;
    const passwd* pw = ::getpwnam(run_as_.c_str());
    if (::chown(p.c_str(), pw->pw_uid, pw->pw_gid) != 0)
      throw std::runtime_error("chown " + p.string() + " failed");
  }

  std::vector<std::string> as_user(std::vector<std::string> argv) const {
    if (run_as_.empty()) return argv;
    std::vector<std::string> out = {"runuser", "-u", run_as_, "--"};
    out.insert(out.end(), argv.begin(), argv.end());
    return out;
  }

  // Spawns (posix_spawn: safe in threaded and sanitized processes) and waits; output to a log.
  void run(std::vector<std::string> argv, const std::string& what) const {
    argv = as_user(std::move(argv));
    const std::string out = (dir_ / "commands.log").string();
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, out.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    posix_spawn_file_actions_adddup2(&actions, 1, 2);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    std::vector<char*> args;
    for (auto& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    pid_t pid = 0;
    const int rc = ::posix_spawnp(&pid, args[0], &actions, nullptr, args.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    if (rc != 0) throw std::runtime_error(what + ": cannot start " + argv[0]);
    int status = 0;
    ::waitpid(pid, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
      std::ifstream in(out);
      std::stringstream ss;
      ss << in.rdbuf();
      throw std::runtime_error(what + " failed:\n" + ss.str() + "\nserver log:\n" + log());
    }
  }

  // A shell that waits for EOF on a pipe only this process holds (close-on-exec), then stops the
  // server and deletes the directory: it runs when we exit, crash or are killed with SIGKILL.
  void start_watchdog() {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error("pipe2 failed");
    const std::string stop_cmd = (run_as_.empty() ? "" : "runuser -u " + run_as_ + " -- ") +
                                 bindir_ + "/pg_ctl -D '" + (dir_ / "data").string() +
                                 "' -m immediate -w stop >/dev/null 2>&1";
    std::string script = "read _ignored; " + stop_cmd + "; rm -rf '" + dir_.string() + "'";
    std::vector<std::string> argv = {"/bin/sh", "-c", script};
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, fds[0], 0);
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    // Its own process group: a Ctrl-C aimed at the tests must not kill it before it cleans up.
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
    posix_spawnattr_setpgroup(&attr, 0);
    std::vector<char*> args;
    for (auto& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    const int rc = ::posix_spawn(&watchdog_pid_, "/bin/sh", &actions, &attr, args.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
    ::close(fds[0]);
    if (rc != 0) throw std::runtime_error("cannot start the PostgreSQL watchdog");
    watchdog_fd_ = fds[1];
  }

  static int free_port() {
    const int s = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    socklen_t len = sizeof addr;
    if (::bind(s, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        ::getsockname(s, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
      ::close(s);
      throw std::runtime_error("cannot find a free port on 127.0.0.1");
    }
    ::close(s);
    return ntohs(addr.sin_port);
  }

  std::string bindir_;
  std::vector<std::string> settings_;
  std::vector<std::string> environment_;
  std::filesystem::path dir_;
  std::string run_as_;
  int port_ = 0;
  int watchdog_fd_ = -1;
  pid_t watchdog_pid_ = -1;
};

}  // namespace annal_test
