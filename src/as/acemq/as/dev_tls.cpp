#include "acemq/as/dev_tls.hpp"

#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <sys/stat.h>

#include <cstdio>
#include <filesystem>
#include <memory>
#include <stdexcept>

namespace acemq::as {
namespace {

struct pkey_deleter {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct x509_deleter {
  void operator()(X509* p) const { X509_free(p); }
};
struct file_closer {
  void operator()(std::FILE* f) const { std::fclose(f); }
};

void add_extension(X509* certificate, int nid, const char* value) {
  X509V3_CTX context;
  X509V3_set_ctx_nodb(&context);
  X509V3_set_ctx(&context, certificate, certificate, nullptr, nullptr, 0);
  X509_EXTENSION* extension = X509V3_EXT_conf_nid(nullptr, &context, nid, value);
  if (extension == nullptr) throw std::runtime_error("dev TLS: cannot build extension");
  X509_add_ext(certificate, extension, -1);
  X509_EXTENSION_free(extension);
}

}  // namespace

dev_tls_files ensure_dev_tls(const std::string& directory) {
  namespace fs = std::filesystem;
  fs::create_directories(directory);
  dev_tls_files files{(fs::path(directory) / "server.pem").string(),
                      (fs::path(directory) / "server.key").string()};
  if (fs::exists(files.certificate) && fs::exists(files.private_key)) return files;

  std::unique_ptr<EVP_PKEY, pkey_deleter> key(EVP_EC_gen("P-256"));
  if (!key) throw std::runtime_error("dev TLS: key generation failed");
  std::unique_ptr<X509, x509_deleter> certificate(X509_new());
  X509_set_version(certificate.get(), 2);
  unsigned char serial_bytes[16];
  EVP_Digest("acemq-as dev", 12, serial_bytes, nullptr, EVP_sha256(), nullptr);
  BIGNUM* serial = BN_bin2bn(serial_bytes, sizeof serial_bytes, nullptr);
  BN_to_ASN1_INTEGER(serial, X509_get_serialNumber(certificate.get()));
  BN_free(serial);
  X509_gmtime_adj(X509_getm_notBefore(certificate.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(certificate.get()), 825L * 24 * 3600);
  X509_set_pubkey(certificate.get(), key.get());
  X509_NAME* name = X509_get_subject_name(certificate.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("acemq-as development"), -1, -1,
                             0);
  X509_set_issuer_name(certificate.get(), name);
  add_extension(certificate.get(), NID_basic_constraints, "critical,CA:TRUE");
  add_extension(certificate.get(), NID_key_usage, "critical,digitalSignature,keyCertSign");
  add_extension(certificate.get(), NID_subject_alt_name, "DNS:localhost,IP:127.0.0.1,IP:::1");
  add_extension(certificate.get(), NID_subject_key_identifier, "hash");
  if (X509_sign(certificate.get(), key.get(), EVP_sha256()) == 0) {
    throw std::runtime_error("dev TLS: signing failed");
  }
  {
    const auto old_mask = umask(077);
    std::unique_ptr<std::FILE, file_closer> out(std::fopen(files.private_key.c_str(), "wb"));
    umask(old_mask);
    if (!out ||
        PEM_write_PrivateKey(out.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr) != 1) {
      throw std::runtime_error("dev TLS: cannot write " + files.private_key);
    }
  }
  std::unique_ptr<std::FILE, file_closer> out(std::fopen(files.certificate.c_str(), "wb"));
  if (!out || PEM_write_X509(out.get(), certificate.get()) != 1) {
    throw std::runtime_error("dev TLS: cannot write " + files.certificate);
  }
  return files;
}

}  // namespace acemq::as
