// CertificateStore: the managed certificates, their renewal schedule and the
// order a run may resume.
//
// Used by configuration sync (put), the renewal planner (list with
// schedules), issuance (schedule, pending order) and the read-only queries
// (list, show). Part of store::Inventory (store/inventory.h), whose general
// contract (atomicity, thread-safety, kNotFound vs kIo) applies to every method
// here.
#ifndef CERTKEEPER_STORE_CERTIFICATE_STORE_H_
#define CERTKEEPER_STORE_CERTIFICATE_STORE_H_

#include <string_view>
#include <vector>

#include "base/status.h"
#include "store/records.h"

namespace certkeeper::store {

class CertificateStore {
 public:
  virtual ~CertificateStore() = default;

  // Inserts the certificate or updates its spec; clears the removed flag. The
  // schedule, pending order and versions of an existing certificate are kept.
  virtual Status PutCertificate(const CertificateSpec& spec) = 0;
  // Also returns removed certificates (check Certificate::removed).
  virtual Result<Certificate> GetCertificate(std::string_view name) = 0;
  // Ordered by name.
  virtual Result<std::vector<Certificate>> ListCertificates(bool include_removed) = 0;
  // Stops managing the certificate; its versions and history stay.
  virtual Status MarkRemoved(std::string_view name) = 0;
  virtual Status SetSchedule(std::string_view name, const Schedule& schedule) = 0;
  // At most one pending order per certificate; setting replaces it.
  virtual Status SetPendingOrder(std::string_view name, const PendingOrder& order) = 0;
  virtual Status ClearPendingOrder(std::string_view name) = 0;
};

}  // namespace certkeeper::store

#endif  // CERTKEEPER_STORE_CERTIFICATE_STORE_H_
