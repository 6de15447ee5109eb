// personal<T>: a member of an event that holds personal data, sealed under its data subject's key.
#pragma once

#include <string>

#include <boost/hana/define_struct.hpp>

namespace annal {

// Personal data (a name, an address) as events, snapshots and read models keep it: sealed under a
// key that belongs to one data subject (annal::seal in <annal/privacy/seal.hpp>). Forgetting that
// key erases the data everywhere a copy went, the log, backups and topics included, while the
// events stay: amounts and states still add up. A codec stores it as a reflected struct with one
// text member, so it needs no codec of its own and no cryptography library to be decoded.
//
// Seal where personal data enters (the command), unseal where it leaves (a screen, a letter): a
// decider copies sealed values from command to event, so it stays pure and testable.
template <class T>
struct personal {
  BOOST_HANA_DEFINE_STRUCT(personal, (std::string, sealed));

  // Two sealings of one value differ (each has its own random nonce): equal means the same
  // sealing, as when a decider copied it from its command.
  friend bool operator==(const personal&, const personal&) = default;
};

}  // namespace annal
