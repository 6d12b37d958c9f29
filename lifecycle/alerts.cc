#include "lifecycle/alerts.h"

namespace certkeeper::lifecycle {

Result<AlertReport> Alerter::Evaluate(const MonitorSnapshot&) { return AlertReport{}; }

}  // namespace certkeeper::lifecycle
