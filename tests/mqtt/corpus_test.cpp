// The fuzz seed corpus is the encoding of test::sample_packets(). This test fails when the two
// drift apart; run it with ACEMQ_WRITE_MQTT_CORPUS=1 to (re)write the files.

#include <acemq/mqtt/decode.hpp>
#include <acemq/mqtt/encode.hpp>

#include "sample_packets.hpp"
#include "test_util.hpp"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>

#ifndef ACEMQ_MQTT_CORPUS_DIR
#error "ACEMQ_MQTT_CORPUS_DIR must name fuzz/corpus/mqtt_decode"
#endif

namespace acemq::mqtt {
namespace {

const std::filesystem::path corpus_dir{ACEMQ_MQTT_CORPUS_DIR};

byte_vector read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return byte_vector(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

bool writing_corpus() {
  const char* flag = std::getenv("ACEMQ_WRITE_MQTT_CORPUS");
  return flag != nullptr && std::string_view(flag) == "1";
}

TEST(corpus, seed_files_match_the_samples) {
  const auto samples = test::sample_packets();
  ASSERT_GE(samples.size(), 20U);
  if (writing_corpus()) std::filesystem::create_directories(corpus_dir);
  for (const test::sample_packet& sample : samples) {
    SCOPED_TRACE(sample.name);
    const byte_vector wire = test::encoded(sample.value, sample.version);
    const std::filesystem::path path = corpus_dir / sample.name;
    if (writing_corpus()) {
      std::ofstream out(path, std::ios::binary | std::ios::trunc);
      out.write(reinterpret_cast<const char*>(wire.data()),
                static_cast<std::streamsize>(wire.size()));
      ASSERT_TRUE(out.good());
    }
    ASSERT_TRUE(std::filesystem::exists(path)) << path;
    EXPECT_EQ(read_file(path), wire);
  }
}

TEST(corpus, every_seed_file_decodes) {
  ASSERT_TRUE(std::filesystem::is_directory(corpus_dir)) << corpus_dir;
  std::size_t files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(corpus_dir)) {
    SCOPED_TRACE(entry.path().filename().string());
    const byte_vector wire = read_file(entry.path());
    const std::string name = entry.path().filename().string();
    const auto version = name.starts_with("v5_") ? protocol_version::v5 : protocol_version::v311;
    EXPECT_TRUE(decode(wire, version));
    ++files;
  }
  EXPECT_GE(files, 20U);
}

}  // namespace
}  // namespace acemq::mqtt
