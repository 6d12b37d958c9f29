// RenewalInfoStore: ACME Renewal Information (RFC 9773) per certificate, and
// what each CA's directory offers, so that a run with nothing due sends no
// request.
//
// Used by the renewal planner (which window applies, when to fetch again) and
// by issuance (record a fetched window, the directory's renewalInfo URL). Part
// of store::Inventory (store/inventory.h), whose general contract (atomicity,
// thread-safety, kNotFound vs kIo) applies to every method here.
#ifndef CERTKEEPER_STORE_RENEWAL_INFO_STORE_H_
#define CERTKEEPER_STORE_RENEWAL_INFO_STORE_H_

#include <optional>
#include <string_view>

#include "base/status.h"
#include "store/records.h"

namespace certkeeper::store {

class RenewalInfoStore {
 public:
  virtual ~RenewalInfoStore() = default;

  // Replaces the certificate's renewal information; nullopt forgets it. The
  // stored record is read back with the certificate
  // (CertificateStore::GetCertificate, Certificate::renewal_info).
  virtual Status SetRenewalInfo(std::string_view name,
                                const std::optional<RenewalInfoRecord>& info) = 0;

  // Inserts or replaces the row of directory.server.
  virtual Status PutCaDirectory(const CaDirectory& directory) = 0;
  // nullopt only when nothing is recorded for that server; a failed read is
  // kIo, not nullopt.
  virtual Result<std::optional<CaDirectory>> FindCaDirectory(std::string_view server) = 0;
};

}  // namespace certkeeper::store

#endif  // CERTKEEPER_STORE_RENEWAL_INFO_STORE_H_
