#pragma once
// The principal of a client authenticated by an ACE token (RFC 9431 2.3 and 3): the
// precompiled AIF scope and the token's expiry. Every check is allocation-free and lock-free.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "acemq/ace/validation.hpp"
#include "acemq/broker/auth_provider.hpp"
#include "acemq/common/clock.hpp"
#include "acemq/mqtt/reason_code.hpp"

namespace acemq::ace {

/// Who a token was issued to: {"ace", its issuer, its `client_id` claim, else its `sub`, else
/// (a token that names no client) its own hash}. Never the PoP key: a client that rotates its key
/// with a new token stays the same holder. Views into `token`.
broker::principal_identity holder_of(const validated_token& token) noexcept;

class ace_principal final : public broker::principal {
 public:
  /// `hide_topic_names`: answer refusals with 0x80 instead of 0x87 (RFC 9431 3.1, 3.3 MAY).
  /// `time` must outlive the principal (RFC 9431 4: expiry is checked on every PUBLISH and
  /// SUBSCRIBE, and on every delivery).
  ace_principal(validated_token_ptr token, std::string client_id, bool hide_topic_names,
                const clock& time);

  /// "ace:" + client id + the redacted token hash; never the token.
  std::string_view name() const override { return name_; }
  /// The token's holder (holder_of).
  broker::principal_identity identity() const override { return holder_of(*token_); }
  /// RFC 9431 3.1: the topic name must match a "pub" filter of the scope.
  mqtt::reason_code may_publish(std::string_view topic) const override;
  /// RFC 9431 3.3: the filter must equal or be a subset of a "sub" filter.
  mqtt::reason_code may_subscribe(std::string_view filter) const override;
  /// RFC 9431 3.2: a delivery needs a valid token whose "sub" filters match the topic.
  bool may_receive(std::string_view topic) const override;
  /// The token's exp, or the revocation time once the token was revoked.
  std::optional<std::int64_t> expires_at_unix() const override { return token_->ends_at(); }

  /// True once the token expired or the AS revocation list named it.
  bool ended() const noexcept { return time_->unix_seconds() >= token_->ends_at(); }
  /// True once the AS revocation list named the token (the connection then ends, RFC 9431 3.2).
  bool revoked() const noexcept override { return token_->revoked(); }
  /// RFC 9431 3.2 / 6.2: a delivery the token does not allow closes the connection (0x87).
  bool disconnect_on_denied_delivery() const override { return true; }
  /// RFC 9431 3.1 / 6.2: an unauthorized MQTT 5 QoS 0 PUBLISH gets DISCONNECT 0x87 (0x80 with
  /// hide_topic_names); an unauthorized MQTT 3.1.1 PUBLISH is ignored and the client disconnected.
  bool disconnect_on_unacknowledged_refusal() const override { return true; }
  const validated_token& token() const noexcept { return *token_; }
  const validated_token_ptr& shared_token() const noexcept { return token_; }

 private:
  mqtt::reason_code refusal() const noexcept;

  validated_token_ptr token_;
  std::string name_;
  bool hide_topic_names_;
  const clock* time_;
};

}  // namespace acemq::ace
