#include "lifecycle/revocation.h"

namespace certkeeper::lifecycle {

Result<std::vector<RevocationView>> RevocationChecker::Refresh(bool) {
  return std::vector<RevocationView>{};
}

void AddRevocationFindings(const std::vector<RevocationView>&, std::vector<CheckFinding>&) {}

RevocationView ToView(const store::RevocationRecord& record) {
  RevocationView v;
  v.certificate = record.certificate;
  return v;
}

}  // namespace certkeeper::lifecycle
