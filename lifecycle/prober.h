// Endpoint probes: connects to each [[endpoint]] over TLS (bounded in time),
// records what it served and how it compares with the inventory.
#ifndef CERTKEEPER_LIFECYCLE_PROBER_H_
#define CERTKEEPER_LIFECYCLE_PROBER_H_

#include <vector>

#include "base/status.h"
#include "lifecycle/engine_context.h"
#include "lifecycle/monitor.h"

namespace certkeeper::lifecycle {

class Prober {
 public:
  explicit Prober(const EngineContext& ctx) : ctx_(ctx) {}

  // Probes every configured endpoint and records each result
  // (store::MonitorStore::AddProbe); returns them in config order. A probe
  // that could not connect or got a bad chain is a result with ok=false or
  // chain_valid=false, not an error: only a failed inventory read or write
  // is one.
  Result<std::vector<ProbeView>> ProbeAll();

 private:
  const EngineContext& ctx_;
};

// store <-> view
ProbeView ToView(const store::ProbeRecord& record);

}  // namespace certkeeper::lifecycle

#endif  // CERTKEEPER_LIFECYCLE_PROBER_H_
