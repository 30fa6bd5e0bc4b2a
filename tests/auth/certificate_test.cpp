// Client-certificate provider with real certificates and CRLs made by the openssl command line
// tool in a scratch directory.

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "acemq/auth/certificate_provider.hpp"
#include "fakes.hpp"

namespace acemq::auth {
namespace {

using testing::run_step;

std::string read_text(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

void write_text(const std::filesystem::path& path, std::string_view text) {
  std::ofstream out(path);
  out << text;
}

/// A CA with three client certificates: "good" (CN + SANs), "revoked" (listed in the CRL) and
/// "bare" (CN only). A second CA signs a CRL that must not be trusted for the first one.
class pki : public ::testing::Test {
 protected:
  void SetUp() override {
    dir = testing::scratch_directory("pki");
    write_text(dir / "ca.cnf",
               "[ ca ]\ndefault_ca = test_ca\n[ test_ca ]\ndatabase = index.txt\n"
               "crlnumber = crlnumber\ncertificate = ca.pem\nprivate_key = ca.key\n"
               "default_md = sha256\ndefault_crl_days = 30\n");
    write_text(dir / "index.txt", "");
    write_text(dir / "crlnumber", "01\n");
    write_text(dir / "good.ext",
               "subjectAltName=DNS:dev1.example,URI:urn:dev:1,email:d1@example.com\n");
    run("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key "
        "-out ca.pem -subj /CN=Test-CA -days 10");
    issue("good", "device-1", 1001, "-extfile good.ext");
    issue("revoked", "device-2", 1002, "");
    issue("bare", "device-3", 1003, "");
    run("openssl ca -config ca.cnf -revoke revoked.pem");
    run("openssl ca -config ca.cnf -gencrl -out crl.pem");
    run("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout other.key "
        "-out other.pem -subj /CN=Other-CA -days 10");
  }

  void run(const std::string& command) {
    const std::string full = "cd '" + dir.string() + "' && " + command + " >>openssl.log 2>&1";
    ASSERT_EQ(std::system(full.c_str()), 0) << command << "\n" << read_text(dir / "openssl.log");
  }

  void issue(const std::string& name, const std::string& cn, int serial, const std::string& extra) {
    run("openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout " + name +
        ".key -out " + name + ".csr -subj /CN=" + cn);
    run("openssl x509 -req -in " + name + ".csr -CA ca.pem -CAkey ca.key -set_serial " +
        std::to_string(serial) + " -days 5 -out " + name + ".pem " + extra);
  }

  broker::authentication_request request_with(const std::string& certificate_name) {
    tls.certificate_pem = read_text(dir / (certificate_name + ".pem"));
    broker::authentication_request r;
    r.client_id = "client-" + certificate_name;
    r.tls = &tls;
    return r;
  }

  std::filesystem::path dir;
  testing::fake_tls_facts tls;
  std::shared_ptr<acl_store> acl =
      std::make_shared<acl_store>(*acl::parse("pattern readwrite devices/%u/#\n"));
};

TEST_F(pki, identity_from_common_name_or_subject_alternative_names) {
  const std::string good = read_text(dir / "good.pem");
  EXPECT_EQ(certificate_identity(good, certificate_identity_source::subject_common_name),
            "device-1");
  EXPECT_EQ(certificate_identity(good, certificate_identity_source::san_dns), "dev1.example");
  EXPECT_EQ(certificate_identity(good, certificate_identity_source::san_uri), "urn:dev:1");
  EXPECT_EQ(certificate_identity(good, certificate_identity_source::san_email), "d1@example.com");
  const std::string bare = read_text(dir / "bare.pem");
  EXPECT_EQ(certificate_identity(bare, certificate_identity_source::san_dns), std::nullopt);
  EXPECT_EQ(certificate_identity("not a certificate", certificate_identity_source::san_dns),
            std::nullopt);
  EXPECT_EQ(parse_identity_source("san_uri"), certificate_identity_source::san_uri);
  EXPECT_EQ(parse_identity_source("serial"), std::nullopt);
}

TEST_F(pki, verified_certificate_authenticates_with_acl_from_identity) {
  certificate_provider provider({}, acl);
  auto step = run_step([&](auto done) { provider.start(request_with("good"), done); });
  ASSERT_EQ(step.what, broker::auth_step::kind::success);
  EXPECT_EQ(step.who->name(), "device-1");
  EXPECT_EQ(step.who->may_publish("devices/device-1/t"), mqtt::reason_code::success);
  EXPECT_EQ(step.who->may_publish("devices/device-3/t"), mqtt::reason_code::not_authorized);
}

TEST_F(pki, san_identity_is_configurable) {
  certificate_provider_settings settings;
  settings.identity = certificate_identity_source::san_dns;
  certificate_provider provider(settings, acl);
  auto step = run_step([&](auto done) { provider.start(request_with("good"), done); });
  ASSERT_EQ(step.what, broker::auth_step::kind::success);
  EXPECT_EQ(step.who->name(), "dev1.example");
  // A certificate without that SAN has no identity: refused.
  step = run_step([&](auto done) { provider.start(request_with("bare"), done); });
  EXPECT_EQ(step.what, broker::auth_step::kind::failure);
}

TEST_F(pki, revoked_certificate_is_refused_by_the_crl) {
  certificate_provider_settings settings;
  settings.crl_file = (dir / "crl.pem").string();
  settings.crl_issuer_file = (dir / "ca.pem").string();
  certificate_provider provider(settings, acl);
  auto revoked = run_step([&](auto done) { provider.start(request_with("revoked"), done); });
  EXPECT_EQ(revoked.what, broker::auth_step::kind::failure);
  EXPECT_EQ(revoked.reason, mqtt::reason_code::not_authorized);
  auto good = run_step([&](auto done) { provider.start(request_with("good"), done); });
  EXPECT_EQ(good.what, broker::auth_step::kind::success);
}

TEST_F(pki, crl_reload_picks_up_new_revocations) {
  certificate_provider_settings settings;
  settings.crl_file = (dir / "crl.pem").string();
  certificate_provider provider(settings, acl);
  EXPECT_EQ(run_step([&](auto done) { provider.start(request_with("good"), done); }).what,
            broker::auth_step::kind::success);
  run("openssl ca -config ca.cnf -revoke good.pem");
  run("openssl ca -config ca.cnf -gencrl -out crl.pem");
  ASSERT_TRUE(provider.reload_crl());
  EXPECT_EQ(run_step([&](auto done) { provider.start(request_with("good"), done); }).what,
            broker::auth_step::kind::failure);
  // A broken CRL file on reload keeps the previous list.
  write_text(dir / "crl.pem", "garbage");
  EXPECT_FALSE(provider.reload_crl());
  EXPECT_EQ(run_step([&](auto done) { provider.start(request_with("good"), done); }).what,
            broker::auth_step::kind::failure);
}

TEST_F(pki, crl_signed_by_another_issuer_is_refused_at_load) {
  EXPECT_FALSE(revocation_list::load((dir / "crl.pem").string(), (dir / "other.pem").string()));
  EXPECT_FALSE(revocation_list::load((dir / "missing.pem").string(), ""));
  write_text(dir / "empty.pem", "");
  EXPECT_FALSE(revocation_list::load((dir / "empty.pem").string(), ""));
  certificate_provider_settings settings;
  settings.crl_file = (dir / "missing.pem").string();
  EXPECT_THROW(certificate_provider(settings, acl), std::runtime_error);
  auto loaded = revocation_list::load((dir / "crl.pem").string(), (dir / "ca.pem").string());
  ASSERT_TRUE(loaded);
  EXPECT_EQ((*loaded)->size(), 1u);
  EXPECT_TRUE((*loaded)->is_revoked("unparsable"));  // fail closed
}

TEST_F(pki, tls13_can_be_required) {
  certificate_provider_settings settings;
  settings.require_tls13 = true;
  certificate_provider provider(settings, acl);
  auto request = request_with("good");
  tls.protocol_name = "TLSv1.2";
  EXPECT_EQ(run_step([&](auto done) { provider.start(request, done); }).what,
            broker::auth_step::kind::failure);
  tls.protocol_name = "TLSv1.3";
  EXPECT_EQ(run_step([&](auto done) { provider.start(request, done); }).what,
            broker::auth_step::kind::success);
}

TEST_F(pki, requests_without_a_certificate_or_with_a_password_are_passed_on) {
  certificate_provider provider({}, acl);
  broker::authentication_request plain;
  plain.client_id = "c";
  EXPECT_EQ(run_step([&](auto done) { provider.start(plain, done); }).what,
            broker::auth_step::kind::next_provider);
  auto with_password = request_with("good");
  with_password.password = to_bytes("pw");
  EXPECT_EQ(run_step([&](auto done) { provider.start(with_password, done); }).what,
            broker::auth_step::kind::next_provider);
  auto no_cert = request_with("good");
  tls.certificate_pem.reset();
  EXPECT_EQ(run_step([&](auto done) { provider.start(no_cert, done); }).what,
            broker::auth_step::kind::next_provider);
  EXPECT_EQ(run_step([&](auto done) { provider.reauthenticate(no_cert, done); }).what,
            broker::auth_step::kind::failure);
}

}  // namespace
}  // namespace acemq::auth
