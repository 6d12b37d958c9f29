// The families certkeeper exposes (docs/metrics.md lists them with their
// meaning). Label values come only from the configuration and from fixed
// sets in the code: certificate, CA and endpoint names, status, outcome,
// request and method kinds.
#include "lifecycle/metrics.h"

#include <map>
#include <utility>

#include "base/dirfd.h"
#include "base/fs.h"
#include "lifecycle/metrics_exposition.h"

namespace certkeeper::lifecycle {

namespace {

using Type = Exposition::Type;

// The states of certkeeper_certificate_status: every one is written, 1 for
// the current one, so a query need not know which series exist. In the
// order of the output, so that the lines need no sorting.
constexpr const char* kCertificateStatuses[] = {"due", "expired", "failing", "pending", "valid"};

// The unnamed [acme] CA has no name; a label value that is never empty keeps
// the series of one certificate the same when its CA is given a name later.
std::string_view CaLabel(const std::string& ca) {
  return ca.empty() ? std::string_view("default") : std::string_view(ca);
}

// The CA of a certificate: the one that issued the live version, else the
// newest version, else the default.
std::string_view CertificateCa(const CertificateView& c) {
  if (c.live) return CaLabel(c.live->ca);
  if (c.newest) return CaLabel(c.newest->ca);
  return "default";
}

// What the stored revocation answers say about one issued version.
struct RevocationState {
  bool known = false;    // some answer was good or revoked
  bool revoked = false;
  std::map<std::string, TimePoint> checked;  // method -> when asked
};

std::map<std::pair<std::string, int>, RevocationState> RevocationStates(
    const std::vector<RevocationView>& answers) {
  std::map<std::pair<std::string, int>, RevocationState> out;
  for (const RevocationView& r : answers) {
    RevocationState& s = out[{r.certificate, r.version}];
    if (r.status == "revoked") s.revoked = true;
    if (r.status == "revoked" || r.status == "good") s.known = true;
    if (r.method == "ocsp" || r.method == "crl") s.checked[r.method] = r.checked_at;
  }
  return out;
}

void AddCertificates(const MonitorSnapshot& snap, Exposition& e) {
  auto& count = e.Declare("certkeeper_certificates", "Certificates in the inventory.");
  auto& not_before = e.Declare("certkeeper_certificate_not_before_timestamp_seconds",
                               "Start of the live version's validity (Unix time).");
  auto& not_after = e.Declare("certkeeper_certificate_not_after_timestamp_seconds",
                              "End of the live version's validity (Unix time).");
  auto& renew_at = e.Declare("certkeeper_certificate_renew_at_timestamp_seconds",
                             "When renewal of the live version becomes due (Unix time).");
  auto& next_attempt = e.Declare("certkeeper_certificate_next_attempt_timestamp_seconds",
                                 "Earliest time of the next renewal attempt (Unix time).");
  auto& status = e.Declare("certkeeper_certificate_status",
                           "Certificate status as a state set: 1 for the current status.");
  auto& failures = e.Declare("certkeeper_certificate_consecutive_failures",
                             "Renewal attempts that failed in a row since the last success.");
  auto& last_success = e.Declare("certkeeper_certificate_last_success_timestamp_seconds",
                                 "When the newest successful attempt finished (Unix time).");
  auto& live_version = e.Declare("certkeeper_certificate_live_version",
                                 "Number of the version that is live.");
  auto& undeployed = e.Declare(
      "certkeeper_certificate_undeployed_version",
      "Number of an issued version newer than the live one that did not go live.");
  auto& revoked = e.Declare("certkeeper_certificate_revoked",
                            "1 when the live version is revoked (OCSP, CRL or certkeeper revoke).");
  auto& checked =
      e.Declare("certkeeper_certificate_revocation_checked_timestamp_seconds",
                "When OCSP or the CRL was last asked about the live version (Unix time).");
  // A fleet only: bounded by the certificates times the hosts that deliver
  // them (host_deployments rows).
  auto* host_version =
      snap.host.empty() ? nullptr
                        : &e.Declare("certkeeper_certificate_host_version",
                                     "Number of the version a host of the fleet deployed.");
  auto* host_ok =
      snap.host.empty()
          ? nullptr
          : &e.Declare("certkeeper_certificate_host_deploy_ok",
                       "1 when a host's newest delivery of the certificate succeeded, 0 failed.");
  const auto revocations = RevocationStates(snap.revocations);
  count.Add({}, static_cast<double>(snap.certificates.size()));
  for (const CertificateView& c : snap.certificates) {
    const MetricLabels labels = {{"ca", CertificateCa(c)}, {"name", c.name}};
    for (const char* s : kCertificateStatuses) {
      status.Add({{"ca", CertificateCa(c)}, {"name", c.name}, {"status", s}},
                 c.status == s ? 1 : 0);
    }
    failures.Add(labels, c.consecutive_failures);
    for (const CertificateView::HostView& h : c.hosts) {
      if (!host_ok) break;
      const MetricLabels host_labels = {{"host", h.host}, {"name", c.name}};
      host_ok->Add(host_labels, h.state == "deployed" ? 1 : 0);
      if (h.state == "deployed") host_version->Add(host_labels, h.version);
    }
    if (c.renew_at) renew_at.AddTime(labels, *c.renew_at);
    if (c.next_attempt) next_attempt.AddTime(labels, *c.next_attempt);
    if (c.last_success) last_success.AddTime(labels, *c.last_success);
    if (c.newest && (!c.live || c.newest->n > c.live->n)) undeployed.Add(labels, c.newest->n);
    if (!c.live) continue;
    not_before.AddTime(labels, c.live->not_before);
    not_after.AddTime(labels, c.live->not_after);
    live_version.Add(labels, c.live->n);
    auto r = revocations.find({c.name, c.live->n});
    const bool revoked_here = c.live->state == "revoked";
    if (revoked_here || (r != revocations.end() && r->second.known)) {
      revoked.Add(labels, revoked_here || r->second.revoked ? 1 : 0);
    }
    if (r == revocations.end()) continue;
    for (const auto& [method, at] : r->second.checked) {
      checked.AddTime({{"ca", CertificateCa(c)}, {"method", method}, {"name", c.name}}, at);
    }
  }
}

void AddCas(const MonitorSnapshot& snap, Exposition& e) {
  auto& info = e.Declare("certkeeper_ca_info", "A configured CA and its ACME directory URL.");
  auto& up = e.Declare(
      "certkeeper_ca_up",
      "1 when the CA answered at the last run that contacted it (1 until one did).");
  auto& unreachable = e.Declare("certkeeper_ca_unreachable_runs",
                                "Consecutive renewal runs that could not reach the CA.");
  auto& reached = e.Declare("certkeeper_ca_last_reached_timestamp_seconds",
                            "When a request to the CA last got an answer (Unix time).");
  auto& failed = e.Declare("certkeeper_ca_last_unreachable_timestamp_seconds",
                           "When the CA last could not be reached (Unix time).");
  auto& requests = e.Declare("certkeeper_ca_requests_total",
                             "ACME requests sent to the CA, by kind.", Type::kCounter);
  auto& retry = e.Declare("certkeeper_ca_retry_after_until_timestamp_seconds",
                          "End of the furthest wait the CA imposed (Retry-After) still in force.");
  for (const CaStatusView& ca : snap.cas) {
    const MetricLabels labels = {{"ca", CaLabel(ca.ca)}};
    info.Add({{"ca", CaLabel(ca.ca)}, {"server", ca.server}}, 1);
    up.Add(labels, ca.up ? 1 : 0);
    unreachable.Add(labels, ca.unreachable_runs);
    if (ca.last_ok_at) reached.AddTime(labels, *ca.last_ok_at);
    if (ca.last_failure_at) failed.AddTime(labels, *ca.last_failure_at);
    if (ca.retry_after_until) retry.AddTime(labels, *ca.retry_after_until);
    for (const auto& [kind, n] : ca.requests) {
      requests.Add({{"ca", CaLabel(ca.ca)}, {"kind", kind}}, static_cast<double>(n));
    }
  }
}

void AddRuns(const MonitorSnapshot& snap, Exposition& e) {
  auto& start = e.Declare("certkeeper_last_run_start_timestamp_seconds",
                          "When the last run of this kind started (Unix time).");
  auto& end = e.Declare("certkeeper_last_run_end_timestamp_seconds",
                        "When the last run of this kind finished (Unix time).");
  auto& duration = e.Declare("certkeeper_last_run_duration_seconds",
                             "How long the last run of this kind took.");
  auto& outcomes = e.Declare(
      "certkeeper_last_run_outcomes",
      "Certificates (renew) or endpoints (probe) of the last run, by outcome.");
  for (const std::optional<RunView>* run : {&snap.last_renew, &snap.last_probe}) {
    if (!*run) continue;
    const RunView& r = **run;
    const MetricLabels labels = {{"kind", r.kind}};
    start.AddTime(labels, r.started_at);
    end.AddTime(labels, r.finished_at);
    duration.Add(labels, std::chrono::duration<double>(r.finished_at - r.started_at).count());
    for (const auto& [outcome, n] : r.outcomes) {
      outcomes.Add({{"kind", r.kind}, {"outcome", outcome}}, n);
    }
  }
}

void AddEndpoints(const MonitorSnapshot& snap, Exposition& e) {
  auto& success = e.Declare("certkeeper_endpoint_probe_success",
                            "1 when the last probe of the endpoint completed a TLS handshake.");
  auto& at = e.Declare("certkeeper_endpoint_probe_timestamp_seconds",
                       "When the endpoint was last probed (Unix time).");
  auto& handshake = e.Declare("certkeeper_endpoint_handshake_seconds",
                              "Time to connect and complete the TLS handshake at the last probe.");
  auto& not_before = e.Declare("certkeeper_endpoint_certificate_not_before_timestamp_seconds",
                               "Start of the served leaf certificate's validity (Unix time).");
  auto& not_after = e.Declare("certkeeper_endpoint_certificate_not_after_timestamp_seconds",
                              "End of the served leaf certificate's validity (Unix time).");
  auto& chain = e.Declare("certkeeper_endpoint_chain_valid",
                          "1 when the served chain verified against the configured roots.");
  auto& names = e.Declare("certkeeper_endpoint_names_match",
                          "1 when the served certificate covers the server name probed.");
  auto& matches = e.Declare(
      "certkeeper_endpoint_matches_inventory",
      "1 when the endpoint serves the live version of its certificate, 0 when another one.");
  for (const ProbeView& p : snap.probes) {
    const MetricLabels labels = {{"certificate", p.certificate}, {"endpoint", p.endpoint}};
    success.Add(labels, p.ok ? 1 : 0);
    at.AddTime(labels, p.at);
    if (p.not_before) not_before.AddTime(labels, *p.not_before);
    if (p.not_after) not_after.AddTime(labels, *p.not_after);
    if (p.live_match == "yes" || p.live_match == "no") {
      matches.Add(labels, p.live_match == "yes" ? 1 : 0);
    }
    if (!p.ok) continue;
    handshake.Add(labels, p.handshake_seconds);
    chain.Add(labels, p.chain_valid ? 1 : 0);
    names.Add(labels, p.names_match ? 1 : 0);
  }
}

}  // namespace

std::string RenderMetrics(const MonitorSnapshot& snapshot) {
  Exposition e;
  e.Declare("certkeeper_build_info", "The certkeeper version that wrote these metrics.")
      .Add({{"version", CERTKEEPER_VERSION}}, 1);
  if (!snapshot.host.empty()) {
    e.Declare("certkeeper_host_info", "Always 1; the fleet host that wrote these metrics.")
        .Add({{"host", snapshot.host}}, 1);
  }
  e.Declare("certkeeper_snapshot_timestamp_seconds",
            "When the inventory was read for these metrics (Unix time).")
      .AddTime({}, snapshot.now);
  AddCertificates(snapshot, e);
  AddCas(snapshot, e);
  AddRuns(snapshot, e);
  AddEndpoints(snapshot, e);
  return e.Render();
}

Status WriteMetricsTextfile(const std::string& path, const std::string& text) {
  const size_t slash = path.rfind('/');
  const std::string dir = slash == std::string::npos ? "."
                          : slash == 0                ? "/"
                                                      : path.substr(0, slash);
  const std::string name = slash == std::string::npos ? path : path.substr(slash + 1);
  if (name.empty() || name == "." || name == "..") {
    return Status(ErrorCode::kInvalidArgument, "the metrics textfile must name a file")
        .Where(path)
        .Hint("give a path like /var/lib/prometheus/node-exporter/certkeeper.prom");
  }
  // Through the directory's descriptor: the temporary name is created with
  // O_EXCL|O_NOFOLLOW and renamed over `name`, so a symlink planted at
  // either name is replaced, never followed (base/dirfd.h).
  CK_ASSIGN_OR_RETURN(fs::Dir d, fs::OpenDirectory(dir));
  fs::WriteOptions options;
  options.mode = 0644;
  return fs::WriteFileAt(d, name, text, options);
}

}  // namespace certkeeper::lifecycle
