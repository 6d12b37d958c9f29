// The TLS listener of the TLS-ALPN-01 solver (RFC 8737 §3): one thread that
// multiplexes non-blocking handshakes with poll() and answers acme-tls/1
// ClientHellos for the names it holds with their challenge certificates.
#ifndef CERTKEEPER_CHALLENGES_TLS_ALPN_LISTENER_H_
#define CERTKEEPER_CHALLENGES_TLS_ALPN_LISTENER_H_

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "base/status.h"
#include "challenges/tls_alpn_cert.h"

namespace certkeeper::challenges {

// Bounds (any host can connect during validation): at most 256 connections at
// once, the oldest that has sent nothing (else the oldest) closed for a new
// one; handshake_timeout per handshake, at most 3 s while a client has sent
// nothing; an SSL object only for clients that have sent bytes. No
// application data is ever read or written.
class TlsAlpnListener {
 public:
  // Takes ownership of listen_fd (bound and listening).
  TlsAlpnListener(int listen_fd, std::chrono::milliseconds handshake_timeout);
  // Stops and closes every socket.
  ~TlsAlpnListener();
  TlsAlpnListener(const TlsAlpnListener&) = delete;
  TlsAlpnListener& operator=(const TlsAlpnListener&) = delete;

  // Called on the listener's thread with the SNI of every completed
  // acme-tls/1 handshake (a challenge certificate served). Set before Start.
  void OnServed(std::function<void(const std::string& name)> served);
  // Starts the thread.
  Status Start();
  // Wakes the thread and joins it; returns within one poll round.
  void Stop();
  // Serves cert for SNI name (lower case), replacing an earlier one.
  void Put(const std::string& name, std::shared_ptr<ChallengeCert> cert);
  // Stops serving name; returns whether any name is left.
  bool Remove(const std::string& name);

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace certkeeper::challenges

#endif  // CERTKEEPER_CHALLENGES_TLS_ALPN_LISTENER_H_
