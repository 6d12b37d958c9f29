#include "hooks/tls_verify.h"

#include <algorithm>

#include "base/encoding.h"
#include "base/tls_client.h"

namespace certkeeper::hooks {

Result<std::string> FetchServedFingerprint(const Endpoint& endpoint,
                                           const std::string& server_name,
                                           std::chrono::milliseconds timeout) {
  TlsClientOptions options;
  options.server_name = server_name;
  // Only the served certificate's fingerprint matters here, and it is compared
  // exactly; trust is not evaluated.
  options.peer_check = TlsPeerCheck::kAcceptAny;
  CK_ASSIGN_OR_RETURN(TlsPeer peer, TlsConnect(endpoint.host, endpoint.port, options,
                                               std::chrono::steady_clock::now() + timeout));
  return HexEncode(Sha256(peer.chain_der.front()));
}

Status VerifyServedCertificates(const std::vector<Endpoint>& endpoints,
                                const std::vector<std::string>& domains,
                                std::string_view expected_fingerprint,
                                const VerifyOptions& options, Clock& clock) {
  const TimePoint deadline = clock.Now() + options.total_timeout;
  auto remaining = [&] {
    return std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock.Now());
  };
  for (const Endpoint& endpoint : endpoints) {
    for (const std::string& domain : domains) {
      std::string sni = SniNameFor(domain);
      std::chrono::milliseconds interval = options.first_interval;
      Status last;
      // A wrong certificate seen once says more than a later timeout: report it.
      Status mismatch;
      for (int attempt = 1;; ++attempt) {
        std::chrono::milliseconds budget = remaining();
        if (budget.count() <= 0) {
          if (last.ok()) {
            last = Status(ErrorCode::kDeadlineExceeded, "no time left to check").Where(
                endpoint.ToString());
          }
          break;
        }
        Result<std::string> served = FetchServedFingerprint(endpoint, sni, budget);
        if (served.ok() && *served == expected_fingerprint) {
          last = Status::Ok();
          break;
        }
        if (served.ok()) {
          last = Status(ErrorCode::kFailedPrecondition,
                        endpoint.ToString() + " serves " + *served + " for " + sni +
                            ", not the deployed " + std::string(expected_fingerprint))
                     .Where(endpoint.ToString())
                     .Hint("the reload did not take effect, or the server uses other "
                           "files: check its configuration and `reload`");
          mismatch = last;
        } else {
          last = served.status();
          last.Annotate("checking " + sni);
          if (last.hint().empty()) {
            last.Hint("is the server running and listening on " + endpoint.ToString() + "?");
          }
        }
        if (attempt >= options.max_attempts) break;
        std::chrono::milliseconds pause = std::min(interval, remaining());
        if (pause.count() <= 0) break;
        clock.SleepFor(pause);
        interval = std::min(interval * 2, options.max_interval);
      }
      if (!last.ok()) return mismatch.ok() ? last : mismatch;
    }
  }
  return Status::Ok();
}

}  // namespace certkeeper::hooks
