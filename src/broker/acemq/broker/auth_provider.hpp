#pragma once
// Authentication and authorization providers (conventions 5). The connection machine talks only to
// these interfaces; ACE, password, certificate and JWT providers plug in behind them.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "acemq/common/bytes.hpp"
#include "acemq/mqtt/reason_code.hpp"
#include "acemq/mqtt/version.hpp"

namespace acemq::broker {

/// What a provider may learn about the TLS session, without touching the socket. Implemented by
/// the network layer over its TLS stream.
class tls_facts {
 public:
  virtual ~tls_facts() = default;
  /// RFC 5705 / RFC 8446 7.5 exporter; `use_context` is honoured exactly (RFC 9431 uses an empty
  /// context with use_context = true). nullopt when the exporter fails.
  virtual std::optional<byte_vector> export_keying_material(std::string_view label,
                                                            byte_view context, bool use_context,
                                                            std::size_t length) const = 0;
  /// The verified peer certificate (PEM), when the client presented one.
  virtual std::optional<std::string> peer_certificate_pem() const = 0;
  /// Subject common name of the verified peer certificate.
  virtual std::optional<std::string> peer_subject_common_name() const = 0;
  /// DNS, IP and URI subject alternative names of the verified peer certificate.
  virtual std::vector<std::string> peer_subject_alternative_names() const = 0;
  /// The PSK identity when the handshake used a pre-shared key.
  virtual std::optional<std::string> psk_identity() const = 0;
  /// Negotiated protocol name, e.g. "TLSv1.3".
  virtual std::string_view protocol() const = 0;
};

/// Everything a provider sees of a CONNECT (or of an AUTH packet continuing it).
struct authentication_request {
  mqtt::protocol_version version = mqtt::protocol_version::v5;
  std::string client_id;
  std::optional<std::string> username;
  std::optional<byte_vector> password;
  /// Authentication Method (0x15); MQTT 5 enhanced authentication only.
  std::optional<std::string> method;
  /// Authentication Data (0x16) of the CONNECT or of the latest AUTH packet.
  std::optional<byte_vector> data;
  /// Null on plain TCP. Valid only during the provider call; copy what is needed.
  const tls_facts* tls = nullptr;
  std::string remote_address;
  std::string listener_name;
  std::optional<std::string> will_topic;
  /// User properties of the CONNECT / AUTH packet.
  std::vector<std::pair<std::string, std::string>> user_properties;
};

/// Who a principal is: the provider that checked the credential and the identity it proved
/// (docs/authentication.md, "Principals"). A session and its client identifier belong to the
/// identity that created them; another identity is refused (broker::attach). Views into the
/// principal: valid while it lives.
struct principal_identity {
  /// The provider: "password", "certificate", "device-jwt", "ace", "anonymous" or "public".
  std::string_view provider;
  /// Who vouches for `subject` besides the provider: an ACE token's issuer; empty otherwise.
  std::string_view issuer;
  /// The identity proved: the user name, the certificate's mapped identity, the device id, the
  /// client an ACE token was issued to; empty for "anonymous" and "public", which are one
  /// principal each whatever the client claims.
  std::string_view subject;

  friend bool operator==(const principal_identity&, const principal_identity&) = default;
};

/// A principal_identity that owns its text: what a stored session records of its owner.
struct owned_identity {
  std::string provider;
  std::string issuer;
  std::string subject;

  owned_identity() = default;
  explicit owned_identity(const principal_identity& of)
      : provider(of.provider), issuer(of.issuer), subject(of.subject) {}
  principal_identity view() const noexcept { return {provider, issuer, subject}; }
};

/// What an authenticated client may do. Created by an authenticator, held by the connection (and
/// its session, for offline deliveries) and consulted on every PUBLISH, every SUBSCRIBE filter and
/// every delivery, so it must be cheap and thread-safe (const methods, no locks on the hot path).
class principal {
 public:
  virtual ~principal() = default;
  /// A name for logs (never a secret).
  virtual std::string_view name() const = 0;
  /// Who proved themselves: sessions are bound to it (broker::attach), a re-authentication must
  /// prove the same identity.
  virtual principal_identity identity() const = 0;
  /// success, or the reason code to return (typically not_authorized 0x87).
  virtual mqtt::reason_code may_publish(std::string_view topic) const = 0;
  /// success, or the reason code for this SUBSCRIBE filter (typically 0x87).
  virtual mqtt::reason_code may_subscribe(std::string_view filter) const = 0;
  /// Whether a message on `topic` may be delivered to this client (checked on every delivery).
  virtual bool may_receive(std::string_view topic) const = 0;
  /// When the grant ends (seconds since the epoch), e.g. a token's exp; nullopt = never. The
  /// connection re-reads it on every wake and timer, so a principal may move it earlier (e.g. to
  /// the revocation time) and wake the connection (broker::wake_all / wake_if).
  virtual std::optional<std::int64_t> expires_at_unix() const = 0;
  /// True once the grant was withdrawn before its expiry (e.g. the token was revoked): the
  /// connection then ends as at expiry (RFC 9431 3.2: v5 DISCONNECT 0x87, 3.1.1 close).
  virtual bool revoked() const { return false; }
  /// Whether a delivery refused by may_receive() ends the connection (RFC 9431 3.2 and 6.2: v5
  /// DISCONNECT 0x87, 3.1.1 close) instead of being dropped silently (the ACL behaviour of
  /// mosquitto, the default).
  virtual bool disconnect_on_denied_delivery() const { return false; }
  /// Whether a PUBLISH refused by may_publish() that no acknowledgement can report ends the
  /// connection: RFC 9431 3.1 (an MQTT 5 QoS 0 PUBLISH: DISCONNECT with the refusal's reason,
  /// 0x87 or 0x80) and 6.2 (MQTT 3.1.1, any QoS: "MUST ignore and disconnect"), whatever the
  /// broker's v311_denied_publish policy says. False: such a PUBLISH is dropped silently.
  virtual bool disconnect_on_unacknowledged_refusal() const { return false; }
};

/// The outcome of one authentication step.
struct auth_step {
  enum class kind : std::uint8_t {
    success = 0x00,        // authenticated: `who` is set
    continue_with = 0x01,  // send AUTH 0x18 with `data` and wait for the client's AUTH
    failure = 0x02,        // refuse with `reason`
    next_provider = 0x03,  // this provider does not handle the request
  };
  kind what = kind::failure;
  /// For failure: the CONNACK / DISCONNECT reason (e.g. not_authorized, bad_user_name_or_password).
  mqtt::reason_code reason = mqtt::reason_code::not_authorized;
  /// Authentication Data to send (AUTH 0x18, or CONNACK/AUTH 0x00 on success).
  std::optional<byte_vector> data;
  std::shared_ptr<const principal> who;
  /// Extra user properties for the CONNACK/AUTH, e.g. an ACE "AS Request Creation Hint".
  std::vector<std::pair<std::string, std::string>> user_properties;

  static auth_step succeed(std::shared_ptr<const principal> who,
                           std::optional<byte_vector> data = std::nullopt);
  static auth_step fail(mqtt::reason_code reason);
  static auth_step continue_exchange(byte_vector data);
  static auth_step pass();
};

/// One authentication provider. Each call may complete synchronously (inside the call) or later
/// from any thread; `done` is called exactly once per call. `request` is valid only during the
/// call: a provider that completes later copies what it needs.
class authenticator {
 public:
  using completion = std::function<void(auth_step)>;
  virtual ~authenticator() = default;
  virtual std::string_view name() const = 0;
  /// CONNECT received.
  virtual void start(const authentication_request& request, completion done) = 0;
  /// AUTH 0x18 from the client during the CONNECT exchange or a re-authentication.
  virtual void continue_auth(const authentication_request& request, completion done) = 0;
  /// AUTH 0x19 from the client: re-authenticate within the connection (MQTT 5 section 4.12.1).
  virtual void reauthenticate(const authentication_request& request, completion done) = 0;
  /// The connection (listener, remote address and port) whose exchange this provider owns
  /// closed: what the provider holds for it (an outstanding challenge) goes now, not at a
  /// timeout. May come more than once, and after a step that completed late. A provider that
  /// wraps another forwards it.
  virtual void connection_closed(std::string_view listener_name, std::string_view remote_address) {
    (void)listener_name;
    (void)remote_address;
  }
};

/// A principal that may do everything; used by allow_anonymous. Every one is the identity
/// {"anonymous"}: a user name an anonymous client sends is a name for logs, not a proof.
class unrestricted_principal final : public principal {
 public:
  explicit unrestricted_principal(std::string name) : name_(std::move(name)) {}
  std::string_view name() const override { return name_; }
  principal_identity identity() const override { return {"anonymous", {}, {}}; }
  mqtt::reason_code may_publish(std::string_view) const override;
  mqtt::reason_code may_subscribe(std::string_view) const override;
  bool may_receive(std::string_view) const override { return true; }
  std::optional<std::int64_t> expires_at_unix() const override { return std::nullopt; }

 private:
  std::string name_;
};

/// What an anonymous client may do: publish to, subscribe to and receive the topics that one of
/// `topics` (topic filters) matches, nothing else; every topic when `topics` is nullopt. Its
/// identity is {"anonymous"}.
class anonymous_principal final : public principal {
 public:
  explicit anonymous_principal(std::optional<std::vector<std::string>> topics)
      : topics_(std::move(topics)) {}
  std::string_view name() const override { return "anonymous"; }
  principal_identity identity() const override { return {"anonymous", {}, {}}; }
  mqtt::reason_code may_publish(std::string_view topic) const override;
  mqtt::reason_code may_subscribe(std::string_view filter) const override;
  bool may_receive(std::string_view topic) const override;
  std::optional<std::int64_t> expires_at_unix() const override { return std::nullopt; }

 private:
  std::optional<std::vector<std::string>> topics_;
};

/// Accepts any client that does not ask for enhanced authentication (no Authentication Method)
/// with one anonymous_principal. Enabled by configuration (`auth.allow_anonymous`), confined to
/// `auth.anonymous_topics` (by default the public subtree "public/#").
class allow_anonymous final : public authenticator {
 public:
  /// `topics`: the topic filters anonymous clients may use (a `$` topic only through a filter
  /// that names it [MQTT-4.7.2-1]); nullopt: every topic.
  explicit allow_anonymous(std::optional<std::vector<std::string>> topics = std::nullopt);
  std::string_view name() const override { return "allow_anonymous"; }
  void start(const authentication_request& request, completion done) override;
  void continue_auth(const authentication_request& request, completion done) override;
  void reauthenticate(const authentication_request& request, completion done) override;

 private:
  // Immutable and the same for every anonymous client: one shared instance.
  std::shared_ptr<const principal> anonymous_;
};

/// A principal that may do nothing: no PUBLISH (0x87), no SUBSCRIBE (0x87), no delivery. A
/// client holding it can still publish to topics a publish_interceptor consumes (RFC 9431 2.2.2:
/// "authz-info" is public), which run before the principal is asked.
class public_only_principal final : public principal {
 public:
  std::string_view name() const override { return "public-only"; }
  principal_identity identity() const override { return {"public", {}, {}}; }
  mqtt::reason_code may_publish(std::string_view) const override {
    return mqtt::reason_code::not_authorized;
  }
  mqtt::reason_code may_subscribe(std::string_view) const override {
    return mqtt::reason_code::not_authorized;
  }
  bool may_receive(std::string_view) const override { return false; }
  std::optional<std::int64_t> expires_at_unix() const override { return std::nullopt; }
};

/// The owner of a session restored from the store, until that owner connects again: only its
/// identity is known, so it may not publish or subscribe. Deliveries are queued for it as they
/// were before the restart and checked against the owner's new principal when it resumes the
/// session (connection::narrow_to_principal).
class restored_principal final : public principal {
 public:
  explicit restored_principal(owned_identity owner) : owner_(std::move(owner)) {}
  std::string_view name() const override { return owner_.subject; }
  principal_identity identity() const override { return owner_.view(); }
  mqtt::reason_code may_publish(std::string_view) const override {
    return mqtt::reason_code::not_authorized;
  }
  mqtt::reason_code may_subscribe(std::string_view) const override {
    return mqtt::reason_code::not_authorized;
  }
  bool may_receive(std::string_view) const override { return true; }
  std::optional<std::int64_t> expires_at_unix() const override { return std::nullopt; }

 private:
  owned_identity owner_;
};

/// RFC 9431 2.2.1 "TLS:Anon,MQTT:None": accepts a client that presents no credentials at all (no
/// Authentication Method, no user name, no password) over TLS, with a public_only_principal, so it
/// can publish its token to "authz-info" (RFC 9431 2.2.2) and nothing else. Any client that does
/// present credentials is left to the next provider; place it after the real providers.
class public_topics_only final : public authenticator {
 public:
  /// `require_tls`: RFC 9431 2.2.2 has the client use TLS; false also admits plain TCP clients.
  explicit public_topics_only(bool require_tls = true) : require_tls_(require_tls) {}
  std::string_view name() const override { return "public_topics_only"; }
  void start(const authentication_request& request, completion done) override;
  void continue_auth(const authentication_request& request, completion done) override;
  void reauthenticate(const authentication_request& request, completion done) override;

 private:
  bool require_tls_;
};

/// Refuses everything: the last resort of a chain (0x87 in v5, return code 5 in 3.1.1; 0x8C
/// Bad authentication method for a CONNECT naming a method no provider before it supports).
class deny_all final : public authenticator {
 public:
  std::string_view name() const override { return "deny_all"; }
  void start(const authentication_request& request, completion done) override;
  void continue_auth(const authentication_request& request, completion done) override;
  void reauthenticate(const authentication_request& request, completion done) override;
};

/// Providers tried in order. `next_provider` defers to the next one; the provider that answers
/// anything else owns the exchange (its index is reported so AUTH packets go back to it). When
/// every provider passes: 0x8C bad_authentication_method if the client named a method, else
/// 0x87 not_authorized (MQTT 5 section 4.12). Immutable after construction; thread-safe.
class auth_chain {
 public:
  /// `done(step, owner)`: the final step and the index of the provider that produced it.
  using completion = std::function<void(auth_step, std::size_t owner)>;

  explicit auth_chain(std::vector<std::shared_ptr<authenticator>> providers);

  /// Runs the chain for a CONNECT.
  void start(const authentication_request& request, completion done) const;
  /// Hands AUTH 0x18 to the provider that owns the exchange; a `next_provider` answer from it is
  /// treated as failure 0x87.
  void continue_auth(std::size_t owner, const authentication_request& request,
                     completion done) const;
  /// Hands AUTH 0x19 to the provider that owns the connection's authentication.
  void reauthenticate(std::size_t owner, const authentication_request& request,
                      completion done) const;

  /// Tells the provider that owns a connection's exchange that the connection closed.
  void connection_closed(std::size_t owner, std::string_view listener_name,
                         std::string_view remote_address) const;

  std::size_t size() const { return providers_->size(); }

 private:
  using provider_list = std::vector<std::shared_ptr<authenticator>>;
  // Asynchronous steps keep the list alive through this pointer, not through `this`.
  static void run_from(std::shared_ptr<const provider_list> providers, std::size_t index,
                       std::shared_ptr<const authentication_request> request, completion done);

  std::shared_ptr<const provider_list> providers_;
};

}  // namespace acemq::broker
