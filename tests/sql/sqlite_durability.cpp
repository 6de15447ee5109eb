// What each annal::durability does to a SQLite store: counted syncs of its WAL, seen through a VFS.
#include <catch2/catch.hpp>

#include <atomic>
#include <cstdint>

#include <sqlite3.h>

#include <annal/sqlite/store.hpp>

#include "common/invalid_option.hpp"
#include "sql/sql_test_support.hpp"

namespace {

// Syncs of WAL files since the VFS was installed, from every connection of the process.
std::atomic<int> wal_syncs{0};
sqlite3_vfs* real_vfs = nullptr;

// A file of the counting VFS: the real VFS's file follows this header in the same allocation.
struct counted_file {
  sqlite3_file base;
  sqlite3_file* real;
  bool wal;
};

sqlite3_file* real_of(sqlite3_file* f) {
  return reinterpret_cast<counted_file*>(f)->real;
}

int counted_sync(sqlite3_file* f, int flags) {
  if (reinterpret_cast<counted_file*>(f)->wal) wal_syncs.fetch_add(1);
  return real_of(f)->pMethods->xSync(real_of(f), flags);
}

// Everything but xSync goes straight to the real file.
const sqlite3_io_methods counted_methods = {
    3,
    [](sqlite3_file* f) { return real_of(f)->pMethods->xClose(real_of(f)); },
    [](sqlite3_file* f, void* p, int n, sqlite3_int64 o) {
      return real_of(f)->pMethods->xRead(real_of(f), p, n, o);
    },
    [](sqlite3_file* f, const void* p, int n, sqlite3_int64 o) {
      return real_of(f)->pMethods->xWrite(real_of(f), p, n, o);
    },
    [](sqlite3_file* f, sqlite3_int64 size) {
      return real_of(f)->pMethods->xTruncate(real_of(f), size);
    },
    counted_sync,
    [](sqlite3_file* f, sqlite3_int64* size) {
      return real_of(f)->pMethods->xFileSize(real_of(f), size);
    },
    [](sqlite3_file* f, int lock) { return real_of(f)->pMethods->xLock(real_of(f), lock); },
    [](sqlite3_file* f, int lock) { return real_of(f)->pMethods->xUnlock(real_of(f), lock); },
    [](sqlite3_file* f, int* out) {
      return real_of(f)->pMethods->xCheckReservedLock(real_of(f), out);
    },
    [](sqlite3_file* f, int op, void* arg) {
      return real_of(f)->pMethods->xFileControl(real_of(f), op, arg);
    },
    [](sqlite3_file* f) { return real_of(f)->pMethods->xSectorSize(real_of(f)); },
    [](sqlite3_file* f) { return real_of(f)->pMethods->xDeviceCharacteristics(real_of(f)); },
    [](sqlite3_file* f, int region, int size, int extend, void volatile** out) {
      return real_of(f)->pMethods->xShmMap(real_of(f), region, size, extend, out);
    },
    [](sqlite3_file* f, int offset, int n, int flags) {
      return real_of(f)->pMethods->xShmLock(real_of(f), offset, n, flags);
    },
    [](sqlite3_file* f) { real_of(f)->pMethods->xShmBarrier(real_of(f)); },
    [](sqlite3_file* f, int remove) { return real_of(f)->pMethods->xShmUnmap(real_of(f), remove); },
    [](sqlite3_file* f, sqlite3_int64 offset, int n, void** out) {
      return real_of(f)->pMethods->xFetch(real_of(f), offset, n, out);
    },
    [](sqlite3_file* f, sqlite3_int64 offset, void* p) {
      return real_of(f)->pMethods->xUnfetch(real_of(f), offset, p);
    },
};

int counted_open(sqlite3_vfs*, const char* name, sqlite3_file* file, int flags, int* out_flags) {
  auto* f = reinterpret_cast<counted_file*>(file);
  f->real = reinterpret_cast<sqlite3_file*>(f + 1);
  f->wal = (flags & SQLITE_OPEN_WAL) != 0;
  f->base.pMethods = nullptr;
  const int rc = real_vfs->xOpen(real_vfs, name, f->real, flags, out_flags);
  // SQLite calls xClose only on a file whose pMethods is set, and a failed open sets none.
  if (rc == SQLITE_OK) f->base.pMethods = &counted_methods;
  return rc;
}

// Installs the counting VFS as the process's default for its lifetime; the store's connections
// open their files through it.
class counting_vfs {
 public:
  counting_vfs() {
    real_vfs = sqlite3_vfs_find(nullptr);
    vfs_ = *real_vfs;
    vfs_.zName = "annal_test_counting";
    vfs_.szOsFile = static_cast<int>(sizeof(counted_file)) + real_vfs->szOsFile;
    vfs_.xOpen = counted_open;
    vfs_.pNext = nullptr;
    REQUIRE(sqlite3_vfs_register(&vfs_, 1) == SQLITE_OK);
  }
  counting_vfs(const counting_vfs&) = delete;
  counting_vfs& operator=(const counting_vfs&) = delete;
  ~counting_vfs() { sqlite3_vfs_unregister(&vfs_); }

 private:
  sqlite3_vfs vfs_{};
};

// WAL syncs made by ten single-event appends of a store opened with `d`.
int wal_syncs_of_ten_appends(annal::durability d) {
  annal_test::temp_dir dir;
  counting_vfs vfs;
  annal::sqlite_options o;
  o.sync = d;
  annal::sqlite_store store(dir.path() / "events.db", o);
  store.append("s", annal::expected_version::any(), annal_test::make_batch(1));
  const int before = wal_syncs.load();
  for (int i = 0; i < 10; ++i)
    store.append("s", annal::expected_version::any(), annal_test::make_batch(1));
  return wal_syncs.load() - before;
}

}  // namespace

// durable and group: synchronous=FULL, one WAL sync per commit; none: synchronous=NORMAL, the WAL
// is synced only by checkpoints, and ten small appends are far from one.
TEST_CASE("sqlite store syncs its WAL at every commit unless durability is none",
          "[store][sqlite][durability]") {
  CHECK(wal_syncs_of_ten_appends(annal::durability::durable) >= 10);
  CHECK(wal_syncs_of_ten_appends(annal::durability::group) >= 10);
  CHECK(wal_syncs_of_ten_appends(annal::durability::none) == 0);
}

TEST_CASE("sqlite store refuses a durability that is none of the three, naming the option",
          "[store][sqlite][options]") {
  annal_test::temp_dir dir;
  annal::sqlite_options o;
  o.sync = static_cast<annal::durability>(7);
  CHECK_THROWS_MATCHES(annal::sqlite_store(dir.path() / "events.db", o), annal::error,
                       annal_test::names_invalid_option("sqlite_options::sync", "7"));
}
