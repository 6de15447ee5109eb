// Recovery by replay: a worker kept running totals with a bug and wrote a wrong read model. The
// fixed projection is rebuilt from the file log beside the serving model and swapped in; digests
// before and after show the repair, and the withdrawal notifier (a reactor) sends nothing twice.
#include <CLI/CLI.hpp>

#include <cinttypes>
#include <cstdio>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include <annal/annal.hpp>
#include <annal/file/checkpoint.hpp>
#include <annal/file/read_model.hpp>
#include <annal/projection/projector.hpp>
#include <annal/projection/reactor.hpp>
#include <annal/projection/rebuild.hpp>
#include <annal/projection/reconcile.hpp>
#include <annal/store/checkpoint.hpp>

#include "ledger.hpp"

namespace {

template <class E>
annal::event_data encode(const E& e) {
  annal::event_data d;
  d.id = annal::new_event_id();
  d.type = std::string(annal::event_name_of<E>);
  d.schema_version = annal::event_version_of<E>;
  annal::binary_codec::encode(e, d.payload);
  return d;
}

// Appends `count` random account operations in batches of 100, as a busy service would.
void write_operations(annal::file_log& log, std::size_t accounts, std::size_t count,
                      unsigned seed) {
  std::mt19937 random(seed);
  std::vector<annal::event_data> batch;
  for (std::size_t i = 0; i < count; ++i) {
    const std::int64_t cents = 100 + static_cast<std::int64_t>(random() % 10'000);
    switch (random() % 4) {
      case 0:
        batch.push_back(encode(ledger::withdrawn{cents / 2}));
        break;
      case 1:
        batch.push_back(encode(ledger::fee_charged{cents / 100}));
        break;
      default:
        batch.push_back(encode(ledger::deposited{cents}));
        break;
    }
    if (batch.size() == 100 || i + 1 == count) {
      const std::string account = "account-" + std::to_string(random() % accounts);
      log.append(account, annal::expected_version::any(), batch);
      batch.clear();
    }
  }
}

// [progress]
void print_progress(const annal::rebuild_progress& p) {
  std::printf("\rrebuild: %5.1f%%  position %" PRIu64 "/%" PRIu64 "  %.2fM events/s  ETA %.1fs%s",
              100.0 * p.fraction(), p.position, p.target, p.events_per_second / 1e6, p.eta.count(),
              p.done ? "\n" : "");
  std::fflush(stdout);
}
// [progress]

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Rebuild a read model that a buggy worker wrote, by replaying the log"};
  std::size_t events = 200'000;
  std::size_t workers = 2;
  std::filesystem::path dir = std::filesystem::temp_directory_path() / "annal-recompute";
  app.add_option("--events", events, "events to write before the fix");
  app.add_option("--workers", workers, "worker threads for the rebuild");
  app.add_option("--dir", dir, "directory for the log, the read model and the checkpoint");
  CLI11_PARSE(app, argc, argv);

  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  annal::file_log log{dir / "log", {.sync = annal::durability::none}};
  const auto model_path = dir / "totals.model";

  // Day 1: the buggy worker projects while the service writes; the notifier runs live beside it.
  ledger::withdrawal_notifier notifier;
  annal::file_checkpoint notifier_checkpoint{dir / "notifier.checkpoint"};
  annal::reactor_runner notify{
      log, notifier, notifier_checkpoint, {.start = annal::reactor_start::from_beginning}};
  {
    annal::file_read_model<ledger::running_totals_v1> totals{model_path};
    annal::projector worker{log, totals, {.batch_size = 8192}};
    for (int round = 0; round < 4; ++round) {
      write_operations(log, 50, events / 4, 7u + static_cast<unsigned>(round));
      worker.catch_up();
      notify.catch_up();
    }
    std::printf("buggy worker: %" PRIu64 " events projected, checkpoint %" PRIu64 "\n",
                totals.read([](const auto& t, std::uint64_t) { return t.applied; }),
                totals.checkpoint());
  }
  const std::uint64_t notified_live = notifier.sent;
  std::printf("notifier: %" PRIu64 " withdrawal notices sent live\n", notified_live);

  // Day 2: the fix is deployed. The read model on disk still holds the wrong totals.
  // [reconcile]
  annal::file_read_model<ledger::running_totals> totals{model_path};
  const annal::reconciliation before = annal::reconcile_with_log(log, totals, {.workers = workers});
  std::printf("digest before: read model %016" PRIx64 ", recomputed %016" PRIx64
              ", %zu keys differ",
              before.live_digest, before.fresh_digest, before.differing_keys.size());
  for (std::size_t i = 0; i < before.differing_keys.size() && i < 3; ++i)
    std::printf("%s %s", i == 0 ? ":" : ",", before.differing_keys[i].c_str());
  std::printf("%s\n", before.differing_keys.size() > 3 ? ", ..." : "");
  // [reconcile]

  // [rebuild]
  // Rebuilt beside the serving model (reads keep working meanwhile), then swapped in.
  const annal::rebuild_result rebuilt =
      annal::rebuild_and_swap(log, totals, {.workers = workers, .on_progress = print_progress});
  // [rebuild]
  std::printf("rebuilt %" PRIu64 " events in %.3fs on %zu workers\n", rebuilt.events,
              std::chrono::duration<double>(rebuilt.elapsed).count(), workers);

  const annal::reconciliation after = annal::reconcile_with_log(log, totals);
  std::printf("digest after: read model %016" PRIx64 ", recomputed %016" PRIx64
              ", %zu keys differ\n",
              after.live_digest, after.fresh_digest, after.differing_keys.size());
  std::printf("digests match after rebuild: %s\n", after.matches() ? "yes" : "NO");
  notify.catch_up();
  std::printf("reactor calls during replay: %" PRIu64 "\n", notifier.sent - notified_live);

  // Live again: the next withdrawal is projected once and notified once.
  const annal::event_data next[] = {encode(ledger::withdrawn{500})};
  log.append("account-1", annal::expected_version::any(), next);
  annal::projector{log, totals}.catch_up();
  notify.catch_up();
  std::printf("after one more withdrawal: notices sent %" PRIu64 ", checkpoint %" PRIu64 "\n",
              notifier.sent - notified_live, totals.checkpoint());
  return after.matches() && notifier.sent == notified_live + 1 ? 0 : 1;
}
