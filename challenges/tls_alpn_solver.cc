#include "challenges/tls_alpn_solver.h"

#include <openssl/x509.h>

#include <cctype>
#include <map>
#include <utility>
#include <vector>

#include "base/log.h"
#include "base/names.h"
#include "base/openssl_error.h"
#include "base/tls_client.h"
#include "challenges/tls_alpn_cert.h"
#include "challenges/tls_alpn_listener.h"

namespace certkeeper::challenges {

namespace {
using Clock = std::chrono::steady_clock;

// The SNI the CA sends for a (validated) identifier, and the key the listener
// files its certificate under: the name itself, or for an IP address its
// reverse-mapping name (RFC 8738 §6).
std::string SniFor(const std::string& identifier) {
  if (IsIpIdentifier(identifier)) return ReverseDnsName(identifier);
  Result<std::string> name = CanonicalDnsName(identifier, /*allow_wildcard=*/false);
  return name.ok() ? *name : identifier;
}
}  // namespace

Result<std::unique_ptr<TlsAlpnSolver>> TlsAlpnSolver::Create(const TlsAlpnOptions& options) {
  Result<ListenAddress> address = ParseListenAddress(options.listen);
  if (!address.ok()) return address.status().Annotate("tls-alpn-01");
  return std::unique_ptr<TlsAlpnSolver>(new TlsAlpnSolver(options, *address));
}

TlsAlpnSolver::TlsAlpnSolver(const TlsAlpnOptions& options, ListenAddress address)
    : options_(options), address_(std::move(address)) {}

TlsAlpnSolver::~TlsAlpnSolver() { (void)Stop(); }

std::vector<SolverNote> TlsAlpnSolver::TakeNotes() { return std::exchange(notes_, {}); }

Status TlsAlpnSolver::SelfCheck(const std::vector<ChallengeTask>& tasks) {
  std::map<std::string, std::string> seen;
  for (const ChallengeTask& task : tasks) {
    CK_RETURN_IF_ERROR(ValidateTask(task, kTlsAlpn01));
    auto [it, inserted] = seen.emplace(task.identifier, task.key_authorization);
    if (!inserted && it->second != task.key_authorization) {
      return Status(ErrorCode::kInvalidArgument,
                    "tls-alpn-01: two different challenges for " + task.identifier +
                        " in one batch; one listener can answer only one per name")
          .Hint("present them one after the other");
    }
  }
  if (listener_ != nullptr) return Status::Ok();
  CK_RETURN_IF_ERROR(CheckCanBind(address_, kTlsAlpn01));
  notes_.push_back({"", "tls-alpn-01: " + address_.ToString() + " can be bound"});
  return Status::Ok();
}

Status TlsAlpnSolver::Present(const std::vector<ChallengeTask>& tasks) {
  struct Prepared {
    std::string name;
    const ChallengeTask* task;
    std::shared_ptr<ChallengeCert> cert;
  };
  std::vector<Prepared> certs;
  for (const ChallengeTask& task : tasks) {
    CK_RETURN_IF_ERROR(ValidateTask(task, kTlsAlpn01));
    std::string name = SniFor(task.identifier);
    Result<std::shared_ptr<ChallengeCert>> cert =
        MakeChallengeCert(IsIpIdentifier(task.identifier) ? task.identifier : name,
                          task.key_authorization);
    if (!cert.ok()) return cert.status().Annotate(task.identifier);
    certs.push_back({std::move(name), &task, std::move(*cert)});
  }
  if (listener_ == nullptr) {
    CK_ASSIGN_OR_RETURN(int fd, BindListener(address_, kTlsAlpn01));
    Result<int> port = BoundPort(fd);
    auto listener = std::make_unique<TlsAlpnListener>(fd, options_.handshake_timeout);
    if (!port.ok()) return port.status();
    listener->OnServed([served = served_](const std::string& sni) {
      std::string name = sni;
      for (char& ch : name) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
      served->Served(name);
    });
    CK_RETURN_IF_ERROR(listener->Start());
    listener_ = std::move(listener);
    bound_port_ = *port;
    log::Info("tls-alpn-01 listener started",
              {{"listen", address_.WithPort(bound_port_).ToString()}});
  }
  for (const Prepared& p : certs) listener_->Put(p.name, p.cert);
  for (const Prepared& p : certs) {
    served_->Reset(p.name);
    CK_RETURN_IF_ERROR(Probe(*p.task, p.name, p.cert->der));
  }
  // From here on only the CA connects. The listener may finish the probe's
  // handshake after the probe did (TLS 1.3: the client's Finished comes
  // last): it is counted first, then forgotten.
  for (const Prepared& p : certs) {
    if (!served_->AwaitCount(p.name, 1, options_.self_check_timeout)) {
      notes_.push_back({p.task->identifier,
                        "tls-alpn-01: the listener did not report the self-check's handshake"});
    }
    served_->Reset(p.name);
  }
  return Status::Ok();
}

std::optional<ServedWaitResult> TlsAlpnSolver::AwaitServed(const ChallengeTask& task,
                                                           const ServedWaitOptions& options) {
  if (listener_ == nullptr) return std::nullopt;
  return served_->Await(SniFor(task.identifier), options);
}

Status TlsAlpnSolver::CleanUp(const std::vector<ChallengeTask>& tasks) {
  if (listener_ == nullptr) return Status::Ok();
  bool any_left = false;
  for (const ChallengeTask& task : tasks) {
    any_left = listener_->Remove(SniFor(task.identifier));
    served_->Forget(SniFor(task.identifier));
  }
  if (tasks.empty() || any_left) return Status::Ok();
  return Stop();
}

// The self-check trusts exactly the certificate Present generated: the challenge
// certificate is self-signed by design (RFC 8737 §3), so instead of a chain the
// peer's leaf is pinned by its DER encoding.
Status TlsAlpnSolver::Probe(const ChallengeTask& task, const std::string& sni,
                            const std::string& expected_der) {
  const std::string& name = task.identifier;
  const std::string& key_authorization = task.key_authorization;
  std::string host = address_.ConnectHost();
  std::string where =
      (address_.ipv6 ? "[" + host + "]" : host) + ":" + std::to_string(bound_port_);
  Clock::time_point started = Clock::now();
  auto fail = [&](std::string why) {
    Status s = Status(ErrorCode::kFailedPrecondition,
                      "tls-alpn-01 self-check for " + name +
                          (sni == name ? "" : " (SNI " + sni + ")") + " at " + where + ": " +
                          why)
                   .Where(where)
                   .Hint("the listener on " + address_.ToString() +
                         " did not answer as RFC 8737 requires; check that nothing "
                         "else intercepts the port");
    notes_.push_back({name, s.ToString()});
    return s;
  };

  TlsClientOptions options;
  options.server_name = sni;
  options.alpn = {std::string(kAcmeTlsAlpnProtocol)};
  options.peer_check = TlsPeerCheck::kPinnedLeaf;
  options.pinned_leaf_der = expected_der;
  Result<TlsPeer> peer =
      TlsConnect(host, bound_port_, options, started + options_.self_check_timeout);
  if (!peer.ok()) return fail(peer.status().message());
  if (peer->alpn != kAcmeTlsAlpnProtocol) return fail("the listener did not negotiate acme-tls/1");
  const unsigned char* der = reinterpret_cast<const unsigned char*>(peer->chain_der[0].data());
  X509Ptr leaf(d2i_X509(nullptr, &der, static_cast<long>(peer->chain_der[0].size())));
  std::string why = leaf ? CheckAcmeIdentifier(leaf.get(), AcmeIdentifierValue(key_authorization))
                         : "cannot parse the served certificate: " + OpenSslErrors();
  if (!why.empty()) return fail(why);
  auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started);
  notes_.push_back({name, "tls-alpn-01 self-check: " + where +
                              " served the acme-tls/1 certificate in " +
                              std::to_string(elapsed.count()) + "ms"});
  return Status::Ok();
}

Status TlsAlpnSolver::Stop() {
  if (listener_ == nullptr) return Status::Ok();
  listener_->Stop();
  listener_.reset();
  log::Info("tls-alpn-01 listener stopped",
            {{"listen", address_.WithPort(bound_port_).ToString()}});
  bound_port_ = 0;
  return Status::Ok();
}

}  // namespace certkeeper::challenges
