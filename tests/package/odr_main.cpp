// ODR check, first translation unit: everything in the umbrella header, and main().
#include <annal/annal.hpp>

int odr_other();

int main() {
  return odr_other() == 0 ? 0 : 1;
}
