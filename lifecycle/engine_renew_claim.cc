// The claims of a renewal run (engine_renew_run.h): a certificate is
// delivered or ordered only while this host holds its claim; in a fleet the
// decision is made again once the claim is held, and budgets are counted and
// reserved fleet-wide.
#include <string>
#include <utility>

#include "base/log.h"
#include "lifecycle/engine_renew_run.h"
#include "lifecycle/request_keys.h"

namespace certkeeper::lifecycle {

namespace {

// The holder named by SharedLeases' kLocked ("... is being renewed by HOST
// (claimed until ...)"); empty when the message does not name one.
std::string HolderOf(const Status &locked) {
  static constexpr std::string_view kBy = "being renewed by ";
  const std::string &m = locked.message();
  size_t at = m.find(kBy);
  if (at == std::string::npos) return "";
  at += kBy.size();
  size_t end = m.find(" (", at);
  return m.substr(at, end == std::string::npos ? std::string::npos : end - at);
}

Status ReadVersionInto(const Result<store::Version> &read, std::optional<store::Version> &out) {
  out.reset();
  if (read.ok()) {
    out = *read;
    return Status::Ok();
  }
  return read.status().code() == ErrorCode::kNotFound ? Status::Ok() : read.status();
}

}  // namespace

std::unique_ptr<store::CertificateClaim> RenewRun::ClaimOrReport(size_t i) {
  const std::string &name = input_.certificates[i].spec.name;
  CertificateOutcome &out = report_.certificates[i];
  auto claim = e_.ClaimCertificate(name);
  if (claim.ok()) return std::move(*claim);
  out.name = name;
  out.decision = std::string(DecisionKindName(plan_[i].kind));
  if (claim.status().code() == ErrorCode::kLocked) {
    // Not a failure: the holder renews (or delivers) it, once.
    ++lease_conflicts_;
    const std::string holder = HolderOf(claim.status());
    out.outcome = "skipped";
    out.held_by = holder.empty() ? "another host" : holder;
    out.reason = "being renewed by " + out.held_by;
    log::Info("certificate skipped: another host holds its claim",
              {{"certificate", name}, {"holder", out.held_by}});
    return nullptr;
  }
  out.outcome = "failed";
  out.error = claim.status().Annotate("claim the certificate " + name);
  log::Warn("cannot claim the certificate",
            {{"certificate", name}, {"error", out.error.ToString()}});
  return nullptr;
}

void RenewRun::Redecide(size_t i) {
  CertificateFacts &f = input_.certificates[i];
  const std::string &name = f.spec.name;
  const std::optional<int> planned_latest =
      f.latest ? std::optional<int>(f.latest->n) : std::nullopt;
  const std::optional<int> planned_live = f.live ? std::optional<int>(f.live->n) : std::nullopt;
  PlanInput one;
  one.now = e_.clock_->Now();
  one.renewal = input_.renewal;
  one.force = input_.force;
  one.dry_run = false;
  // The CA limits as they are now: a Retry-After another host was given
  // holds this one too. The budgets are counted again at the order
  // (ReserveFleetWide), from the shared request log.
  auto limits = e_.inventory_->ListCaLimits(one.now);
  one.cas = input_.cas;
  for (CaFacts &ca : one.cas) {
    ca.requests.clear();
    ca.requests_error = Status::Ok();
    if (limits.ok()) {
      ca.limits = *limits;
      ca.limits_error = Status::Ok();
    } else {
      ca.limits_error = limits.status();
    }
  }
  auto cert = e_.inventory_->GetCertificate(name);
  f.read_error = cert.ok() ? Status::Ok() : cert.status();
  if (cert.ok()) f.schedule = cert->schedule;
  if (f.read_error.ok()) f.read_error = ReadVersionInto(e_.inventory_->LiveVersion(name), f.live);
  if (f.read_error.ok()) {
    f.read_error = ReadVersionInto(e_.inventory_->LatestVersion(name), f.latest);
  }
  const std::optional<int> latest = f.latest ? std::optional<int>(f.latest->n) : std::nullopt;
  const bool changed = latest != planned_latest;
  // The renewal window the CA gave was for the live version the plan saw.
  if ((f.live ? std::optional<int>(f.live->n) : std::nullopt) != planned_live) f.ari.reset();
  // Another host renewed it since the plan: even --force does not renew it
  // again in this run.
  if (changed) one.force = false;
  one.certificates.push_back(f);
  Decision d = std::move(Plan(one).front());
  if (changed && f.latest && d.kind == DecisionKind::kNotDue) {
    note_[i] = "renewed by " + RenewedBy(name, f.latest->n);
  }
  if (d.kind != plan_[i].kind) {
    log::Info("decision changed since the plan",
              {{"certificate", name},
               {"planned", std::string(DecisionKindName(plan_[i].kind))},
               {"now", std::string(DecisionKindName(d.kind))}});
  }
  plan_[i] = std::move(d);
}

std::string RenewRun::RenewedBy(const std::string &name, int n) {
  auto attempts = e_.inventory_->ListAttempts(name, 5);
  if (!attempts.ok() || attempts->empty()) return "another host";
  for (const store::Attempt &a : *attempts) {
    if (a.version == n && !a.host.empty()) return a.host;
  }
  return attempts->front().host.empty() ? "another host" : attempts->front().host;
}

Decision RenewRun::ReserveFleetWide(size_t i, size_t ca) {
  const CertificateFacts &f = input_.certificates[i];
  const CaFacts &facts = input_.cas[ca];
  Decision d;
  Status s = e_.inventory_->Transaction([&]() -> Status {
    RunSoFar run;
    run.now = e_.clock_->Now();
    run.ca_unavailable_streak = e_.issuance_.UnavailableStreak(ca);
    std::optional<Duration> lookback = BudgetLookback(facts.budgets);
    if (!options_.force && lookback) {
      auto requests = e_.inventory_->ListRequestsSince(facts.server, run.now - *lookback);
      if (requests.ok()) {
        run.requests = std::move(*requests);
      } else {
        run.requests_error = requests.status();
      }
    }
    d = BeforeOrder(plan_[i], f, facts, run);
    if (d.kind != DecisionKind::kDue) return Status::Ok();
    // The reservation is the record itself: what the order records when it
    // is placed and issued (engine_issue.cc), now, so that the next host
    // counts it. An order that then fails stays counted (toward the CA,
    // counting too much is the safe side).
    store::RequestRecord r;
    r.server = facts.server;
    r.account_url = facts.account_url;
    r.at = run.now;
    r.kind = store::RequestKind::kNewOrder;
    CK_RETURN_IF_ERROR(e_.inventory_->RecordRequest(r));
    r.kind = store::RequestKind::kCertificate;
    r.key = NamesKey(f.spec.domains);
    CK_RETURN_IF_ERROR(e_.inventory_->RecordRequest(r));
    for (const std::string &rd : RegisteredDomains(f.spec.domains)) {
      r.key = rd;
      CK_RETURN_IF_ERROR(e_.inventory_->RecordRequest(r));
    }
    return Status::Ok();
  });
  if (s.ok()) {
    if (d.kind == DecisionKind::kDue) orders_started_++;
    return d;
  }
  // Fail closed: an order that could not be counted is not placed.
  Decision blocked = plan_[i];
  blocked.kind = DecisionKind::kBlocked;
  blocked.hold = Hold::kUnreadable;
  blocked.limit_detail = "request log";
  blocked.reason = "the order could not be reserved in the shared request log";
  blocked.error = s.Annotate("reserve the order of " + f.spec.name + " in the request log");
  return blocked;
}

}  // namespace certkeeper::lifecycle
