// librdkafka configuration as the user writes it: property names and values, passed through as is.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace annal {

// librdkafka properties in the order they are applied, e.g. {{"bootstrap.servers", "kafka1:9092"},
// {"linger.ms", "10"}} (see librdkafka's CONFIGURATION.md). A property librdkafka does not know, or
// a value it refuses, is an errc::invalid_argument error quoting librdkafka's message.
using kafka_properties = std::vector<std::pair<std::string, std::string>>;

}  // namespace annal
