// Golden bytes: records written by today's codecs must decode to the same values and re-encode byte
// for byte.
#include <catch2/catch.hpp>

#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

#include <annal/codec/binary.hpp>
#include <annal/codec/json.hpp>
#include <annal/codec/registry.hpp>

#include "sample_events.hpp"

using namespace sample;

namespace {

// The fixed set of values; changing it means regenerating the files, which a review must notice.
boost::uuids::uuid fixed_id() {
  boost::uuids::uuid id{};
  for (int i = 0; i < 16; ++i) id.data[i] = static_cast<std::uint8_t>(0xA0 + i);
  return id;
}

everything fixed_everything() {
  everything e{};
  e.i8 = -8;
  e.i16 = -1600;
  e.i32 = -320000;
  e.i64 = -6400000000;
  e.u8 = 200;
  e.u16 = 60000;
  e.u32 = 4000000000u;
  e.u64 = 18000000000000000000ull;
  e.c = 'c';
  e.f32 = 1.5f;
  e.f64 = -2.25;
  e.flag = true;
  e.cur = currency::gbp;
  e.lvl = level::low;
  e.text = "caf\xC3\xA9 \xF0\x9F\x93\x88";
  e.texts = {"a", "", "zz"};
  e.doubles = {0.5, -0.0};
  e.bits = {true, false, true};
  e.maybe = 42;
  e.maybe_inner = inner{"in", {1, -2}, level::high};
  e.quad = {1, 2, 3, 4};
  e.pair = {inner{"p0", {}, level::mid}, inner{"p1", {7}, level::low}};
  e.by_name = {{"one", 1}, {"two", 2}};
  e.by_id = {{9, "nine"}, {3, "three"}};
  e.nested = {{-1, {inner{"n", {5}, level::mid}}}};
  e.choice = inner{"v", {}, level::high};
  e.elapsed = std::chrono::nanoseconds{123456789};
  e.seconds = std::chrono::duration<double>{0.25};
  e.at = std::chrono::system_clock::time_point{std::chrono::nanoseconds{1700000000123456789}};
  e.day_start = std::chrono::sys_seconds{std::chrono::seconds{1700000000}};
  return e;
}

struct golden_record {
  std::string type;
  std::uint32_t version;
  std::string payload;
};

template <class Codec>
std::vector<golden_record> fixed_records() {
  std::vector<golden_record> r;
  const auto add = [&](const auto& e) {
    using E = std::remove_cvref_t<decltype(e)>;
    r.push_back(
        {std::string(annal::event_name_of<E>), annal::event_version_of<E>, Codec::encode(e)});
  };
  add(opened{"ada", fixed_id()});
  add(deposited{{1234, currency::usd}, std::string("salary")});
  add(withdrawn{{34, currency::eur}});
  add(deposited_v1{5});
  add(deposited_v2{700});
  add(credited_v1{-3});
  add(transferred{10, "bob"});
  return r;
}

// File format: per record, "<type> <version> <payload length>\n<payload>\n".
std::string write_records(const std::vector<golden_record>& records) {
  std::string out;
  for (const auto& r : records)
    out += r.type + ' ' + std::to_string(r.version) + ' ' + std::to_string(r.payload.size()) +
           '\n' + r.payload + '\n';
  return out;
}

std::vector<golden_record> read_records(const std::string& text) {
  std::vector<golden_record> records;
  std::size_t pos = 0;
  while (pos < text.size()) {
    const std::size_t eol = text.find('\n', pos);
    REQUIRE(eol != std::string::npos);
    std::istringstream header(text.substr(pos, eol - pos));
    golden_record r;
    std::size_t size = 0;
    header >> r.type >> r.version >> size;
    REQUIRE(eol + 1 + size < text.size());
    r.payload = text.substr(eol + 1, size);
    records.push_back(std::move(r));
    pos = eol + 1 + size + 1;
  }
  return records;
}

std::string golden_path(const char* name) {
  return std::string(ANNAL_CODEC_GOLDEN_DIR) + "/" + name;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  INFO("golden file " << path);
  REQUIRE(in.good());
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_file(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << bytes;
  REQUIRE(out.good());
}

template <class Codec>
void check_golden(const char* events_file, const char* everything_file) {
  const std::string text = read_file(golden_path(events_file));
  const auto records = read_records(text);
  const auto expected = fixed_records<Codec>();
  REQUIRE(records.size() == expected.size());

  // Values: each record decodes, through the registry, to what it was written from.
  using reg = annal::event_registry<bank_events, Codec>;
  std::vector<annal::event_variant_t<bank_events>> seen;
  for (const auto& r : records)
    REQUIRE(
        reg::decode(r.type, r.version, r.payload, [&](const auto& e) { seen.emplace_back(e); }));
  REQUIRE(seen.size() == 8);
  CHECK(std::get<opened>(seen[0]) == opened{"ada", fixed_id()});
  CHECK(std::get<deposited>(seen[1]) == deposited{{1234, currency::usd}, std::string("salary")});
  CHECK(std::get<withdrawn>(seen[2]) == withdrawn{{34, currency::eur}});
  CHECK(std::get<deposited>(seen[3]) == deposited{{500, currency::eur}, std::nullopt});
  CHECK(std::get<deposited>(seen[4]) == deposited{{700, currency::eur}, std::nullopt});
  CHECK(std::get<withdrawn>(seen[5]) == withdrawn{{3, currency::eur}});
  CHECK(std::get<withdrawn>(seen[6]) == withdrawn{{10, currency::eur}});
  CHECK(std::get<deposited>(seen[7]) == deposited{{10, currency::eur}, std::string("to bob")});

  // Bytes: today's encoder writes exactly what was committed.
  for (std::size_t i = 0; i < records.size(); ++i) {
    INFO("record " << i << " " << records[i].type << " v" << records[i].version);
    CHECK(records[i].type == expected[i].type);
    CHECK(records[i].version == expected[i].version);
    CHECK(records[i].payload == expected[i].payload);
  }

  const std::string all = read_file(golden_path(everything_file));
  const everything decoded = Codec::template decode<everything>(all);
  const everything want = fixed_everything();
  CHECK(decoded.i64 == want.i64);
  CHECK(decoded.u64 == want.u64);
  CHECK(decoded.text == want.text);
  CHECK(decoded.by_id == want.by_id);
  CHECK(decoded.at == want.at);
  CHECK(decoded.day_start == want.day_start);
  CHECK(std::get<inner>(decoded.choice).name == "v");
  CHECK(decoded.maybe_inner->values == std::vector<std::int16_t>{1, -2});
  CHECK(Codec::encode(decoded) == all);
  CHECK(Codec::encode(want) == all);
}

}  // namespace

TEST_CASE("golden binary records decode and re-encode byte for byte", "[codec][golden]") {
  check_golden<annal::binary_codec>("bank_events.bin", "everything.bin");
}

TEST_CASE("golden JSON records decode and re-encode byte for byte", "[codec][golden]") {
  check_golden<annal::json_codec>("bank_events.json.txt", "everything.json");
}

// Generator mode, hidden from normal runs: `annal_codec_tests "[.golden_generate]"`. Only for a
// deliberate format change, which must also be described in docs/codec.md.
TEST_CASE("generate golden files", "[.golden_generate]") {
  write_file(golden_path("bank_events.bin"), write_records(fixed_records<annal::binary_codec>()));
  write_file(golden_path("everything.bin"), annal::binary_codec::encode(fixed_everything()));
  write_file(golden_path("bank_events.json.txt"),
             write_records(fixed_records<annal::json_codec>()));
  write_file(golden_path("everything.json"), annal::json_codec::encode(fixed_everything()));
  SUCCEED("golden files written to " ANNAL_CODEC_GOLDEN_DIR);
}
