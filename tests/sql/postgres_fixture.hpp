// A fresh PostgreSQL store per construction (a new schema on the shared throwaway server), in the
// shape the event_store conformance suite expects.
#pragma once

#include <atomic>
#include <memory>
#include <string>

#include <annal/postgres/store.hpp>

#include "common/postgres_server.hpp"

namespace annal_test {

inline annal::postgres_options fresh_postgres_options(
    annal::postgres_payload_format format = annal::postgres_payload_format::jsonb) {
  static std::atomic<int> counter{0};
  annal::postgres_options o;
  o.connection = postgres_server::shared().conninfo();
  o.schema = "t" + std::to_string(::getpid()) + "_" + std::to_string(++counter);
  o.payload_format = format;
  o.pool_size = 4;
  return o;
}

template <annal::postgres_payload_format Format, bool GroupCommit = true>
class basic_postgres_fixture {
 public:
  basic_postgres_fixture() : options_(fresh_postgres_options(Format)) {
    options_.group_commit = GroupCommit;
    reopen();
  }
  annal::postgres_store& store() { return *store_; }
  // A new store object on the same schema: what survives is what the server holds.
  void reopen() {
    store_.reset();
    store_ = std::make_unique<annal::postgres_store>(options_);
    store_->migrate();
  }
  const annal::postgres_options& options() const { return options_; }

 private:
  annal::postgres_options options_;
  std::unique_ptr<annal::postgres_store> store_;
};

// bytea keeps payload bytes exact, whatever they are: what the conformance suite compares.
using postgres_fixture = basic_postgres_fixture<annal::postgres_payload_format::bytea>;
using postgres_no_group_fixture =
    basic_postgres_fixture<annal::postgres_payload_format::bytea, false>;
using postgres_jsonb_fixture = basic_postgres_fixture<annal::postgres_payload_format::jsonb>;

}  // namespace annal_test
