#include "acemq/ace/principal.hpp"

#include <utility>

#include "acemq/common/log.hpp"

namespace acemq::ace {

ace_principal::ace_principal(validated_token_ptr token, std::string client_id,
                             bool hide_topic_names, const clock& time)
    : token_(std::move(token)), hide_topic_names_(hide_topic_names), time_(&time) {
  name_ = "ace:" + client_id + ":" + log::redact(token_->hash);
}

broker::principal_identity holder_of(const validated_token& token) noexcept {
  const token::claims& claims = token.claims;
  std::string_view subject = token.hash_text;
  if (claims.client_id) {
    subject = *claims.client_id;
  } else if (claims.subject) {
    subject = *claims.subject;
  }
  return {"ace", claims.issuer ? std::string_view(*claims.issuer) : std::string_view{}, subject};
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
