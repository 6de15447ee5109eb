// The floor log shipping is measured against (bench/replication, bench/tool's copy): a
// hand-written read_all in chunks, each run of one stream's events recorded at one instant
// appended as one batch that expects the stream's version before it and keeps the recorded time.
// The runs are built while reading, so each event is copied once, into its event_data.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include <annal/core/error.hpp>
#include <annal/core/record.hpp>
#include <annal/store/replication.hpp>

namespace annal_bench {

template <class Source, class Target>
std::uint64_t floor_copy(const Source& from, Target& to,
                         std::size_t chunk = annal::replication_options{}.batch_events) {
  std::vector<annal::event_data> run;
  std::string run_stream;
  std::uint64_t run_version = 0;
  annal::time_point run_at{};
  std::uint64_t copied = 0;
  const auto flush = [&] {
    if (run.empty()) return;
    const annal::append_result r =
        to.append(run_stream, annal::expected_version::exact(run_version - 1), run);
    if (r.status != annal::append_status::appended)
      throw annal::error(annal::errc::diverged, "the floor's target refused a run");
    copied += run.size();
    run.clear();
  };
  const std::uint64_t last = from.last_position();
  std::uint64_t next = to.last_position() + 1;
  while (next <= last) {
    from.read_all(
        next,
        [&](const annal::recorded_event& e) {
          if (!run.empty() && (e.stream_id != run_stream || e.recorded_at != run_at)) flush();
          if (run.empty()) {
            run_stream = e.stream_id;
            run_version = e.stream_version;
            run_at = e.recorded_at;
          }
          run.push_back(annal::as_recorded_event_data(e));
          next = e.position + 1;
        },
        chunk);
    flush();
  }
  return copied;
}

}  // namespace annal_bench
