// The laws every read_model_store obeys, run against each implementation by the projection tests.
#pragma once

#include <annal/projection/read_model.hpp>

#include <catch2/catch.hpp>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <ostream>
#include <stdexcept>
#include <string>
#include <utility>

#include "common/file_damage.hpp"
#include "snapshot/temp_dir.hpp"

namespace test {

// A subject of the laws is one implementation with its backing (memory, a file, a schema):
//   using store_type = ...;
//   std::unique_ptr<store_type> open();              the store; again after the last one is gone:
//                                                    the same backing reopened
//   static void add(model_type&, long cents);        what a handler does with a deposit
//   static long total(const store_type&);            the committed model's total
//   static model_type with_total(long);              a rebuilt model, for replace
//   static constexpr bool persistent;                 the state outlives the store object
//   static constexpr bool rolls_back_batch;           a throwing update keeps nothing of its batch
//   static constexpr bool replace_swaps_model;        replace takes the model, not only the
//   checkpoint
// and, when its backing is one file, `std::filesystem::path file() const`.

// What a query sees: the model's total and the checkpoint it was committed with.
struct committed {
  long total = 0;
  std::uint64_t checkpoint = 0;
  friend bool operator==(const committed&, const committed&) = default;
};

inline std::ostream& operator<<(std::ostream& out, const committed& c) {
  return out << "{total " << c.total << ", checkpoint " << c.checkpoint << "}";
}

// A handler's bug, thrown from inside an update.
struct handler_bug : std::runtime_error {
  handler_bug() : std::runtime_error("a handler failed") {}
};

template <class Subject, class Store>
committed state_of(const Store& store) {
  const std::uint64_t checkpoint = store.checkpoint();
  // read() hands f the checkpoint with the model, and gives back what f returns.
  CHECK(store.read([](const typename Store::model_type&, std::uint64_t c) { return c; }) ==
        checkpoint);
  return {Subject::total(store), checkpoint};
}

template <class Subject>
void check_read_model_laws(Subject& subject) {
  using store_type = typename Subject::store_type;
  using model_type = typename store_type::model_type;
  STATIC_REQUIRE(annal::read_model_store<store_type>);
  const auto state = [](const store_type& s) { return state_of<Subject>(s); };

  std::unique_ptr<store_type> store = subject.open();
  INFO("a new read model is empty at checkpoint 0");
  CHECK(state(*store) == committed{0, 0});

  // An update hands f the committed checkpoint; model and checkpoint commit together when f
  // returns.
  std::uint64_t handed = 99;
  store->update([&](model_type& m, std::uint64_t& checkpoint) {
    handed = checkpoint;
    Subject::add(m, 5);
    checkpoint = 1;
    Subject::add(m, 7);
    checkpoint = 2;
  });
  CHECK(handed == 0);
  CHECK(state(*store) == committed{12, 2});

  // A batch that applies nothing changes nothing.
  store->update([&](model_type&, std::uint64_t& checkpoint) { handed = checkpoint; });
  CHECK(handed == 2);
  CHECK(state(*store) == committed{12, 2});

  // A handler that throws (leaving the model as it found it) after one event of its batch was
  // applied: the exception reaches the caller as it was thrown, and the store keeps either the
  // whole batch's start or the applied event with its checkpoint, never one without the other.
  CHECK_THROWS_AS(store->update([&](model_type& m, std::uint64_t& checkpoint) {
    Subject::add(m, 3);
    checkpoint = 3;
    throw handler_bug{};
  }),
                  handler_bug);
  const committed after_throw = state(*store);
  CHECK((after_throw == committed{12, 2} || after_throw == committed{15, 3}));
  INFO("as documented, a throwing batch "
       << (Subject::rolls_back_batch ? "rolls back whole" : "keeps the events before the failure"));
  CHECK(after_throw == (Subject::rolls_back_batch ? committed{12, 2} : committed{15, 3}));

  // The next batch starts from what was kept.
  store->update([&](model_type& m, std::uint64_t& checkpoint) {
    handed = checkpoint;
    Subject::add(m, 1);
    checkpoint = after_throw.checkpoint + 1;
  });
  CHECK(handed == after_throw.checkpoint);
  const committed before_replace{after_throw.total + 1, after_throw.checkpoint + 1};
  CHECK(state(*store) == before_replace);

  // replace swaps in a rebuilt model and its checkpoint; the next batch starts there.
  store->replace(Subject::with_total(100), 50);
  const committed replaced{Subject::replace_swaps_model ? 100 : before_replace.total, 50};
  CHECK(state(*store) == replaced);
  store->update([&](model_type& m, std::uint64_t& checkpoint) {
    handed = checkpoint;
    Subject::add(m, 2);
    checkpoint = 51;
  });
  CHECK(handed == 50);
  const committed last{replaced.total + 2, 51};
  CHECK(state(*store) == last);

  // Replacing with an older checkpoint is allowed: a rebuild up to a position sets it back.
  store->replace(Subject::with_total(100), 50);
  const committed set_back{Subject::replace_swaps_model ? 100 : last.total, 50};
  CHECK(state(*store) == set_back);

  if constexpr (Subject::persistent) {
    // A restart finds the last commit, and continues from it; a throwing batch after a restart
    // rolls back to that commit too.
    store.reset();
    store = subject.open();
    CHECK(state(*store) == set_back);
    CHECK_THROWS_AS(store->update([&](model_type& m, std::uint64_t& checkpoint) {
      Subject::add(m, 1000);
      checkpoint = 60;
      throw handler_bug{};
    }),
                    handler_bug);
    const committed kept =
        Subject::rolls_back_batch ? set_back : committed{set_back.total + 1000, 60};
    CHECK(state(*store) == kept);
    store->update([&](model_type& m, std::uint64_t& checkpoint) {
      Subject::add(m, 4);
      checkpoint = kept.checkpoint + 1;
    });
    store.reset();
    store = subject.open();
    CHECK(state(*store) == committed{kept.total + 4, kept.checkpoint + 1});
  }
}

// A read model in one file: whatever damage the file took, the store opens with a warning naming
// the file, empty at checkpoint 0 (to be rebuilt from the log), and its next commit replaces the
// file. Each damage is tried on a fresh subject made by make().
template <class Make>
void check_read_model_damage(Make make) {
  using subject_type = decltype(make());
  using store_type = typename subject_type::store_type;
  using model_type = typename store_type::model_type;
  const auto state = [](const store_type& s) { return state_of<subject_type>(s); };

  std::string good;
  {
    auto subject = make();
    auto store = subject.open();
    store->update([](model_type& m, std::uint64_t& checkpoint) {
      subject_type::add(m, 9);
      checkpoint = 4;
    });
    good = *annal::detail::read_whole_file(subject.file());
  }
  for (const damaged_file& damage : damaged_copies(good)) {
    INFO("the read model file: " << damage.what);
    auto subject = make();
    overwrite(subject.file(), damage.bytes);
    captured_log log;
    auto store = subject.open();
    CHECK(state(*store) == committed{0, 0});
    REQUIRE(log.warnings().size() == 1);
    CHECK_THAT(log.warnings()[0], Catch::Contains(subject.file().string()));
    store->update([](model_type& m, std::uint64_t& checkpoint) {
      subject_type::add(m, 9);
      checkpoint = 4;
    });
    store.reset();
    store = subject.open();
    CHECK(state(*store) == committed{9, 4});
    CHECK(log.warnings().size() == 1);
  }
}

}  // namespace test
