#include "acemq/ace/authz_info.hpp"

#include <spdlog/spdlog.h>

#include <utility>

#include "acemq/common/log.hpp"

namespace acemq::ace {

authz_info_handler::authz_info_handler(token_validator& validator, token_store& store)
    : validator_(validator), store_(store) {}

authz_info_verdict authz_info_handler::verdict_for(std::optional<rejection> why, std::uint8_t qos,
                                                   mqtt::protocol_version version) {
  authz_info_verdict verdict;
  verdict.why = why;
  if (!why) return verdict;
  // RFC 9431 6.1: MQTT 3.1.1 cannot carry the result; the client learns it when it connects.
  if (version != mqtt::protocol_version::v5) return verdict;
  switch (*why) {
    case rejection::not_a_token:
      // RFC 9431 2.2.2: "does not parse to a token" -> 0x99 Payload format invalid.
      verdict.reason = mqtt::reason_code::payload_format_invalid;
      break;
    case rejection::rate_limited:
      // Not in RFC 9431: the flood defence of section 8. QoS 0 has only DISCONNECT, where 0x96
      // names the cause; PUBACK/PUBREC may carry 0x97.
      verdict.reason =
          qos == 0 ? mqtt::reason_code::message_rate_too_high : mqtt::reason_code::quota_exceeded;
      break;
    default:
      // RFC 9431 2.2.2: not valid, or the claims cannot be obtained -> 0x87.
      verdict.reason = mqtt::reason_code::not_authorized;
      break;
  }
  verdict.disconnect = qos == 0;
  return verdict;
}

void authz_info_handler::on_publish(const authz_info_upload& upload, completion done) {
  const std::uint8_t qos = upload.qos;
  const mqtt::protocol_version version = upload.version;
  // Section 8: the public topic is a DoS target. The rate is charged before any crypto runs.
  if (!store_.allow_upload(upload.remote_address)) {
    done(verdict_for(rejection::rate_limited, qos, version));
    return;
  }
  std::string client_id(upload.client_id);
  token_store& store = store_;
  validator_.validate(upload.payload, [&store, client_id = std::move(client_id), qos, version,
                                       done = std::move(done)](token_validator::outcome outcome) {
    if (!outcome) {
      spdlog::info("ace: authz-info upload refused: {}", to_string(outcome.error().reason));
      done(verdict_for(outcome.error().reason, qos, version));
      return;
    }
    // RFC 9431 2.2.2: stored and indexed; one token per PoP key, and never in place of another
    // client's token (0x87).
    if (!store.put(*outcome, client_id)) {
      spdlog::info("ace: authz-info upload refused: {}", to_string(rejection::key_held_by_another));
      done(verdict_for(rejection::key_held_by_another, qos, version));
      return;
    }
    spdlog::debug("ace: authz-info stored token {}", log::redact((*outcome)->hash));
    done(verdict_for(std::nullopt, qos, version));
  });
}

void authz_info_interceptor::on_publish(const broker::intercepted_publish& publish,
                                        completion done) {
  authz_info_upload upload;
  upload.payload = publish.payload;
  upload.qos = publish.qos;
  upload.version = publish.version;
  upload.remote_address = publish.remote_address;
  upload.client_id = publish.client_id;
  handler_.on_publish(upload, [done = std::move(done)](authz_info_verdict verdict) {
    done(broker::intercept_verdict{verdict.reason, verdict.disconnect});
  });
}

}  // namespace acemq::ace
