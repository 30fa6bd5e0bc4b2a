#include <acemq/mqtt/topic_alias.hpp>

#include <utility>

namespace acemq::mqtt {

result<void, reason_code> inbound_topic_aliases::resolve(publish& packet, std::uint16_t maximum) {
  if (!packet.properties.topic_alias) return {};
  const std::uint16_t alias = *packet.properties.topic_alias;
  // [MQTT-3.3.2-8], [MQTT-3.3.2-9], [MQTT-3.3.2-10]: 0 or above the announced maximum.
  if (alias == 0 || alias > maximum) return unexpected{reason_code::topic_alias_invalid};
  if (!packet.topic.empty()) {
    topics_[alias] = packet.topic;
  } else {
    const auto known = topics_.find(alias);
    // MQTT 5.0 3.3.2.3.4: an alias with no mapping and no Topic Name is a Protocol Error.
    if (known == topics_.end()) return unexpected{reason_code::protocol_error};
    packet.topic = known->second;
  }
  packet.properties.topic_alias.reset();
  return {};
}

std::uint16_t outbound_topic_aliases::apply(publish& packet, std::uint16_t maximum) const {
  if (maximum == 0) return 0;
  if (const auto known = aliases_.find(packet.topic); known != aliases_.end()) {
    packet.properties.topic_alias = known->second;
    packet.topic.clear();
    return 0;
  }
  if (aliases_.size() >= maximum) return 0;
  const auto alias = static_cast<std::uint16_t>(aliases_.size() + 1);
  packet.properties.topic_alias = alias;
  return alias;
}

void outbound_topic_aliases::remember(std::string topic, std::uint16_t alias) {
  if (alias != 0) aliases_.emplace(std::move(topic), alias);
}

}  // namespace acemq::mqtt
