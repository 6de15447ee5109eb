// The loop of a test's worker process: work on a thread until SIGTERM, then stop it and report.
#pragma once

#include <signal.h>
#include <unistd.h>

#include <exception>
#include <stop_token>
#include <thread>

namespace annal_test {

// Blocks SIGTERM in this thread and in every thread started after it (librdkafka's among them),
// so that only the sigwait in run_until_sigterm takes it. Call it first in main.
inline sigset_t block_sigterm() {
  sigset_t term;
  sigemptyset(&term);
  sigaddset(&term, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &term, nullptr);
  return term;
}

// Runs work(stop_token) on a thread until SIGTERM arrives, then asks it to stop and joins it. A
// failure of work ends the wait at once and is rethrown here.
template <class F>
void run_until_sigterm(const sigset_t& term, F&& work) {
  std::exception_ptr failure;
  std::jthread running([&](std::stop_token stop) {
    try {
      work(stop);
    } catch (...) {
      failure = std::current_exception();
      ::kill(::getpid(), SIGTERM);  // wakes the sigwait below
    }
  });
  int signal = 0;
  sigwait(&term, &signal);
  running.request_stop();
  running.join();
  if (failure) std::rethrow_exception(failure);
}

}  // namespace annal_test
