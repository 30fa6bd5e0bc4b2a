// SUBSCRIBE and UNSUBSCRIBE (MQTT 5.0 3.8 - 3.11): each filter checked, authorized and added,
// the SUBACK / UNSUBACK with a reason code per filter, and retained messages sent as Retain
// Handling asks (3.8.3.1).

#include "acemq/broker/connection_internal.hpp"

#include <algorithm>
#include <utility>
#include <vector>

#include "acemq/broker/broker.hpp"
#include "acemq/common/topic.hpp"

namespace acemq::broker {

using mqtt::protocol_version;
using mqtt::reason_code;

namespace {

bool has_wildcard(std::string_view filter) {
  return filter.find_first_of("+#") != std::string_view::npos;
}

}  // namespace

// ---- SUBSCRIBE / UNSUBSCRIBE ----

void connection::handle(const mqtt::subscribe& packet) {
  const broker_settings& settings = broker_.settings();
  const bool v5 = version_ == protocol_version::v5;
  std::uint32_t identifier = 0;
  if (!packet.properties.subscription_identifiers.empty()) {
    // MQTT 5.0 3.8.2.1.2: refused by DISCONNECT 0xA1 when not advertised as available.
    if (!settings.subscription_identifier_available) {
      protocol_violation(reason_code::subscription_identifiers_not_supported);
      return;
    }
    identifier = packet.properties.subscription_identifiers.front();
  }
  mqtt::suback reply;
  reply.packet_id = packet.packet_id;  // [MQTT-3.8.4-2]
  reply.reason_codes.reserve(packet.subscriptions.size());
  std::vector<std::pair<std::string_view, subscription_options>> retained_wanted;
  for (const mqtt::subscription& entry : packet.subscriptions) {
    const std::string_view filter = entry.filter;
    if (!check_filter(filter, limits())) {
      reply.reason_codes.push_back(reason_code::topic_filter_invalid);
      continue;
    }
    const topic::shared_parse shared = topic::parse_shared(filter);
    if (shared.is_shared && entry.options.no_local) {
      // [MQTT-3.8.3-4]: No Local on a shared subscription is a protocol error.
      protocol_violation(reason_code::protocol_error);
      return;
    }
    if (shared.is_shared && !settings.shared_subscription_available) {
      reply.reason_codes.push_back(reason_code::shared_subscriptions_not_supported);
      continue;
    }
    if (has_wildcard(shared.is_shared ? shared.parts.filter : filter) &&
        !settings.wildcard_subscription_available) {
      reply.reason_codes.push_back(reason_code::wildcard_subscriptions_not_supported);
      continue;
    }
    if (listener_.interceptor && listener_.interceptor->refuses_subscription(filter)) {
      // RFC 9431 2.2.2: authz-info is publish-only.
      reply.reason_codes.push_back(reason_code::not_authorized);
      continue;
    }
    if (const reason_code allowed = principal_->may_subscribe(filter);
        allowed != reason_code::success) {
      reply.reason_codes.push_back(mqtt::refusal_for(mqtt::packet_type::suback, allowed));
      continue;
    }
    subscription_options options;
    // [MQTT-3.2.2-9]: granted QoS capped at the Maximum QoS.
    options.maximum_qos = std::min(entry.options.maximum_qos, settings.maximum_qos);
    options.no_local = entry.options.no_local;
    options.retain_as_published = entry.options.retain_as_published;
    options.retain_handling = static_cast<std::uint8_t>(entry.options.retain_handling);
    options.identifier = identifier;
    const subscribe_result added = broker_.subscribe(*session_, filter, options);
    if (added.reason != reason_code::success) {
      reply.reason_codes.push_back(added.reason);
      continue;
    }
    reply.reason_codes.push_back(static_cast<reason_code>(options.maximum_qos));
    // MQTT 5.0 3.8.3.1 Retain Handling; none for shared subscriptions (4.8.2).
    const auto handling = entry.options.retain_handling;
    const bool send =
        !shared.is_shared &&
        (handling == mqtt::retain_handling::send_on_subscribe ||
         (handling == mqtt::retain_handling::send_on_new_subscription && !added.existed));
    if (send && settings.retain_available) retained_wanted.emplace_back(filter, options);
  }
  if (!v5) {
    // MQTT 3.1.1 SUBACK knows only 0x00..0x02 and 0x80 [MQTT-3.9.3-2].
    for (reason_code& code : reply.reason_codes) {
      if (mqtt::is_error(code)) code = reason_code::unspecified_error;
    }
  }
  send_packet(std::move(reply));
  for (const auto& [filter, options] : retained_wanted) {
    broker_.send_retained(*session_, filter, options);
  }
  pump();
}

void connection::handle(const mqtt::unsubscribe& packet) {
  mqtt::unsuback reply;
  reply.packet_id = packet.packet_id;  // [MQTT-3.10.4-4]
  reply.reason_codes.reserve(packet.filters.size());
  for (const std::string& filter : packet.filters) {
    if (!check_filter(filter, limits())) {
      reply.reason_codes.push_back(reason_code::topic_filter_invalid);
      continue;
    }
    // [MQTT-3.10.4-5]: UNSUBACK even when nothing was removed (0x11 in v5).
    reply.reason_codes.push_back(broker_.unsubscribe(*session_, filter)
                                     ? reason_code::success
                                     : reason_code::no_subscription_existed);
  }
  send_packet(std::move(reply));
}

}  // namespace acemq::broker
