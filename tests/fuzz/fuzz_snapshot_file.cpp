// libFuzzer target: file_snapshot_store reading any file as a stream's snapshot file. A load never
// throws: the file's snapshots of the asked aggregate and stream, or nothing with a warning
// (damage) or a note (an older format); what decodes encodes back to the same body. A save then
// replaces the file without a warning, and the next load finds the saved snapshot. Each input is
// tried as it is and with its checked header fixed up (fuzz_files.hpp), so mutations reach the
// records.
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>

#include <annal/file/snapshot_store.hpp>

#include "fuzz_files.hpp"

namespace {

constexpr const char* target = "fuzz_snapshot_file";
constexpr std::string_view stream = "s-1";
constexpr std::string_view aggregate = "bank.account";

annal::file_snapshot_store& store() {
  static annal::file_snapshot_store s{fuzz::scratch_dir() / "snapshots"};
  return s;
}

void check(std::string_view bytes) {
  const std::filesystem::path path = store().path_of(stream);
  fuzz::write_file(path, bytes);
  {
    fuzz::counted_log log;
    const std::optional<annal::snapshot_record> loaded = store().load(aggregate, stream);
    const auto listed = store().list(aggregate, stream);
    const auto others = store().list("bank.audit", stream);
    if (log.warnings + log.infos > 0) {
      if (loaded || !listed.empty() || !others.empty())
        fuzz::fail(target, "a reported file gave snapshots");
    } else {
      if (loaded.has_value() != !listed.empty()) fuzz::fail(target, "load and list disagree");
      if (loaded && loaded->version != listed.back().version)
        fuzz::fail(target, "load is not the newest listed");
      for (const auto& r : listed)
        if (r.stream_id != stream || r.aggregate_name != aggregate)
          fuzz::fail(target, "a snapshot of another stream or aggregate");
      for (const auto& r : others)
        if (r.stream_id != stream || r.aggregate_name != "bank.audit")
          fuzz::fail(target, "a snapshot of another stream or aggregate");
    }
  }
  // What the decoder accepts, its encoder writes back byte for byte.
  const annal::detail::checked_file raw =
      annal::detail::read_checked_file(path, annal::detail::snapshot_file_magic);
  if (raw.status == annal::detail::checked_file::state::ok)
    if (const auto file = annal::detail::decode_snapshot_file(raw.body, stream))
      if (annal::detail::encode_snapshot_file(*file) != raw.body)
        fuzz::fail(target, "a decoded file encodes to other bytes");

  // A save replaces whatever was there, quietly; the next load finds it.
  annal::snapshot_record saved;
  saved.aggregate_name = aggregate;
  saved.stream_id = stream;
  saved.version = std::numeric_limits<std::uint64_t>::max();
  saved.fingerprint = 0x5eed;
  saved.state = "saved";
  fuzz::counted_log log;
  store().save(saved);
  const auto again = store().load(aggregate, stream);
  if (log.warnings + log.infos > 0)
    fuzz::fail(target, "a save or the load after it reported damage");
  if (!again || again->state != "saved" || again->version != saved.version)
    fuzz::fail(target, "the saved snapshot does not load");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  check(bytes);
  check(fuzz::fixed_up(bytes));
  return 0;
}
