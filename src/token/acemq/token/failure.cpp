#include "acemq/token/failure.hpp"

namespace acemq::token {

std::string_view to_string(failure reason) noexcept {
  switch (reason) {
    case failure::bad_encoding:
      return "bad_encoding";
    case failure::too_large:
      return "too_large";
    case failure::too_deep:
      return "too_deep";
    case failure::unknown_key:
      return "unknown_key";
    case failure::bad_signature:
      return "bad_signature";
    case failure::algorithm_not_allowed:
      return "algorithm_not_allowed";
    case failure::alg_none:
      return "alg_none";
    case failure::unsupported_algorithm:
      return "unsupported_algorithm";
    case failure::unknown_critical_header:
      return "unknown_critical_header";
    case failure::decryption_failed:
      return "decryption_failed";
    case failure::expired:
      return "expired";
    case failure::not_yet_valid:
      return "not_yet_valid";
    case failure::issued_in_future:
      return "issued_in_future";
    case failure::lifetime_too_long:
      return "lifetime_too_long";
    case failure::missing_claim:
      return "missing_claim";
    case failure::wrong_audience:
      return "wrong_audience";
    case failure::wrong_issuer:
      return "wrong_issuer";
    case failure::missing_cnf:
      return "missing_cnf";
    case failure::bad_cnf:
      return "bad_cnf";
    case failure::bad_scope:
      return "bad_scope";
    case failure::wrong_profile:
      return "wrong_profile";
    case failure::bad_key:
      return "bad_key";
    case failure::bad_pop:
      return "bad_pop";
    case failure::bad_nonce:
      return "bad_nonce";
  }
  return "unknown";
}

}  // namespace acemq::token
