#pragma once
// The result of one scenario: ordered parameters and figures, printed as a table or as JSON.

#include <string>
#include <utility>
#include <vector>

namespace acemq::bench {

/// One named figure with its unit ("msg/s", "us", ...); text values have an empty unit.
struct figure {
  std::string name;
  double value = 0;
  std::string unit;
};

struct report {
  std::string scenario;
  std::vector<std::pair<std::string, std::string>> parameters;
  std::vector<figure> figures;
  /// Messages that explain a degraded or partial result (e.g. connections that failed).
  std::vector<std::string> notes;

  void parameter(std::string name, std::string value) {
    parameters.emplace_back(std::move(name), std::move(value));
  }
  void add(std::string name, double value, std::string unit) {
    figures.push_back({std::move(name), value, std::move(unit)});
  }
};

/// Human-readable table.
std::string to_table(const report& r);
/// One JSON object: {"scenario":..., "parameters":{...}, "figures":{name: value}, "units":{...},
/// "notes":[...]}.
std::string to_json(const report& r);

}  // namespace acemq::bench
