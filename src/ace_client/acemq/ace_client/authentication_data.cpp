#include "acemq/ace_client/authentication_data.hpp"

#include "acemq/token/pop/auth_data.hpp"
#include "acemq/token/pop/proof.hpp"

namespace acemq::ace_client {

namespace pop = token::pop;

result<byte_vector, token::failure> exporter_connect_data(const pop_credentials& credentials,
                                                          byte_view exporter) {
  // RFC 9431 2.2.4.1: the PoP covers exactly the 32-byte exporter output.
  if (exporter.size() != pop::exporter_length) return unexpected(token::failure::bad_encoding);
  auto proof = pop::compute_pop(credentials.pop_key, exporter);
  if (!proof) return unexpected(proof.error());
  return pop::build_connect_exporter(credentials.token, *proof);
}

result<byte_vector, token::failure> challenge_connect_data(const pop_credentials& credentials) {
  return pop::build_connect_challenge(credentials.token);
}

result<byte_vector, token::failure> reauthentication_data(const pop_credentials& credentials) {
  // RFC 9431 2.4: AUTH 0x19 starts with the same token-only layout as a challenge CONNECT.
  return pop::build_connect_challenge(credentials.token);
}

result<byte_vector, token::failure> answer_challenge(const pop_credentials& credentials,
                                                     byte_view broker_data, random_source& random,
                                                     bool draft06) {
  auto rs_nonce = pop::parse_broker_challenge(broker_data);
  if (!rs_nonce) return unexpected(rs_nonce.error());
  // RFC 9431 2.2.4.2.2: a fresh 8-byte client nonce per answer, so the PoP is not replayable.
  pop::nonce client_nonce{};
  random.fill(client_nonce);
  const byte_vector covered = pop::challenge_bytes(*rs_nonce, client_nonce);
  auto proof = pop::compute_pop(credentials.pop_key, covered);
  if (!proof) return unexpected(proof.error());
  return pop::build_client_response(client_nonce, *proof, draft06);
}

result<mqtt311_credentials, token::failure> mqtt311_connect_credentials(
    const pop_credentials& credentials, byte_view exporter) {
  if (exporter.size() != pop::exporter_length) return unexpected(token::failure::bad_encoding);
  if (credentials.token.empty()) return unexpected(token::failure::bad_encoding);
  auto proof = pop::compute_pop(credentials.pop_key, exporter);
  if (!proof) return unexpected(proof.error());
  // RFC 9431 2.2.4.3: username "ace" || base64url(token), password = PoP over the exporter.
  return mqtt311_credentials{pop::build_username(credentials.token), std::move(*proof)};
}

}  // namespace acemq::ace_client
