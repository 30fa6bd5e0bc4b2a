#include "report.hpp"

#include <cmath>
#include <cstdio>

namespace acemq::bench {

namespace {

std::string json_string(const std::string& text) {
  std::string out = "\"";
  for (const char c : text) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char escaped[8];
          std::snprintf(escaped, sizeof escaped, "\\u%04x", static_cast<unsigned>(c));
          out += escaped;
        } else {
          out += c;
        }
    }
  }
  return out + "\"";
}

std::string number(double value) {
  if (!std::isfinite(value)) return "null";
  char text[64];
  if (value == std::floor(value) && std::fabs(value) < 1e15) {
    std::snprintf(text, sizeof text, "%.0f", value);
  } else {
    std::snprintf(text, sizeof text, "%.6g", value);
  }
  return text;
}

std::string human(double value) {
  char text[64];
  if (std::fabs(value) >= 100 || value == std::floor(value)) {
    std::snprintf(text, sizeof text, "%.0f", value);
  } else {
    std::snprintf(text, sizeof text, "%.3g", value);
  }
  return text;
}

}  // namespace

std::string to_table(const report& r) {
  std::string out = "scenario: " + r.scenario + "\n";
  for (const auto& [name, value] : r.parameters)
    out += "  " + name + " = " + value + "\n";
  std::size_t width = 0;
  for (const figure& f : r.figures)
    width = std::max(width, f.name.size());
  for (const figure& f : r.figures) {
    std::string line = "  " + f.name;
    line.resize(width + 4, ' ');
    std::string value = human(f.value);
    if (value.size() < 14) value.insert(0, 14 - value.size(), ' ');
    out += line + value + " " + f.unit + "\n";
  }
  for (const std::string& note : r.notes)
    out += "  note: " + note + "\n";
  return out;
}

std::string to_json(const report& r) {
  std::string out = "{\"scenario\":" + json_string(r.scenario) + ",\"parameters\":{";
  bool first = true;
  for (const auto& [name, value] : r.parameters) {
    out += (first ? "" : ",") + json_string(name) + ":" + json_string(value);
    first = false;
  }
  out += "},\"figures\":{";
  first = true;
  for (const figure& f : r.figures) {
    out += (first ? "" : ",") + json_string(f.name) + ":" + number(f.value);
    first = false;
  }
  out += "},\"units\":{";
  first = true;
  for (const figure& f : r.figures) {
    out += (first ? "" : ",") + json_string(f.name) + ":" + json_string(f.unit);
    first = false;
  }
  out += "},\"notes\":[";
  first = true;
  for (const std::string& note : r.notes) {
    out += (first ? "" : ",") + json_string(note);
    first = false;
  }
  return out + "]}";
}

}  // namespace acemq::bench
