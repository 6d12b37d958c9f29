// The authorizations of one order (RFC 8555 §7.5): a route per pending
// identifier, challenge failover on local failures, validation by the CA,
// cleanup of every presented route. The contract is in issuer.h.
#include <algorithm>
#include <map>
#include <optional>

#include "base/log.h"
#include "base/names.h"
#include "base/phase_timer.h"
#include "challenges/solver.h"
#include "lifecycle/issuer.h"

namespace certkeeper::lifecycle {

namespace {

std::string KeyOf(const std::string& identifier, bool wildcard) {
  return wildcard ? "*." + identifier : identifier;
}

std::string ProblemText(const std::optional<Problem>& p) {
  if (!p) return "no reason given by the CA";
  std::string out = p->ShortType();
  if (!p->detail.empty()) out += ": " + p->detail;
  return out;
}

}  // namespace

Status CheckRequested(const acme::Authorization& authz, const std::vector<std::string>& domains) {
  // RFC 8738 §3: an "ip" identifier holds an address, never with a wildcard.
  const bool ip = IsIpAddress(authz.identifier);
  auto name = ip && !authz.wildcard ? CanonicalIpAddress(authz.identifier)
                                    : CanonicalDnsName(authz.identifier, false);
  if (!name.ok()) {
    return Status(ErrorCode::kProtocol, "the CA sent an authorization for an invalid name \"" +
                                            authz.identifier + "\": " + name.status().message());
  }
  const std::string key = KeyOf(*name, authz.wildcard);
  for (const std::string& d : domains) {
    auto wanted = CanonicalIdentifier(d, true);
    if (wanted.ok() && *wanted == key) return Status::Ok();
  }
  return Status(ErrorCode::kProtocol,
                "the CA sent an authorization for " + key + ", which the order did not ask for");
}

std::string Issuer::Issuance::NextType(const std::string& key,
                                       const acme::Authorization* authz) const {
  auto done = tried.find(key);
  for (const std::string& t : preference) {
    if (done != tried.end() && done->second.count(t)) continue;
    if (IsWildcard(key) && t != challenges::kDns01) continue;
    if (t == challenges::kDns01 && IsIpAddress(key)) continue;  // RFC 8738 §7
    if (authz != nullptr && authz->Find(t) == nullptr) continue;
    return t;
  }
  return {};
}

void Issuer::Issuance::Failed(const std::string& key, const std::string& type,
                              const std::string& why) {
  tried[key].insert(type);
  failures.push_back(key + " via " + type + ": " + why);
}

Status Issuer::Issuance::NoRouteLeft(const std::string& key) const {
  std::string routes;
  for (const std::string& f : failures) routes += "\n  - " + f;
  if (routes.empty()) routes = "\n  - no configured challenge type is offered by the CA";
  return Status(ErrorCode::kFailedPrecondition,
                "every challenge route failed for " + key + ":" + routes)
      .Hint("fix one of the routes above (`certkeeper history` shows each step); the "
            "previous certificate stays live");
}

Result<std::vector<std::string>> Issuer::SolveAuthorizations(Issuance& s,
                                                             const acme::Order& order) {
  phase::ScopedPhase fetch_timed("authorizations");
  CK_ASSIGN_OR_RETURN(Pending pending, FetchPending(s, order));
  fetch_timed.Stop();
  if (pending.routes.empty()) return std::vector<std::string>{};
  SolverSet::Lease lease = solvers_->Lock(s.preference);
  phase::ScopedPhase present_timed("present");
  Status presented = PresentAll(s, pending);
  present_timed.Stop();
  phase::ScopedPhase validate_timed("challenge wait");
  Result<std::vector<std::string>> rejected =
      presented.ok() ? ValidatePresented(s, order) : Result<std::vector<std::string>>(presented);
  validate_timed.Stop();
  // The one place where this order's routes are cleaned up, whatever failed.
  phase::ScopedPhase cleanup_timed("cleanup");
  CleanUpPresented(s);
  return rejected;
}

Result<Issuer::Pending> Issuer::FetchPending(const Issuance& s, const acme::Order& order) {
  Pending pending;
  for (const std::string& url : order.authorizations) {
    CK_ASSIGN_OR_RETURN(acme::Authorization authz, client_->GetAuthorization(url));
    if (authz.status == "valid") continue;
    if (authz.status != "pending") {
      return Status(ErrorCode::kAcme,
                    "authorization for " + authz.identifier + " is " + authz.status)
          .Where(url);
    }
    CK_RETURN_IF_ERROR(CheckRequested(authz, s.input.spec->domains).Where(url));
    Route r;
    r.identifier = authz.identifier;
    r.wildcard = authz.wildcard;
    r.authz_url = url;
    pending.authzs[url] = std::move(authz);
    pending.routes.push_back(std::move(r));
  }
  return pending;
}

Status Issuer::PresentAll(Issuance& s, Pending& pending) {
  std::vector<Route> unsolved = std::move(pending.routes);
  while (!unsolved.empty()) {
    std::map<std::string, std::vector<Route>> groups;
    for (Route& r : unsolved) {
      const acme::Authorization& authz = pending.authzs.at(r.authz_url);
      const std::string key = KeyOf(r.identifier, r.wildcard);
      std::string type = s.NextType(key, &authz);
      if (type.empty()) {
        CleanUpPresented(s);
        DeactivatePending(pending.authzs, s.hooks);
        return s.NoRouteLeft(key);
      }
      CK_RETURN_IF_ERROR(Assign(r, authz, type));
      groups[type].push_back(r);
    }
    unsolved.clear();
    for (const auto& [type, routes] : groups) {
      std::vector<Route> failed = PrepareBatch(s, type, routes);
      unsolved.insert(unsolved.end(), failed.begin(), failed.end());
    }
  }
  return Status::Ok();
}

Status Issuer::Assign(Route& r, const acme::Authorization& authz, const std::string& type) {
  const acme::Challenge* ch = authz.Find(type);
  r.type = type;
  r.challenge_url = ch->url;
  r.task.identifier = r.identifier;
  r.task.wildcard = r.wildcard;
  r.task.token = ch->token;
  // The token comes from the CA: KeyAuthorization refuses one that is not
  // base64url (RFC 8555 §8.1) before it can reach a URL path or a file name.
  Result<std::string> key_authorization = client_->KeyAuthorization(ch->token);
  if (!key_authorization.ok()) {
    return Status(key_authorization.status())
        .Annotate(type + " challenge for " + KeyOf(r.identifier, r.wildcard))
        .Where(ch->url);
  }
  r.task.key_authorization = *key_authorization;
  return Status::Ok();
}

std::vector<Issuer::Route> Issuer::PrepareBatch(Issuance& s, const std::string& type,
                                                const std::vector<Route>& routes) {
  Prepared batch = Prepare(s, type, routes);
  if (batch.status.ok()) {
    std::vector<Route>& presented = s.presented[type];
    presented.insert(presented.end(), routes.begin(), routes.end());
    return {};
  }
  log::Warn(type + " " + batch.stage + " failed", {{"error", batch.status.ToString()}});
  // One name can break a batch (a provider that refuses one zone, a CNAME
  // that does not resolve): each name then gets its own try, so the names
  // that can use this type keep it.
  std::vector<std::pair<Route, std::string>> verdicts;
  if (routes.size() == 1) {
    verdicts.emplace_back(routes.front(), batch.Why());
  } else {
    for (const Route& r : routes) {
      Prepared alone = Prepare(s, type, {r});
      if (alone.status.ok()) {
        s.presented[type].push_back(r);
      } else {
        verdicts.emplace_back(r, alone.Why());
      }
    }
  }
  std::vector<Route> failed;
  for (auto& [r, why] : verdicts) {
    const std::string key = KeyOf(r.identifier, r.wildcard);
    s.Failed(key, type, why);
    log::Warn(type + " failed for " + key + "; trying the next challenge type", {{"error", why}});
    failed.push_back(std::move(r));
  }
  return failed;
}

Issuer::Prepared Issuer::Prepare(const Issuance& s, const std::string& type,
                                 const std::vector<Route>& routes) {
  challenges::Solver* solver = solvers_->Find(type);
  std::vector<challenges::ChallengeTask> tasks;
  for (const Route& r : routes) tasks.push_back(r.task);
  Prepared out{"self-check", solver->SelfCheck(tasks)};
  if (out.status.ok()) {
    for (const Route& r : routes) {
      Step(s.hooks, out.stage, type, KeyOf(r.identifier, r.wildcard), store::StepResult::kOk);
    }
    out.stage = "present";
    out.status = solver->Present(tasks);
  }
  RecordNotes(solver, type, s.hooks);
  const bool ok = out.status.ok();
  for (const Route& r : routes) {
    Step(s.hooks, out.stage, type, KeyOf(r.identifier, r.wildcard),
         ok ? store::StepResult::kOk : store::StepResult::kFailed, ok ? "" : out.status.ToString());
  }
  // Recorded after the failed Present it follows, as it happened.
  if (!ok && out.stage == "present") CleanUp(solver, type, routes, s.hooks);
  return out;
}

Result<std::vector<std::string>> Issuer::ValidatePresented(Issuance& s,
                                                            const acme::Order& order) {
  for (const auto& [type, routes] : s.presented) {
    for (const Route& r : routes) {
      auto ch = client_->RespondToChallenge(r.challenge_url);
      if (!ch.ok()) {
        return ch.status().Annotate("respond to " + type + " challenge for " + r.identifier);
      }
    }
  }
  const TimePoint deadline = clock_->Now() + s.input.validation_timeout;
  // A solver that answers the CA itself sees when the CA has looked: the
  // first poll goes out then, instead of on a schedule that guesses. When
  // every solver saw the CA look, the finalize goes out instead of the polls.
  std::map<std::string, bool> fetched;  // by authorization URL
  bool all_fetched = !s.presented.empty();
  for (const auto& [type, routes] : s.presented) {
    for (const Route& r : routes) {
      std::optional<challenges::ServedWaitResult> seen = AwaitFetched(type, r, deadline);
      fetched[r.authz_url] = seen && !seen->timed_out;
      all_fetched = all_fetched && fetched[r.authz_url];
    }
  }
  if (all_fetched && FinalizeEarly(s, order)) return std::vector<std::string>{};
  std::vector<std::string> rejected;
  for (const auto& [type, routes] : s.presented) {
    for (const Route& r : routes) {
      CK_ASSIGN_OR_RETURN(bool valid, AwaitValidation(s, type, r, deadline, fetched[r.authz_url]));
      if (!valid) rejected.push_back(KeyOf(r.identifier, r.wildcard));
    }
  }
  return rejected;
}

std::optional<challenges::ServedWaitResult> Issuer::AwaitFetched(const std::string& type,
                                                                 const Route& r,
                                                                 TimePoint deadline) {
  challenges::Solver* solver = solvers_->Find(type);
  if (solver == nullptr) return std::nullopt;
  challenges::ServedWaitOptions options;
  const auto left =
      std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock_->Now());
  options.max_wait = std::min(options.max_wait, std::max(left, std::chrono::milliseconds(0)));
  std::optional<challenges::ServedWaitResult> seen = solver->AwaitServed(r.task, options);
  if (!seen) return std::nullopt;
  log::Debug(type + " answer fetched",
             {{"identifier", KeyOf(r.identifier, r.wildcard)},
              {"requests", std::to_string(seen->served)},
              {"waited_us", std::to_string(
                                std::chrono::duration_cast<std::chrono::microseconds>(seen->waited)
                                    .count())},
              {"timed_out", seen->timed_out ? "true" : "false"}});
  return seen;
}

Result<bool> Issuer::AwaitValidation(Issuance& s, const std::string& type, const Route& r,
                                     TimePoint deadline, bool fetched) {
  const std::string key = KeyOf(r.identifier, r.wildcard);
  acme::PollStart start;
  start.wait = [&](TimePoint poll_deadline) {
    return fetched || AwaitFetched(type, r, poll_deadline).has_value();
  };
  auto authz = client_->PollAuthorization(r.authz_url, deadline, start);
  if (!authz.ok()) return authz.status().Annotate("wait for validation of " + key);
  if (authz->status == "valid") {
    Validated(s, type, r);
    return true;
  }
  s.last_type = type;
  const acme::Challenge* ch = authz->Find(type);
  std::optional<Problem> problem = ch ? ch->error : std::nullopt;
  std::string text =
      "CA rejected the validation (" + authz->status + "): " + ProblemText(problem);
  Step(s.hooks, "validation", type, key, store::StepResult::kFailed, text);
  log::Warn(type + " validation failed at the CA", {{"identifier", key}, {"error", text}});
  s.Failed(key, type, text);
  if (s.hooks.validation_failed) s.hooks.validation_failed(key);
  return false;
}

void Issuer::Validated(Issuance& s, const std::string& type, const Route& r) {
  const std::string key = KeyOf(r.identifier, r.wildcard);
  s.last_type = type;
  Step(s.hooks, "validation", type, key, store::StepResult::kOk);
  log::Info(type + " validated", {{"identifier", key}});
}

void Issuer::CleanUpPresented(Issuance& s) {
  for (const auto& [type, routes] : s.presented) {
    CleanUp(solvers_->Find(type), type, routes, s.hooks);
  }
  s.presented.clear();
}

void Issuer::CleanUp(challenges::Solver* solver, const std::string& type,
                     const std::vector<Route>& routes, const IssueHooks& hooks) {
  std::vector<challenges::ChallengeTask> tasks;
  for (const Route& r : routes) tasks.push_back(r.task);
  Status s = solver->CleanUp(tasks);
  RecordNotes(solver, type, hooks);
  if (!s.ok()) {
    Step(hooks, "cleanup", type, "", store::StepResult::kFailed, s.ToString());
    log::Warn("cleanup failed", {{"challenge", type}, {"error", s.ToString()}});
  }
}

void Issuer::RecordNotes(challenges::Solver* solver, const std::string& type,
                         const IssueHooks& hooks) {
  for (const auto& note : solver->TakeNotes()) {
    Step(hooks, "note", type, note.identifier, store::StepResult::kOk, {}, note.message);
  }
}

void Issuer::DeactivatePending(const std::map<std::string, acme::Authorization>& authzs,
                               const IssueHooks& hooks) {
  for (const auto& [url, authz] : authzs) {
    if (authz.status != "pending") continue;
    const std::string key = KeyOf(authz.identifier, authz.wildcard);
    auto done = client_->DeactivateAuthorization(url);
    if (done.ok()) {
      Step(hooks, "deactivate", "", key, store::StepResult::kOk);
      continue;
    }
    Step(hooks, "deactivate", "", key, store::StepResult::kFailed, done.status().ToString());
    log::Warn("cannot deactivate authorization",
              {{"identifier", key}, {"error", done.status().ToString()}});
  }
}

}  // namespace certkeeper::lifecycle
