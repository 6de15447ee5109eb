// Prints the SQL that postgres_store::migrate() runs for a schema name and payload format, for a
// DBA to read or for tools (bench/sql/lone_writer) that need the schema without a store.
//   usage: annal_bench_pg_schema <schema> [jsonb|json|bytea]
#include <iostream>
#include <string_view>

#include <annal/postgres/schema.hpp>

int main(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << "usage: annal_bench_pg_schema <schema> [jsonb|json|bytea]\n";
    return 2;
  }
  const std::string_view format = argc > 2 ? argv[2] : "jsonb";
  annal::postgres_payload_format f = annal::postgres_payload_format::jsonb;
  if (format == "json")
    f = annal::postgres_payload_format::json;
  else if (format == "bytea")
    f = annal::postgres_payload_format::bytea;
  else if (format != "jsonb") {
    std::cerr << "annal_bench_pg_schema: payload format '" << format
              << "' is not one of jsonb, json, bytea\n";
    return 2;
  }
  std::cout << annal::detail::pg::statements(argv[1], f).migrate();
}
