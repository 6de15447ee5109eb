// libFuzzer target: file_read_model opening any file as its model file. It opens with the model and
// checkpoint the file holds, or empty at checkpoint 0 with a warning (damage) or a note (another
// schema); never an exception. A model it opened is written back by replace and reopens the same;
// after damage, the next commit replaces the file. Each input is tried as it is and with its
// checked header fixed up (fuzz_files.hpp), so mutations reach the binary-encoded model.
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/hana/define_struct.hpp>

#include <annal/codec/binary.hpp>
#include <annal/file/read_model.hpp>

#include "fuzz_files.hpp"
#include "sample_events.hpp"

namespace {

constexpr const char* target = "fuzz_read_model_file";

// A read model of the shapes models take: maps, lists, optional and plain members.
struct ledger {
  using events = annal::events<sample::deposited_v2>;
  BOOST_HANA_DEFINE_STRUCT(ledger, (std::map<std::string, std::int64_t>, balance),
                           (std::vector<std::string>, owners), (std::optional<std::int32_t>, limit),
                           (std::uint64_t, deposits));
  void on(const sample::deposited_v2& e) {
    balance["x"] += e.cents;
    ++deposits;
  }
};

using model_type = annal::file_read_model<ledger>;

std::pair<std::string, std::uint64_t> committed(const model_type& model) {
  return model.read([](const ledger& m, std::uint64_t checkpoint) {
    return std::pair{annal::binary_codec::encode(m), checkpoint};
  });
}

void check(std::string_view bytes) {
  const std::filesystem::path path = fuzz::scratch_dir() / "ledger.model";
  fuzz::write_file(path, bytes);
  const auto empty = std::pair{annal::binary_codec::encode(ledger{}), std::uint64_t{0}};
  std::pair<std::string, std::uint64_t> opened;
  {
    fuzz::counted_log log;
    model_type model{path};
    opened = committed(model);
    if (log.warnings + log.infos > 0) {
      if (opened != empty) fuzz::fail(target, "a reported file gave a model");
      model.update([](ledger& m, std::uint64_t& checkpoint) {
        m.on(sample::deposited_v2{7});
        checkpoint = 1;
      });
      opened = committed(model);
    } else {
      // Written back as it was read: the same model and checkpoint come back.
      model.replace(model.read([](const ledger& m, std::uint64_t) { return m; }), opened.second);
    }
  }
  fuzz::counted_log log;
  const model_type again{path};
  if (log.warnings + log.infos > 0) fuzz::fail(target, "a file the read model wrote is reported");
  if (committed(again) != opened)
    fuzz::fail(target, "a reopened model differs from the one committed");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  check(bytes);
  check(fuzz::fixed_up(bytes));
  return 0;
}
