// The laws every checkpoint_store obeys, run against each implementation by the projection tests.
#pragma once

#include <annal/core/error.hpp>
#include <annal/store/checkpoint.hpp>

#include <catch2/catch.hpp>

#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "common/file_damage.hpp"

namespace test {

// A subject of the laws is one implementation with its backing:
//   using store_type = ...;
//   std::unique_ptr<store_type> open();   the store; again after the last one is gone: reopened
//   static constexpr bool persistent;     a save outlives the store object
// and, when its backing is one file, `std::filesystem::path file() const`.
template <class Subject>
void check_checkpoint_store_laws(Subject& subject) {
  using store_type = typename Subject::store_type;
  STATIC_REQUIRE(annal::checkpoint_store<store_type>);
  using position = std::optional<std::uint64_t>;

  std::unique_ptr<store_type> store = subject.open();
  const store_type& view = *store;  // load() is const: a reader needs no write access
  INFO("never saved: no position, which is not position 0");
  CHECK(view.load() == std::nullopt);
  store->save(0);
  CHECK(view.load() == position{0});

  store->save(42);
  CHECK(view.load() == position{42});
  CHECK(view.load() == position{42});  // loading does not consume it

  // The last save wins, even a lower position: ordering positions is the caller's business (a
  // reactor moved back to replay a range).
  store->save(7);
  CHECK(view.load() == position{7});
  store->save(std::numeric_limits<std::uint64_t>::max());
  CHECK(view.load() == position{std::numeric_limits<std::uint64_t>::max()});
  store->save(42);

  if constexpr (Subject::persistent) {
    // Durable when save returns: a new process finds it, and saves on from there.
    store.reset();
    store = subject.open();
    CHECK(std::as_const(*store).load() == position{42});
    store->save(43);
    store.reset();
    store = subject.open();
    CHECK(std::as_const(*store).load() == position{43});
  }
}

// A checkpoint in one file: any damage is an error naming the file (errc::corrupt_log), never a
// guessed position, however often it is loaded; a save replaces the damaged file. Each damage is
// tried on a fresh subject made by make().
template <class Make>
void check_checkpoint_damage(Make make) {
  std::string good;
  {
    auto subject = make();
    subject.open()->save(42);
    good = *annal::detail::read_whole_file(subject.file());
  }
  for (const damaged_file& damage : damaged_copies(good)) {
    INFO("the checkpoint file: " << damage.what);
    auto subject = make();
    overwrite(subject.file(), damage.bytes);
    auto store = subject.open();
    for (int attempt = 0; attempt < 2; ++attempt) {
      try {
        const auto loaded = std::as_const(*store).load();
        FAIL("a damaged checkpoint file loaded as "
             << (loaded ? std::to_string(*loaded) : "nothing"));
      } catch (const annal::error& e) {
        CHECK(e.code() == annal::errc::corrupt_log);
        CHECK_THAT(e.what(), Catch::Contains(subject.file().string()));
      }
    }
    store->save(9);
    CHECK(std::as_const(*store).load() == std::optional<std::uint64_t>{9});
    store.reset();
    CHECK(std::as_const(*subject.open()).load() == std::optional<std::uint64_t>{9});
  }
}

}  // namespace test
