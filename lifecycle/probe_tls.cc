#include "lifecycle/probe_tls.h"

#include <errno.h>
#include <netdb.h>
#include <string.h>
#include <sys/socket.h>

#include <chrono>
#include <memory>

#include "base/crypto.h"
#include "base/encoding.h"
#include "base/names.h"
#include "base/poll_wait.h"
#include "base/text.h"
#include "base/tls_client.h"
#include "base/unique_fd.h"
#include "hooks/endpoint.h"

namespace certkeeper::lifecycle {

namespace {

constexpr size_t kMaxNameBytes = 255;
constexpr size_t kMaxIssuerBytes = 1024;

// Peer text kept in a record: valid UTF-8, at most max_bytes.
std::string Bounded(std::string_view peer_text, size_t max_bytes) {
  std::string clean = SanitizeUtf8(peer_text);
  return std::string(Utf8Prefix(clean, max_bytes));
}

std::string Join(const std::vector<std::string>& parts, std::string_view sep) {
  std::string out;
  for (const std::string& p : parts) out += (out.empty() ? "" : std::string(sep)) + p;
  return out;
}

// Whether the chain verifies to the trust at `now`; "" when it does, else why.
std::string ChainProblem(const std::vector<std::string>& chain_der, const ProbeTrust& trust,
                         TimePoint now) {
  if (!trust.error.empty()) return "the chain was not verified: " + trust.error;
  if (chain_der.size() > kMaxServedCertificates) {
    return "the server sent " + std::to_string(chain_der.size()) + " certificates, more than the " +
           std::to_string(kMaxServedCertificates) + " a chain is verified with";
  }
  std::string intermediates;
  for (size_t i = 1; i < chain_der.size(); ++i) intermediates += DerToPem(chain_der[i]);
  Status verified = VerifyChain(DerToPem(chain_der.front()), intermediates, trust.roots_pem, now);
  return verified.ok() ? "" : verified.message();
}

struct Handshake {
  Result<TlsPeer> peer = Status(ErrorCode::kUnavailable, "no address to connect to");
  int64_t elapsed_us = 0;  // TCP connect + TLS handshake of the last address tried
};

// getaddrinfo, then each address in turn until one completes a handshake or
// the deadline passes.
Handshake Connect(const hooks::Endpoint& where, const TlsClientOptions& options,
                  SteadyDeadline deadline) {
  Handshake out;
  const std::string label = where.ToString();
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  const std::string service = std::to_string(where.port);
  int rc = getaddrinfo(where.host.c_str(), service.c_str(), &hints, &found);
  if (rc != 0) {
    out.peer = Status(ErrorCode::kUnavailable,
                      std::string("cannot resolve the host: ") + gai_strerror(rc));
    return out;
  }
  std::unique_ptr<addrinfo, decltype(&freeaddrinfo)> list(found, freeaddrinfo);
  for (const addrinfo* a = list.get(); a != nullptr; a = a->ai_next) {
    fs::UniqueFd fd(socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
                           a->ai_protocol));
    if (!fd) {
      out.peer = Status(ErrorCode::kIo, std::string("socket: ") + strerror(errno));
      continue;
    }
    const auto start = std::chrono::steady_clock::now();
    Status connected = ConnectBefore(fd.get(), a->ai_addr, a->ai_addrlen, deadline, label);
    out.peer = connected.ok() ? TlsHandshake(fd.get(), options, deadline, label)
                              : Result<TlsPeer>(connected);
    out.elapsed_us = std::chrono::duration_cast<std::chrono::microseconds>(
                         std::chrono::steady_clock::now() - start)
                         .count();
    if (out.peer.ok() || out.peer.status().code() == ErrorCode::kDeadlineExceeded) break;
  }
  return out;
}

}  // namespace

std::string ExpectedName(const EndpointSettings& endpoint) {
  if (!endpoint.sni.empty()) return endpoint.sni;
  auto parsed = hooks::ParseEndpoint(endpoint.address);
  return parsed.ok() ? parsed->host : "";
}

void JudgeServedChain(const std::vector<std::string>& chain_der, const std::string& expected_name,
                      const ProbeTrust& trust, TimePoint now, store::ProbeRecord& record) {
  if (chain_der.empty()) {
    record.error = "the server sent no certificate";
    return;
  }
  record.fingerprint = HexEncode(Sha256(chain_der.front()));
  Result<CertInfo> leaf = ParseCertificateDer(chain_der.front());
  if (!leaf.ok()) {
    record.error = "the served certificate does not parse: " + leaf.status().message();
    return;
  }
  record.serial = Bounded(leaf->serial_hex, kMaxNameBytes);
  record.issuer = Bounded(leaf->issuer, kMaxIssuerBytes);
  for (const std::string& name : CertificateIdentifiers(*leaf)) {
    if (record.names.size() >= kMaxRecordedNames) break;
    record.names.push_back(Bounded(name, kMaxNameBytes));
  }
  record.not_before = leaf->not_before;
  record.not_after = leaf->not_after;

  std::vector<std::string> problems;
  // RFC 6125 §6.4: the reference identity against the SAN DNS names (one
  // leftmost wildcard label) or an iPAddress SAN; never the subject CN.
  record.names_match = !expected_name.empty() && CertificateCovers(*leaf, expected_name);
  if (!record.names_match) {
    problems.push_back("the certificate does not cover " + expected_name);
  }
  std::string chain = ChainProblem(chain_der, trust, now);
  record.chain_valid = chain.empty();
  if (!record.chain_valid) problems.push_back(chain);
  record.error = Join(problems, "; ");
}

store::ProbeRecord ProbeEndpoint(const EndpointSettings& endpoint, const ProbeTrust& trust,
                                 TimePoint now) {
  store::ProbeRecord record;
  record.endpoint = endpoint.Key();
  record.address = endpoint.address;
  record.sni = endpoint.sni;
  record.certificate = endpoint.certificate;
  auto where = hooks::ParseEndpoint(endpoint.address);
  if (!where.ok()) {
    record.error = where.status().message();
    return record;
  }
  TlsClientOptions options;
  // RFC 6066 §3: SNI carries a DNS name, never an IP address literal.
  options.server_name = !endpoint.sni.empty()       ? endpoint.sni
                        : IsIpAddress(where->host) ? ""
                                                   : where->host;
  // The chain is judged here, against the endpoint's own roots, after the
  // handshake: a server with a bad chain is what a probe must report, not a
  // connection it refuses to make. Nothing the server sends is trusted.
  options.peer_check = TlsPeerCheck::kAcceptAny;
  Handshake hs = Connect(*where, options,
                         std::chrono::steady_clock::now() +
                             std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                                 endpoint.timeout));
  record.handshake_us = hs.elapsed_us;
  if (!hs.peer.ok()) {
    record.error = hs.peer.status().message();
    return record;
  }
  record.ok = true;
  JudgeServedChain(hs.peer->chain_der, ExpectedName(endpoint), trust, now, record);
  return record;
}

}  // namespace certkeeper::lifecycle
