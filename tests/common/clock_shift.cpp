// Preloaded (LD_PRELOAD) into a test process to move its wall clock by ANNAL_TEST_CLOCK_SHIFT
// seconds, and to step it while the process runs: to ANNAL_TEST_CLOCK_STEP seconds off once
// ANNAL_TEST_CLOCK_STEP_AFTER_MS have passed, or when it calls annal_test_step_clock. Tests check
// that leases do not depend on a worker's own clock, and that waits survive a clock step. As a
// machine whose clock is wrong would, it moves the clock consistently: the time it reads, and the
// absolute wall-clock deadlines it waits for (a condition variable's wait_until), which the kernel
// would otherwise measure against the true time.
#include <dlfcn.h>
#include <pthread.h>
#include <sys/time.h>
#include <time.h>

#include <atomic>
#include <cstdlib>

namespace {

using clock_gettime_type = int (*)(clockid_t, timespec*);
using clockwait_type = int (*)(pthread_cond_t*, pthread_mutex_t*, clockid_t, const timespec*);
using timedwait_type = int (*)(pthread_cond_t*, pthread_mutex_t*, const timespec*);

std::atomic<long>& shift() {
  static std::atomic<long> seconds = [] {
    const char* text = std::getenv("ANNAL_TEST_CLOCK_SHIFT");
    return text ? std::strtol(text, nullptr, 10) : 0L;
  }();
  return seconds;
}

long env_long(const char* name, long otherwise) {
  const char* text = std::getenv(name);
  return text ? std::strtol(text, nullptr, 10) : otherwise;
}

// The step the environment asks for, made once its time has come (measured from the first look).
void step_if_due(clock_gettime_type real) {
  static const long after_ms = env_long("ANNAL_TEST_CLOCK_STEP_AFTER_MS", -1);
  if (after_ms < 0) return;
  static std::atomic<bool> stepped = false;
  if (stepped.load(std::memory_order_relaxed)) return;
  timespec now{};
  real(CLOCK_MONOTONIC, &now);
  const long long now_ms = now.tv_sec * 1000LL + now.tv_nsec / 1000000;
  static const long long start_ms = now_ms;
  if (now_ms - start_ms < after_ms) return;
  shift().store(env_long("ANNAL_TEST_CLOCK_STEP", 0), std::memory_order_relaxed);
  stepped.store(true, std::memory_order_relaxed);
}

long shift_seconds() {
  return shift().load(std::memory_order_relaxed);
}

bool is_wall_clock(clockid_t id) {
  return id == CLOCK_REALTIME || id == CLOCK_REALTIME_COARSE || id == CLOCK_TAI;
}

}  // namespace

extern "C" int clock_gettime(clockid_t id, timespec* ts) {
  static const auto real = reinterpret_cast<clock_gettime_type>(dlsym(RTLD_NEXT, "clock_gettime"));
  step_if_due(real);
  const int rc = real(id, ts);
  if (rc == 0 && ts && is_wall_clock(id)) ts->tv_sec += shift_seconds();
  return rc;
}

extern "C" int gettimeofday(timeval* tv, void* tz) {
  timespec ts{};
  const int rc = clock_gettime(CLOCK_REALTIME, &ts);
  if (rc == 0 && tv) {
    tv->tv_sec = ts.tv_sec;
    tv->tv_usec = ts.tv_nsec / 1000;
  }
  if (tz) *static_cast<struct timezone*>(tz) = {};
  return rc;
}

extern "C" time_t time(time_t* out) {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  if (out) *out = ts.tv_sec;
  return ts.tv_sec;
}

extern "C" int pthread_cond_clockwait(pthread_cond_t* cond, pthread_mutex_t* mutex, clockid_t id,
                                      const timespec* deadline) {
  static const auto real =
      reinterpret_cast<clockwait_type>(dlsym(RTLD_NEXT, "pthread_cond_clockwait"));
  if (!deadline || !is_wall_clock(id)) return real(cond, mutex, id, deadline);
  timespec true_deadline = *deadline;
  true_deadline.tv_sec -= shift_seconds();
  return real(cond, mutex, id, &true_deadline);
}

// libstdc++ 12 waits for a system_clock deadline here; its condition variables use the default
// clock attribute, CLOCK_REALTIME. The versioned lookup: plain dlsym finds the pre-2.3.2 variant.
extern "C" int pthread_cond_timedwait(pthread_cond_t* cond, pthread_mutex_t* mutex,
                                      const timespec* deadline) {
  static const auto real =
      reinterpret_cast<timedwait_type>(dlvsym(RTLD_NEXT, "pthread_cond_timedwait", "GLIBC_2.3.2"));
  if (!deadline) return real(cond, mutex, deadline);
  timespec true_deadline = *deadline;
  true_deadline.tv_sec -= shift_seconds();
  return real(cond, mutex, &true_deadline);
}

// Steps the wall clock to `seconds` away from the true time, as NTP correcting a clock would.
extern "C" void annal_test_step_clock(long seconds) {
  shift().store(seconds, std::memory_order_relaxed);
}
