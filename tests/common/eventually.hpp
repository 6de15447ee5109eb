// Waits, bounded, for a condition that another thread or process makes true: the tests' way of
// waiting without sleeping a guessed time. The bound only ends a test that would hang; no test
// asserts how long anything took.
#pragma once

#include <chrono>
#include <thread>

namespace annal_test {

template <class F>
bool eventually(F&& done, std::chrono::milliseconds limit = std::chrono::seconds(60)) {
  const auto until = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() > until) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

}  // namespace annal_test
