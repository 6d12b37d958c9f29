// The Prometheus text exposition format, version 0.0.4
// (https://prometheus.io/docs/instrumenting/exposition_formats/): metric
// families with their # HELP and # TYPE lines, samples with escaped label
// values. lifecycle/metrics.cc says which families certkeeper exposes; this
// file only knows the format.
//
// Contract:
//  - Render() writes the families sorted by name and, inside a family, the
//    samples sorted by their label text, so the same input gives the same
//    bytes whatever order it was added in.
//  - Label names are written in lexical order; a label whose value is empty
//    is left out (in Prometheus an empty label value is the same as no label).
//  - Family names, label names and help texts come from the code, never from
//    data: they MUST match [a-zA-Z_:][a-zA-Z0-9_:]* / [a-zA-Z_][a-zA-Z0-9_]*.
//    Label values are data and are escaped (backslash, double quote, newline).
#ifndef CERTKEEPER_LIFECYCLE_METRICS_EXPOSITION_H_
#define CERTKEEPER_LIFECYCLE_METRICS_EXPOSITION_H_

#include <cstddef>
#include <initializer_list>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/clock.h"

namespace certkeeper::lifecycle {

// Label name -> value, in any order, at most 8 (a list in braces: no
// allocation per sample).
using MetricLabels = std::initializer_list<std::pair<std::string_view, std::string_view>>;

class Exposition {
 public:
  enum class Type { kGauge, kCounter };

  // One metric family; samples are added through it.
  class Family {
   public:
    void Add(const MetricLabels& labels, double value);
    // A timestamp as seconds since the Unix epoch (millisecond precision).
    void AddTime(const MetricLabels& labels, TimePoint t);

   private:
    friend class Exposition;
    std::string name_;
    std::string help_;
    Type type_ = Type::kGauge;
    // The sample lines, each "name{labels} value\n", one after the other in
    // one buffer (a scrape of 10,000 certificates is 120,000 lines: one
    // allocation per line would cost more than the rest of the rendering).
    std::string lines_;
    std::vector<size_t> starts_;  // where each line begins in lines_
  };

  // The family `name` (created on first use with this help and type). The
  // reference stays valid for the life of the Exposition.
  Family& Declare(const std::string& name, std::string help, Type type = Type::kGauge);

  std::string Render() const;
  size_t series() const;

 private:
  std::map<std::string, Family> families_;
};

// "\\" -> "\\\\", "\"" -> "\\\"", newline -> "\\n" (label values).
std::string EscapeLabelValue(std::string_view value);
// "\\" -> "\\\\", newline -> "\\n" (help texts).
std::string EscapeHelp(std::string_view help);
// A sample value: integers without a fraction or exponent, other finite
// values in their shortest round-trip form, NaN, +Inf and -Inf as spelled by
// the format.
std::string FormatSampleValue(double value);
double UnixSeconds(TimePoint t);

}  // namespace certkeeper::lifecycle

#endif  // CERTKEEPER_LIFECYCLE_METRICS_EXPOSITION_H_
