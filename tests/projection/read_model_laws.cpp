// The read model laws (read_model_laws.hpp) on the in-process read models: memory and file.
#include <annal/file/read_model.hpp>
#include <annal/projection/read_model.hpp>

#include <catch2/catch.hpp>

#include <boost/hana/define_struct.hpp>

#include <filesystem>
#include <memory>

#include "common/bank_domain.hpp"
#include "projection/read_model_laws.hpp"
#include "snapshot/temp_dir.hpp"

namespace {

// The projection the laws run: a total of deposits, reflected so a file can hold it.
struct deposit_total {
  using events = annal::events<bank::deposited>;
  BOOST_HANA_DEFINE_STRUCT(deposit_total, (long, total));
  void on(const bank::deposited& e) { total += e.cents; }
};

// The same projection grown by a member: its files are of another schema.
struct other_schema {
  using events = annal::events<bank::deposited>;
  BOOST_HANA_DEFINE_STRUCT(other_schema, (long, total), (long, count));
  void on(const bank::deposited&) {}
};

struct in_process_subject {
  static void add(deposit_total& m, long cents) { m.on(bank::deposited{cents}); }
  template <class Store>
  static long total(const Store& store) {
    return store.read([](const deposit_total& m, std::uint64_t) { return m.total; });
  }
  static deposit_total with_total(long total) { return deposit_total{total}; }
  static constexpr bool replace_swaps_model = true;
};

struct memory_subject : in_process_subject {
  using store_type = annal::memory_read_model<deposit_total>;
  static constexpr bool persistent = false;
  // The checkpoint advances with each event, and a throwing handler leaves the model as it was.
  static constexpr bool rolls_back_batch = false;
  std::unique_ptr<store_type> open() { return std::make_unique<store_type>(); }
};

struct file_subject : in_process_subject {
  using store_type = annal::file_read_model<deposit_total>;
  static constexpr bool persistent = true;
  static constexpr bool rolls_back_batch = true;  // by reloading the file
  std::unique_ptr<store_type> open() { return std::make_unique<store_type>(file()); }
  std::filesystem::path file() const { return dir.path() / "models" / "total.model"; }
  test::temp_dir dir;
};

}  // namespace

TEST_CASE("a memory read model obeys the read model laws", "[projection][read_model][laws]") {
  memory_subject subject;
  test::check_read_model_laws(subject);
}

TEST_CASE("a file read model obeys the read model laws", "[projection][read_model][laws][file]") {
  file_subject subject;
  test::check_read_model_laws(subject);
}

TEST_CASE("a damaged file read model warns and restarts empty at 0",
          "[projection][read_model][laws][file]") {
  test::check_read_model_damage([] { return file_subject{}; });
}

TEST_CASE("a file read model of another schema restarts empty at 0 with a note",
          "[projection][read_model][laws][file]") {
  file_subject subject;
  {
    annal::file_read_model<other_schema> other{subject.file()};
    other.replace(other_schema{7, 1}, 3);
  }
  test::captured_log log;
  auto store = subject.open();
  CHECK(test::state_of<file_subject>(*store) == test::committed{0, 0});
  CHECK(log.warnings().empty());
  REQUIRE(log.infos().size() == 1);
  CHECK_THAT(log.infos()[0], Catch::Contains("another schema"));
}
