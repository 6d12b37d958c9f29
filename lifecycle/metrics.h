// Prometheus metrics: the text exposition format (version 0.0.4) of a
// monitoring snapshot, for `certkeeper metrics`, `serve`'s /metrics and the
// node_exporter textfile collector.
//
// Contract:
//  - Every label value is bounded by the configuration (certificate names,
//    CA names, endpoint keys, outcome and request kinds): never a domain
//    list, an error text or anything a peer sent.
//  - Names and units follow the Prometheus conventions (certkeeper_ prefix,
//    _seconds, _timestamp_seconds, _total for counters); the output passes
//    `promtool check metrics`.
//  - Pure: the same snapshot gives the same text.
#ifndef CERTKEEPER_LIFECYCLE_METRICS_H_
#define CERTKEEPER_LIFECYCLE_METRICS_H_

#include <string>

#include "base/status.h"
#include "lifecycle/monitor.h"

namespace certkeeper::lifecycle {

std::string RenderMetrics(const MonitorSnapshot& snapshot);

// Writes `text` to `path` atomically (a temporary file in the same directory,
// fsync, rename), mode 0644, so that a collector never reads half a file.
Status WriteMetricsTextfile(const std::string& path, const std::string& text);

}  // namespace certkeeper::lifecycle

#endif  // CERTKEEPER_LIFECYCLE_METRICS_H_
