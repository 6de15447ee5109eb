// A consumer of annal::postgres: libpq links and reports that no server listens where none does.
#include <annal/postgres/store.hpp>

int main() {
  try {
    annal::postgres_store store({.connection = "host=/nonexistent/annal-test-package"});
    return 1;
  } catch (const annal::error& e) {
    return e.code() == annal::errc::connection_error ? 0 : 1;  // libpq itself failed to connect
  }
}
