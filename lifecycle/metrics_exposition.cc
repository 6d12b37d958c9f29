#include "lifecycle/metrics_exposition.h"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdint>

namespace certkeeper::lifecycle {

namespace {

// Appends value with backslash and newline (and, in label values, the
// double quote) escaped; runs without such a character are copied whole.
void AppendEscaped(std::string& out, std::string_view value, bool quote) {
  size_t run = 0;
  for (size_t i = 0; i < value.size(); ++i) {
    const char c = value[i];
    const char* escaped = c == '\\'              ? "\\\\"
                          : c == '\n'             ? "\\n"
                          : quote && c == '"'     ? "\\\""
                                                  : nullptr;
    if (escaped == nullptr) continue;
    out.append(value.substr(run, i - run));
    out += escaped;
    run = i + 1;
  }
  out.append(value.substr(run));
}

// Appends {a="x",b="y"}: label names sorted, empty values left out; nothing
// when no label has a value. Label sets are small (at most a handful), so an
// insertion sort over a fixed array costs no allocation.
void AppendLabels(std::string& out, const MetricLabels& labels) {
  constexpr size_t kMax = 8;
  const std::pair<std::string_view, std::string_view>* sorted[kMax];
  size_t n = 0;
  for (const auto& l : labels) {
    if (l.second.empty() || n == kMax) continue;
    size_t i = n++;
    for (; i > 0 && l.first < sorted[i - 1]->first; --i) sorted[i] = sorted[i - 1];
    sorted[i] = &l;
  }
  if (n == 0) return;
  out += '{';
  for (size_t i = 0; i < n; ++i) {
    if (i > 0) out += ',';
    out.append(sorted[i]->first);
    out += "=\"";
    AppendEscaped(out, sorted[i]->second, true);
    out += '"';
  }
  out += '}';
}

void AppendValue(std::string& out, double value) {
  // 2^53: every integer below it is exact in a double.
  if (std::isfinite(value) && value == std::floor(value) &&
      std::fabs(value) < 9007199254740992.0) {
    char buf[24];
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, static_cast<int64_t>(value));
    out.append(buf, ec == std::errc() ? end : buf);
    return;
  }
  if (std::isnan(value)) {
    out += "NaN";
  } else if (std::isinf(value)) {
    out += value > 0 ? "+Inf" : "-Inf";
  } else {
    char buf[32];
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, value);
    out.append(buf, ec == std::errc() ? end : buf);
  }
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
  std::string out;
  AppendValue(out, value);
  return out;
}

double UnixSeconds(TimePoint t) {
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
  return static_cast<double>(ms) / 1000.0;
}

void Exposition::Family::Add(const MetricLabels& labels, double value) {
  starts_.push_back(lines_.size());
  lines_ += name_;
  AppendLabels(lines_, labels);
  lines_ += ' ';
  AppendValue(lines_, value);
  lines_ += '\n';
}

void Exposition::Family::AddTime(const MetricLabels& labels, TimePoint t) {
  Add(labels, UnixSeconds(t));
}

Exposition::Family& Exposition::Declare(const std::string& name, std::string help, Type type) {
  auto [it, inserted] = families_.try_emplace(name);
  if (inserted) {
    it->second.name_ = name;
    it->second.help_ = std::move(help);
    it->second.type_ = type;
  }
  return it->second;
}

size_t Exposition::series() const {
  size_t n = 0;
  for (const auto& [name, family] : families_) n += family.starts_.size();
  return n;
}

std::string Exposition::Render() const {
  size_t size = 0;
  for (const auto& [name, family] : families_) {
    size += 2 * name.size() + family.help_.size() + 32 + family.lines_.size();
  }
  std::string out;
  out.reserve(size);
  std::vector<std::string_view> lines;
  for (const auto& [name, family] : families_) {
    // A family without samples is left out: promtool and node_exporter
    // read a # TYPE line with no sample as a family of nothing.
    if (family.starts_.empty()) continue;
    out += "# HELP " + name + ' ' + EscapeHelp(family.help_) + '\n';
    out += "# TYPE " + name + (family.type_ == Type::kCounter ? " counter\n" : " gauge\n");
    // Every line starts with the family's name, so the order of the lines is
    // the order of their labels.
    const std::string_view all(family.lines_);
    lines.clear();
    for (size_t i = 0; i < family.starts_.size(); ++i) {
      const size_t end = i + 1 < family.starts_.size() ? family.starts_[i + 1] : all.size();
      lines.push_back(all.substr(family.starts_[i], end - family.starts_[i]));
    }
    if (std::is_sorted(lines.begin(), lines.end())) {
      out += all;
      continue;
    }
    std::sort(lines.begin(), lines.end());
    for (std::string_view line : lines) out += line;
  }
  return out;
}

}  // namespace certkeeper::lifecycle
