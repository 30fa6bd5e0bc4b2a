// Inbound PUBLISH (MQTT 5.0 3.3, 4.3): topic aliases, the checks a PUBLISH must pass, the
// principal's and $SYS refusals, routing, and the PUBACK / PUBREC that answers it; the flow
// control towards a publisher (congestion pause, max_publish_rate); and PUBLISH packets consumed
// by a publish_interceptor (RFC 9431 2.2.2 authz-info), whose verdict may arrive later.

#include "acemq/broker/connection_internal.hpp"

#include <algorithm>
#include <chrono>
#include <utility>

#include "acemq/broker/broker.hpp"
#include "acemq/broker/message_home.hpp"
#include "acemq/common/utf8.hpp"

namespace acemq::broker {

using detail::seconds;
using mqtt::protocol_version;
using mqtt::reason_code;

namespace {

const std::shared_ptr<const byte_vector>& empty_payload() {
  static const std::shared_ptr<const byte_vector> empty = std::make_shared<byte_vector>();
  return empty;
}

}  // namespace

namespace detail {

// The properties a broker forwards unchanged to subscribers [MQTT-3.3.2-17], [MQTT-3.3.2-18],
// [MQTT-3.3.2-20] (plus Content Type and Payload Format Indicator, MQTT 5.0 3.3.2.3.2/3.3.2.3.9).
std::shared_ptr<const mqtt::properties> forwarded_of(mqtt::properties& from) {
  mqtt::properties kept;
  kept.payload_format_indicator = from.payload_format_indicator;
  kept.content_type = std::move(from.content_type);
  kept.response_topic = std::move(from.response_topic);
  kept.correlation_data = std::move(from.correlation_data);
  kept.user_properties = std::move(from.user_properties);
  return forwarded_from(std::move(kept));
}

}  // namespace detail

using detail::forwarded_of;

// ---- PUBLISH, inbound ----

void connection::handle(mqtt::publish&& packet) {
  const broker_settings& settings = broker_.settings();
  const bool v5 = version_ == protocol_version::v5;
  if (v5 && packet.properties.topic_alias) {
    // MQTT 5.0 3.3.2.3.4, up to our Topic Alias Maximum (mqtt::inbound_topic_aliases).
    if (auto resolved = aliases().inbound.resolve(packet, settings.topic_alias_maximum);
        !resolved) {
      protocol_violation(resolved.error());
      return;
    }
  }
  if (packet.topic.empty()) {
    protocol_violation(v5 ? reason_code::protocol_error : reason_code::malformed_packet);
    return;
  }
  if (!check_name(packet.topic, limits())) {
    protocol_violation(reason_code::topic_name_invalid);  // MQTT 5.0 4.13: DISCONNECT 0x90
    return;
  }
  // [MQTT-3.2.2-11], [MQTT-3.2.2-14]: above what CONNACK advertised.
  if (packet.qos > settings.maximum_qos) {
    protocol_violation(reason_code::qos_not_supported);
    return;
  }
  if (packet.retain && !settings.retain_available) {
    protocol_violation(reason_code::retain_not_supported);
    return;
  }
  if (packet.qos > 0) {
    switch (session_->admit_inbound(packet.qos, packet.packet_id, settings.receive_maximum)) {
      case inbound_publish::fresh:
        break;
      case inbound_publish::duplicate: {
        // MQTT 5.0 4.3.3 (method B): acknowledged again, not routed again - exactly once.
        mqtt::pubrec again;
        again.packet_id = packet.packet_id;
        send_packet(std::move(again));
        return;
      }
      case inbound_publish::over_receive_maximum:
        protocol_violation(reason_code::receive_maximum_exceeded);  // [MQTT-3.3.4-7]
        return;
    }
  }

  if (listener_.interceptor && listener_.interceptor->intercepts(packet.topic)) {
    // Consumed by the interceptor before any authorization (RFC 9431 2.2.2: authz-info is
    // public), never routed nor retained.
    intercept(packet);
    return;
  }

  reason_code verdict = reason_code::success;
  // MQTT 5.0 3.3.2.3.2 (a MAY): a Payload Format Indicator of 1 with a payload that is not UTF-8
  // is refused with 0x99 - in the PUBACK/PUBREC at QoS 1/2, by DISCONNECT at QoS 0.
  if (v5 && packet.properties.payload_format_indicator.value_or(0) == 1 &&
      !is_valid_utf8(as_string_view(packet.payload_view()), true)) {
    if (packet.qos == 0) {
      protocol_violation(reason_code::payload_format_invalid);
      return;
    }
    verdict = reason_code::payload_format_invalid;
  }
  // MQTT 5.0 4.7.2 (the note to [MQTT-4.7.2-1]): '$' topics are the server's. $SYS is the
  // broker's own statistics, so no client may publish there: 0x87 at QoS 1/2 in MQTT 5; a QoS 0
  // message and (no reason codes) an MQTT 3.1.1 message are acknowledged as usual and dropped.
  if (verdict == reason_code::success && is_sys_topic(packet.topic)) {
    verdict = reason_code::not_authorized;
  }
  if (verdict == reason_code::success) {
    const reason_code allowed = principal_->may_publish(packet.topic);
    if (allowed != reason_code::success) {
      verdict = mqtt::refusal_for(mqtt::packet_type::puback, allowed);
      // RFC 9431 6.2: an ACE client's unauthorized 3.1.1 PUBLISH is ignored and disconnects.
      if (!v5 && (settings.v311_denied_publish == v311_denied_publish_policy::disconnect ||
                  principal_->disconnect_on_unacknowledged_refusal())) {
        close_transport();
        return;
      }
      // RFC 9431 3.1: an ACE client's unauthorized QoS 0 PUBLISH has no PUBACK to carry the
      // refusal: DISCONNECT with it (0x87, or 0x80 when topic names are hidden).
      if (v5 && packet.qos == 0 && principal_->disconnect_on_unacknowledged_refusal()) {
        disconnect_and_close(mqtt::refusal_for(mqtt::packet_type::disconnect, allowed));
        return;
      }
    }
  }

  std::size_t routed = 0;
  publish_feedback feedback;
  feedback.publisher = &session_;
  if (verdict == reason_code::success) {
    // Built in this thread's home, where it is freed or built again too (message_home.hpp).
    std::shared_ptr<message> content = message_home::of_this_thread().make();
    // The packet (this thread's, decoded into again) takes the kept message's topic capacity.
    content->topic.swap(packet.topic);
    content->payload = packet.payload ? std::move(packet.payload) : empty_payload();
    content->qos = packet.qos;
    content->retain = packet.retain;
    if (v5) {
      if (packet.properties.message_expiry_interval) {
        content->expires_at =
            broker_.time().now() + seconds(*packet.properties.message_expiry_interval);
      }
      content->forwarded = forwarded_of(packet.properties);
    }
    if (content->retain) {
      // RFC 9431 5: a retained message lives at most as long as the publisher's token.
      if (const auto ends = principal_->expires_at_unix()) {
        content->retain_until =
            retain_until_of(*ends, broker_.time().now(), broker_.time().unix_seconds());
      }
    }
    // Only a stored copy keeps the publisher's identifier (QoS 0 is stored only when retained).
    if (broker_.store() != nullptr && (content->qos > 0 || content->retain)) {
      content->publisher_client_id = client_id();
    }
    content->publisher_session = session_->id();
    if (route_batch* const batch = batching(); batch != nullptr && packet.qos == 0) {
      // Routed with the other QoS 0 messages of this read (route_batched()).
      if (batch->full()) route_batched();
      broker_.publish_later(std::move(content), *batch, feedback);
    } else {
      // Whatever this read batched before was routed when this packet arrived (handle_packet).
      routed = broker_.publish(content, &feedback);
    }
  }

  // MQTT 3.1.1 has no reason codes: a refused message is acknowledged and dropped (policy drop).
  // A retained message over the retained store's bounds is refused: 0x97 Quota exceeded.
  const reason_code ack = !v5                               ? reason_code::success
                          : verdict != reason_code::success ? verdict
                          : feedback.retained_refused       ? reason_code::quota_exceeded
                          : routed == 0                     ? reason_code::no_matching_subscribers
                                                            : reason_code::success;
  if (packet.qos == 1) {
    mqtt::puback reply;
    reply.packet_id = packet.packet_id;
    reply.reason_code = ack;
    send_packet(std::move(reply));
  } else if (packet.qos == 2) {
    // Recorded before the PUBREC is written (the network layer's persistence barrier), so a
    // retransmission after a restart is still recognised - exactly once (MQTT 5.0 4.3.3).
    if (!mqtt::is_error(ack)) session_->record_inbound_qos2(packet.packet_id);
    mqtt::pubrec reply;
    reply.packet_id = packet.packet_id;
    reply.reason_code = ack;
    send_packet(std::move(reply));
  }
  after_publish(feedback.congested);
}

void connection::after_publish(bool congested) {
  const broker_settings& settings = broker_.settings();
  const clock::time_point now = broker_.time().now();
  std::optional<clock::time_point> until;
  std::optional<clock::time_point> rate_until;
  if (congested) until = congestion_pause_until(now);
  if (settings.max_publish_rate > 0) {
    // Token bucket holding one second's worth of PUBLISH packets.
    const double rate = static_cast<double>(settings.max_publish_rate);
    occasional& bucket = more();
    const double elapsed = std::chrono::duration<double>(now - bucket.publish_tokens_at).count();
    bucket.publish_tokens = std::min(rate, bucket.publish_tokens + elapsed * rate) - 1.0;
    bucket.publish_tokens_at = now;
    if (bucket.publish_tokens < 0) {
      // Read nothing more until the bucket holds one token again (nothing is refused).
      const auto wait = std::chrono::duration_cast<clock::duration>(
          std::chrono::duration<double>((1.0 - bucket.publish_tokens) / rate));
      rate_until = now + wait;
      if (!until || *rate_until > *until) until = rate_until;
      broker_.counters().publish_rate_limited.fetch_add(1, std::memory_order_relaxed);
    }
  }
  if (until) throttle_until(*until, rate_until);
}

std::optional<clock::time_point> connection::congestion_pause_until(clock::time_point now) {
  const broker_settings& settings = broker_.settings();
  if (settings.congestion_pause.count() <= 0) return std::nullopt;
  // A connected subscriber is falling behind: slow this publisher down briefly rather than
  // acknowledge messages the subscriber's queue will have to drop.
  broker_.counters().publishers_throttled.fetch_add(1, std::memory_order_relaxed);
  return now + std::chrono::duration_cast<clock::duration>(settings.congestion_pause);
}

void connection::throttle_until(clock::time_point until,
                                std::optional<clock::time_point> rate_until) {
  if (state_ != state::connected) return;
  if (!throttled()) io_.pause_reading();
  if (!throttled() || until > throttled_until()) more().throttled_until = until;
  if (rate_until &&
      (!occasional_->rate_limited_until || *rate_until > *occasional_->rate_limited_until)) {
    occasional_->rate_limited_until = *rate_until;
  }
  rearm();
}

void connection::resume_after_congestion() {
  if (!throttled() || state_ != state::connected) return;
  // The congested subscribers have drained; only max_publish_rate may still hold reading back.
  if (occasional_->rate_limited_until && *occasional_->rate_limited_until > broker_.time().now()) {
    occasional_->throttled_until = *occasional_->rate_limited_until;
    rearm();
    return;
  }
  release_throttle();
}

void connection::release_throttle() {
  // A resume request that came after this pause ended must not end the next one. (Cleared here,
  // not when a pause starts: the subscriber may ask to resume before the pause that its request
  // ends has started, while the PUBLISH that found it congested is still being handled.)
  if (session_) (void)session_->take_resume_request();
  if (occasional_) {
    occasional_->throttled_until.reset();
    occasional_->rate_limited_until.reset();
    trim();
  }
  // The bytes held while paused come first; reading resumes only once they are all processed
  // (a replay that throttles again keeps the transport paused, so what is held stays bounded
  // by what the transport had already read).
  consume(byte_view{});
  if (state_ != state::closed && !throttled()) io_.resume_reading();
}

void connection::intercept(const mqtt::publish& packet) {
  const address_text remote = io_.remote_address();  // outlives the call below
  intercepted_publish upload;
  upload.topic = packet.topic;
  upload.payload = packet.payload_view();
  upload.qos = packet.qos;
  upload.version = version_;
  upload.remote_address = remote.view();
  upload.client_id = client_id();
  upload.tls = io_.tls();
  const std::uint16_t packet_id = packet.packet_id;
  const std::uint8_t qos = packet.qos;
  awaiting_interceptor_ = true;
  // From any thread: the verdict is applied on the connection's thread (right after the call
  // when it comes inside it).
  ensure_intercept_relay().run(
      [&](completion_relay<intercept_verdict>::completion done) {
        listener_.interceptor->on_publish(upload, std::move(done));
      },
      [this, packet_id, qos](intercept_verdict verdict) {
        on_intercept_verdict(packet_id, qos, verdict);
        release_relay_if_idle();
      });
  release_relay_if_idle();
}

void connection::on_intercept_verdict(std::uint16_t packet_id, std::uint8_t qos,
                                      intercept_verdict verdict) {
  if (state_ != state::connected || !awaiting_interceptor_) return;
  awaiting_interceptor_ = false;
  const bool v5 = version_ == protocol_version::v5;
  const bool refused = mqtt::is_error(verdict.reason);
  if (refused && verdict.disconnect) {
    // RFC 9431 2.2.2: at QoS 0 the only way to tell the client is DISCONNECT (0x87 invalid
    // token, 0x99 not a token); 3.1.1 just closes.
    disconnect_and_close(mqtt::refusal_for(mqtt::packet_type::disconnect, verdict.reason));
    return;
  }
  // RFC 9431 2.2.2: at QoS 1/2 the verdict travels in PUBACK/PUBREC. MQTT 3.1.1 has no reason
  // codes (RFC 9431 6.1: the broker cannot communicate the result).
  const reason_code ack = !v5 || !refused
                              ? reason_code::success
                              : mqtt::refusal_for(mqtt::packet_type::puback, verdict.reason);
  if (qos == 1) {
    mqtt::puback reply;
    reply.packet_id = packet_id;
    reply.reason_code = ack;
    send_packet(std::move(reply));
  } else if (qos == 2) {
    // The PUBREL that follows is answered with PUBCOMP like any QoS 2 exchange.
    if (!mqtt::is_error(ack) && session_) session_->record_inbound_qos2(packet_id);
    mqtt::pubrec reply;
    reply.packet_id = packet_id;
    reply.reason_code = ack;
    send_packet(std::move(reply));
  }
  // The packets held back meanwhile.
  consume({});
}

}  // namespace acemq::broker
