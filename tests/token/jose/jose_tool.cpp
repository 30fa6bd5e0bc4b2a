// A small command-line front end to the JOSE library, used by the interop scripts in
// tests/token/interop/ to check our tokens against independent implementations.
//
//   jose_tool keygen  <ed25519|p256|rsa|oct16|oct32> <kid>   -> private JWK on stdout
//   jose_tool public  <key.jwk>                              -> public JWK on stdout
//   jose_tool sign    <key.jwk> <alg>          < payload      -> compact JWS
//   jose_tool verify  <key.jwk>                < JWS          -> payload (exit 1 + reason)
//   jose_tool encrypt <key.jwk> <alg> <enc>    < plaintext    -> compact JWE
//   jose_tool decrypt <key.jwk>                < JWE          -> plaintext (exit 1 + reason)

#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>
#include <string>

#include "acemq/common/random.hpp"
#include "acemq/token/jose/jwe.hpp"
#include "acemq/token/jose/jwk.hpp"
#include "acemq/token/jose/jws.hpp"

namespace {

using namespace acemq;
using namespace acemq::token;

int fail(failure reason) {
  std::cerr << "failure: " << to_string(reason) << '\n';
  return 1;
}

int usage() {
  std::cerr << "usage: jose_tool keygen|public|sign|verify|encrypt|decrypt ...\n";
  return 2;
}

std::string read_all(std::istream& in) {
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

std::string trim(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' ')) {
    text.pop_back();
  }
  return text;
}

result<crypto::key, failure> load_key(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) return unexpected(failure::unknown_key);
  return jose::parse_jwk(read_all(file));
}

int keygen(const std::string& type, const std::string& kid) {
  auto make = [&]() -> crypto::key {
    if (type == "ed25519") return crypto::key::generate_ed25519();
    if (type == "p256") return crypto::key::generate_p256();
    if (type == "rsa") return crypto::key::generate_rsa(2048);
    if (type == "oct16") return crypto::key::generate_symmetric(16, system_random::instance());
    return crypto::key::generate_symmetric(32, system_random::instance());
  };
  if (type != "ed25519" && type != "p256" && type != "rsa" && type != "oct16" && type != "oct32") {
    return usage();
  }
  auto k = make();
  k.set_kid(to_bytes(kid));
  auto jwk = jose::to_jwk(k, jose::jwk_content::with_private);
  if (!jwk) return fail(jwk.error());
  std::cout << jose::serialize(*jwk) << '\n';
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) return usage();
  const std::string command = argv[1];
  if (command == "keygen") return argc == 4 ? keygen(argv[2], argv[3]) : usage();

  auto k = load_key(argv[2]);
  if (!k) return fail(k.error());
  const std::string input = read_all(std::cin);

  if (command == "public") {
    auto jwk = jose::to_jwk(*k, jose::jwk_content::public_only);
    if (!jwk) return fail(jwk.error());
    std::cout << jose::serialize(*jwk) << '\n';
    return 0;
  }
  if (command == "sign" && argc == 4) {
    auto alg = crypto::algorithm_from_jose_name(argv[3]);
    if (!alg) return fail(failure::unsupported_algorithm);
    auto token = jose::sign_jws(*k, as_bytes(input), {.alg = *alg});
    if (!token) return fail(token.error());
    std::cout << *token << '\n';
    return 0;
  }
  if (command == "verify") {
    auto verified = jose::verify_jws(trim(input), *k);
    if (!verified) return fail(verified.error());
    std::cout << as_string_view(verified->payload);
    return 0;
  }
  if (command == "encrypt" && argc == 5) {
    auto alg = crypto::algorithm_from_jose_name(argv[3]);
    auto enc = crypto::algorithm_from_jose_name(argv[4]);
    if (!alg || !enc) return fail(failure::unsupported_algorithm);
    auto token = jose::encrypt_jwe(as_bytes(input), *k, {.key_management = *alg, .content = *enc},
                                   system_random::instance());
    if (!token) return fail(token.error());
    std::cout << *token << '\n';
    return 0;
  }
  if (command == "decrypt") {
    auto opened = jose::decrypt_jwe(trim(input), *k);
    if (!opened) return fail(opened.error());
    std::cout << as_string_view(opened->plaintext);
    return 0;
  }
  return usage();
}
