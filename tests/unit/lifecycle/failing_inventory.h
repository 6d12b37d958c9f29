// An Inventory that forwards to a real one and fails the operations named in
// `fail` with kIo, for the engine's error paths (a disk that fills up, a
// database that cannot be read) without touching the engine's logic.
#ifndef CERTKEEPER_TESTS_UNIT_LIFECYCLE_FAILING_INVENTORY_H_
#define CERTKEEPER_TESTS_UNIT_LIFECYCLE_FAILING_INVENTORY_H_

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "store/inventory.h"

namespace certkeeper::lifecycle::testing {

class FailingInventory : public store::Inventory {
 public:
  explicit FailingInventory(std::unique_ptr<store::Inventory> inner) : inner_(std::move(inner)) {}

  // Operations (method names) that fail from now on.
  void Fail(const std::string& operation) {
    std::lock_guard<std::mutex> lock(mu_);
    fail_.insert(operation);
  }
  void Heal() {
    std::lock_guard<std::mutex> lock(mu_);
    fail_.clear();
  }
  // How often each failing operation was refused.
  int Refused(const std::string& operation) {
    std::lock_guard<std::mutex> lock(mu_);
    return refused_[operation];
  }
  store::Inventory& inner() { return *inner_; }

  Status Transaction(const std::function<Status()>& fn) override {
    if (auto e = Injected("Transaction")) return *e;
    return inner_->Transaction(fn);
  }
  Status PutAccount(const store::Account& a) override {
    if (auto e = Injected("PutAccount")) return *e;
    return inner_->PutAccount(a);
  }
  Result<store::Account> FindAccount(std::string_view server) override {
    if (auto e = Injected("FindAccount")) return *e;
    return inner_->FindAccount(server);
  }
  Result<std::vector<store::Account>> ListAccounts() override { return inner_->ListAccounts(); }
  Status PutCertificate(const store::CertificateSpec& spec) override {
    if (auto e = Injected("PutCertificate")) return *e;
    return inner_->PutCertificate(spec);
  }
  Result<store::Certificate> GetCertificate(std::string_view name) override {
    if (auto e = Injected("GetCertificate")) return *e;
    return inner_->GetCertificate(name);
  }
  Result<std::vector<store::Certificate>> ListCertificates(bool include_removed) override {
    if (auto e = Injected("ListCertificates")) return *e;
    return inner_->ListCertificates(include_removed);
  }
  Status MarkRemoved(std::string_view name) override { return inner_->MarkRemoved(name); }
  Status SetSchedule(std::string_view name, const store::Schedule& schedule) override {
    if (auto e = Injected("SetSchedule")) return *e;
    return inner_->SetSchedule(name, schedule);
  }
  Status SetRenewalInfo(std::string_view name,
                        const std::optional<store::RenewalInfoRecord>& info) override {
    if (auto e = Injected("SetRenewalInfo")) return *e;
    return inner_->SetRenewalInfo(name, info);
  }
  Status SetPendingOrder(std::string_view name, const store::PendingOrder& order) override {
    if (auto e = Injected("SetPendingOrder")) return *e;
    return inner_->SetPendingOrder(name, order);
  }
  Status ClearPendingOrder(std::string_view name) override {
    if (auto e = Injected("ClearPendingOrder")) return *e;
    return inner_->ClearPendingOrder(name);
  }
  Result<int> NextVersionNumber(std::string_view certificate) override {
    if (auto e = Injected("NextVersionNumber")) return *e;
    return inner_->NextVersionNumber(certificate);
  }
  Status AddVersion(const store::Version& version) override {
    if (auto e = Injected("AddVersion")) return *e;
    return inner_->AddVersion(version);
  }
  Status SetVersionState(std::string_view certificate, int n,
                         store::VersionState state) override {
    if (auto e = Injected("SetVersionState")) return *e;
    return inner_->SetVersionState(certificate, n, state);
  }
  Status RevokeVersion(std::string_view certificate, int n, TimePoint at,
                       std::string_view reason) override {
    return inner_->RevokeVersion(certificate, n, at, reason);
  }
  Result<store::Version> GetVersion(std::string_view certificate, int n) override {
    if (auto e = Injected("GetVersion")) return *e;
    return inner_->GetVersion(certificate, n);
  }
  Result<std::vector<store::Version>> ListVersions(std::string_view certificate) override {
    return inner_->ListVersions(certificate);
  }
  Result<store::Version> LiveVersion(std::string_view certificate) override {
    if (auto e = Injected("LiveVersion")) return *e;
    return inner_->LiveVersion(certificate);
  }
  Result<store::Version> LatestVersion(std::string_view certificate) override {
    if (auto e = Injected("LatestVersion")) return *e;
    return inner_->LatestVersion(certificate);
  }
  Result<std::map<std::string, store::CurrentVersions>> AllCurrentVersions() override {
    if (auto e = Injected("AllCurrentVersions")) return *e;
    return inner_->AllCurrentVersions();
  }
  Result<int64_t> StartAttempt(const store::Attempt& attempt) override {
    if (auto e = Injected("StartAttempt")) return *e;
    return inner_->StartAttempt(attempt);
  }
  Result<int> AddAttemptStep(int64_t attempt_id, const store::AttemptStep& step) override {
    return inner_->AddAttemptStep(attempt_id, step);
  }
  Status FinishAttempt(int64_t attempt_id, const store::AttemptEnd& end) override {
    if (auto e = Injected("FinishAttempt")) return *e;
    return inner_->FinishAttempt(attempt_id, end);
  }
  Result<store::Attempt> GetAttempt(int64_t attempt_id) override {
    return inner_->GetAttempt(attempt_id);
  }
  Result<std::vector<store::Attempt>> ListAttempts(std::string_view certificate,
                                                   int limit) override {
    return inner_->ListAttempts(certificate, limit);
  }
  Result<std::map<std::string, store::Attempt>> LatestAttempts() override {
    return inner_->LatestAttempts();
  }
  Result<int> CloseInterruptedAttempts(TimePoint now,
                                       std::optional<std::string_view> host) override {
    if (auto e = Injected("CloseInterruptedAttempts")) return *e;
    return inner_->CloseInterruptedAttempts(now, host);
  }
  Result<int64_t> AddEvent(const store::Event& event) override { return inner_->AddEvent(event); }
  Result<std::vector<store::Event>> ListEvents(std::optional<std::string> certificate,
                                               int limit) override {
    return inner_->ListEvents(std::move(certificate), limit);
  }
  Status RecordRequest(const store::RequestRecord& request) override {
    if (auto e = Injected("RecordRequest")) return *e;
    return inner_->RecordRequest(request);
  }
  Result<int64_t> CountSince(std::string_view server, std::string_view account_url,
                             store::RequestKind kind, std::string_view key,
                             TimePoint since) override {
    return inner_->CountSince(server, account_url, kind, key, since);
  }
  Result<store::RequestWindow> WindowSince(std::string_view server, std::string_view account_url,
                                           store::RequestKind kind, std::string_view key,
                                           TimePoint since) override {
    return inner_->WindowSince(server, account_url, kind, key, since);
  }
  Result<std::vector<store::RequestRecord>> ListRequestsSince(std::string_view server,
                                                              TimePoint since) override {
    if (auto e = Injected("ListRequestsSince")) return *e;
    return inner_->ListRequestsSince(server, since);
  }
  Result<int64_t> PruneRequests(TimePoint before) override {
    return inner_->PruneRequests(before);
  }
  Status SetCaLimit(const store::CaLimit& limit) override {
    if (auto e = Injected("SetCaLimit")) return *e;
    return inner_->SetCaLimit(limit);
  }
  Result<std::optional<store::CaLimit>> ActiveCaLimit(std::string_view server,
                                                      std::string_view scope,
                                                      TimePoint now) override {
    return inner_->ActiveCaLimit(server, scope, now);
  }
  Result<std::vector<store::CaLimit>> ListCaLimits(TimePoint now) override {
    return inner_->ListCaLimits(now);
  }
  Status ClearCaLimit(std::string_view server, std::string_view scope) override {
    return inner_->ClearCaLimit(server, scope);
  }
  Result<int64_t> PruneCaLimits(TimePoint now) override { return inner_->PruneCaLimits(now); }
  Status PutCaDirectory(const store::CaDirectory& directory) override {
    return inner_->PutCaDirectory(directory);
  }
  Result<std::optional<store::CaDirectory>> FindCaDirectory(std::string_view server) override {
    return inner_->FindCaDirectory(server);
  }

  // MonitorStore: forwarded; the writes can be made to fail.
  Result<int64_t> AddProbe(const store::ProbeRecord& probe) override {
    if (auto e = Injected("AddProbe")) return *e;
    return inner_->AddProbe(probe);
  }
  Result<std::vector<store::ProbeRecord>> LatestProbes() override {
    if (auto e = Injected("LatestProbes")) return *e;
    return inner_->LatestProbes();
  }
  Result<std::vector<store::ProbeRecord>> ListProbes(std::string_view endpoint,
                                                     int limit) override {
    return inner_->ListProbes(endpoint, limit);
  }
  Result<int64_t> PruneProbes(TimePoint before) override { return inner_->PruneProbes(before); }
  Status PutRevocation(const store::RevocationRecord& record) override {
    if (auto e = Injected("PutRevocation")) return *e;
    return inner_->PutRevocation(record);
  }
  Result<std::vector<store::RevocationRecord>> ListRevocations() override {
    if (auto e = Injected("ListRevocations")) return *e;
    return inner_->ListRevocations();
  }
  Result<std::vector<store::RevocationState>> ListRevocationStates() override {
    if (auto e = Injected("ListRevocationStates")) return *e;
    return inner_->ListRevocationStates();
  }
  Status PutAlertState(const store::AlertState& state) override {
    if (auto e = Injected("PutAlertState")) return *e;
    return inner_->PutAlertState(state);
  }
  Status DeleteAlertState(std::string_view alert, std::string_view event,
                          std::string_view subject) override {
    if (auto e = Injected("DeleteAlertState")) return *e;
    return inner_->DeleteAlertState(alert, event, subject);
  }
  Result<std::vector<store::AlertState>> ListAlertStates() override {
    if (auto e = Injected("ListAlertStates")) return *e;
    return inner_->ListAlertStates();
  }
  Result<int64_t> AddRun(const store::RunRecord& run) override {
    if (auto e = Injected("AddRun")) return *e;
    return inner_->AddRun(run);
  }
  Result<std::optional<store::RunRecord>> LatestRun(std::string_view kind) override {
    if (auto e = Injected("LatestRun")) return *e;
    return inner_->LatestRun(kind);
  }
  Status PutCaStatus(const store::CaStatusRecord& status) override {
    if (auto e = Injected("PutCaStatus")) return *e;
    return inner_->PutCaStatus(status);
  }
  Result<std::vector<store::CaStatusRecord>> ListCaStatus() override {
    if (auto e = Injected("ListCaStatus")) return *e;
    return inner_->ListCaStatus();
  }
  Status AddCaRequests(std::string_view server,
                       const std::map<std::string, int64_t>& counts) override {
    if (auto e = Injected("AddCaRequests")) return *e;
    return inner_->AddCaRequests(server, counts);
  }
  Result<std::map<std::string, std::map<std::string, int64_t>>> CaRequestTotals() override {
    if (auto e = Injected("CaRequestTotals")) return *e;
    return inner_->CaRequestTotals();
  }

  // MaterialStore
  Status PutMaterial(std::string_view owner,
                     const std::vector<store::MaterialFile>& files) override {
    if (auto e = Injected("PutMaterial")) return *e;
    return inner_->PutMaterial(owner, files);
  }
  Result<std::vector<store::MaterialFile>> GetMaterial(std::string_view owner) override {
    if (auto e = Injected("GetMaterial")) return *e;
    return inner_->GetMaterial(owner);
  }
  Status DeleteMaterial(std::string_view owner) override {
    if (auto e = Injected("DeleteMaterial")) return *e;
    return inner_->DeleteMaterial(owner);
  }

  // FleetStore
  Result<store::LeaseRecord> TryLease(std::string_view certificate, std::string_view holder,
                                      std::string_view token, TimePoint now,
                                      TimePoint until) override {
    if (auto e = Injected("TryLease")) return *e;
    return inner_->TryLease(certificate, holder, token, now, until);
  }
  Result<bool> RenewLease(std::string_view certificate, std::string_view token, TimePoint now,
                          TimePoint until) override {
    if (auto e = Injected("RenewLease")) return *e;
    return inner_->RenewLease(certificate, token, now, until);
  }
  Status ReleaseLease(std::string_view certificate, std::string_view token) override {
    if (auto e = Injected("ReleaseLease")) return *e;
    return inner_->ReleaseLease(certificate, token);
  }
  Result<std::vector<store::LeaseRecord>> ListLeases() override {
    if (auto e = Injected("ListLeases")) return *e;
    return inner_->ListLeases();
  }
  Status PutHostDeployment(const store::HostDeployment& deployment) override {
    if (auto e = Injected("PutHostDeployment")) return *e;
    return inner_->PutHostDeployment(deployment);
  }
  Result<std::vector<store::HostDeployment>> ListHostDeployments(
      std::optional<std::string_view> certificate) override {
    if (auto e = Injected("ListHostDeployments")) return *e;
    return inner_->ListHostDeployments(certificate);
  }

 private:
  std::optional<Status> Injected(const std::string& operation) {
    std::lock_guard<std::mutex> lock(mu_);
    if (!fail_.count(operation)) return std::nullopt;
    ++refused_[operation];
    return Status(ErrorCode::kIo, "injected failure of " + operation).Where("test inventory");
  }

  std::unique_ptr<store::Inventory> inner_;
  std::mutex mu_;
  std::set<std::string> fail_;
  std::map<std::string, int> refused_;
};

}  // namespace certkeeper::lifecycle::testing

#endif  // CERTKEEPER_TESTS_UNIT_LIFECYCLE_FAILING_INVENTORY_H_
