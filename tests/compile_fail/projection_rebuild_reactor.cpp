// Rebuilding a reactor (a side-effect handler) fails at compile time: no email is sent on replay.
#include <annal/projection/rebuild.hpp>
#include <annal/store/memory.hpp>

#include <boost/hana/define_struct.hpp>

#include <map>
#include <string>

namespace shop {
struct ordered {
  BOOST_HANA_DEFINE_STRUCT(ordered, (long, cents));
};
ANNAL_EVENT(ordered, "shop.ordered", 1)

struct totals {
  using events = annal::events<ordered>;
  long cents = 0;
  void on(const ordered& e) { cents += e.cents; }
};

struct confirmation_mailer {
  using events = annal::events<ordered>;
  void react(const ordered&, const annal::envelope_header&) {}
};
}  // namespace shop

#ifdef ANNAL_COMPILE_FAIL
using rebuilt_type = shop::confirmation_mailer;
#else
using rebuilt_type = shop::totals;
#endif

// expect: it is a reactor, and projectors, replays and rebuilds never run reactors
// expect: a_reactor_is_never_replayed_or_rebuilt<shop::confirmation_mailer>
// first: a_reactor_is_never_replayed_or_rebuilt<shop::confirmation_mailer>
int main() {
  annal::memory_store store;
  (void)annal::rebuild<rebuilt_type>(store);
}
