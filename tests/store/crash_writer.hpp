// What the file log's crash trials share: events whose contents follow from their ids, and a writer
// that appends them from several threads and acknowledges each batch over a pipe.
#pragma once

#include <limits.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include <boost/uuid/uuid_io.hpp>

#include <annal/core/record.hpp>
#include <annal/runtime/new_event_id.hpp>

namespace annal_test_store {

// The payload follows from the event id, so any process can check any event it reads. Mostly
// small; sometimes several pages, so that a kill or a read can land inside one write().
inline std::string payload_for(const annal::event_id& id) {
  const std::string hex = boost::uuids::to_string(id);
  const std::size_t size = id.data[0] < 16 ? 9000 + id.data[2] * 13 : 1 + id.data[2] % 200;
  std::string out;
  while (out.size() < size) out += hex;
  out.resize(size);
  return out;
}

inline constexpr std::size_t max_batch = 4;
// One acknowledged batch, as the writer reports it to the parent.
struct ack {
  std::uint64_t first_position;
  std::uint32_t count;
  std::uint8_t ids[max_batch][16];
};
static_assert(sizeof(ack) <= PIPE_BUF, "one ack must be one atomic pipe write");

// Appends batches of 1 to max_batch events of `type` from `threads` threads until killed, each
// batch on the stream `stream_for(first id)`, and writes an ack to `out` once append returns.
template <class Log, class StreamFor>
void append_and_acknowledge(Log& log, int out, int threads, unsigned seed, std::string_view type,
                            StreamFor stream_for) {
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t)
    pool.emplace_back([&, t] {
      std::mt19937 rng(seed + static_cast<unsigned>(t));
      for (;;) {
        std::vector<annal::event_data> batch(1 + rng() % max_batch);
        for (auto& e : batch) e.id = annal::new_event_id();
        // A batch belongs to one stream: the stream of its first event.
        const std::string stream = stream_for(batch[0].id);
        for (auto& e : batch) {
          e.type = type;
          e.payload = payload_for(e.id);
          e.meta["stream"] = stream;
        }
        const auto r = log.append(stream, annal::expected_version::any(), batch);
        ack a{};
        a.first_position = r.first_position;
        a.count = static_cast<std::uint32_t>(batch.size());
        for (std::size_t i = 0; i < batch.size(); ++i) std::memcpy(a.ids[i], batch[i].id.data, 16);
        if (::write(out, &a, sizeof a) != static_cast<ssize_t>(sizeof a)) ::_exit(4);
      }
    });
  for (auto& th : pool) th.join();
}

// What a killed writer acknowledged, from the bytes it wrote to its pipe: each event's position and
// id, in the order of the acks.
inline std::vector<std::pair<std::uint64_t, annal::event_id>> acknowledged_events(
    const std::vector<char>& bytes) {
  std::vector<std::pair<std::uint64_t, annal::event_id>> out;
  for (std::size_t at = 0; at + sizeof(ack) <= bytes.size(); at += sizeof(ack)) {
    ack a;
    std::memcpy(&a, bytes.data() + at, sizeof a);
    for (std::uint32_t i = 0; i < a.count; ++i) {
      annal::event_id id;
      std::memcpy(id.data, a.ids[i], 16);
      out.emplace_back(a.first_position + i, id);
    }
  }
  return out;
}

}  // namespace annal_test_store
