// The video pipeline's domain: a video's status derived from events, never overwritten in place.
#pragma once

#include <cstdint>
#include <set>
#include <string>

#include <boost/hana/define_struct.hpp>

#include <annal/core/aggregate.hpp>
#include <annal/core/decision.hpp>
#include <annal/core/event.hpp>

namespace video {

inline const std::set<std::string> required_steps{"captions", "thumbnail", "transcode"};

struct uploaded {
  BOOST_HANA_DEFINE_STRUCT(uploaded, (std::string, file));
};
struct step_done {
  BOOST_HANA_DEFINE_STRUCT(step_done, (std::string, step), (std::string, worker));
};
struct step_failed {
  BOOST_HANA_DEFINE_STRUCT(step_failed, (std::string, step), (std::string, reason));
};
struct succeeded {
  BOOST_HANA_DEFINE_STRUCT(succeeded, (std::uint32_t, steps));
};
ANNAL_EVENT(uploaded, "video.uploaded", 1)
ANNAL_EVENT(step_done, "video.step_done", 1)
ANNAL_EVENT(step_failed, "video.step_failed", 1)
ANNAL_EVENT(succeeded, "video.succeeded", 1)

enum class status { none, uploaded, processing, succeeded, failed };

inline const char* to_string(status s) {
  switch (s) {
    case status::none:
      return "none";
    case status::uploaded:
      return "uploaded";
    case status::processing:
      return "processing";
    case status::succeeded:
      return "succeeded";
    case status::failed:
      return "failed";
  }
  return "?";
}

struct video {
  using events = annal::events<uploaded, step_done, step_failed, succeeded>;

  status state = status::none;
  std::set<std::string> done;
  std::string failure;

  void apply(const uploaded&) { state = status::uploaded; }
  void apply(const step_done& e) {
    state = status::processing;
    done.insert(e.step);
  }
  void apply(const step_failed& e) {
    state = status::failed;
    failure = e.step + ": " + e.reason;
  }
  void apply(const succeeded&) { state = status::succeeded; }
};

struct upload {
  std::string file;
};
struct finish_step {
  std::string step;
  std::string worker;
};
struct fail_step {
  std::string step;
  std::string reason;
};

inline annal::decision<video> decide(const video& v, const upload& c) {
  if (v.state != status::none) return annal::reject("already uploaded");
  return uploaded{c.file};
}

// The last step to finish also records success: the status follows from the steps, not from
// whichever worker wrote last.
inline annal::decision<video> decide(const video& v, const finish_step& c) {
  if (v.state == status::none) return annal::reject("not uploaded");
  if (v.state == status::failed || v.state == status::succeeded) return annal::reject("finished");
  if (!required_steps.contains(c.step)) return annal::reject("unknown step " + c.step);
  if (v.done.contains(c.step)) return {};  // a redelivered completion changes nothing
  if (v.done.size() + 1 == required_steps.size())
    return annal::emit(step_done{c.step, c.worker},
                       succeeded{static_cast<std::uint32_t>(required_steps.size())});
  return step_done{c.step, c.worker};
}

inline annal::decision<video> decide(const video& v, const fail_step& c) {
  if (v.state == status::none) return annal::reject("not uploaded");
  if (v.state == status::failed || v.state == status::succeeded) return annal::reject("finished");
  return step_failed{c.step, c.reason};
}

}  // namespace video
