#include "acemq/token/crypto/key.hpp"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <array>
#include <cstring>
#include <stdexcept>

#include "acemq/token/crypto/openssl_handles.hpp"

namespace acemq::token::crypto {

namespace {

using detail::owned;

constexpr std::size_t p256_coordinate_size = 32;
constexpr std::size_t ed25519_key_size = 32;
constexpr std::size_t pem_max_size = 64 * 1024;
constexpr std::size_t rsa_max_exponent_size = 8;  // bounds the cost of a public-key operation

std::shared_ptr<EVP_PKEY> share(owned<EVP_PKEY> pkey) {
  return {pkey.release(), [](EVP_PKEY* p) { EVP_PKEY_free(p); }};
}

std::shared_ptr<const byte_vector> share_secret(byte_view secret) {
  return {new byte_vector(secret.begin(), secret.end()), [](const byte_vector* v) {
            // Secrets do not outlive their last owner in freed heap memory.
            auto* bytes = const_cast<byte_vector*>(v);
            if (!bytes->empty()) OPENSSL_cleanse(bytes->data(), bytes->size());
            delete bytes;
          }};
}

failure bad_key() {
  ERR_clear_error();  // do not leave OpenSSL's error queue to confuse later calls
  return failure::bad_key;
}

bool is_p256(EVP_PKEY* pkey) {
  std::array<char, 64> group{};
  std::size_t length = 0;
  if (EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, group.data(), group.size(),
                                     &length) != 1) {
    return false;
  }
  const std::string_view name(group.data(), length);
  return name == "prime256v1" || name == "P-256" || name == "secp256r1";
}

owned<BIGNUM> get_bn(EVP_PKEY* pkey, const char* name) {
  BIGNUM* bn = nullptr;
  if (EVP_PKEY_get_bn_param(pkey, name, &bn) != 1) {
    ERR_clear_error();
    return nullptr;
  }
  return owned<BIGNUM>(bn);
}

byte_vector bn_to_bytes(const BIGNUM* bn) {
  byte_vector out(static_cast<std::size_t>(BN_num_bytes(bn)));
  if (!out.empty()) BN_bn2bin(bn, out.data());
  return out;
}

byte_vector bn_to_padded(const BIGNUM* bn, std::size_t size) {
  byte_vector out(size);
  if (BN_bn2binpad(bn, out.data(), static_cast<int>(size)) < 0) return {};
  return out;
}

owned<BIGNUM> bytes_to_bn(byte_view bytes) {
  return owned<BIGNUM>(BN_bin2bn(bytes.data(), static_cast<int>(bytes.size()), nullptr));
}

owned<EVP_PKEY> from_params(const char* type, const OSSL_PARAM* params, int selection) {
  owned<EVP_PKEY_CTX> ctx(EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr));
  if (!ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1) return nullptr;
  EVP_PKEY* pkey = nullptr;
  if (EVP_PKEY_fromdata(ctx.get(), &pkey, selection, const_cast<OSSL_PARAM*>(params)) != 1) {
    return nullptr;
  }
  return owned<EVP_PKEY>(pkey);
}

enum class validation { public_only, full, pairwise };

bool validate(EVP_PKEY* pkey, validation how) {
  owned<EVP_PKEY_CTX> ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, pkey, nullptr));
  if (!ctx) return false;
  switch (how) {
    case validation::public_only:
      return EVP_PKEY_public_check(ctx.get()) == 1;
    case validation::full:
      return EVP_PKEY_check(ctx.get()) == 1;
    case validation::pairwise:
      return EVP_PKEY_pairwise_check(ctx.get()) == 1;
  }
  return false;
}

std::string read_bio(BIO* bio) {
  char* data = nullptr;
  const long length = BIO_get_mem_data(bio, &data);
  if (length <= 0 || data == nullptr) return {};
  return std::string(data, static_cast<std::size_t>(length));
}

[[noreturn]] void generation_failed(const char* what) {
  ERR_clear_error();
  throw std::runtime_error(std::string("key generation failed: ") + what);
}

}  // namespace

result<key, failure> key::adopt(EVP_PKEY* raw) {
  owned<EVP_PKEY> pkey(raw);
  if (!pkey) return unexpected(bad_key());
  key out;
  if (EVP_PKEY_is_a(pkey.get(), "ED25519")) {
    out.type_ = key_type::okp_ed25519;
    std::size_t length = 0;
    out.has_private_ = EVP_PKEY_get_raw_private_key(pkey.get(), nullptr, &length) == 1;
  } else if (EVP_PKEY_is_a(pkey.get(), "EC")) {
    if (!is_p256(pkey.get())) return unexpected(bad_key());
    out.type_ = key_type::ec_p256;
    out.has_private_ = get_bn(pkey.get(), OSSL_PKEY_PARAM_PRIV_KEY) != nullptr;
  } else if (EVP_PKEY_is_a(pkey.get(), "RSA")) {
    const int bits = EVP_PKEY_get_bits(pkey.get());
    if (bits < rsa_min_bits || bits > rsa_max_bits) return unexpected(bad_key());
    auto e = get_bn(pkey.get(), OSSL_PKEY_PARAM_RSA_E);
    if (!e || static_cast<std::size_t>(BN_num_bytes(e.get())) > rsa_max_exponent_size) {
      return unexpected(bad_key());
    }
    out.type_ = key_type::rsa;
    out.has_private_ = get_bn(pkey.get(), OSSL_PKEY_PARAM_RSA_D) != nullptr;
  } else {
    return unexpected(bad_key());
  }
  ERR_clear_error();
  out.pkey_ = share(std::move(pkey));
  return out;
}

key key::generate_ed25519() {
  auto made = adopt(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"));
  if (!made) generation_failed("Ed25519");
  return std::move(made).value();
}

key key::generate_p256() {
  auto made = adopt(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  if (!made) generation_failed("P-256");
  return std::move(made).value();
}

key key::generate_rsa(int bits) {
  if (bits < rsa_min_bits || bits > rsa_max_bits) generation_failed("RSA size out of range");
  auto made = adopt(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<std::size_t>(bits)));
  if (!made) generation_failed("RSA");
  return std::move(made).value();
}

key key::generate_symmetric(std::size_t size, random_source& random) {
  if (size == 0 || size > symmetric_max_size) generation_failed("symmetric size out of range");
  byte_vector secret = random.bytes(size);
  key out;
  out.type_ = key_type::symmetric;
  out.secret_ = share_secret(secret);
  OPENSSL_cleanse(secret.data(), secret.size());
  return out;
}

result<key, failure> key::ed25519_from_public(byte_view public_bytes) {
  // RFC 8037 2: "x" is the 32-byte public key.
  if (public_bytes.size() != ed25519_key_size) return unexpected(bad_key());
  return adopt(EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, public_bytes.data(),
                                           public_bytes.size()));
}

result<key, failure> key::ed25519_from_private(byte_view private_bytes,
                                               std::optional<byte_view> public_bytes) {
  if (private_bytes.size() != ed25519_key_size) return unexpected(bad_key());
  auto made = adopt(EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr, private_bytes.data(),
                                                 private_bytes.size()));
  if (!made) return made;
  if (public_bytes) {
    auto derived = made->ed25519_public();
    if (!derived || !constant_time_equal(*derived, *public_bytes)) return unexpected(bad_key());
  }
  return made;
}

result<key, failure> key::p256_from_public(byte_view x, byte_view y) {
  // RFC 7518 6.2.1.2/6.2.1.3: full-length coordinates.
  if (x.size() != p256_coordinate_size || y.size() != p256_coordinate_size) {
    return unexpected(bad_key());
  }
  byte_vector point{0x04};  // SEC 1 2.3.3 uncompressed point
  point.insert(point.end(), x.begin(), x.end());
  point.insert(point.end(), y.begin(), y.end());
  owned<OSSL_PARAM_BLD> builder(OSSL_PARAM_BLD_new());
  if (!builder ||
      OSSL_PARAM_BLD_push_utf8_string(builder.get(), OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0) !=
          1 ||
      OSSL_PARAM_BLD_push_octet_string(builder.get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(),
                                       point.size()) != 1) {
    return unexpected(bad_key());
  }
  owned<OSSL_PARAM> params(OSSL_PARAM_BLD_to_param(builder.get()));
  if (!params) return unexpected(bad_key());
  auto pkey = from_params("EC", params.get(), EVP_PKEY_PUBLIC_KEY);
  // The point must be on the curve and not the point at infinity (SEC 1 3.2.2.1).
  if (!pkey || !validate(pkey.get(), validation::public_only)) return unexpected(bad_key());
  return adopt(pkey.release());
}

result<key, failure> key::p256_from_private(byte_view x, byte_view y, byte_view d) {
  if (x.size() != p256_coordinate_size || y.size() != p256_coordinate_size ||
      d.size() != p256_coordinate_size) {
    return unexpected(bad_key());
  }
  byte_vector point{0x04};
  point.insert(point.end(), x.begin(), x.end());
  point.insert(point.end(), y.begin(), y.end());
  auto scalar = bytes_to_bn(d);
  owned<OSSL_PARAM_BLD> builder(OSSL_PARAM_BLD_new());
  if (!scalar || !builder ||
      OSSL_PARAM_BLD_push_utf8_string(builder.get(), OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0) !=
          1 ||
      OSSL_PARAM_BLD_push_octet_string(builder.get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(),
                                       point.size()) != 1 ||
      OSSL_PARAM_BLD_push_BN(builder.get(), OSSL_PKEY_PARAM_PRIV_KEY, scalar.get()) != 1) {
    return unexpected(bad_key());
  }
  owned<OSSL_PARAM> params(OSSL_PARAM_BLD_to_param(builder.get()));
  if (!params) return unexpected(bad_key());
  auto pkey = from_params("EC", params.get(), EVP_PKEY_KEYPAIR);
  // Full check: point valid, d in [1, n-1], and d * G == (x, y).
  if (!pkey || !validate(pkey.get(), validation::full)) return unexpected(bad_key());
  return adopt(pkey.release());
}

result<key, failure> key::rsa_from_public(byte_view n, byte_view e) {
  if (n.empty() || e.empty() || e.size() > rsa_max_exponent_size ||
      n.size() > static_cast<std::size_t>(rsa_max_bits / 8 + 1)) {
    return unexpected(bad_key());
  }
  auto modulus = bytes_to_bn(n);
  auto exponent = bytes_to_bn(e);
  if (!modulus || !exponent) return unexpected(bad_key());
  const int bits = BN_num_bits(modulus.get());
  // An even modulus or exponent, or e = 1, is never a valid RSA public key.
  if (bits < rsa_min_bits || bits > rsa_max_bits || !BN_is_odd(modulus.get()) ||
      !BN_is_odd(exponent.get()) || BN_is_one(exponent.get())) {
    return unexpected(bad_key());
  }
  owned<OSSL_PARAM_BLD> builder(OSSL_PARAM_BLD_new());
  if (!builder ||
      OSSL_PARAM_BLD_push_BN(builder.get(), OSSL_PKEY_PARAM_RSA_N, modulus.get()) != 1 ||
      OSSL_PARAM_BLD_push_BN(builder.get(), OSSL_PKEY_PARAM_RSA_E, exponent.get()) != 1) {
    return unexpected(bad_key());
  }
  owned<OSSL_PARAM> params(OSSL_PARAM_BLD_to_param(builder.get()));
  if (!params) return unexpected(bad_key());
  auto pkey = from_params("RSA", params.get(), EVP_PKEY_PUBLIC_KEY);
  if (!pkey) return unexpected(bad_key());
  return adopt(pkey.release());
}

result<key, failure> key::rsa_from_private(const rsa_components& c) {
  const byte_view parts[] = {c.n, c.e, c.d, c.p, c.q, c.dp, c.dq, c.qi};
  for (auto part : parts) {
    if (part.empty() || part.size() > static_cast<std::size_t>(rsa_max_bits / 8 + 1)) {
      return unexpected(bad_key());
    }
  }
  auto public_part = rsa_from_public(c.n, c.e);  // size and exponent rules
  if (!public_part) return public_part;
  static constexpr const char* names[] = {
      OSSL_PKEY_PARAM_RSA_N,         OSSL_PKEY_PARAM_RSA_E,           OSSL_PKEY_PARAM_RSA_D,
      OSSL_PKEY_PARAM_RSA_FACTOR1,   OSSL_PKEY_PARAM_RSA_FACTOR2,     OSSL_PKEY_PARAM_RSA_EXPONENT1,
      OSSL_PKEY_PARAM_RSA_EXPONENT2, OSSL_PKEY_PARAM_RSA_COEFFICIENT1};
  owned<OSSL_PARAM_BLD> builder(OSSL_PARAM_BLD_new());
  if (!builder) return unexpected(bad_key());
  std::array<owned<BIGNUM>, 8> numbers;
  for (std::size_t i = 0; i < numbers.size(); ++i) {
    numbers[i] = bytes_to_bn(parts[i]);
    if (!numbers[i] || OSSL_PARAM_BLD_push_BN(builder.get(), names[i], numbers[i].get()) != 1) {
      return unexpected(bad_key());
    }
  }
  owned<OSSL_PARAM> params(OSSL_PARAM_BLD_to_param(builder.get()));
  if (!params) return unexpected(bad_key());
  auto pkey = from_params("RSA", params.get(), EVP_PKEY_KEYPAIR);
  // n = p * q, d * e = 1 mod lambda(n), and the CRT values consistent.
  if (!pkey || !validate(pkey.get(), validation::pairwise)) return unexpected(bad_key());
  return adopt(pkey.release());
}

result<key, failure> key::symmetric_from_bytes(byte_view secret) {
  if (secret.empty() || secret.size() > symmetric_max_size) return unexpected(bad_key());
  key out;
  out.type_ = key_type::symmetric;
  out.secret_ = share_secret(secret);
  return out;
}

result<key, failure> key::from_pem(std::string_view pem) {
  if (pem.empty() || pem.size() > pem_max_size) return unexpected(bad_key());
  owned<BIO> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) return unexpected(bad_key());
  // Never prompt for a passphrase: encrypted PEM is refused.
  auto no_password = [](char*, int, int, void*) -> int { return 0; };
  EVP_PKEY* pkey = nullptr;
  if (pem.find("PRIVATE KEY-----") != std::string_view::npos) {
    pkey = PEM_read_bio_PrivateKey(bio.get(), nullptr, no_password, nullptr);
  } else {
    pkey = PEM_read_bio_PUBKEY(bio.get(), nullptr, no_password, nullptr);
  }
  if (pkey == nullptr) return unexpected(bad_key());
  return adopt(pkey);
}

result<std::string, failure> key::private_pem() const {
  if (!pkey_ || !has_private_) return unexpected(bad_key());
  owned<BIO> bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_PrivateKey(bio.get(), pkey_.get(), nullptr, nullptr, 0, nullptr,
                                       nullptr) != 1) {
    return unexpected(bad_key());
  }
  return read_bio(bio.get());
}

result<std::string, failure> key::public_pem() const {
  if (!pkey_) return unexpected(bad_key());
  owned<BIO> bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_PUBKEY(bio.get(), pkey_.get()) != 1) return unexpected(bad_key());
  return read_bio(bio.get());
}

result<key, failure> key::public_key() const {
  if (!pkey_) return unexpected(bad_key());
  if (!has_private_) return *this;
  // Round trip through SubjectPublicKeyInfo: keeps only the public components.
  unsigned char* der = nullptr;
  const int length = i2d_PUBKEY(pkey_.get(), &der);
  if (length <= 0) return unexpected(bad_key());
  const unsigned char* cursor = der;
  EVP_PKEY* pub = d2i_PUBKEY(nullptr, &cursor, length);
  OPENSSL_free(der);
  auto made = adopt(pub);
  if (!made) return made;
  made->kid_ = kid_;
  made->algorithm_ = algorithm_;
  return made;
}

int key::bits() const noexcept {
  if (type_ == key_type::symmetric) return secret_ ? static_cast<int>(secret_->size() * 8) : 0;
  return pkey_ ? EVP_PKEY_get_bits(pkey_.get()) : 0;
}

result<byte_vector, failure> key::ed25519_public() const {
  if (type_ != key_type::okp_ed25519) return unexpected(failure::bad_key);
  byte_vector out(ed25519_key_size);
  std::size_t length = out.size();
  if (EVP_PKEY_get_raw_public_key(pkey_.get(), out.data(), &length) != 1 ||
      length != ed25519_key_size) {
    return unexpected(bad_key());
  }
  return out;
}

result<byte_vector, failure> key::ed25519_private() const {
  if (type_ != key_type::okp_ed25519 || !has_private_) return unexpected(failure::bad_key);
  byte_vector out(ed25519_key_size);
  std::size_t length = out.size();
  if (EVP_PKEY_get_raw_private_key(pkey_.get(), out.data(), &length) != 1 ||
      length != ed25519_key_size) {
    return unexpected(bad_key());
  }
  return out;
}

result<ec_point, failure> key::p256_public() const {
  if (type_ != key_type::ec_p256) return unexpected(failure::bad_key);
  auto x = get_bn(pkey_.get(), OSSL_PKEY_PARAM_EC_PUB_X);
  auto y = get_bn(pkey_.get(), OSSL_PKEY_PARAM_EC_PUB_Y);
  if (!x || !y) return unexpected(bad_key());
  ec_point point{bn_to_padded(x.get(), p256_coordinate_size),
                 bn_to_padded(y.get(), p256_coordinate_size)};
  if (point.x.empty() || point.y.empty()) return unexpected(bad_key());
  return point;
}

result<byte_vector, failure> key::p256_private() const {
  if (type_ != key_type::ec_p256 || !has_private_) return unexpected(failure::bad_key);
  auto d = get_bn(pkey_.get(), OSSL_PKEY_PARAM_PRIV_KEY);
  if (!d) return unexpected(bad_key());
  auto out = bn_to_padded(d.get(), p256_coordinate_size);
  if (out.empty()) return unexpected(bad_key());
  return out;
}

result<rsa_components, failure> key::rsa() const {
  if (type_ != key_type::rsa) return unexpected(failure::bad_key);
  rsa_components out;
  struct field {
    const char* name;
    byte_vector* target;
  };
  const field public_fields[] = {{OSSL_PKEY_PARAM_RSA_N, &out.n}, {OSSL_PKEY_PARAM_RSA_E, &out.e}};
  for (const auto& f : public_fields) {
    auto bn = get_bn(pkey_.get(), f.name);
    if (!bn) return unexpected(bad_key());
    *f.target = bn_to_bytes(bn.get());
  }
  if (!has_private_) return out;
  const field private_fields[] = {
      {OSSL_PKEY_PARAM_RSA_D, &out.d},          {OSSL_PKEY_PARAM_RSA_FACTOR1, &out.p},
      {OSSL_PKEY_PARAM_RSA_FACTOR2, &out.q},    {OSSL_PKEY_PARAM_RSA_EXPONENT1, &out.dp},
      {OSSL_PKEY_PARAM_RSA_EXPONENT2, &out.dq}, {OSSL_PKEY_PARAM_RSA_COEFFICIENT1, &out.qi}};
  for (const auto& f : private_fields) {
    auto bn = get_bn(pkey_.get(), f.name);
    if (!bn) return unexpected(bad_key());
    *f.target = bn_to_bytes(bn.get());
  }
  return out;
}

byte_view key::symmetric_bytes() const noexcept {
  if (type_ != key_type::symmetric || !secret_) return {};
  return *secret_;
}

bool key::same_material(const key& other) const {
  if (type_ != other.type_) return false;
  if (type_ == key_type::symmetric)
    return constant_time_equal(symmetric_bytes(), other.symmetric_bytes());
  const bool equal = EVP_PKEY_eq(pkey_.get(), other.pkey_.get()) == 1;
  ERR_clear_error();
  return equal;
}

}  // namespace acemq::token::crypto
