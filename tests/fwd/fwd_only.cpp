// A translation unit that includes only <annal/fwd.hpp> (through names.hpp) and defines functions
// over the declared types: the other unit calls them with the real objects, so a declaration that
// names another entity than the definition fails to compile or to link.
#include "names.hpp"

namespace fwd_test {

const void* address_of(const annal::error& e) {
  return &e;
}
const void* address_of(const annal::event_data& e) {
  return &e;
}
const void* address_of(const annal::recorded_event& e) {
  return &e;
}
const void* address_of(const annal::expected_version& e) {
  return &e;
}
const void* address_of(const annal::append_result& e) {
  return &e;
}
const void* address_of(const annal::memory_store& s) {
  return &s;
}
const void* address_of(const annal::memory_checkpoint& c) {
  return &c;
}
const void* address_of(const annal::event_filter& f) {
  return &f;
}
const void* address_of(const annal::read_progress& r) {
  return &r;
}
const void* address_of(const annal::memory_snapshot_store& s) {
  return &s;
}
const void* address_of(const annal::file_log& log) {
  return &log;
}
const void* address_of(const annal::file_log_options& o) {
  return &o;
}
const void* address_of(const annal::file_checkpoint& c) {
  return &c;
}
const void* address_of(const annal::file_snapshot_store& s) {
  return &s;
}
const void* address_of(const annal::projector_options& o) {
  return &o;
}
const void* address_of(const annal::rebuild_options& o) {
  return &o;
}
const void* registry_address(const annal::event_registry<ledger_events>& r) {
  return &r;
}
const void* address_of(const annal::binary_codec& c) {
  return &c;
}
const void* address_of(const annal::json_codec& c) {
  return &c;
}

int number_of(annal::errc e) {
  return static_cast<int>(e);
}
int number_of(annal::durability d) {
  return static_cast<int>(d);
}
int number_of(annal::append_status s) {
  return static_cast<int>(s);
}
int number_of(annal::log_level l) {
  return static_cast<int>(l);
}

}  // namespace fwd_test
