// The order's story: routes, resume or new order, the failover rounds,
// finalize and download. The authorizations of one order are solved in
// issuer_routes.cc.
#include "lifecycle/issuer.h"

#include <algorithm>
#include <utility>

#include "base/challenge_type.h"
#include "base/crash_point.h"
#include "base/log.h"
#include "base/names.h"
#include "base/phase_timer.h"
#include "challenges/solver.h"

namespace certkeeper::lifecycle {

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
        .Hint("configure them in the config file, a [solvers.TYPE] section each (TYPE: " +
              ChallengeTypeList() + ")");
  }
  for (const std::string& d : spec.domains) {
    // RFC 8738 §7: an IP address is never validated with dns-01.
    if (IsIpAddress(d) && std::none_of(preference.begin(), preference.end(), [](const auto& t) {
          return t != challenges::kDns01;
        })) {
      return Status(ErrorCode::kInvalidArgument,
                    "the IP address " + d + " can only be validated with http-01 or "
                    "tls-alpn-01, and neither is configured for this certificate")
          .Hint("add a [solvers.http-01] or [solvers.tls-alpn-01] section (RFC 8738 §7)");
    }
    if (IsWildcard(d) &&
        std::find(preference.begin(), preference.end(), challenges::kDns01) == preference.end()) {
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
  CK_ASSIGN_OR_RETURN(std::vector<std::string> preference,
                      ChallengeRoutes(*input.spec, solvers_->Types()));
  if (!input.allowed_types.empty()) {
    std::erase_if(preference, [&](const std::string& t) {
      return std::find(input.allowed_types.begin(), input.allowed_types.end(), t) ==
             input.allowed_types.end();
    });
    if (preference.empty()) {
      return Status(ErrorCode::kFailedPrecondition,
                    "the names' CAA records allow none of the configured challenge types")
          .Hint("the CAA validationmethods parameter (RFC 8657) lists the types allowed");
    }
  }
  Issuance s{input, hooks, std::move(preference)};
  std::optional<acme::Order> order = ResumeOrder(s);
  // Each round either finishes or marks at least one more (identifier, type)
  // as tried, so the number of rounds is bounded by identifiers x types.
  const size_t max_rounds = input.spec->domains.size() * s.preference.size() + 1;
  for (size_t round = 0; round < max_rounds; ++round) {
    if (!order) {
      phase::ScopedPhase timed("order");
      CK_ASSIGN_OR_RETURN(order, PlaceOrder(s));
    }
    bool finalized = false;
    if (order->status == "pending") {
      CK_ASSIGN_OR_RETURN(std::vector<std::string> rejected, SolveAuthorizations(s, *order));
      if (!rejected.empty()) {
        // A new order only helps when every rejected name has a type left;
        // otherwise it would spend an order (and rate-limit budget) to learn
        // nothing.
        for (const std::string& key : rejected) {
          if (s.NextType(key, nullptr).empty()) return s.NoRouteLeft(key);
        }
        order.reset();  // a new order with the next type for those identifiers
        continue;
      }
      if (s.finalized) {
        order = std::exchange(s.finalized, std::nullopt);
        finalized = true;
      }
    }
    if (order->status == "invalid") {
      return Status(ErrorCode::kAcme, "the order is invalid")
          .Where(order->url)
          .WithProblem(order->error.value_or(Problem{}));
    }
    auto finished = FinishOrder(*order, finalized, s.csr, input, hooks);
    if (finished.ok()) finished->challenge = s.last_type;
    return finished;
  }
  return Status(ErrorCode::kInternal, "challenge failover did not converge");
}

std::optional<acme::Order> Issuer::ResumeOrder(const Issuance& s) {
  if (s.input.resume_order_url.empty()) return std::nullopt;
  // An order the CA no longer knows, or one that ended invalid, is not an
  // error: the issuance starts over with a new order.
  auto resumed = client_->GetOrder(s.input.resume_order_url);
  if (!resumed.ok()) return std::nullopt;
  const std::string& status = resumed->status;
  if (status != "pending" && status != "ready" && status != "processing" && status != "valid") {
    return std::nullopt;
  }
  Step(s.hooks, "order", "", "", store::StepResult::kOk, {},
       "resumed order " + resumed->url + " (" + status + ")");
  log::Info("resuming order left by an interrupted run",
            {{"certificate", s.input.spec->name}, {"order", resumed->url}, {"status", status}});
  return *resumed;
}

Result<acme::Order> Issuer::PlaceOrder(const Issuance& s) {
  acme::NewOrderRequest request;
  request.identifiers = s.input.spec->domains;
  request.replaces = s.input.replaces;
  request.profile = s.input.profile;
  auto created = client_->NewOrder(request);
  // RFC 9773 §5: a CA that considers the certificate replaced already (say,
  // by an order of an interrupted run) rejects "replaces"; the renewal itself
  // is still wanted.
  if (!created.ok() && !request.replaces.empty() && created.status().problem() != nullptr &&
      created.status().problem()->Is("alreadyReplaced")) {
    log::Warn("the CA says the certificate was already replaced; ordering without \"replaces\"",
              {{"certificate", s.input.spec->name}});
    request.replaces.clear();
    created = client_->NewOrder(request);
  }
  if (!created.ok()) {
    Step(s.hooks, "order", "", "", store::StepResult::kFailed, created.status().ToString());
    return created.status().Annotate("new order");
  }
  if (s.hooks.persist_order) {
    Status kept = s.hooks.persist_order(created->url);
    if (!kept.ok()) {
      Step(s.hooks, "order", "", "", store::StepResult::kFailed, kept.ToString());
      return kept.Annotate("record order " + created->url);
    }
  }
  if (s.hooks.order_created) s.hooks.order_created(created->url);
  Step(s.hooks, "order", "", "", store::StepResult::kOk);
  log::Info("order created", {{"certificate", s.input.spec->name}, {"order", created->url}});
  return created;
}

bool Issuer::FinalizeEarly(Issuance& s, const acme::Order& order) {
  phase::ScopedPhase timed("finalize");
  if (s.csr.empty()) {
    Result<std::string> csr = CreateCsrDer(*s.input.key, s.input.spec->domains);
    if (!csr.ok()) return false;  // FinishOrder reports it
    s.csr = std::move(*csr);
  }
  auto answered = client_->Finalize(order, s.csr);
  // RFC 8555 §7.1.6: an order leaves "ready" only once every authorization
  // is valid. Any other answer (§7.4: orderNotReady while the CA is still
  // deciding, or after it rejected one) is left to the authorization polls.
  if (!answered.ok() || (answered->status != "processing" && answered->status != "valid")) {
    log::Debug("finalize right after the CA's requests not accepted; polling the authorizations",
               {{"order", order.url},
                {"answer", answered.ok() ? answered->status : answered.status().ToString()}});
    return false;
  }
  for (const auto& [type, routes] : s.presented) {
    for (const Route& r : routes) Validated(s, type, r);
  }
  CrashPoint("issue.authorized");
  Step(s.hooks, "finalize", "", "", store::StepResult::kOk);
  CrashPoint("issue.finalized");
  s.finalized = std::move(*answered);
  return true;
}

Result<IssueResult> Issuer::FinishOrder(const acme::Order& start, bool finalized_early,
                                        const std::string& made_csr, const IssueInput& input,
                                        const IssueHooks& hooks) {
  acme::Order order = start;
  TimePoint deadline = clock_->Now() + input.order_timeout;
  if (!finalized_early) CrashPoint("issue.authorized");
  // Every authorization is valid now, so the order is ready (RFC 8555 §7.1.6)
  // even if the copy we hold still says pending: finalize without fetching it
  // again, and poll only if the server disagrees (orderNotReady).
  phase::ScopedPhase timed("finalize");
  if (order.status == "pending" || order.status == "ready") {
    std::string csr = made_csr;
    if (csr.empty()) {
      CK_ASSIGN_OR_RETURN(csr, CreateCsrDer(*input.key, input.spec->domains));
    }
    auto finalized = client_->Finalize(order, csr);
    if (!finalized.ok() && finalized.status().problem() &&
        finalized.status().problem()->Is("orderNotReady")) {
      CK_ASSIGN_OR_RETURN(order, client_->PollOrder(order.url, deadline));
      if (order.status == "ready") {
        finalized = client_->Finalize(order, csr);
      } else if (order.status == "valid") {
        finalized = order;  // an early finalize whose answer was lost went through
      }
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
    CK_ASSIGN_OR_RETURN(order,
                        client_->PollOrder(order.url, deadline, client_->OrderPollStart(order)));
  }
  if (order.status != "valid") {
    Status s = Status(ErrorCode::kAcme, "the order ended " + order.status).Where(order.url);
    if (order.error) s.WithProblem(*order.error);
    return s;
  }
  timed.Stop();
  return Download(order, input, hooks);
}

namespace {

// The chain input.choose_chain picks, as parsed at download; a chain the
// chooser put together itself is parsed here.
Result<std::vector<ParsedCertificate>> ChosenChain(acme::CertificateChains& chains,
                                                   const IssueInput& input) {
  const std::string chosen = input.choose_chain ? input.choose_chain(chains) : chains.pem;
  if (chosen == chains.pem && !chains.certs.empty()) return std::move(chains.certs);
  for (size_t i = 0; i < chains.alternates.size() && i < chains.alternate_certs.size(); ++i) {
    if (chosen == chains.alternates[i] && !chains.alternate_certs[i].empty()) {
      return std::move(chains.alternate_certs[i]);
    }
  }
  return ParsePemCertificates(chosen);
}

}  // namespace

Result<IssueResult> Issuer::Download(const acme::Order& order, const IssueInput& input,
                                     const IssueHooks& hooks) {
  phase::ScopedPhase timed("download");
  auto chains = client_->DownloadCertificate(order.certificate, input.choose_chain != nullptr);
  if (!chains.ok()) {
    Step(hooks, "download", "", "", store::StepResult::kFailed, chains.status().ToString());
    return chains.status().Annotate("download certificate");
  }
  CK_ASSIGN_OR_RETURN(std::vector<ParsedCertificate> certs, ChosenChain(*chains, input));
  IssueResult result;
  result.order_url = order.url;
  result.cert_pem = certs.front().pem();
  for (size_t i = 1; i < certs.size(); ++i) result.chain_pem += certs[i].pem();
  // Never store what we did not ask for.
  Status match = certs.front().MatchesKey(*input.key);
  if (!match.ok()) {
    return match.Annotate("the CA returned a certificate for another key").Where(order.certificate);
  }
  result.cert_info = certs.front().info();
  const CertInfo& info = result.cert_info;
  for (const std::string& d : input.spec->domains) {
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
