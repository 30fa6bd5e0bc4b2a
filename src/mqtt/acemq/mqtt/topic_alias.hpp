#pragma once
// Topic aliases (MQTT 5.0 section 3.3.2.3.4): a number that stands for a Topic Name on one
// network connection, in each direction separately, up to the Topic Alias Maximum the receiving
// side announced. The rules are the same for a client and a server, so both sides of the
// project use these two tables.

#include <acemq/common/result.hpp>
#include <acemq/mqtt/publish.hpp>
#include <acemq/mqtt/reason_code.hpp>

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>

namespace acemq::mqtt {

/// The aliases a peer sends to us: alias -> Topic Name. Holds nothing until the first alias.
class inbound_topic_aliases {
 public:
  /// Resolves the Topic Alias of a received PUBLISH in place and removes the property: a Topic
  /// Name with an alias (re)defines the alias; an empty Topic Name takes the alias's topic.
  /// Errors: topic_alias_invalid for 0 or an alias above `maximum`, the Topic Alias Maximum we
  /// announced [MQTT-3.3.2-8], [MQTT-3.3.2-9], [MQTT-3.3.2-10]; protocol_error for an empty
  /// Topic Name with an alias never defined on this connection.
  result<void, reason_code> resolve(publish& packet, std::uint16_t maximum);

 private:
  std::unordered_map<std::uint16_t, std::string> topics_;
};

/// The aliases we send: Topic Name -> alias, numbered 1, 2, ... in order of first use and never
/// redefined, up to the peer's Topic Alias Maximum.
class outbound_topic_aliases {
 public:
  /// Puts the alias for `packet.topic` into the packet: a topic the peer already knows is sent
  /// as an empty Topic Name plus its alias; a new one gets the next alias while fewer than
  /// `maximum` are in use. Returns that new alias, which takes effect only once remember()ed
  /// (after the packet really went out); 0 when nothing is new.
  std::uint16_t apply(publish& packet, std::uint16_t maximum) const;

  /// Records `alias` (from apply()) for `topic`.
  void remember(std::string topic, std::uint16_t alias);

 private:
  std::unordered_map<std::string, std::uint16_t> aliases_;
};

}  // namespace acemq::mqtt
