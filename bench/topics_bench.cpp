// Benchmarks for acemq_broker_topics. The peer in the same run is the obvious alternative a broker
// could use: a linear scan of every filter (or retained topic) with acemq::topic::matches. At the
// end the program prints the ratio of each trie figure to its scan peer.
//
//   build/<preset>/bench/acemq_topics_bench [--benchmark_filter=...]

#include <benchmark/benchmark.h>

#include <cstdint>
#include <cstdio>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "acemq/broker/retained_store.hpp"
#include "acemq/broker/subscription_tree.hpp"
#include "acemq/common/topic.hpp"

namespace {

using acemq::broker::subscriber_id;
using acemq::broker::subscription_options;

// A fleet-shaped workload: per-device filters, a few wildcards per device group, some shared
// subscriptions for workers and a handful of global monitors.
std::vector<std::string> make_filters(std::size_t count) {
  std::vector<std::string> filters;
  filters.reserve(count);
  for (std::size_t i = 0; filters.size() < count; ++i) {
    const std::string device = std::to_string(i);
    const std::string site = std::to_string(i % 100);
    switch (i % 5) {
      case 0:
        filters.push_back("site/" + site + "/device/" + device + "/telemetry");
        break;
      case 1:
        filters.push_back("site/" + site + "/device/" + device + "/#");
        break;
      case 2:
        filters.push_back("site/" + site + "/device/+/alarm/" + device);
        break;
      case 3:
        filters.push_back("$share/workers" + std::to_string(i % 10) + "/site/" + site + "/device/" +
                          device + "/cmd");
        break;
      default:
        filters.push_back("+/" + site + "/device/" + device + "/+");
        break;
    }
  }
  filters.push_back("site/#");
  filters.push_back("+/+/device/+/telemetry");
  return filters;
}

std::vector<std::string> make_topics(std::size_t count) {
  std::vector<std::string> topics;
  for (std::size_t i = 0; i < 256; ++i) {
    const std::size_t device = (i * 7919) % count;
    topics.push_back("site/" + std::to_string(device % 100) + "/device/" + std::to_string(device) +
                     "/telemetry");
  }
  return topics;
}

void trie_match(benchmark::State& state) {
  const auto count = static_cast<std::size_t>(state.range(0));
  const std::vector<std::string> filters = make_filters(count);
  const std::vector<std::string> topics = make_topics(count);
  acemq::broker::subscription_tree tree;
  for (std::size_t i = 0; i < filters.size(); ++i)
    tree.subscribe(filters[i], i, {});
  std::size_t next = 0;
  std::size_t delivered = 0;
  for (auto _ : state) {
    tree.match(topics[next++ % topics.size()],
               [&](subscriber_id, const subscription_options&, bool) { ++delivered; });
  }
  benchmark::DoNotOptimize(delivered);
  state.counters["deliveries/msg"] =
      static_cast<double>(delivered) / static_cast<double>(state.iterations());
  state.SetItemsProcessed(state.iterations());
}

void scan_match(benchmark::State& state) {
  const auto count = static_cast<std::size_t>(state.range(0));
  const std::vector<std::string> filters = make_filters(count);
  const std::vector<std::string> topics = make_topics(count);
  std::size_t next = 0;
  std::size_t delivered = 0;
  for (auto _ : state) {
    const std::string& topic = topics[next++ % topics.size()];
    for (const std::string& filter : filters) {
      const auto shared = acemq::topic::parse_shared(filter);
      if (acemq::topic::matches(shared.is_shared ? shared.parts.filter : filter, topic)) {
        ++delivered;
      }
    }
  }
  benchmark::DoNotOptimize(delivered);
  state.counters["deliveries/msg"] =
      static_cast<double>(delivered) / static_cast<double>(state.iterations());
  state.SetItemsProcessed(state.iterations());
}

void trie_subscribe_unsubscribe(benchmark::State& state) {
  const auto count = static_cast<std::size_t>(state.range(0));
  const std::vector<std::string> filters = make_filters(count);
  acemq::broker::subscription_tree tree;
  for (std::size_t i = 0; i < filters.size(); ++i)
    tree.subscribe(filters[i], i, {});
  std::size_t next = 0;
  for (auto _ : state) {
    const std::size_t i = next++ % filters.size();
    tree.unsubscribe(filters[i], i);
    tree.subscribe(filters[i], i, {});
  }
  state.SetItemsProcessed(state.iterations());
}

std::vector<std::string> make_retained_topics(std::size_t count) {
  std::vector<std::string> topics;
  topics.reserve(count);
  for (std::size_t i = 0; i < count; ++i) {
    topics.push_back("site/" + std::to_string(i % 100) + "/device/" + std::to_string(i) +
                     (i % 2 ? "/status" : "/telemetry"));
  }
  return topics;
}

constexpr const char* retained_filter = "site/42/device/+/status";

void retained_trie_match(benchmark::State& state) {
  const auto count = static_cast<std::size_t>(state.range(0));
  acemq::broker::retained_store<std::uint32_t> retained;
  std::uint32_t value = 0;
  for (const std::string& topic : make_retained_topics(count))
    retained.set(topic, value++);
  std::size_t found = 0;
  for (auto _ : state) {
    retained.match(retained_filter, [&](std::string_view, std::uint32_t) { ++found; });
  }
  benchmark::DoNotOptimize(found);
  state.SetItemsProcessed(state.iterations());
}

void retained_scan_match(benchmark::State& state) {
  const auto count = static_cast<std::size_t>(state.range(0));
  const std::vector<std::string> topics = make_retained_topics(count);
  std::size_t found = 0;
  for (auto _ : state) {
    for (const std::string& topic : topics) {
      if (acemq::topic::matches(retained_filter, topic)) ++found;
    }
  }
  benchmark::DoNotOptimize(found);
  state.SetItemsProcessed(state.iterations());
}

BENCHMARK(trie_match)->Arg(10'000)->Arg(100'000);
BENCHMARK(scan_match)->Arg(10'000)->Arg(100'000);
BENCHMARK(trie_subscribe_unsubscribe)->Arg(10'000)->Arg(100'000);
BENCHMARK(retained_trie_match)->Arg(10'000)->Arg(100'000);
BENCHMARK(retained_scan_match)->Arg(10'000)->Arg(100'000);

// Prints the usual table, then how many times faster each trie figure is than its scan peer.
class ratio_reporter : public benchmark::ConsoleReporter {
 public:
  void ReportRuns(const std::vector<Run>& runs) override {
    for (const Run& run : runs) {
      if (run.run_type == Run::RT_Iteration) {
        times_[run.benchmark_name()] = run.GetAdjustedRealTime();
      }
    }
    ConsoleReporter::ReportRuns(runs);
  }

  void Finalize() override {
    ConsoleReporter::Finalize();
    const std::pair<const char*, const char*> peers[] = {
        {"trie_match", "scan_match"}, {"retained_trie_match", "retained_scan_match"}};
    for (const auto& [ours, theirs] : peers) {
      for (const char* size : {"10000", "100000"}) {
        const auto mine = times_.find(std::string(ours) + "/" + size);
        const auto peer = times_.find(std::string(theirs) + "/" + size);
        if (mine == times_.end() || peer == times_.end() || mine->second <= 0) continue;
        std::printf("%s vs %s at %s: %.1fx faster\n", ours, theirs, size,
                    peer->second / mine->second);
      }
    }
  }

 private:
  std::map<std::string, double> times_;
};

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  ratio_reporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();
  return 0;
}
