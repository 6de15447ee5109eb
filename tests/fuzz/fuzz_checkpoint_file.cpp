// libFuzzer target: file_checkpoint loading any file. A load gives the position the file holds,
// and saving that position writes the same bytes back; or it is errc::corrupt_log naming the file,
// never a guessed position, and a save then replaces the file. Each input is tried as it is and
// with its checked header fixed up (fuzz_files.hpp), so mutations reach the body behind the
// checksum.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <annal/core/error.hpp>
#include <annal/file/checkpoint.hpp>
#include <annal/store/checkpoint.hpp>

#include "fuzz_files.hpp"

namespace {

constexpr const char* target = "fuzz_checkpoint_file";

void check(std::string_view bytes) {
  const std::filesystem::path path = fuzz::scratch_dir() / "reactor.checkpoint";
  fuzz::write_file(path, bytes);
  annal::file_checkpoint checkpoint{path};
  std::optional<std::uint64_t> loaded;
  try {
    loaded = checkpoint.load();
  } catch (const annal::error& e) {
    if (e.code() != annal::errc::corrupt_log)
      fuzz::fail(target, "load threw an error other than corrupt_log");
    if (std::string_view(e.what()).find(path.string()) == std::string_view::npos)
      fuzz::fail(target, "the error does not name the file");
    checkpoint.save(5);
    if (checkpoint.load() != std::optional<std::uint64_t>{5})
      fuzz::fail(target, "a save did not replace a damaged file");
    return;
  }
  if (!loaded) fuzz::fail(target, "a file that exists loaded as never saved");
  checkpoint.save(*loaded);
  if (*annal::detail::read_whole_file(path) != bytes)
    fuzz::fail(target, "a loaded position saves as other bytes");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  check(bytes);
  check(fuzz::fixed_up(bytes));
  return 0;
}
