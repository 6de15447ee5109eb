// A member type no codec can store is a compile error naming that type.
#include <cstdint>
#include <string>

#include <boost/hana/define_struct.hpp>

#include <annal/codec/binary.hpp>

namespace shop {
struct address {  // not reflected
  std::string street;
};
struct customer {
#ifdef ANNAL_COMPILE_FAIL
  BOOST_HANA_DEFINE_STRUCT(customer, (std::string, name), (address, home));
#else
  BOOST_HANA_DEFINE_STRUCT(customer, (std::string, name));
#endif
};
}  // namespace shop

std::string store(const shop::customer& c) {
  return annal::binary_codec::encode(c);
}

// expect: annal codecs cannot store this member type
// expect: codec_cannot_store_type<shop::address>
// first: codec_cannot_store_type<shop::address>
