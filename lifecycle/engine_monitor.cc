#include "lifecycle/engine_monitor.h"

#include <algorithm>
#include <utility>

#include "base/log.h"
#include "lifecycle/alerts.h"
#include "lifecycle/metrics.h"
#include "lifecycle/prober.h"
#include "lifecycle/revocation.h"

namespace certkeeper::lifecycle {

namespace {

// A monitoring write whose failure leaves the run's outcome as it is.
void LogIfFailed(const Status& s, const std::string& what) {
  if (!s.ok()) log::Warn("could not " + what, {{"error", s.ToString()}});
}

std::optional<RunView> ToView(const std::optional<store::RunRecord>& run) {
  if (!run) return std::nullopt;
  return RunView{run->kind, run->started_at, run->finished_at, run->outcomes};
}

}  // namespace

std::map<std::string, int> CountOutcomes(const RunReport& report) {
  std::map<std::string, int> out;
  for (const CertificateOutcome& o : report.certificates) {
    if (!o.outcome.empty()) ++out[o.outcome];
  }
  return out;
}

Result<MonitorSnapshot> Monitoring::Snapshot() {
  MonitorSnapshot snap;
  snap.now = ctx_.clock->Now();
  if (ctx_.fleet) snap.host = ctx_.host();
  CK_ASSIGN_OR_RETURN(snap.certificates, queries_.List());
  CK_ASSIGN_OR_RETURN(auto statuses, ctx_.inventory->ListCaStatus());
  CK_ASSIGN_OR_RETURN(auto totals, ctx_.inventory->CaRequestTotals());
  CK_ASSIGN_OR_RETURN(auto limits, ctx_.inventory->ListCaLimits(snap.now));
  for (const AcmeSettings& ca : ctx_.config->cas) {
    if (ca.server.empty()) continue;
    CaStatusView v;
    v.ca = ca.name;
    v.server = ca.server;
    auto st = std::find_if(statuses.begin(), statuses.end(),
                           [&](const store::CaStatusRecord& r) { return r.server == ca.server; });
    if (st != statuses.end()) {
      v.last_ok_at = st->last_ok_at;
      v.last_failure_at = st->last_failure_at;
      v.last_error = st->last_error;
      v.unreachable_runs = st->unreachable_runs;
      v.up = st->unreachable_runs == 0;
    }
    if (auto t = totals.find(ca.server); t != totals.end()) v.requests = t->second;
    for (const store::CaLimit& limit : limits) {
      if (limit.server != ca.server) continue;
      if (!v.retry_after_until || limit.until > *v.retry_after_until) {
        v.retry_after_until = limit.until;
      }
    }
    snap.cas.push_back(std::move(v));
  }
  CK_ASSIGN_OR_RETURN(auto renew, ctx_.inventory->LatestRun("renew"));
  snap.last_renew = ToView(renew);
  CK_ASSIGN_OR_RETURN(auto probe, ctx_.inventory->LatestRun("probe"));
  snap.last_probe = ToView(probe);
  CK_ASSIGN_OR_RETURN(auto probes, ctx_.inventory->LatestProbes());
  for (const store::ProbeRecord& p : probes) snap.probes.push_back(lifecycle::ToView(p));
  CK_ASSIGN_OR_RETURN(auto revocations, ctx_.inventory->ListRevocations());
  for (const store::RevocationRecord& r : revocations) {
    snap.revocations.push_back(lifecycle::ToView(r));
  }
  CK_ASSIGN_OR_RETURN(auto alerts, ctx_.inventory->ListAlertStates());
  for (store::AlertState& a : alerts) {
    snap.alerts.push_back(AlertStateView{std::move(a.alert), std::move(a.event),
                                         std::move(a.subject), std::move(a.state), a.since,
                                         a.ended_at, std::move(a.detail), a.notified,
                                         a.failures, a.next_try_at, std::move(a.last_error)});
  }
  return snap;
}

void Monitoring::RecordRun(const std::string& kind, TimePoint started,
                           const std::map<std::string, int>& outcomes) {
  const TimePoint now = ctx_.clock->Now();
  store::RunRecord run;
  run.kind = kind;
  run.started_at = started;
  run.finished_at = now;
  run.outcomes = outcomes;
  LogIfFailed(ctx_.inventory->AddRun(run).status(), "record the " + kind + " run");
  if (kind == "renew") RecordCas(now);
}

// A CA that no order of the run reached keeps its status: nothing was
// learned about it. One that some order reached is up; one that every order
// failed to reach is one more run unreachable.
void Monitoring::RecordCas(TimePoint now) {
  auto stored = ctx_.inventory->ListCaStatus();
  if (!stored.ok()) {
    LogIfFailed(stored.status(), "read the CA status");
    return;
  }
  for (size_t i = 0; i < ctx_.config->cas.size(); ++i) {
    const AcmeSettings& ca = ctx_.config->cas[i];
    if (ca.server.empty()) continue;
    std::map<std::string, int64_t> counts = accounts_.RequestCountsOf(i);
    std::map<std::string, int64_t> delta;
    for (const auto& [kind, n] : counts) {
      int64_t d = n - recorded_requests_[i][kind];
      if (d > 0) delta[kind] = d;
    }
    if (!delta.empty()) {
      Status s = ctx_.inventory->AddCaRequests(ca.server, delta);
      LogIfFailed(s, "record the requests sent to " + ca.server);
      if (s.ok()) recorded_requests_[i] = counts;
    }
    Issuance::CaContact contact = issuance_.ContactOf(i);
    if (contact.reached == 0 && contact.unreachable == 0) continue;
    store::CaStatusRecord rec;
    auto found = std::find_if(stored->begin(), stored->end(),
                              [&](const store::CaStatusRecord& r) { return r.server == ca.server; });
    if (found != stored->end()) rec = *found;
    rec.ca = ca.name;
    rec.server = ca.server;
    if (contact.reached > 0) {
      rec.last_ok_at = now;
      rec.unreachable_runs = 0;
    } else {
      rec.last_failure_at = now;
      rec.last_error = contact.last_error;
      ++rec.unreachable_runs;
    }
    LogIfFailed(ctx_.inventory->PutCaStatus(rec), "record the status of " + ca.server);
  }
}

void Monitoring::AfterRun(store::Leases* fleet_leases) {
  bool alerts = !ctx_.config->alerts.empty();
  // Held until the alerts are sent: the other hosts skip them meanwhile, and
  // find the alert state this host recorded in their next run.
  std::unique_ptr<store::CertificateClaim> alerts_claim;
  if (alerts && fleet_leases) {
    auto claim = fleet_leases->Claim(kAlertsLease, ctx_.config->store.lease_ttl);
    if (claim.ok()) {
      alerts_claim = std::move(*claim);
    } else {
      alerts = false;
      if (claim.status().code() == ErrorCode::kLocked) {
        log::Info("another host of the fleet is evaluating the alerts; skipped on this host",
                  {{"reason", claim.status().message()}});
      } else {
        log::Error("could not claim the alerts; not evaluated on this host this run",
                   {{"error", claim.status().ToString()}});
      }
    }
  }
  const std::string& textfile = ctx_.config->metrics.textfile;
  if (!alerts && textfile.empty()) return;
  Result<MonitorSnapshot> snap = Snapshot();
  if (!snap.ok()) {
    log::Error("could not read the inventory for alerts and metrics",
               {{"error", snap.status().ToString()}});
    return;
  }
  if (alerts) {
    Result<AlertReport> report = Alerter(ctx_).Evaluate(*snap);
    if (!report.ok()) {
      log::Error("could not evaluate the alerts", {{"error", report.status().ToString()}});
    } else {
      for (const AlertDelivery& d : report->deliveries) {
        if (!d.status.ok()) {
          log::Warn("alert delivery failed",
                    {{"alert", d.alert}, {"error", d.status.ToString()}});
        }
      }
    }
  }
  if (!textfile.empty()) {
    LogIfFailed(WriteMetricsTextfile(textfile, RenderMetrics(*snap)),
                "write the metrics textfile " + textfile);
  }
}

}  // namespace certkeeper::lifecycle
