// Functions over annal's types that a user's header could declare with only <annal/fwd.hpp>.
#pragma once

#include <annal/fwd.hpp>

namespace fwd_test {

// A user's types, themselves only declared.
struct deposited;
struct account;
struct balances;
using ledger_events = annal::events<deposited>;

// References and pointers to declared classes, and the class templates' defaults from fwd.hpp.
const void* address_of(const annal::error& e);
const void* address_of(const annal::event_data& e);
const void* address_of(const annal::recorded_event& e);
const void* address_of(const annal::expected_version& e);
const void* address_of(const annal::append_result& e);
const void* address_of(const annal::memory_store& s);
const void* address_of(const annal::memory_checkpoint& c);
const void* address_of(const annal::event_filter& f);
const void* address_of(const annal::read_progress& r);
const void* address_of(const annal::memory_snapshot_store& s);
const void* address_of(const annal::file_log& log);
const void* address_of(const annal::file_log_options& o);
const void* address_of(const annal::file_checkpoint& c);
const void* address_of(const annal::file_snapshot_store& s);
const void* address_of(const annal::projector_options& o);
const void* address_of(const annal::rebuild_options& o);
// Its own name: among address_of overloads, resolving a call would instantiate the registry.
const void* registry_address(const annal::event_registry<ledger_events>& r);
const void* address_of(const annal::binary_codec& c);
const void* address_of(const annal::json_codec& c);

// Opaque enum declarations are complete: taken by value.
int number_of(annal::errc e);
int number_of(annal::durability d);
int number_of(annal::append_status s);
int number_of(annal::log_level l);

// Declared only: defined in no translation unit, never called. They compile from fwd.hpp alone.
annal::loaded<account> load_account(annal::envelope<deposited>* last);
void on(annal::memory_read_model<balances>& model, const annal::recorded_event* event);
void on(annal::file_read_model<balances>& model, annal::rebuilt<balances>* out);
annal::decision<account> decide(const annal::command_result<account>& previous);
void seal(annal::personal<int>& value, annal::data_key* key);
void store(annal::sqlite_store* s, annal::sqlite_options o, annal::sqlite_snapshot_store* snaps);
void store(annal::postgres_store* s, const annal::postgres_options& o,
           annal::postgres_read_model<balances>* model);
void publish(const annal::kafka_publisher_options& o, annal::kafka_replay* replay);
void keys(annal::memory_key_store* memory, annal::file_key_store* file);

}  // namespace fwd_test
