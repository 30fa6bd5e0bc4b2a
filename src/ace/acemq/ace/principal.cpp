#include "acemq/ace/principal.hpp"

#include <utility>

#include "acemq/common/log.hpp"

namespace acemq::ace {

ace_principal::ace_principal(validated_token_ptr token, std::string client_id,
                             bool hide_topic_names, const clock& time)
    : token_(std::move(token)), hide_topic_names_(hide_topic_names), time_(&time) {
  name_ = "ace:" + client_id + ":" + log::redact(token_->hash);
}

mqtt::reason_code ace_principal::refusal() const noexcept {
  // RFC 9431 3.1 / 3.3: 0x80 Unspecified error MAY replace 0x87 so topic names do not leak.
  return hide_topic_names_ ? mqtt::reason_code::unspecified_error
                           : mqtt::reason_code::not_authorized;
}

mqtt::reason_code ace_principal::may_publish(std::string_view topic) const {
  // RFC 9431 4: an expired or revoked token authorises nothing (the connection is also closed at
  // ends_at()).
  if (ended()) return mqtt::reason_code::not_authorized;
  return token_->claims.scope.allows_publish(topic) ? mqtt::reason_code::success : refusal();
}

mqtt::reason_code ace_principal::may_subscribe(std::string_view filter) const {
  if (ended()) return mqtt::reason_code::not_authorized;
  return token_->claims.scope.allows_subscribe(filter) ? mqtt::reason_code::success : refusal();
}

bool ace_principal::may_receive(std::string_view topic) const {
  return !ended() && token_->claims.scope.allows_delivery(topic);
}

}  // namespace acemq::ace
