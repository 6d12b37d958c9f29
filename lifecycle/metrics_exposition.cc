#include "lifecycle/metrics_exposition.h"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdint>

namespace certkeeper::lifecycle {

namespace {

void AppendEscaped(std::string& out, std::string_view value, bool quote) {
  for (char c : value) {
    switch (c) {
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '"':
        if (quote) {
          out += "\\\"";
          break;
        }
        [[fallthrough]];
      default: out += c;
    }
  }
}

// {a="x",b="y"}, label names sorted, empty values left out; "" when none.
std::string LabelText(const MetricLabels& labels) {
  MetricLabels sorted;
  sorted.reserve(labels.size());
  for (const auto& l : labels) {
    if (!l.second.empty()) sorted.push_back(l);
  }
  if (sorted.empty()) return "";
  std::sort(sorted.begin(), sorted.end());
  std::string out = "{";
  for (size_t i = 0; i < sorted.size(); ++i) {
    if (i > 0) out += ',';
    out.append(sorted[i].first);
    out += "=\"";
    AppendEscaped(out, sorted[i].second, true);
    out += '"';
  }
  out += '}';
  return out;
}

}  // namespace

std::string EscapeLabelValue(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  AppendEscaped(out, value, true);
  return out;
}

std::string EscapeHelp(std::string_view help) {
  std::string out;
  out.reserve(help.size());
  AppendEscaped(out, help, false);
  return out;
}

std::string FormatSampleValue(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  // 2^53: every integer below it is exact in a double.
  if (value == std::floor(value) && std::fabs(value) < 9007199254740992.0) {
    return std::to_string(static_cast<int64_t>(value));
  }
  char buf[32];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, value);
  if (ec != std::errc()) return "NaN";
  return std::string(buf, end);
}

double UnixSeconds(TimePoint t) {
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
  return static_cast<double>(ms) / 1000.0;
}

void Exposition::Family::Add(const MetricLabels& labels, double value) {
  samples_.emplace_back(LabelText(labels), FormatSampleValue(value));
}

void Exposition::Family::AddTime(const MetricLabels& labels, TimePoint t) {
  Add(labels, UnixSeconds(t));
}

Exposition::Family& Exposition::Declare(const std::string& name, std::string help, Type type) {
  auto [it, inserted] = families_.try_emplace(name);
  if (inserted) {
    it->second.help_ = std::move(help);
    it->second.type_ = type;
  }
  return it->second;
}

size_t Exposition::series() const {
  size_t n = 0;
  for (const auto& [name, family] : families_) n += family.samples_.size();
  return n;
}

std::string Exposition::Render() const {
  size_t size = 0;
  for (const auto& [name, family] : families_) {
    size += 2 * name.size() + family.help_.size() + 32;
    for (const auto& [labels, value] : family.samples_) {
      size += name.size() + labels.size() + value.size() + 2;
    }
  }
  std::string out;
  out.reserve(size);
  std::vector<const std::pair<std::string, std::string>*> order;
  for (const auto& [name, family] : families_) {
    // A family without samples is left out: promtool and node_exporter
    // read a # TYPE line with no sample as a family of nothing.
    if (family.samples_.empty()) continue;
    out += "# HELP " + name + ' ' + EscapeHelp(family.help_) + '\n';
    out += "# TYPE " + name + (family.type_ == Type::kCounter ? " counter\n" : " gauge\n");
    order.clear();
    for (const auto& s : family.samples_) order.push_back(&s);
    std::sort(order.begin(), order.end(), [](const auto* a, const auto* b) { return *a < *b; });
    for (const auto* s : order) {
      out += name;
      out += s->first;
      out += ' ';
      out += s->second;
      out += '\n';
    }
  }
  return out;
}

}  // namespace certkeeper::lifecycle
