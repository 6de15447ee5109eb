// Parses JSON text into a Boost.JSON value with correctly rounded doubles, and reports where
// parsing stopped.
#pragma once

#include <charconv>
#include <cstddef>
#include <string>
#include <string_view>
#include <system_error>

#include <boost/json/basic_parser_impl.hpp>
#include <boost/json/value.hpp>
#include <boost/json/value_stack.hpp>

namespace annal::detail::json {

// Boost.JSON 1.81 converts numbers with a fast algorithm that can be one unit in the last place
// off, so a double would not survive a round trip; this handler re-reads the number's text with
// std::from_chars, which is exact. Everything else is Boost.JSON's own DOM building.
struct precise_handler {
  static constexpr std::size_t max_object_size = boost::json::object::max_size();
  static constexpr std::size_t max_array_size = boost::json::array::max_size();
  static constexpr std::size_t max_key_size = boost::json::string::max_size();
  static constexpr std::size_t max_string_size = boost::json::string::max_size();

  boost::json::value_stack st;
  std::string number;

  using ec_t = boost::system::error_code;
  using sv = boost::json::string_view;

  bool on_document_begin(ec_t&) { return true; }
  bool on_document_end(ec_t&) { return true; }
  bool on_object_begin(ec_t&) { return true; }
  bool on_object_end(std::size_t n, ec_t&) {
    st.push_object(n);
    return true;
  }
  bool on_array_begin(ec_t&) { return true; }
  bool on_array_end(std::size_t n, ec_t&) {
    st.push_array(n);
    return true;
  }
  bool on_key_part(sv s, std::size_t, ec_t&) {
    st.push_chars(s);
    return true;
  }
  bool on_key(sv s, std::size_t, ec_t&) {
    st.push_key(s);
    return true;
  }
  bool on_string_part(sv s, std::size_t, ec_t&) {
    st.push_chars(s);
    return true;
  }
  bool on_string(sv s, std::size_t, ec_t&) {
    st.push_string(s);
    return true;
  }
  bool on_number_part(sv s, ec_t&) {
    number.append(s.data(), s.size());
    return true;
  }
  bool on_int64(std::int64_t i, sv, ec_t&) {
    number.clear();
    st.push_int64(i);
    return true;
  }
  bool on_uint64(std::uint64_t u, sv, ec_t&) {
    number.clear();
    st.push_uint64(u);
    return true;
  }
  bool on_double(double d, sv s, ec_t&) {
    number.append(s.data(), s.size());
    double exact = 0;
    const auto [end, err] = std::from_chars(number.data(), number.data() + number.size(), exact);
    // Out of range (1e999): keep Boost.JSON's reading (infinity or zero), the codec rejects it
    // later.
    if (err == std::errc() && end == number.data() + number.size()) d = exact;
    number.clear();
    st.push_double(d);
    return true;
  }
  bool on_bool(bool b, ec_t&) {
    st.push_bool(b);
    return true;
  }
  bool on_null(ec_t&) {
    st.push_null();
    return true;
  }
  bool on_comment_part(sv, ec_t&) { return true; }
  bool on_comment(sv, ec_t&) { return true; }
};

struct parse_result {
  boost::json::value value;
  boost::system::error_code error;
  std::size_t offset = 0;  // where parsing stopped, on error
};

// Exactly one JSON value; whitespace around it is allowed, anything else is an error. A template
// only so that the parser is instantiated where a program decodes JSON, not in every includer.
template <class Handler = precise_handler>
parse_result parse_precise(std::string_view text) {
  boost::json::basic_parser<Handler> parser(boost::json::parse_options{});
  parser.handler().st.reset();
  parse_result r;
  r.offset = parser.write_some(false, text.data(), text.size(), r.error);
  if (!r.error && r.offset != text.size()) r.error = boost::json::error::extra_data;
  if (!r.error) r.value = parser.handler().st.release();
  return r;
}

}  // namespace annal::detail::json
