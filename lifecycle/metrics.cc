#include "lifecycle/metrics.h"

namespace certkeeper::lifecycle {

std::string RenderMetrics(const MonitorSnapshot&) { return ""; }

Status WriteMetricsTextfile(const std::string& path, const std::string&) {
  return Status(ErrorCode::kInternal, "metrics textfile not built yet").Where(path);
}

}  // namespace certkeeper::lifecycle
