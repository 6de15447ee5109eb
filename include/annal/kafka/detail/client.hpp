// Creating a librdkafka producer or consumer from user properties, with errors that quote
// librdkafka.
#pragma once

#include <string>
#include <string_view>

#include <librdkafka/rdkafka.h>

#include <annal/core/error.hpp>
#include <annal/kafka/detail/handle.hpp>
#include <annal/kafka/properties.hpp>
#include <annal/runtime/log.hpp>

namespace annal::detail::kafka {

// Secrets stay out of error messages, which end up in logs.
inline std::string shown_value(std::string_view name, std::string_view value) {
  if (name.find("password") != std::string_view::npos ||
      name.find("secret") != std::string_view::npos)
    return "(hidden)";
  return "'" + std::string(value) + "'";
}

inline void set_property(rd_kafka_conf_t* conf, const std::string& name, const std::string& value,
                         std::string_view who) {
  char why[512] = "";
  if (rd_kafka_conf_set(conf, name.c_str(), value.c_str(), why, sizeof why) != RD_KAFKA_CONF_OK)
    throw error(errc::invalid_argument, std::string(who) + ": librdkafka property '" + name +
                                            "' = " + shown_value(name, value) +
                                            " is refused: " + why);
}

// librdkafka logs from its own threads; annal::log is thread-safe and lets the user route it.
inline void forward_log(const rd_kafka_t*, int level, const char* facility, const char* text) {
  const log_level to = level <= 3   ? log_level::error
                       : level == 4 ? log_level::warning
                       : level <= 6 ? log_level::info
                                    : log_level::debug;
  log(to, std::string("librdkafka ") + facility + ": " + text);
}

// Applies `defaults`, then the user's properties, then `fixed` (what annal's guarantees rest on).
inline conf_ptr make_conf(const kafka_properties& defaults, const kafka_properties& user,
                          const kafka_properties& fixed, std::string_view who) {
  conf_ptr conf(rd_kafka_conf_new());
  for (const auto* list : {&defaults, &user, &fixed})
    for (const auto& [name, value] : *list) set_property(conf.get(), name, value, who);
  rd_kafka_conf_set_log_cb(conf.get(), forward_log);
  return conf;
}

// Takes the configuration over: librdkafka owns it once the handle exists.
inline handle_ptr make_handle(rd_kafka_type_t type, conf_ptr conf, std::string_view who) {
  char why[512] = "";
  rd_kafka_t* rk = rd_kafka_new(type, conf.get(), why, sizeof why);
  if (!rk)
    throw error(errc::invalid_argument,
                std::string(who) + ": librdkafka refused the configuration: " + why);
  (void)conf.release();
  return handle_ptr(rk);
}

// librdkafka recovers from most consumer errors by itself (a broker restarts, a leader moves);
// those are logged. The ones that cannot get better stop the consumer, naming topic and partition.
inline void consumer_failure(const rd_kafka_message_t& m, const std::string& topic,
                             std::string_view who) {
  const std::string what = rd_kafka_message_errstr(&m);
  const std::string where = "topic '" + topic + "' partition " + std::to_string(m.partition);
  switch (m.err) {
    case RD_KAFKA_RESP_ERR__AUTO_OFFSET_RESET:
    case RD_KAFKA_RESP_ERR_OFFSET_OUT_OF_RANGE:
      throw error(errc::invalid_argument,
                  std::string(who) + ": the start offset of " + where +
                      " is outside the partition (deleted by retention?): " + what);
    case RD_KAFKA_RESP_ERR__FATAL:
    case RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART:
    case RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC:
    case RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION:
    case RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR_GROUP_AUTHORIZATION_FAILED:
      throw error(errc::connection_error,
                  std::string(who) + ": consuming " + where + " failed: " + what);
    default:
      log(log_level::warning,
          std::string(who) + " of topic '" + topic + "': " + what + " (retrying)");
  }
}

}  // namespace annal::detail::kafka
