// A PostgreSQL read model's projection without migrate() fails with a sentence saying what to
// write.
#include <annal/postgres/read_model.hpp>

#include <string>

namespace shop {
struct ordered {
  long cents;
};
ANNAL_EVENT(ordered, "shop.ordered", 1)

struct revenue : annal::postgres_projection {
  using events = annal::events<ordered>;
#ifndef ANNAL_COMPILE_FAIL
  void migrate(annal::postgres_transaction& tx) {
    tx.exec("CREATE TABLE IF NOT EXISTS revenue (cents bigint)");
  }
#endif
  void on(const ordered& e) { sql().exec("UPDATE revenue SET cents = cents + $1", e.cents); }
};
}  // namespace shop

// expect: needs a member `void migrate\(annal::postgres_transaction& tx\)`
// expect: postgres_read_model_projection_has_no_migrate_member<shop::revenue>
// first: postgres_read_model_projection_has_no_migrate_member<shop::revenue>
static_assert(annal::detail::check_postgres_read_model_projection<shop::revenue>());

int main() {}
