// The checkpoint store laws (checkpoint_laws.hpp) on memory_checkpoint and file_checkpoint.
#include <annal/file/checkpoint.hpp>
#include <annal/store/checkpoint.hpp>

#include <catch2/catch.hpp>

#include <filesystem>
#include <memory>

#include "projection/checkpoint_laws.hpp"
#include "snapshot/temp_dir.hpp"

namespace {

struct memory_subject {
  using store_type = annal::memory_checkpoint;
  static constexpr bool persistent = false;
  std::unique_ptr<store_type> open() { return std::make_unique<store_type>(); }
};

struct file_subject {
  using store_type = annal::file_checkpoint;
  static constexpr bool persistent = true;
  std::unique_ptr<store_type> open() { return std::make_unique<store_type>(file()); }
  std::filesystem::path file() const { return dir.path() / "reactor.checkpoint"; }
  test::temp_dir dir;
};

}  // namespace

TEST_CASE("a memory checkpoint obeys the checkpoint store laws", "[projection][checkpoint][laws]") {
  memory_subject subject;
  test::check_checkpoint_store_laws(subject);
}

TEST_CASE("a file checkpoint obeys the checkpoint store laws",
          "[projection][checkpoint][laws][file]") {
  file_subject subject;
  test::check_checkpoint_store_laws(subject);
}

TEST_CASE("a damaged file checkpoint is an error naming it until a save replaces it",
          "[projection][checkpoint][laws][file]") {
  test::check_checkpoint_damage([] { return file_subject{}; });
}
