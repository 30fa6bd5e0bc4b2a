#include "acemq/as/audit.hpp"

#include <boost/json.hpp>

#include <cstdio>
#include <stdexcept>

namespace acemq::as {

std::string_view to_string(audit_kind kind) noexcept {
  switch (kind) {
    case audit_kind::token_issued:
      return "token_issued";
    case audit_kind::token_refused:
      return "token_refused";
    case audit_kind::token_revoked:
      return "token_revoked";
    case audit_kind::refresh_revoked:
      return "refresh_revoked";
    case audit_kind::grant_created:
      return "grant_created";
    case audit_kind::grant_changed:
      return "grant_changed";
    case audit_kind::grant_revoked:
      return "grant_revoked";
    case audit_kind::introspection_refused:
      return "introspection_refused";
  }
  return "unknown";
}

std::string to_json_line(const audit_event& event) {
  boost::json::object line;
  line["time"] = event.time;
  line["event"] = to_string(event.kind);
  if (!event.actor.empty()) line["actor"] = event.actor;
  if (!event.address.empty()) line["address"] = event.address;
  if (!event.audience.empty()) line["audience"] = event.audience;
  if (!event.subject.empty()) line["subject"] = event.subject;
  if (!event.detail.empty()) line["detail"] = event.detail;
  return boost::json::serialize(line);
}

file_audit_sink::file_audit_sink(const std::string& path) : file_(std::fopen(path.c_str(), "a")) {
  if (file_ == nullptr) throw std::runtime_error("cannot open audit log " + path);
}

file_audit_sink::~file_audit_sink() {
  std::fclose(file_);
}

void file_audit_sink::record(const audit_event& event) {
  const auto line = to_json_line(event);
  std::lock_guard lock(mutex_);
  std::fwrite(line.data(), 1, line.size(), file_);
  std::fputc('\n', file_);
  std::fflush(file_);
}

void memory_audit_sink::record(const audit_event& event) {
  std::lock_guard lock(mutex_);
  if (events_.size() >= capacity_) events_.erase(events_.begin());
  events_.push_back(event);
}

std::vector<audit_event> memory_audit_sink::events() const {
  std::lock_guard lock(mutex_);
  return events_;
}

}  // namespace acemq::as
