// A planted mistake for the layering check's own test: the pure core writing to a file and calling
// the operating system.
#pragma once

#include <fstream>
#include <string>

#include <unistd.h>
