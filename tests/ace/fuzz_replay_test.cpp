// Replays the ace_provider fuzz corpus through LLVMFuzzerTestOneInput (fuzz/ace_provider.cpp),
// plus every truncation of each seed: the harness aborts on a broken property.
#include <gtest/gtest.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace {

TEST(AceFuzzReplay, SeedsAndTheirTruncations) {
  std::size_t seeds = 0;
  for (const auto& entry : std::filesystem::directory_iterator(ACEMQ_ACE_CORPUS)) {
    if (!entry.is_regular_file() || entry.path().extension() == ".py") continue;
    std::ifstream in(entry.path(), std::ios::binary);
    const std::vector<std::uint8_t> bytes{std::istreambuf_iterator<char>(in),
                                          std::istreambuf_iterator<char>()};
    for (std::size_t size = 0; size <= bytes.size(); ++size) {
      EXPECT_EQ(LLVMFuzzerTestOneInput(bytes.data(), size), 0);
    }
    ++seeds;
  }
  EXPECT_GE(seeds, 10u);
}

}  // namespace
