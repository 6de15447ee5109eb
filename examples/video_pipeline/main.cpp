// Video pipeline: several workers finish a video's steps at once. A CRUD row loses updates; state
// hydrated from events does not, because every append checks the version it decided on.
#include <barrier>
#include <cstdint>
#include <iostream>
#include <mutex>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <annal/annal.hpp>

#include "video.hpp"

namespace {

const std::vector<std::string> steps(video::required_steps.begin(), video::required_steps.end());

// The CRUD way: one row per video, read, changed and written back whole by each worker.
struct video_row {
  video::status status = video::status::uploaded;
  std::set<std::string> done;
};

video_row crud_pipeline() {
  std::mutex row_mutex;  // each read and each write is atomic; the read-modify-write is not
  video_row row;
  std::barrier all_read(static_cast<std::ptrdiff_t>(steps.size()));
  std::vector<std::jthread> workers;
  for (const std::string& step : steps) {
    workers.emplace_back([&, step] {
      video_row mine;
      {
        std::lock_guard lock(row_mutex);
        mine = row;
      }
      all_read.arrive_and_wait();  // the interleaving that happens under load, made certain
      mine.done.insert(step);
      mine.status =
          mine.done.size() == steps.size() ? video::status::succeeded : video::status::processing;
      std::lock_guard lock(row_mutex);
      row = mine;
    });
  }
  workers.clear();
  return row;
}

// A store decorator that holds each worker's first append until every worker has decided, so the
// same interleaving happens here. Stores are template parameters: wrapping one is plain code.
template <annal::event_store S>
class rendezvous_store {
 public:
  rendezvous_store(S& inner, std::ptrdiff_t workers) : inner_(&inner), decided_(workers) {}

  annal::append_result append(std::string_view id, annal::expected_version expect,
                              std::span<const annal::event_data> batch) {
    thread_local bool waited = false;
    if (!waited) {
      waited = true;
      decided_.arrive_and_wait();
    }
    return inner_->append(id, expect, batch);
  }
  template <class F>
  std::size_t read_stream(std::string_view id, std::uint64_t from, F&& f,
                          std::size_t max = annal::unlimited) const {
    return inner_->read_stream(id, from, std::forward<F>(f), max);
  }
  template <class F>
  std::size_t read_all(std::uint64_t from, F&& f, std::size_t max = annal::unlimited) const {
    return inner_->read_all(from, std::forward<F>(f), max);
  }
  std::uint64_t stream_version(std::string_view id) const { return inner_->stream_version(id); }
  std::uint64_t last_position() const { return inner_->last_position(); }

 private:
  S* inner_;
  std::barrier<> decided_;
};

std::size_t event_sourced_pipeline(annal::memory_store& store, const std::string& id) {
  annal::repository<video::video, annal::memory_store> videos{store};
  videos.handle(id, video::upload{"holiday.mp4"});

  rendezvous_store gated{store, static_cast<std::ptrdiff_t>(steps.size())};
  annal::repository<video::video, rendezvous_store<annal::memory_store>> racing{gated};
  std::mutex out_mutex;
  std::size_t retried = 0;
  std::vector<std::jthread> workers;
  for (const std::string& step : steps) {
    workers.emplace_back([&, step] {
      const auto r = racing.handle(id, video::finish_step{step, "worker-" + step});
      std::lock_guard lock(out_mutex);
      std::cout << "  worker-" << step << ": " << (r.accepted() ? "recorded" : "NOT recorded")
                << " after " << r.attempts << " attempt(s)\n";
      retried += r.attempts - 1;
    });
  }
  workers.clear();
  return retried;
}

}  // namespace

int main() {
  std::cout << "Three workers finish the steps of one video at the same moment.\n\n";

  const video_row row = crud_pipeline();
  std::cout << "CRUD row: status " << video::to_string(row.status) << ", steps done "
            << row.done.size() << " of " << steps.size() << "  <- "
            << steps.size() - row.done.size()
            << " lost update(s): the video is stuck in 'processing' forever\n\n";

  annal::memory_store store;
  std::cout << "annal:\n";
  const std::size_t retried = event_sourced_pipeline(store, "video-1");
  annal::repository<video::video, annal::memory_store> videos{store};
  const auto v = videos.load("video-1");
  std::cout << "annal: status " << video::to_string(v.state.state) << ", steps done "
            << v.state.done.size() << " of " << steps.size() << ", " << retried
            << " conflict(s) caught and retried, version " << v.version << "\n\n";

  // Many videos, four workers taking steps in any order; one video's captions step fails.
  constexpr int video_count = 50;
  for (int i = 0; i < video_count; ++i)
    videos.handle("clip-" + std::to_string(i), video::upload{"clip.mp4"});
  std::vector<std::jthread> pool;
  for (int w = 0; w < 4; ++w) {
    pool.emplace_back([&, w] {
      for (int i = 0; i < video_count; ++i) {
        const std::string id = "clip-" + std::to_string(i);
        for (std::size_t s = 0; s < steps.size(); ++s) {
          if ((i + s) % 4 != static_cast<std::size_t>(w)) continue;
          if (i == 7 && steps[s] == "captions")
            videos.handle(id, video::fail_step{"captions", "no audio track"});
          else
            videos.handle(id, video::finish_step{steps[s], "pool-" + std::to_string(w)});
        }
      }
    });
  }
  pool.clear();
  int succeeded = 0, failed = 0, other = 0;
  for (int i = 0; i < video_count; ++i) {
    const auto clip = videos.load("clip-" + std::to_string(i));
    if (clip.state.state == video::status::succeeded)
      ++succeeded;
    else if (clip.state.state == video::status::failed)
      ++failed;
    else
      ++other;
  }
  std::cout << video_count << " clips through a pool of 4 workers: " << succeeded << " succeeded, "
            << failed << " failed (" << videos.load("clip-7").state.failure << "), " << other
            << " stuck\n";
  const bool right = v.state.state == video::status::succeeded && succeeded == video_count - 1 &&
                     failed == 1 && other == 0;
  return right ? 0 : 1;
}
