// The one TLS client for certkeeper's own connections outside the ACME
// transport (which is libcurl, with verification always on): the deploy
// verification that reads what a server now serves, and the TLS-ALPN-01
// self-check that asks certkeeper's own listener for its challenge certificate.
//
// Contract:
// - Every wait (name resolution aside) is bounded by one deadline: the
//   connect and each handshake read and write. The close_notify is sent once,
//   without waiting.
// - SIGPIPE is never raised. The connection's BIO (base/tls_socket.h) writes
//   with send(MSG_NOSIGNAL) instead of write(2), so a peer that has gone away
//   makes a write fail with EPIPE, reported as a handshake error. Nothing about
//   the process's or the thread's signal disposition is changed, so this is
//   safe in a library and in any thread.
// - The caller chooses how the server's certificate is judged (TlsPeerCheck);
//   there is no default that accepts everything.
// - The OpenSSL error queue of the calling thread is empty on return.
#ifndef CERTKEEPER_BASE_TLS_CLIENT_H_
#define CERTKEEPER_BASE_TLS_CLIENT_H_

#include <string>
#include <string_view>
#include <vector>

#include "base/poll_wait.h"
#include "base/status.h"

namespace certkeeper {

enum class TlsPeerCheck {
  // Only the leaf whose DER is TlsClientOptions::pinned_leaf_der is accepted
  // (RFC 8737 §3: a TLS-ALPN-01 challenge certificate is self-signed, so no
  // chain can vouch for it). The default: an empty pin refuses every server.
  kPinnedLeaf,
  // Any chain is accepted and returned: for a caller that compares what was
  // served itself (deploy verification compares the leaf's SHA-256 exactly).
  // MUST NOT be used where the connection's content is trusted.
  kAcceptAny,
};

struct TlsClientOptions {
  std::string server_name;         // SNI (RFC 6066 §3); "" sends none
  std::vector<std::string> alpn;   // offered (RFC 7301 §3.1), most preferred first
  TlsPeerCheck peer_check = TlsPeerCheck::kPinnedLeaf;
  std::string pinned_leaf_der;     // for kPinnedLeaf
};

// What the server presented on a completed handshake.
struct TlsPeer {
  std::vector<std::string> chain_der;  // as served, leaf first; never empty
  std::string alpn;                    // the protocol selected, "" when none
};

// Handshake (TLS 1.2 or later) over the connected socket fd, which MUST be
// non-blocking; fd stays open and owned by the caller. Errors, each with
// Where(where):
//   kTls               "TLS handshake failed: <OpenSSL's reason, or the socket
//                      error, or 'the connection was closed'>";
//                      "the server presented a certificate other than the
//                      pinned one" (kPinnedLeaf); "the server sent no certificate"
//   kDeadlineExceeded  "TLS handshake timed out"
//   kInvalidArgument   an ALPN protocol name that is empty or over 255 bytes
//   kInternal          OpenSSL could not set up the connection
Result<TlsPeer> TlsHandshake(int fd, const TlsClientOptions& options, SteadyDeadline deadline,
                             std::string_view where);

// Resolves host (getaddrinfo; not bounded by the deadline, so pass addresses
// for local servers), connects to each address in turn (ConnectBefore) and
// runs TlsHandshake on the first that accepts. Errors say where as
// "host:port" ("[v6]:port"): the connect errors of ConnectBefore for the last
// address tried, kUnavailable "cannot resolve the host: ...", kIo "socket: ...",
// and those of TlsHandshake.
Result<TlsPeer> TlsConnect(const std::string& host, int port, const TlsClientOptions& options,
                           SteadyDeadline deadline);

}  // namespace certkeeper

#endif  // CERTKEEPER_BASE_TLS_CLIENT_H_
