// The video pipeline's domain: videos, transcoding jobs, and the process manager that drives each
// uploaded video through jobs, retries and deadlines to one outcome.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include <boost/hana/define_struct.hpp>

#include <annal/core/aggregate.hpp>
#include <annal/core/decision.hpp>
#include <annal/core/envelope.hpp>
#include <annal/core/event.hpp>
#include <annal/process/process_manager.hpp>

namespace video {

// Times in events are minutes of the run, counted from `run_start`: the program runs on a clock
// of its own, and a handler must give the same answer each time it sees an event, so it takes
// the time from the event, never from a clock.
inline const annal::time_point run_start = std::chrono::sys_days{std::chrono::year{2026} / 1 / 1};
inline annal::time_point at_minute(std::uint32_t minute) {
  return run_start + std::chrono::minutes(minute);
}

inline constexpr std::uint32_t max_attempts = 3;
inline constexpr auto transcode_timeout = std::chrono::minutes(10);

inline std::string video_stream(const std::string& video) {
  return "video-" + video;
}
inline std::string job_stream(const std::string& video, std::uint32_t attempt) {
  return "job-" + video + "-" + std::to_string(attempt);
}

// A video: uploaded, then published or failed, once. Moderation may flag it at upload; a flagged
// video is refused publication.
struct uploaded {
  BOOST_HANA_DEFINE_STRUCT(uploaded, (std::string, video), (std::uint32_t, minute),
                           (bool, flagged));
};
struct published {
  BOOST_HANA_DEFINE_STRUCT(published, (std::string, video));
};
struct failed {
  BOOST_HANA_DEFINE_STRUCT(failed, (std::string, video), (std::string, why));
};
ANNAL_EVENT(uploaded, "video.uploaded", 1)
ANNAL_EVENT(published, "video.published", 1)
ANNAL_EVENT(failed, "video.failed", 1)

enum class status { none, uploaded, published, failed };

struct video {
  using events = annal::events<uploaded, published, failed>;
  status state = status::none;
  bool flagged = false;
  std::string why;
  void apply(const uploaded& e) {
    state = status::uploaded;
    flagged = e.flagged;
  }
  void apply(const published&) { state = status::published; }
  void apply(const failed& e) {
    state = status::failed;
    why = e.why;
  }
};

struct upload {
  std::string video;
  std::uint32_t minute = 0;
  bool flagged = false;
};
struct publish {
  std::string video;
};
struct mark_failed {
  std::string video;
  std::string why;
};

inline annal::decision<video> decide(const video& v, const upload& c) {
  if (v.state != status::none) return annal::reject("uploaded already");
  return uploaded{c.video, c.minute, c.flagged};
}
// A video has one outcome: a second one is refused, whoever sends it.
inline annal::decision<video> decide(const video& v, const publish& c) {
  if (v.state != status::uploaded) return annal::reject("not waiting for an outcome");
  if (v.flagged) return annal::reject("flagged by moderation");
  return published{c.video};
}
inline annal::decision<video> decide(const video& v, const mark_failed& c) {
  if (v.state != status::uploaded) return annal::reject("not waiting for an outcome");
  return failed{c.video, c.why};
}

// A video's thumbnails: put up just before the video is published, taken down again if its
// publication is refused.
struct thumbnails_published {
  BOOST_HANA_DEFINE_STRUCT(thumbnails_published, (std::string, video));
};
struct thumbnails_withdrawn {
  BOOST_HANA_DEFINE_STRUCT(thumbnails_withdrawn, (std::string, video), (std::string, why));
};
ANNAL_EVENT(thumbnails_published, "video.thumbnails_published", 1)
ANNAL_EVENT(thumbnails_withdrawn, "video.thumbnails_withdrawn", 1)

struct thumbnails {
  using events = annal::events<thumbnails_published, thumbnails_withdrawn>;
  bool up = false;
  void apply(const thumbnails_published&) { up = true; }
  void apply(const thumbnails_withdrawn&) { up = false; }
};
struct publish_thumbnails {
  std::string video;
};
struct withdraw_thumbnails {
  std::string video;
  std::string why;
};
inline annal::decision<thumbnails> decide(const thumbnails& t, const publish_thumbnails& c) {
  if (t.up) return annal::reject("published already");
  return thumbnails_published{c.video};
}
inline annal::decision<thumbnails> decide(const thumbnails& t, const withdraw_thumbnails& c) {
  if (!t.up) return annal::reject("not published");
  return thumbnails_withdrawn{c.video, c.why};
}
inline std::string thumbnails_stream(const std::string& video) {
  return "thumbnails-" + video;
}

// A transcoding job: one per attempt, dispatched once, answered at most once by a worker.
struct job_dispatched {
  BOOST_HANA_DEFINE_STRUCT(job_dispatched, (std::string, video), (std::uint32_t, attempt));
};
struct transcode_done {
  BOOST_HANA_DEFINE_STRUCT(transcode_done, (std::string, video), (std::uint32_t, attempt),
                           (std::uint32_t, minute));
};
struct transcode_failed {
  BOOST_HANA_DEFINE_STRUCT(transcode_failed, (std::string, video), (std::uint32_t, attempt),
                           (std::uint32_t, minute));
};
ANNAL_EVENT(job_dispatched, "video.job_dispatched", 1)
ANNAL_EVENT(transcode_done, "video.transcode_done", 1)
ANNAL_EVENT(transcode_failed, "video.transcode_failed", 1)

enum class outcome { none, waiting, done, failed };

struct job {
  using events = annal::events<job_dispatched, transcode_done, transcode_failed>;
  std::string video;
  std::uint32_t attempt = 0;
  outcome result = outcome::none;
  void apply(const job_dispatched& e) {
    video = e.video;
    attempt = e.attempt;
    result = outcome::waiting;
  }
  void apply(const transcode_done&) { result = outcome::done; }
  void apply(const transcode_failed&) { result = outcome::failed; }
};

struct dispatch {
  std::string video;
  std::uint32_t attempt = 0;
};
struct report_done {
  std::uint32_t minute = 0;
};
struct report_failed {
  std::uint32_t minute = 0;
};

inline annal::decision<job> decide(const job& j, const dispatch& c) {
  if (j.result != outcome::none) return annal::reject("dispatched already");
  return job_dispatched{c.video, c.attempt};
}
inline annal::decision<job> decide(const job& j, const report_done& c) {
  if (j.result != outcome::waiting) return annal::reject("not waiting for a report");
  return transcode_done{j.video, j.attempt, c.minute};
}
inline annal::decision<job> decide(const job& j, const report_failed& c) {
  if (j.result != outcome::waiting) return annal::reject("not waiting for a report");
  return transcode_failed{j.video, j.attempt, c.minute};
}

// The manager's own event and its deadline.
struct attempt_started {
  BOOST_HANA_DEFINE_STRUCT(attempt_started, (std::uint32_t, attempt));
};
struct transcode_timed_out {
  BOOST_HANA_DEFINE_STRUCT(transcode_timed_out, (std::uint32_t, attempt));
};
ANNAL_EVENT(attempt_started, "video.transcoding.attempt_started", 1)
ANNAL_EVENT(transcode_timed_out, "video.transcoding.transcode_timed_out", 1)

// The process manager: one instance per uploaded video, its state in the stream
// "transcoding-<video>". It reacts to uploads and to the workers' reports with commands; it never
// writes a video's or a job's stream itself, so each aggregate still decides what it accepts.
struct manager {
  static constexpr std::string_view name = "transcoding";
  using events = annal::events<uploaded, transcode_done, transcode_failed>;
  using starts_with = annal::events<uploaded>;
  using state_events = annal::events<attempt_started>;
  using commands =
      annal::commands<dispatch, publish_thumbnails, publish, withdraw_thumbnails, mark_failed>;
  using deadlines = annal::events<transcode_timed_out>;

  std::uint32_t attempts = 0;
  void apply(const attempt_started& e) { attempts = e.attempt; }

  static std::string instance_of(const uploaded& e) { return e.video; }
  static std::string instance_of(const transcode_done& e) { return e.video; }
  static std::string instance_of(const transcode_failed& e) { return e.video; }

  // Each attempt is a job of its own, so a retry never meets the answer of an earlier attempt,
  // and a deadline, so a worker that never answers is retried too.
  static annal::process_step<manager> attempt(const std::string& video, std::uint32_t n,
                                              annal::time_point from) {
    return annal::process_step<manager>{}
        .record(attempt_started{n})
        .send(job_stream(video, n), dispatch{video, n})
        .schedule(transcode_timed_out{n}, from + transcode_timeout);
  }
  annal::process_step<manager> retry(const std::string& video, annal::time_point from) const {
    if (attempts < max_attempts) return attempt(video, attempts + 1, from);
    return annal::process_step<manager>{}
        .send(video_stream(video),
              mark_failed{video, "no transcode in " + std::to_string(max_attempts) + " attempts"})
        .end();
  }

  annal::process_step<manager> handle(const uploaded& e) const {
    return attempt(e.video, 1, at_minute(e.minute));
  }
  annal::process_step<manager> handle(const transcode_failed& e) const {
    if (e.attempt != attempts) return {};  // an earlier attempt's report: that one was retried
    return retry(e.video, at_minute(e.minute));
  }
  annal::process_step<manager> handle(const transcode_timed_out& d,
                                      const annal::deadline_info& i) const {
    if (d.attempt != attempts) return {};
    return retry(i.instance, i.due);
  }
  // Any attempt's transcode will do, even a late one. The thumbnails go up first, so that a
  // published video never shows without them.
  annal::process_step<manager> handle(const transcode_done& e) const {
    return annal::process_step<manager>{}
        .cancel<transcode_timed_out>()
        .send(thumbnails_stream(e.video), publish_thumbnails{e.video})
        .send(video_stream(e.video), publish{e.video})
        .end();
  }
  // Compensation: a video refused publication takes its thumbnails down again and is marked
  // failed. The runner calls this at once, with the step that sent the refused command.
  annal::process_step<manager> rejected(const publish& c, const annal::command_rejected& r) const {
    return annal::process_step<manager>{}
        .send(thumbnails_stream(c.video), withdraw_thumbnails{c.video, r.reason})
        .send(video_stream(c.video), mark_failed{c.video, "not published: " + r.reason});
  }
};

}  // namespace video
