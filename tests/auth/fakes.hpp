#pragma once
// Test doubles shared by the auth tests: TLS facts without a socket, a synchronous way to run a
// provider step, and scratch directories.

#include <gtest/gtest.h>

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "acemq/broker/auth_provider.hpp"

namespace acemq::auth::testing {

/// TLS facts set by the test. The exporter returns a value derived from `session_secret`, the
/// label and the length, so two "sessions" differ as real ones do.
class fake_tls_facts final : public broker::tls_facts {
 public:
  byte_vector session_secret = to_bytes("session-one");
  std::optional<std::string> certificate_pem;
  std::string protocol_name = "TLSv1.3";
  bool exporter_fails = false;

  std::optional<byte_vector> export_keying_material(std::string_view label, byte_view, bool,
                                                    std::size_t length) const override {
    if (exporter_fails) return std::nullopt;
    byte_vector out(length);
    for (std::size_t i = 0; i < length; ++i) {
      const auto secret = session_secret.empty() ? 0 : session_secret[i % session_secret.size()];
      const auto mixed =
          static_cast<unsigned>(secret) + static_cast<unsigned>(label[i % label.size()]) + i;
      out[i] = static_cast<std::uint8_t>(mixed & 0xFF);
    }
    return out;
  }
  std::optional<std::string> peer_certificate_pem() const override { return certificate_pem; }
  std::optional<std::string> peer_subject_common_name() const override { return std::nullopt; }
  std::vector<std::string> peer_subject_alternative_names() const override { return {}; }
  std::optional<std::string> psk_identity() const override { return std::nullopt; }
  std::string_view protocol() const override { return protocol_name; }
};

/// Runs one provider call and returns the step it completed with (providers here complete inside
/// the call unless given an executor; the test fails if `done` was not called).
template <typename Call>
broker::auth_step run_step(Call&& call) {
  std::optional<broker::auth_step> step;
  call([&step](broker::auth_step s) { step = std::move(s); });
  EXPECT_TRUE(step.has_value()) << "the provider did not complete";
  if (!step) return broker::auth_step::fail(mqtt::reason_code::unspecified_error);
  return std::move(*step);
}

/// A fresh directory under the build tree for one test.
inline std::filesystem::path scratch_directory(const std::string& name) {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  std::filesystem::path dir = std::filesystem::path(ACEMQ_TEST_SCRATCH_DIR) / "scratch" /
                              (name + "_" + info->test_suite_name() + "_" + info->name());
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

}  // namespace acemq::auth::testing
