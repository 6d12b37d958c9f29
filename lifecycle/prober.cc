#include "lifecycle/prober.h"

namespace certkeeper::lifecycle {

Result<std::vector<ProbeView>> Prober::ProbeAll() {
  return Status(ErrorCode::kInternal, "endpoint probes not built yet");
}

ProbeView ToView(const store::ProbeRecord& record) {
  ProbeView v;
  v.endpoint = record.endpoint;
  return v;
}

}  // namespace certkeeper::lifecycle
