#include "lifecycle/engine_query.h"

#include <chrono>
#include <optional>
#include <utility>

#include "base/crypto.h"
#include "base/fs.h"
#include "lifecycle/engine_ari.h"
#include "lifecycle/next_key.h"

namespace certkeeper::lifecycle {

namespace {

// A revoked version newer than the live one was the newest deployed version
// when it was revoked (only the live version is revoked): live/<name> and the
// targets may still hold it.
bool NewestDeployedRevoked(const store::Version* live, const store::Version* latest) {
  return latest && latest->state == store::VersionState::kRevoked &&
         (!live || latest->n > live->n);
}

CertificateView::KeyPinsView ToPinsView(const KeyPins& pins) {
  return {pins.spki_sha256_base64, pins.tlsa_3_1_1};
}

}  // namespace

Result<CertificateView> Queries::MakeView(const store::Certificate& cert, bool with_versions) {
  auto live = ctx_.inventory->LiveVersion(cert.spec.name);
  if (!live.ok() && live.status().code() != ErrorCode::kNotFound) return live.status();
  auto latest = ctx_.inventory->LatestVersion(cert.spec.name);
  if (!latest.ok() && latest.status().code() != ErrorCode::kNotFound) return latest.status();
  CK_ASSIGN_OR_RETURN(auto attempts, ctx_.inventory->ListAttempts(cert.spec.name, 1));
  const store::Attempt* last = attempts.empty() ? nullptr : &attempts.front();
  return MakeView(cert, live.ok() ? &*live : nullptr, latest.ok() ? &*latest : nullptr, last,
                  with_versions);
}

DueInput Queries::DueFor(const store::Certificate& cert, std::vector<std::string> domains,
                         const store::Version* live, const store::Version* latest,
                         CertificateView& view) const {
  DueInput due;
  due.now = ctx_.clock->Now();
  due.domains = std::move(domains);
  auto kt = ParseKeyType(cert.spec.key_type);
  if (kt.ok()) due.key_type = *kt;
  if (live) {
    LiveVersionFacts facts;
    facts.not_before = live->not_before;
    facts.not_after = live->not_after;
    facts.revoked = live->state == store::VersionState::kRevoked;
    facts.domains = live->domains;
    auto lkt = ParseKeyType(live->key_type);
    if (lkt.ok()) facts.key_type = *lkt;
    due.live = std::move(facts);
    due.ari = StoredAriSchedule(cert.renewal_info, live->n);
    if (due.ari) {
      view.renewal_info = CertificateView::RenewalInfo{
          due.ari->window.start, due.ari->window.end, due.ari->chosen,
          cert.renewal_info->next_fetch_at, cert.renewal_info->explanation_url};
    }
  }
  due.newest_deployed_revoked = NewestDeployedRevoked(live, latest);
  due.renew_before = ctx_.config->renewal.renew_before;
  due.jitter_fraction = StableJitterFraction(cert.spec.name);
  return due;
}

void SetStatus(const store::Version* live, const store::Schedule& sched, const DueInput& due,
               const DueDecision& decision, CertificateView& view) {
  const TimePoint now = due.now;
  if (decision.why == DueReason::kRevoked) {
    // Revoked: nothing usable is live, and the next run renews it.
    view.status = sched.consecutive_failures > 0 ? "failing" : "due";
    view.status_reason = decision.reason;
    if (sched.consecutive_failures > 0) {
      view.status_reason += "; " + std::to_string(sched.consecutive_failures) +
                            " consecutive failures";
    }
  } else if (!live) {
    view.status = sched.consecutive_failures > 0 ? "failing" : "pending";
    view.status_reason = "no version issued yet";
  } else if (live->not_after <= now) {
    view.status = "expired";
    view.status_reason = "expired " + FormatDurationHuman(now - live->not_after) + " ago";
  } else if (sched.consecutive_failures > 0) {
    view.status = "failing";
    view.status_reason = std::to_string(sched.consecutive_failures) + " consecutive failures";
  } else if (decision.due) {
    view.status = "due";
    view.status_reason = decision.reason;
  } else {
    view.status = "valid";
    view.status_reason = decision.reason;
  }
  std::optional<TimePoint> next = sched.next_attempt_at;
  std::string why = sched.deferred_reason;
  if (sched.ca_retry_after && (!next || *sched.ca_retry_after > *next)) {
    next = sched.ca_retry_after;
    why = "CA asked to retry after " + FormatRfc3339(*sched.ca_retry_after);
  }
  if (!next) {
    next = decision.renew_at;
    // The window itself is in renewal_info.
    why = decision.due ? "due: " + decision.reason
          : due.ari && decision.renew_at == due.ari->chosen ? "the CA's renewal information window"
                                                            : "renewal window";
  }
  view.next_attempt = next;
  view.next_attempt_reason = why;
}

Result<CertificateView> Queries::MakeView(const store::Certificate& cert,
                                          const store::Version* live,
                                          const store::Version* latest,
                                          const store::Attempt* last_attempt,
                                          bool with_versions) {
  CertificateView view;
  CK_RETURN_IF_ERROR(
      FillView(store::Certificate(cert), live, latest, last_attempt, with_versions, view));
  return view;
}

Status Queries::FillView(store::Certificate&& cert, const store::Version* live,
                         const store::Version* latest, const store::Attempt* last_attempt,
                         bool with_versions, CertificateView& view) {
  view.live_directory = ctx_.layout->LiveDir(cert.spec.name);
  if (live) view.live = ToView(*live);
  if (last_attempt) view.last_attempt = ToView(*last_attempt);
  DueInput due = DueFor(cert, std::move(cert.spec.domains), live, latest, view);
  DueDecision decision = ComputeDue(due);
  SetStatus(live, cert.schedule, due, decision, view);
  if (live) view.renew_at = decision.renew_at;
  view.consecutive_failures = cert.schedule.consecutive_failures;
  // Every successful attempt records a version, so the newest version's
  // creation is the last success.
  if (latest) view.last_success = latest->created_at;
  if (latest && (!live || latest->n > live->n)) view.newest = ToView(*latest);
  if (with_versions) {
    CK_ASSIGN_OR_RETURN(auto versions, ctx_.inventory->ListVersions(cert.spec.name));
    for (const auto& v : versions) view.versions.push_back(ToView(v));
  }
  view.name = std::move(cert.spec.name);
  view.domains = std::move(due.domains);
  view.key_type = std::move(cert.spec.key_type);
  view.challenges = std::move(cert.spec.challenges);
  view.deploy = std::move(cert.spec.deploy_targets);
  return Status::Ok();
}

namespace {

// view.fleet and what each host delivered of view.name, from every row.
void AddHosts(const std::vector<store::HostDeployment>& rows, CertificateView& view) {
  view.fleet = true;
  for (const store::HostDeployment& r : rows) {
    if (r.certificate != view.name) continue;
    view.hosts.push_back({r.host, r.version, r.state, r.at, r.error});
  }
}

}  // namespace

Result<std::vector<CertificateView>> Queries::List() {
  // Three reads for the whole inventory, not three per certificate.
  CK_ASSIGN_OR_RETURN(auto certs, ctx_.inventory->ListCertificates(false));
  CK_ASSIGN_OR_RETURN(auto versions, ctx_.inventory->AllCurrentVersions());
  CK_ASSIGN_OR_RETURN(auto attempts, ctx_.inventory->LatestAttempts());
  std::vector<store::HostDeployment> hosts;
  if (ctx_.fleet) {
    CK_ASSIGN_OR_RETURN(hosts, ctx_.inventory->ListHostDeployments(std::nullopt));
  }
  std::vector<CertificateView> out;
  out.reserve(certs.size());
  for (auto& c : certs) {
    const store::Version* live = nullptr;
    const store::Version* latest = nullptr;
    if (auto v = versions.find(c.spec.name); v != versions.end()) {
      if (v->second.live) live = &*v->second.live;
      if (v->second.latest) latest = &*v->second.latest;
    }
    auto a = attempts.find(c.spec.name);
    CertificateView& view = out.emplace_back();
    CK_RETURN_IF_ERROR(FillView(std::move(c), live, latest,
                                a == attempts.end() ? nullptr : &a->second, false, view));
    if (ctx_.fleet) AddHosts(hosts, view);
  }
  return out;
}

Result<store::Certificate> Queries::FindManaged(const std::string& name) {
  auto cert = ctx_.inventory->GetCertificate(name);
  if (!cert.ok() && cert.status().code() == ErrorCode::kNotFound) return NotManagedError(name);
  return cert;
}

Result<CertificateView> Queries::Show(const std::string& name) {
  CK_ASSIGN_OR_RETURN(store::Certificate cert, FindManaged(name));
  CK_ASSIGN_OR_RETURN(CertificateView view, MakeView(cert, true));
  AddKeyPins(cert, view);
  if (ctx_.fleet) {
    int64_t renewed_by_id = 0;
    CK_ASSIGN_OR_RETURN(auto hosts, ctx_.inventory->ListHostDeployments(name));
    AddHosts(hosts, view);
    // The renewing host: the oldest attempt that produced or delivered the
    // live version is the one that issued it (no other host sees it before).
    CK_ASSIGN_OR_RETURN(auto attempts, ctx_.inventory->ListAttempts(name, 0));
    for (const store::Attempt& a : attempts) {
      if (!view.live || a.version != view.live->n) continue;
      if (view.renewed_by.empty() || a.id < renewed_by_id) {
        view.renewed_by = a.host;
        renewed_by_id = a.id;
      }
    }
  }
  return view;
}

bool Queries::NextKeyWanted(const std::string& name) const {
  const CertificateSpec* spec = ctx_.config->FindCertificate(name);
  return spec && spec->next_key;
}

void Queries::AddKeyPins(const store::Certificate& cert, CertificateView& view) const {
  const std::string& name = cert.spec.name;
  view.has_key_pins = true;
  std::vector<std::string> errors;
  if (view.live) {
    auto files = ctx_.layout->ReadVersion(name, view.live->n);
    auto pins = files.ok() ? PinsOfCertificate(files->cert_pem) : Result<KeyPins>(files.status());
    if (pins.ok()) {
      view.current_key = ToPinsView(*pins);
    } else {
      errors.push_back("current key: " + pins.status().ToString());
    }
  }
  if (NextKeyWanted(name)) {
    // Staged here when missing (a failure after the last issuance, or
    // next_key just turned on), so that its pins can be published before the
    // renewal that uses it. Created only if absent: never replaces a key
    // that may be pinned already (next_key.h).
    auto type = ParseKeyType(cert.spec.key_type);
    auto key = type.ok() ? EnsureNextKey(*ctx_.layout, name, *type)
                         : Result<PrivateKey>(type.status());
    auto pins = key.ok() ? PinsOf(*key) : Result<KeyPins>(key.status());
    if (pins.ok()) {
      view.next_key = ToPinsView(*pins);
    } else {
      errors.push_back("next key: " + pins.status().ToString());
    }
  }
  for (const std::string& e : errors) {
    view.key_pins_error += (view.key_pins_error.empty() ? "" : "; ") + e;
  }
}

Result<std::vector<AttemptView>> Queries::History(const std::string& name) {
  CK_RETURN_IF_ERROR(FindManaged(name).status());
  CK_ASSIGN_OR_RETURN(auto attempts, ctx_.inventory->ListAttempts(name, 0));
  std::vector<AttemptView> out;
  for (const auto& a : attempts) {
    out.push_back(ToView(a));
    // Every attempt records its host; it is shown only in a fleet.
    if (!ctx_.fleet) out.back().host.clear();
  }
  return out;
}

Result<std::vector<CheckFinding>> Queries::Check() {
  std::vector<CheckFinding> findings;
  const TimePoint now = ctx_.clock->Now();
  CK_ASSIGN_OR_RETURN(std::string trust, IssuerRootsPem(*ctx_.config));
  CK_ASSIGN_OR_RETURN(auto certs, ctx_.inventory->ListCertificates(false));
  for (const auto& c : certs) CheckOne(c, trust, now, findings);
  return findings;
}

void Queries::CheckOne(const store::Certificate& cert, const std::string& trust, TimePoint now,
                       std::vector<CheckFinding>& findings) {
  const std::string& name = cert.spec.name;
  auto add = [&](std::string severity, std::string message) {
    findings.push_back({name, std::move(severity), std::move(message)});
  };
  auto live = ctx_.inventory->LiveVersion(name);
  if (!live.ok() && live.status().code() == ErrorCode::kNotFound) {
    auto latest = ctx_.inventory->LatestVersion(name);
    if (latest.ok() && latest->state == store::VersionState::kRevoked) {
      add("error", "version " + std::to_string(latest->n) +
                       " was revoked and nothing replaced it yet; the next renewal does");
    } else {
      add("error", "no live version");
    }
    return;
  }
  if (!live.ok()) {
    add("error", "cannot read the live version: " + live.status().ToString());
    return;
  }
  auto files = ctx_.layout->ReadVersion(name, live->n);
  if (!files.ok()) {
    add("error", "files of version " + std::to_string(live->n) + " unreadable: " +
                     files.status().ToString());
    return;
  }
  auto info = ParseCertificatePem(files->cert_pem);
  if (!info.ok()) {
    add("error", "certificate does not parse: " + info.status().ToString());
    return;
  }
  if (info->sha256_fingerprint != live->fingerprint_sha256) {
    add("error", "the certificate file does not match the inventory's fingerprint");
  }
  // Relative to the lifetime and the renewal schedule, not a fixed number of
  // days: a fresh 12-hour certificate is healthy.
  CertificateView scratch;
  const DueInput due = DueFor(cert, cert.spec.domains, &*live, nullptr, scratch);
  ExpiryHealthInput health;
  health.now = now;
  health.not_before = info->not_before;
  health.not_after = info->not_after;
  health.renew_at = ComputeDue(due).renew_at;
  health.next_attempt = cert.schedule.next_attempt_at;
  if (cert.schedule.ca_retry_after &&
      (!health.next_attempt || *cert.schedule.ca_retry_after > *health.next_attempt)) {
    health.next_attempt = cert.schedule.ca_retry_after;
  }
  ExpiryVerdict verdict = AssessExpiry(health);
  if (verdict.health == ExpiryHealth::kError) add("error", verdict.message);
  if (verdict.health == ExpiryHealth::kWarning) add("warning", verdict.message);
  auto key = PrivateKey::FromPem(files->key_pem);
  Status match = key.ok() ? KeyMatchesCertificate(*key, files->cert_pem) : key.status();
  if (!match.ok()) add("error", "key does not match: " + match.ToString());
  Status chain = VerifyChain(files->cert_pem, files->chain_pem, trust, now);
  if (!chain.ok()) add("error", chain.ToString());
  for (const std::string& d : cert.spec.domains) {
    if (!CertificateCovers(*info, d)) add("error", "does not cover " + d);
  }
  if (live->state == store::VersionState::kRevoked) add("error", "the live version is revoked");
  if (ctx_.layout->LiveVersionNumber(name) != live->n) {
    add("warning", "live/" + name + " does not point at version " + std::to_string(live->n));
  }
}

}  // namespace certkeeper::lifecycle
