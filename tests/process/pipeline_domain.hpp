// A small orchestrated pipeline for the process manager tests: videos are uploaded, a manager
// dispatches transcoding jobs (one aggregate stream per attempt), retries failures up to three
// attempts, then publishes the video or marks it failed.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include <boost/hana/define_struct.hpp>

#include <annal/core/aggregate.hpp>
#include <annal/core/decision.hpp>
#include <annal/core/event.hpp>
#include <annal/process/process_manager.hpp>

namespace pipeline {

// Events of the outside world (workers, uploads) and of the two aggregates.
struct uploaded {
  BOOST_HANA_DEFINE_STRUCT(uploaded, (std::string, video));
};
struct transcode_failed {
  BOOST_HANA_DEFINE_STRUCT(transcode_failed, (std::string, video), (std::uint32_t, attempt));
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
struct video_failed {
  BOOST_HANA_DEFINE_STRUCT(video_failed, (std::string, video), (std::string, why));
};
ANNAL_EVENT(uploaded, "test.uploaded", 1)
ANNAL_EVENT(transcode_failed, "test.transcode_failed", 1)
ANNAL_EVENT(transcode_done, "test.transcode_done", 1)
ANNAL_EVENT(job_dispatched, "test.job_dispatched", 1)
ANNAL_EVENT(video_published, "test.video_published", 1)
ANNAL_EVENT(video_failed, "test.video_failed", 1)

// A transcoding job: dispatched once.
struct job {
  using events = annal::events<job_dispatched>;
  bool dispatched = false;
  void apply(const job_dispatched&) { dispatched = true; }
};
struct dispatch {
  BOOST_HANA_DEFINE_STRUCT(dispatch, (std::string, video), (std::uint32_t, attempt));
};
inline annal::decision<job> decide(const job& j, const dispatch& c) {
  if (j.dispatched) return annal::reject("dispatched already");
  return job_dispatched{c.video, c.attempt};
}

// The video's outcome: published or failed, once. A video marked `blocked` refuses publication.
struct video {
  using events = annal::events<video_published, video_failed>;
  bool finished = false;
  void apply(const video_published&) { finished = true; }
  void apply(const video_failed&) { finished = true; }
};
struct publish {
  BOOST_HANA_DEFINE_STRUCT(publish, (std::string, video));
};
struct mark_failed {
  BOOST_HANA_DEFINE_STRUCT(mark_failed, (std::string, video), (std::string, why));
};
inline annal::decision<video> decide(const video& v, const publish& c) {
  if (v.finished) return annal::reject("finished already");
  if (c.video.starts_with("blocked")) return annal::reject("blocked by moderation");
  return video_published{c.video};
}
inline annal::decision<video> decide(const video& v, const mark_failed& c) {
  if (v.finished) return annal::reject("finished already");
  return video_failed{c.video, c.why};
}

// The manager's own events.
struct attempt_started {
  BOOST_HANA_DEFINE_STRUCT(attempt_started, (std::uint32_t, attempt));
};
struct publication_refused {
  BOOST_HANA_DEFINE_STRUCT(publication_refused, (std::string, reason));
};
ANNAL_EVENT(attempt_started, "test.pipeline.attempt_started", 1)
ANNAL_EVENT(publication_refused, "test.pipeline.publication_refused", 1)

// The manager's deadline: an attempt that neither finished nor failed in time.
struct transcode_timed_out {
  BOOST_HANA_DEFINE_STRUCT(transcode_timed_out, (std::uint32_t, attempt));
};
ANNAL_EVENT(transcode_timed_out, "test.pipeline.transcode_timed_out", 1)

inline constexpr std::uint32_t max_attempts = 3;
inline constexpr auto transcode_timeout = std::chrono::minutes(10);

inline std::string job_stream(const std::string& video, std::uint32_t attempt) {
  return "job-" + video + "-" + std::to_string(attempt);
}

// [process-manager]
struct manager {
  static constexpr std::string_view name = "pipeline";
  using events = annal::events<uploaded, transcode_failed, transcode_done>;
  using starts_with = annal::events<uploaded>;
  using state_events = annal::events<attempt_started, publication_refused>;
  using commands = annal::commands<dispatch, publish, mark_failed>;
  using deadlines = annal::events<transcode_timed_out>;

  std::uint32_t attempts = 0;
  std::string refused;
  void apply(const attempt_started& e) { attempts = e.attempt; }
  void apply(const publication_refused& e) { refused = e.reason; }

  static std::string instance_of(const uploaded& e) { return e.video; }
  static std::string instance_of(const transcode_failed& e) { return e.video; }
  static std::string instance_of(const transcode_done& e) { return e.video; }

  // Each attempt is a job of its own, with a deadline: a worker that hangs is retried too.
  static annal::process_step<manager> attempt(const std::string& video, std::uint32_t n,
                                              annal::time_point from) {
    return annal::process_step<manager>{}
        .record(attempt_started{n})
        .send(job_stream(video, n), dispatch{video, n})
        .schedule(transcode_timed_out{n}, from + transcode_timeout);
  }
  annal::process_step<manager> retry(const std::string& video, annal::time_point from) const {
    if (attempts == max_attempts)
      return annal::process_step<manager>{}
          .send("video-" + video, mark_failed{video, "transcoding failed 3 times"})
          .end();
    return attempt(video, attempts + 1, from);
  }

  annal::process_step<manager> handle(const uploaded& e, const annal::envelope_header& h) const {
    return attempt(e.video, 1, h.recorded_at);
  }
  annal::process_step<manager> handle(const transcode_failed& e,
                                      const annal::envelope_header& h) const {
    if (e.attempt != attempts) return {};  // a late report of an earlier attempt
    return retry(e.video, h.recorded_at);
  }
  annal::process_step<manager> handle(const transcode_timed_out& d,
                                      const annal::deadline_info& i) const {
    if (d.attempt != attempts) return {};
    return retry(i.instance, i.due);
  }
  annal::process_step<manager> handle(const transcode_done& e) const {
    return annal::process_step<manager>{}
        .cancel<transcode_timed_out>()
        .send("video-" + e.video, publish{e.video})
        .end();
  }
  // Compensation: a refused publication marks the video failed instead.
  annal::process_step<manager> rejected(const publish& c,
                                        const annal::command_rejected& why) const {
    return annal::process_step<manager>{}
        .record(publication_refused{why.reason})
        .send("video-" + c.video, mark_failed{c.video, "not published: " + why.reason});
  }
};
// [process-manager]

}  // namespace pipeline
