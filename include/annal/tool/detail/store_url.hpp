// Store URLs for the annal tool: which backend a URL names, where, and the URL with its password
// masked for anything the tool prints.
#pragma once

#include <algorithm>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <annal/core/error.hpp>

namespace annal::tool::detail {

enum class store_kind { file, sqlite, postgres, kafka };

inline constexpr std::string_view name_of(store_kind k) noexcept {
  switch (k) {
    case store_kind::file:
      return "file log";
    case store_kind::sqlite:
      return "SQLite";
    case store_kind::postgres:
      return "PostgreSQL";
    case store_kind::kafka:
      return "Kafka topic";
  }
  return "?";
}

struct store_url {
  store_kind kind = store_kind::file;
  std::string location;  // a directory, a file path, a libpq connection string, or Kafka brokers
  std::string topic;     // kafka: the topic
  std::string shown;     // the URL as the tool prints it: without its password
  // Every spelling of the password the URL holds (as written and percent-decoded), each removed
  // from any message the tool prints.
  std::vector<std::string> secrets;
};

// Where passwords stand in a URL: the `password` of `scheme://user:password@host`, and the value of
// each `password=` parameter. Pairs of (offset, length), in order.
inline std::vector<std::pair<std::size_t, std::size_t>> password_spans(std::string_view url) {
  std::vector<std::pair<std::size_t, std::size_t>> spans;
  if (const auto scheme = url.find("://"); scheme != std::string_view::npos) {
    const auto start = scheme + 3;
    const auto end = url.find_first_of("/?", start);
    const auto at = url.rfind('@', end == std::string_view::npos ? url.size() : end);
    if (at != std::string_view::npos && at > start) {
      const auto colon = url.find(':', start);
      if (colon != std::string_view::npos && colon < at)
        spans.emplace_back(colon + 1, at - colon - 1);
    }
  }
  for (auto k = url.find("password="); k != std::string_view::npos;
       k = url.find("password=", k + 1)) {
    const auto from = k + 9;
    const auto to = url.find_first_of("& ", from);
    spans.emplace_back(from, (to == std::string_view::npos ? url.size() : to) - from);
  }
  return spans;
}

// The URL with each password replaced by "***".
inline std::string mask_password(std::string_view url) {
  std::string out;
  std::size_t done = 0;
  for (const auto& [at, size] : password_spans(url)) {
    if (at < done) continue;
    out.append(url.substr(done, at - done)).append("***");
    done = at + size;
  }
  return out.append(url.substr(done));
}

inline std::string percent_decoded(std::string_view s) {
  const auto hex = [](char c) {
    return c >= '0' && c <= '9'   ? c - '0'
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                  : -1;
  };
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && hex(s[i + 1]) >= 0 && hex(s[i + 2]) >= 0) {
      out += static_cast<char>(hex(s[i + 1]) * 16 + hex(s[i + 2]));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

// The passwords a URL spells out, as written and percent-decoded.
inline std::vector<std::string> passwords_in(std::string_view url) {
  std::vector<std::string> found;
  for (const auto& [at, size] : password_spans(url)) {
    if (size == 0) continue;
    const std::string raw(url.substr(at, size));
    found.push_back(raw);
    if (auto decoded = percent_decoded(raw); decoded != raw) found.push_back(std::move(decoded));
  }
  return found;
}

// `text` with every secret replaced by "***".
inline std::string redact(std::string text, const std::vector<std::string>& secrets) {
  for (const auto& s : secrets) {
    if (s.empty()) continue;
    for (auto k = text.find(s); k != std::string::npos; k = text.find(s, k + 3))
      text.replace(k, s.size(), "***");
  }
  return text;
}

// `kafka://host:port[,host:port...]/topic`: the brokers to bootstrap from and the topic a
// kafka_publisher writes. Throws errc::invalid_argument naming what is missing or malformed.
inline store_url parse_kafka_url(std::string_view url) {
  store_url out;
  out.kind = store_kind::kafka;
  out.shown = mask_password(url);
  out.secrets = passwords_in(url);
  const std::string form = "write kafka://host:port[,host:port...]/topic";
  const std::string_view rest = url.substr(std::string_view("kafka://").size());
  const auto slash = rest.find('/');
  const std::string_view brokers = rest.substr(0, slash);
  const std::string_view topic =
      slash == std::string_view::npos ? std::string_view{} : rest.substr(slash + 1);
  if (brokers.empty())
    throw error(errc::invalid_argument, "Kafka URL '" + out.shown + "' names no broker: " + form);
  for (std::size_t from = 0; from <= brokers.size();) {
    const auto comma = std::min(brokers.find(',', from), brokers.size());
    const std::string_view broker = brokers.substr(from, comma - from);
    const auto colon = broker.rfind(':');
    const std::string_view port =
        colon == std::string_view::npos ? std::string_view{} : broker.substr(colon + 1);
    if (colon == 0 || colon == std::string_view::npos || port.empty() || port.size() > 5 ||
        port.find_first_not_of("0123456789") != std::string_view::npos)
      throw error(errc::invalid_argument, "Kafka URL '" + out.shown + "': broker '" +
                                              std::string(broker) + "' is not host:port; " + form);
    from = comma + 1;
  }
  if (topic.empty())
    throw error(errc::invalid_argument, "Kafka URL '" + out.shown + "' names no topic: " + form);
  // Kafka's own rule for topic names.
  if (topic.size() > 249 ||
      topic.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRS"
                              "TUVWXYZ0123456789._-") != std::string_view::npos)
    throw error(errc::invalid_argument, "Kafka URL '" + out.shown + "': '" + std::string(topic) +
                                            "' is not a Kafka topic name (letters, digits, '.', "
                                            "'_' and '-')");
  out.location = std::string(brokers);
  out.topic = std::string(topic);
  return out;
}

// Parses `file:<dir>` (or file://<dir>), `sqlite:<path>`, `postgresql://...`
// (or postgres://...) and `kafka://brokers/topic`. Throws errc::invalid_argument naming what is
// wrong.
inline store_url parse_store_url(std::string_view url) {
  if (url.starts_with("kafka://")) return parse_kafka_url(url);
  store_url out;
  const auto rest_after = [&](std::string_view prefix) { return url.substr(prefix.size()); };
  if (url.starts_with("postgresql://") || url.starts_with("postgres://")) {
    out.kind = store_kind::postgres;
    out.location = std::string(url);
    out.shown = mask_password(url);
    out.secrets = passwords_in(url);
    return out;
  }
  out.shown = std::string(url);
  if (url.starts_with("file://")) {
    out.kind = store_kind::file;
    out.location = std::string(rest_after("file://"));
  } else if (url.starts_with("file:")) {
    out.kind = store_kind::file;
    out.location = std::string(rest_after("file:"));
  } else if (url.starts_with("sqlite://")) {
    out.kind = store_kind::sqlite;
    out.location = std::string(rest_after("sqlite://"));
  } else if (url.starts_with("sqlite:")) {
    out.kind = store_kind::sqlite;
    out.location = std::string(rest_after("sqlite:"));
  } else {
    const auto colon = url.find(':');
    const std::string shown = mask_password(url);
    if (colon == std::string_view::npos)
      throw error(errc::invalid_argument,
                  "store URL '" + shown +
                      "' has no scheme: write file:<dir>, sqlite:<file>, postgresql://... or "
                      "kafka://host:port/topic");
    throw error(
        errc::invalid_argument,
        "unknown store URL scheme '" + std::string(url.substr(0, colon)) + "' in '" + shown +
            "': write file:<dir>, sqlite:<file>, postgresql://... or kafka://host:port/topic");
  }
  if (out.location.empty())
    throw error(errc::invalid_argument, "store URL '" + out.shown + "' names no path");
  return out;
}

}  // namespace annal::tool::detail
