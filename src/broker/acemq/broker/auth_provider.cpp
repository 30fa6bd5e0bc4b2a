#include "acemq/broker/auth_provider.hpp"

#include <utility>

#include "acemq/common/topic.hpp"

namespace acemq::broker {

auth_step auth_step::succeed(std::shared_ptr<const principal> who,
                             std::optional<byte_vector> data) {
  auth_step step;
  step.what = kind::success;
  step.reason = mqtt::reason_code::success;
  step.who = std::move(who);
  step.data = std::move(data);
  return step;
}

auth_step auth_step::fail(mqtt::reason_code reason) {
  auth_step step;
  step.what = kind::failure;
  step.reason = reason;
  return step;
}

auth_step auth_step::continue_exchange(byte_vector data) {
  auth_step step;
  step.what = kind::continue_with;
  step.reason = mqtt::reason_code::continue_authentication;
  step.data = std::move(data);
  return step;
}

auth_step auth_step::pass() {
  auth_step step;
  step.what = kind::next_provider;
  step.reason = mqtt::reason_code::success;
  return step;
}

mqtt::reason_code unrestricted_principal::may_publish(std::string_view) const {
  return mqtt::reason_code::success;
}

mqtt::reason_code unrestricted_principal::may_subscribe(std::string_view) const {
  return mqtt::reason_code::success;
}

mqtt::reason_code anonymous_principal::may_publish(std::string_view topic) const {
  if (!topics_) return mqtt::reason_code::success;
  for (const std::string& filter : *topics_) {
    if (topic::matches(filter, topic)) return mqtt::reason_code::success;
  }
  return mqtt::reason_code::not_authorized;
}

mqtt::reason_code anonymous_principal::may_subscribe(std::string_view filter) const {
  if (!topics_) return mqtt::reason_code::success;
  // MQTT 5.0 4.8.2: a shared subscription is authorised on its inner filter.
  if (const auto shared = topic::parse_shared(filter); shared.is_shared) {
    if (!shared.valid) return mqtt::reason_code::topic_filter_invalid;
    filter = shared.parts.filter;
  }
  for (const std::string& rule : *topics_) {
    if (topic::covers(rule, filter)) return mqtt::reason_code::success;
  }
  return mqtt::reason_code::not_authorized;
}

bool anonymous_principal::may_receive(std::string_view topic) const {
  return may_publish(topic) == mqtt::reason_code::success;
}

allow_anonymous::allow_anonymous(std::optional<std::vector<std::string>> topics)
    : anonymous_(std::make_shared<anonymous_principal>(std::move(topics))) {}

void allow_anonymous::start(const authentication_request& request, completion done) {
  // A client asking for enhanced authentication (MQTT 5.0 4.12) names a method this provider
  // does not implement: leave it to a provider that does.
  if (request.method) {
    done(auth_step::pass());
    return;
  }
  // A user name sent without a password proves nothing: every anonymous client is the one
  // anonymous principal (docs/authentication.md, "Principals").
  done(auth_step::succeed(anonymous_));
}

void allow_anonymous::continue_auth(const authentication_request&, completion done) {
  done(auth_step::fail(mqtt::reason_code::protocol_error));
}

void allow_anonymous::reauthenticate(const authentication_request&, completion done) {
  done(auth_step::fail(mqtt::reason_code::not_authorized));
}

void public_topics_only::start(const authentication_request& request, completion done) {
  // RFC 9431 2.2.1: TLS:Anon,MQTT:None is only for public topics. A client with any credential
  // is authenticated by another provider or refused; it never silently falls back to this.
  const bool no_credentials = !request.method && !request.username && !request.password;
  if (!no_credentials || (require_tls_ && request.tls == nullptr)) {
    done(auth_step::pass());
    return;
  }
  done(auth_step::succeed(std::make_shared<public_only_principal>()));
}

void public_topics_only::continue_auth(const authentication_request&, completion done) {
  done(auth_step::fail(mqtt::reason_code::protocol_error));
}

void public_topics_only::reauthenticate(const authentication_request&, completion done) {
  done(auth_step::fail(mqtt::reason_code::not_authorized));
}

void deny_all::start(const authentication_request& request, completion done) {
  // [MQTT-4.12.0-1]: every provider before this one passed, so none supports the client's
  // Authentication Method: 0x8C, as when the chain runs out.
  done(auth_step::fail(request.method ? mqtt::reason_code::bad_authentication_method
                                      : mqtt::reason_code::not_authorized));
}

void deny_all::continue_auth(const authentication_request&, completion done) {
  done(auth_step::fail(mqtt::reason_code::not_authorized));
}

void deny_all::reauthenticate(const authentication_request&, completion done) {
  done(auth_step::fail(mqtt::reason_code::not_authorized));
}

auth_chain::auth_chain(std::vector<std::shared_ptr<authenticator>> providers)
    : providers_(std::make_shared<const provider_list>(std::move(providers))) {}

void auth_chain::start(const authentication_request& request, completion done) const {
  run_from(providers_, 0, std::make_shared<const authentication_request>(request), std::move(done));
}

void auth_chain::run_from(std::shared_ptr<const provider_list> providers, std::size_t index,
                          std::shared_ptr<const authentication_request> request, completion done) {
  if (index >= providers->size()) {
    // Nobody recognised the request. A named method nobody implements is 0x8C
    // (MQTT 5.0 4.12: the server must reject an unsupported Authentication Method); otherwise the
    // chain falls back to refusing, as deny_all would.
    done(auth_step::fail(request->method ? mqtt::reason_code::bad_authentication_method
                                         : mqtt::reason_code::not_authorized),
         index);
    return;
  }
  authenticator& provider = *(*providers)[index];
  const authentication_request& view = *request;
  provider.start(view, [providers, index, request, done = std::move(done)](auth_step step) mutable {
    if (step.what == auth_step::kind::next_provider) {
      run_from(std::move(providers), index + 1, std::move(request), std::move(done));
      return;
    }
    done(std::move(step), index);
  });
}

namespace {

// A provider that owns an exchange cannot pass it on half-way.
auth_chain::completion owned_by(std::size_t owner, auth_chain::completion done) {
  return [owner, done = std::move(done)](auth_step step, std::size_t) {
    if (step.what == auth_step::kind::next_provider) {
      step = auth_step::fail(mqtt::reason_code::not_authorized);
    }
    done(std::move(step), owner);
  };
}

}  // namespace

void auth_chain::continue_auth(std::size_t owner, const authentication_request& request,
                               completion done) const {
  if (owner >= providers_->size()) {
    done(auth_step::fail(mqtt::reason_code::protocol_error), owner);
    return;
  }
  auto finish = owned_by(owner, std::move(done));
  (*providers_)[owner]->continue_auth(
      request, [providers = providers_, owner, finish = std::move(finish)](auth_step step) {
        finish(std::move(step), owner);
      });
}

void auth_chain::connection_closed(std::size_t owner, std::string_view listener_name,
                                   std::string_view remote_address) const {
  if (owner < providers_->size()) {
    (*providers_)[owner]->connection_closed(listener_name, remote_address);
  }
}

void auth_chain::reauthenticate(std::size_t owner, const authentication_request& request,
                                completion done) const {
  if (owner >= providers_->size()) {
    done(auth_step::fail(mqtt::reason_code::protocol_error), owner);
    return;
  }
  auto finish = owned_by(owner, std::move(done));
  (*providers_)[owner]->reauthenticate(
      request, [providers = providers_, owner, finish = std::move(finish)](auth_step step) {
        finish(std::move(step), owner);
      });
}

}  // namespace acemq::broker
