#include "lifecycle/issuer.h"

#include <algorithm>

#include "base/crash_point.h"
#include "base/log.h"
#include "base/names.h"

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

bool Offers(const acme::Authorization& authz, const std::string& type) {
  return authz.Find(type) != nullptr;
}

}  // namespace

Status CheckRequested(const acme::Authorization& authz, const std::vector<std::string>& domains) {
  auto name = CanonicalDnsName(authz.identifier, false);
  if (!name.ok()) {
    return Status(ErrorCode::kProtocol, "the CA sent an authorization for an invalid name \"" +
                                            authz.identifier + "\": " + name.status().message());
  }
  const std::string key = KeyOf(*name, authz.wildcard);
  for (const std::string& d : domains) {
    auto wanted = CanonicalDnsName(d, true);
    if (wanted.ok() && *wanted == key) return Status::Ok();
  }
  return Status(ErrorCode::kProtocol,
                "the CA sent an authorization for " + key + ", which the order did not ask for");
}

void Issuer::Step(const IssueHooks& hooks, std::string kind, std::string challenge,
                  std::string identifier, store::StepResult result, std::string error,
                  std::string output) {
  if (!hooks.step) return;
  store::AttemptStep step;
  step.at = clock_->Now();
  step.kind = std::move(kind);
  step.challenge_type = std::move(challenge);
  step.identifier = std::move(identifier);
  step.result = result;
  step.error = std::move(error);
  step.output = std::move(output);
  hooks.step(step);
}

Result<std::vector<std::string>> ChallengeRoutes(const CertificateSpec& spec,
                                                 const std::vector<std::string>& configured) {
  std::vector<std::string> preference;
  if (spec.challenges.empty()) {
    preference = configured;
  } else {
    for (const std::string& t : spec.challenges) {
      if (std::find(configured.begin(), configured.end(), t) != configured.end() &&
          std::find(preference.begin(), preference.end(), t) == preference.end()) {
        preference.push_back(t);
      }
    }
  }
  if (preference.empty()) {
    std::string wanted;
    for (const auto& c : spec.challenges) wanted += (wanted.empty() ? "" : ", ") + c;
    return Status(ErrorCode::kInvalidArgument,
                  "no configured solver for the challenge types " + wanted)
        .Hint("configure them in the config file ([solvers.http-01], [solvers.dns-01], "
              "[solvers.tls-alpn-01])");
  }
  for (const std::string& d : spec.domains) {
    if (IsWildcard(d) &&
        std::find(preference.begin(), preference.end(), "dns-01") == preference.end()) {
      return Status(ErrorCode::kInvalidArgument,
                    "the wildcard " + d + " can only be validated with dns-01, and no dns-01 "
                    "solver is configured for this certificate")
          .Hint("add a [solvers.dns-01] section with a DNS provider and include dns-01 in "
                "the certificate's challenges");
    }
  }
  return preference;
}

Result<IssueResult> Issuer::Issue(const IssueInput& input, const IssueHooks& hooks) {
  const CertificateSpec& spec = *input.spec;
  CK_ASSIGN_OR_RETURN(std::vector<std::string> preference,
                      ChallengeRoutes(spec, solvers_->Types()));

  acme::Order order;
  bool have_order = false;
  if (!input.resume_order_url.empty()) {
    auto resumed = client_->GetOrder(input.resume_order_url);
    if (resumed.ok() && (resumed->status == "pending" || resumed->status == "ready" ||
                         resumed->status == "processing" || resumed->status == "valid")) {
      order = *resumed;
      have_order = true;
      Step(hooks, "order", "", "", store::StepResult::kOk,
           {}, "resumed order " + order.url + " (" + order.status + ")");
      log::Info("resuming order left by an interrupted run",
                {{"certificate", spec.name}, {"order", order.url}, {"status", order.status}});
    }
  }

  Tried tried;
  std::vector<std::string> failures;
  std::string last_type;
  // Each round either finishes or marks at least one more (identifier, type)
  // as tried, so the number of rounds is bounded by identifiers x types.
  const size_t max_rounds = spec.domains.size() * preference.size() + 1;
  for (size_t round = 0; round < max_rounds; ++round) {
    if (!have_order) {
      acme::NewOrderRequest request;
      request.identifiers = spec.domains;
      request.replaces = input.replaces;
      auto created = client_->NewOrder(request);
      // RFC 9773 §5: a CA that considers the certificate replaced already
      // (say, by an order of an interrupted run) rejects "replaces"; the
      // renewal itself is still wanted.
      if (!created.ok() && !request.replaces.empty() && created.status().problem() != nullptr &&
          created.status().problem()->Is("alreadyReplaced")) {
        log::Warn("the CA says the certificate was already replaced; ordering without "
                  "\"replaces\"",
                  {{"certificate", spec.name}});
        request.replaces.clear();
        created = client_->NewOrder(request);
      }
      if (!created.ok()) {
        Step(hooks, "order", "", "", store::StepResult::kFailed, created.status().ToString());
        return created.status().Annotate("new order");
      }
      order = *created;
      have_order = true;
      if (hooks.order_created) hooks.order_created(order.url);
      Step(hooks, "order", "", "", store::StepResult::kOk);
      log::Info("order created", {{"certificate", spec.name}, {"order", order.url}});
    }
    if (order.status == "pending") {
      auto rejected = SolveAuthorizations(order, preference, tried, failures, input, hooks,
                                          last_type);
      if (!rejected.ok()) return rejected.status();
      if (!rejected->empty()) {
        // A new order only helps when every rejected name has a type left;
        // otherwise it would spend an order (and rate-limit budget) to learn
        // nothing.
        for (const std::string& key : *rejected) {
          bool wildcard = IsWildcard(key);
          bool left = std::any_of(preference.begin(), preference.end(), [&](const auto& t) {
            return !tried[key].count(t) && (!wildcard || t == "dns-01");
          });
          if (!left) {
            std::string routes;
            for (const std::string& f : failures) routes += "\n  - " + f;
            return Status(ErrorCode::kFailedPrecondition,
                          "every challenge route failed for " + key + ":" + routes)
                .Hint("fix one of the routes above (`certkeeper history` shows each step); "
                      "the previous certificate stays live");
          }
        }
        have_order = false;  // a new order with the next type for those identifiers
        continue;
      }
    }
    if (order.status == "invalid") {
      return Status(ErrorCode::kAcme, "the order is invalid")
          .Where(order.url)
          .WithProblem(order.error.value_or(Problem{}));
    }
    auto finished = FinishOrder(order, input, hooks);
    if (finished.ok()) finished->challenge = last_type;
    return finished;
  }
  return Status(ErrorCode::kInternal, "challenge failover did not converge");
}

Result<std::vector<std::string>> Issuer::SolveAuthorizations(
    const acme::Order& order, const std::vector<std::string>& preference, Tried& tried,
    std::vector<std::string>& failures, const IssueInput& input, const IssueHooks& hooks,
    std::string& last_type) {
  std::vector<Route> unsolved;
  std::map<std::string, acme::Authorization> authzs;
  for (const std::string& url : order.authorizations) {
    CK_ASSIGN_OR_RETURN(acme::Authorization authz, client_->GetAuthorization(url));
    if (authz.status == "valid") continue;
    if (authz.status != "pending") {
      return Status(ErrorCode::kAcme, "authorization for " + authz.identifier + " is " +
                                          authz.status)
          .Where(url);
    }
    CK_RETURN_IF_ERROR(CheckRequested(authz, input.spec->domains).Where(url));
    Route r;
    r.identifier = authz.identifier;
    r.wildcard = authz.wildcard;
    r.authz_url = url;
    authzs[url] = authz;
    unsolved.push_back(std::move(r));
  }
  if (unsolved.empty()) return std::vector<std::string>{};

  SolverSet::Lease lease = solvers_->Lock(preference);
  std::map<std::string, std::vector<Route>> presented;
  auto cleanup_all = [&]() {
    for (auto& [type, routes] : presented) CleanUp(solvers_->Find(type), type, routes, hooks);
    presented.clear();
  };

  // Pick a type for every unsolved identifier, falling over on local failures.
  while (!unsolved.empty()) {
    std::map<std::string, std::vector<Route>> groups;
    for (Route& r : unsolved) {
      const acme::Authorization& authz = authzs[r.authz_url];
      std::string key = KeyOf(r.identifier, r.wildcard);
      std::string chosen;
      for (const std::string& t : preference) {
        if (tried[key].count(t)) continue;
        if (r.wildcard && t != "dns-01") continue;
        if (!Offers(authz, t)) continue;
        chosen = t;
        break;
      }
      if (chosen.empty()) {
        cleanup_all();
        DeactivatePending(authzs, hooks);
        std::string routes;
        for (const std::string& f : failures) routes += "\n  - " + f;
        if (routes.empty()) routes = "\n  - no configured challenge type is offered by the CA";
        return Status(ErrorCode::kFailedPrecondition,
                      "every challenge route failed for " + key + ":" + routes)
            .Hint("fix one of the routes above (`certkeeper history` shows each step); the "
                  "previous certificate stays live");
      }
      const acme::Challenge* ch = authz.Find(chosen);
      r.type = chosen;
      r.challenge_url = ch->url;
      r.task.identifier = r.identifier;
      r.task.wildcard = r.wildcard;
      r.task.token = ch->token;
      // The token comes from the CA: KeyAuthorization refuses one that is not
      // base64url (RFC 8555 §8.1) before it can reach a URL path or a file name.
      Result<std::string> key_authorization = client_->KeyAuthorization(ch->token);
      if (!key_authorization.ok()) {
        cleanup_all();
        return Status(key_authorization.status())
            .Annotate(chosen + " challenge for " + key)
            .Where(ch->url);
      }
      r.task.key_authorization = *key_authorization;
      groups[chosen].push_back(r);
    }
    unsolved.clear();
    for (auto& [type, routes] : groups) {
      challenges::Solver* solver = solvers_->Find(type);
      std::string stage;
      Status s = Prepare(solver, type, routes, hooks, stage);
      if (s.ok()) {
        presented[type].insert(presented[type].end(), routes.begin(), routes.end());
        continue;
      }
      log::Warn(type + " " + stage + " failed", {{"error", s.ToString()}});
      // One name can break a batch (a provider that refuses one zone, a CNAME
      // that does not resolve): each name then gets its own try, so the names
      // that can use this type keep it.
      std::vector<std::pair<Route, std::string>> verdicts;
      if (routes.size() == 1) {
        verdicts.emplace_back(routes.front(), stage + " failed: " + s.ToString());
      } else {
        for (const Route& r : routes) {
          std::vector<Route> one = {r};
          std::string one_stage;
          Status alone = Prepare(solver, type, one, hooks, one_stage);
          if (alone.ok()) {
            presented[type].push_back(r);
          } else {
            verdicts.emplace_back(r, one_stage + " failed: " + alone.ToString());
          }
        }
      }
      for (auto& [r, why] : verdicts) {
        std::string key = KeyOf(r.identifier, r.wildcard);
        tried[key].insert(type);
        failures.push_back(key + " via " + type + ": " + why);
        unsolved.push_back(r);
        log::Warn(type + " failed for " + key + "; trying the next challenge type",
                  {{"error", why}});
      }
    }
  }

  // Ask the CA to validate every route, then wait for each (RFC 8555 §7.5.1).
  for (auto& [type, routes] : presented) {
    for (const Route& r : routes) {
      auto ch = client_->RespondToChallenge(r.challenge_url);
      if (!ch.ok()) {
        // cleanup_all() empties `presented`, which holds `type` and `r`.
        Status error =
            ch.status().Annotate("respond to " + type + " challenge for " + r.identifier);
        cleanup_all();
        return error;
      }
    }
  }
  std::vector<std::string> rejected;
  TimePoint deadline = clock_->Now() + input.validation_timeout;
  Status poll_error;
  for (auto& [type, routes] : presented) {
    for (const Route& r : routes) {
      std::string key = KeyOf(r.identifier, r.wildcard);
      auto authz = client_->PollAuthorization(r.authz_url, deadline);
      if (!authz.ok()) {
        poll_error = authz.status().Annotate("wait for validation of " + key);
        break;
      }
      last_type = type;
      if (authz->status == "valid") {
        Step(hooks, "validation", type, key, store::StepResult::kOk);
        log::Info(type + " validated", {{"identifier", key}});
        continue;
      }
      const acme::Challenge* ch = authz->Find(type);
      std::optional<Problem> problem = ch ? ch->error : std::nullopt;
      std::string text = "CA rejected the validation (" + authz->status + "): " +
                         ProblemText(problem);
      Step(hooks, "validation", type, key, store::StepResult::kFailed, text);
      log::Warn(type + " validation failed at the CA", {{"identifier", key}, {"error", text}});
      tried[key].insert(type);
      failures.push_back(key + " via " + type + ": " + text);
      if (hooks.validation_failed) hooks.validation_failed(key);
      rejected.push_back(key);
    }
    if (!poll_error.ok()) break;
  }
  cleanup_all();
  if (!poll_error.ok()) return poll_error;
  return rejected;
}

Status Issuer::Prepare(challenges::Solver* solver, const std::string& type,
                       const std::vector<Route>& routes, const IssueHooks& hooks,
                       std::string& stage) {
  std::vector<challenges::ChallengeTask> tasks;
  for (const Route& r : routes) tasks.push_back(r.task);
  stage = "self-check";
  Status s = solver->SelfCheck(tasks);
  if (s.ok()) {
    for (const Route& r : routes) {
      Step(hooks, stage, type, KeyOf(r.identifier, r.wildcard), store::StepResult::kOk);
    }
    stage = "present";
    s = solver->Present(tasks);
  }
  RecordNotes(solver, type, hooks);
  for (const Route& r : routes) {
    Step(hooks, stage, type, KeyOf(r.identifier, r.wildcard),
         s.ok() ? store::StepResult::kOk : store::StepResult::kFailed, s.ok() ? "" : s.ToString());
  }
  // Recorded after the failed Present it follows, as it happened.
  if (!s.ok() && stage == "present") CleanUp(solver, type, routes, hooks);
  return s;
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

Result<IssueResult> Issuer::FinishOrder(const acme::Order& start, const IssueInput& input,
                                        const IssueHooks& hooks) {
  const CertificateSpec& spec = *input.spec;
  acme::Order order = start;
  TimePoint deadline = clock_->Now() + input.order_timeout;
  CrashPoint("issue.authorized");
  // Every authorization is valid now, so the order is ready (RFC 8555 §7.1.6)
  // even if the copy we hold still says pending: finalize without fetching it
  // again, and poll only if the server disagrees (orderNotReady).
  if (order.status == "pending" || order.status == "ready") {
    CK_ASSIGN_OR_RETURN(std::string csr, CreateCsrDer(*input.key, spec.domains));
    auto finalized = client_->Finalize(order, csr);
    if (!finalized.ok() && finalized.status().problem() &&
        finalized.status().problem()->Is("orderNotReady")) {
      CK_ASSIGN_OR_RETURN(order, client_->PollOrder(order.url, deadline));
      if (order.status == "ready") finalized = client_->Finalize(order, csr);
    }
    if (!finalized.ok()) {
      Step(hooks, "finalize", "", "", store::StepResult::kFailed, finalized.status().ToString());
      return finalized.status().Annotate("finalize");
    }
    order = *finalized;
    Step(hooks, "finalize", "", "", store::StepResult::kOk);
    CrashPoint("issue.finalized");
  }
  if (order.status == "processing" || (order.status == "valid" && order.certificate.empty())) {
    CK_ASSIGN_OR_RETURN(order, client_->PollOrder(order.url, deadline));
  }
  if (order.status != "valid") {
    Status s = Status(ErrorCode::kAcme, "the order ended " + order.status).Where(order.url);
    if (order.error) s.WithProblem(*order.error);
    return s;
  }
  auto chains = client_->DownloadCertificate(order.certificate, false);
  if (!chains.ok()) {
    Step(hooks, "download", "", "", store::StepResult::kFailed, chains.status().ToString());
    return chains.status().Annotate("download certificate");
  }
  CK_ASSIGN_OR_RETURN(std::vector<std::string> certs, SplitPemCertificates(chains->pem));
  IssueResult result;
  result.order_url = order.url;
  result.cert_pem = certs.front();
  for (size_t i = 1; i < certs.size(); ++i) result.chain_pem += certs[i];
  // Never store what we did not ask for.
  Status match = KeyMatchesCertificate(*input.key, result.cert_pem);
  if (!match.ok()) {
    return match.Annotate("the CA returned a certificate for another key").Where(order.certificate);
  }
  CK_ASSIGN_OR_RETURN(CertInfo info, ParseCertificatePem(result.cert_pem));
  for (const std::string& d : spec.domains) {
    if (!CertificateCovers(info, d)) {
      return Status(ErrorCode::kProtocol, "the CA returned a certificate that does not cover " + d)
          .Where(order.certificate);
    }
  }
  Step(hooks, "download", "", "", store::StepResult::kOk, {},
       "serial " + info.serial_hex + ", expires " + FormatRfc3339(info.not_after));
  CrashPoint("issue.downloaded");
  return result;
}

}  // namespace certkeeper::lifecycle
