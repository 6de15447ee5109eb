// An event (or a struct nested in one) with a data member outside its BOOST_HANA_DEFINE_STRUCT
// fails to compile in a codec, naming the struct: the member would never be stored.
#include <cstdint>
#include <string>

#include <boost/hana/adapt_struct.hpp>
#include <boost/hana/define_struct.hpp>

#include <annal/codec/binary.hpp>

namespace shop {
struct address {
  BOOST_HANA_DEFINE_STRUCT(address, (std::string, street));
#ifdef ANNAL_COMPILE_FAIL
  std::string city;  // declared beside the macro: not reflected
#endif
};
struct customer {
  BOOST_HANA_DEFINE_STRUCT(customer, (std::string, name), (address, home));
};
}  // namespace shop

std::string store(const shop::customer& c) {
  return annal::binary_codec::encode(c);
}

// expect: every data member must be listed in BOOST_HANA_ADAPT_STRUCT / BOOST_HANA_DEFINE_STRUCT
// expect: reflection_leaves_out_a_data_member<shop::address, 1
// first: reflection_leaves_out_a_data_member<shop::address, 1
