// The process manager the process benchmarks run: the tests' transcoding pipeline (an upload
// dispatches a job per attempt with a 10-minute deadline, a finished job publishes the video).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include <boost/hana/define_struct.hpp>

#include <annal/core/aggregate.hpp>
#include <annal/core/decision.hpp>
#include <annal/core/event.hpp>
#include <annal/process/process_manager.hpp>

namespace bench_pipeline {

struct uploaded {
  BOOST_HANA_DEFINE_STRUCT(uploaded, (std::string, video));
};
struct transcode_done {
  BOOST_HANA_DEFINE_STRUCT(transcode_done, (std::string, video), (std::uint32_t, attempt));
};
struct job_dispatched {
  BOOST_HANA_DEFINE_STRUCT(job_dispatched, (std::string, video), (std::uint32_t, attempt));
};
struct video_published {
  BOOST_HANA_DEFINE_STRUCT(video_published, (std::string, video));
};
ANNAL_EVENT(uploaded, "bench.uploaded", 1)
ANNAL_EVENT(transcode_done, "bench.transcode_done", 1)
ANNAL_EVENT(job_dispatched, "bench.job_dispatched", 1)
ANNAL_EVENT(video_published, "bench.video_published", 1)

struct job {
  using events = annal::events<job_dispatched>;
  bool dispatched = false;
  void apply(const job_dispatched&) { dispatched = true; }
};
struct dispatch {
  std::string video;
  std::uint32_t attempt = 0;
};
inline annal::decision<job> decide(const job& j, const dispatch& c) {
  if (j.dispatched) return annal::reject("dispatched already");
  return job_dispatched{c.video, c.attempt};
}

struct video {
  using events = annal::events<video_published>;
  bool published = false;
  void apply(const video_published&) { published = true; }
};
struct publish {
  std::string video;
};
inline annal::decision<video> decide(const video& v, const publish& c) {
  if (v.published) return annal::reject("published already");
  return video_published{c.video};
}

struct attempt_started {
  BOOST_HANA_DEFINE_STRUCT(attempt_started, (std::uint32_t, attempt));
};
struct transcode_timed_out {
  BOOST_HANA_DEFINE_STRUCT(transcode_timed_out, (std::uint32_t, attempt));
};
ANNAL_EVENT(attempt_started, "bench.pipeline.attempt_started", 1)
ANNAL_EVENT(transcode_timed_out, "bench.pipeline.transcode_timed_out", 1)

inline constexpr auto transcode_timeout = std::chrono::minutes(10);

inline std::string job_stream(const std::string& video, std::uint32_t attempt) {
  return "job-" + video + "-" + std::to_string(attempt);
}

struct manager {
  static constexpr std::string_view name = "pipeline";
  using events = annal::events<uploaded, transcode_done>;
  using starts_with = annal::events<uploaded>;
  using state_events = annal::events<attempt_started>;
  using commands = annal::commands<dispatch, publish>;
  using deadlines = annal::events<transcode_timed_out>;

  std::uint32_t attempts = 0;
  void apply(const attempt_started& e) { attempts = e.attempt; }

  static std::string instance_of(const uploaded& e) { return e.video; }
  static std::string instance_of(const transcode_done& e) { return e.video; }

  static annal::process_step<manager> attempt(const std::string& video, std::uint32_t n,
                                              annal::time_point from) {
    return annal::process_step<manager>{}
        .record(attempt_started{n})
        .send(job_stream(video, n), dispatch{video, n})
        .schedule(transcode_timed_out{n}, from + transcode_timeout);
  }
  annal::process_step<manager> handle(const uploaded& e, const annal::envelope_header& h) const {
    return attempt(e.video, 1, h.recorded_at);
  }
  // A timed-out attempt is retried, without limit here: the benchmark measures one delivery.
  annal::process_step<manager> handle(const transcode_timed_out& d,
                                      const annal::deadline_info& i) const {
    if (d.attempt != attempts) return {};
    return attempt(i.instance, attempts + 1, i.due);
  }
  annal::process_step<manager> handle(const transcode_done& e) const {
    return annal::process_step<manager>{}
        .cancel<transcode_timed_out>()
        .send("video-" + e.video, publish{e.video})
        .end();
  }
};

}  // namespace bench_pipeline
