// Clocks, durations and time points without the rest of <chrono>. In C++20, libstdc++'s <chrono>
// also brings calendars, time zones and <sstream> (a fifth of what the umbrella header costs to
// parse); its <bits/chrono.h> holds what annal uses, and is what its own <thread> and <mutex>
// include. Elsewhere, the whole <chrono>.
#pragma once

#if defined(__GLIBCXX__) && __has_include(<bits/chrono.h>)
#include <bits/chrono.h>
#else
#include <chrono>
#endif

namespace annal::detail {

// A deadline on the wall clock as a point on the steady clock, taken once when a wait begins: a
// wait measured on it is neither stretched nor cut short when the wall clock is stepped meanwhile
// (NTP correcting a clock that was off), as one waiting for the wall-clock point itself would be.
template <class Clock, class Duration>
std::chrono::steady_clock::time_point steady_deadline(
    std::chrono::time_point<Clock, Duration> deadline) {
  const auto left = deadline - Clock::now();
  const auto now = std::chrono::steady_clock::now();
  if (left <= Duration::zero()) return now;
  return now + std::chrono::duration_cast<std::chrono::steady_clock::duration>(left);
}

}  // namespace annal::detail
