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
