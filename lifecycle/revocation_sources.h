// Where revocation answers come from: an OCSP responder asked by HTTP POST
// (RFC 6960 Appendix A.1), CRLs fetched by HTTP GET and cached under
// STATE/crl-cache/, and the staple file written next to a live certificate.
// Every exchange is bounded in time (the HttpClient's timeouts) and size.
#ifndef CERTKEEPER_LIFECYCLE_REVOCATION_SOURCES_H_
#define CERTKEEPER_LIFECYCLE_REVOCATION_SOURCES_H_

#include <optional>
#include <string>
#include <string_view>

#include "acme/http.h"
#include "base/clock.h"
#include "base/status.h"
#include "lifecycle/revocation_status.h"

namespace certkeeper::lifecycle {

struct OcspAnswer {
  RevocationStatus status;
  std::string der;  // the verified OCSPResponse, for the staple file
};

// POSTs an OCSP request for pair.leaf to url (application/ocsp-request) and
// verifies the answer (VerifyOcspResponse). kUnavailable when the responder
// cannot be reached or answers other than HTTP 200; kProtocol when the answer
// is refused. Never follows a redirect.
Result<OcspAnswer> AskOcsp(acme::HttpClient& http, const std::string& url, const CertPair& pair,
                           TimePoint now, Duration max_age_without_nonce);

// CRLs by distribution point URL, cached as STATE/crl-cache/<hex SHA-256 of
// the URL>.der (0644, written atomically through the directory's fd). A
// cached CRL is used while it verifies and its nextUpdate has not passed
// (without a nextUpdate: while younger than max_cache); otherwise the URL is
// fetched (DER or PEM, at most kMaxCrlBytes), verified, cached and used. A
// CRL that does not verify is never cached.
class CrlCache {
 public:
  CrlCache(std::string state_dir, acme::HttpClient& http, Duration max_cache)
      : state_dir_(std::move(state_dir)), http_(http), max_cache_(max_cache) {}

  // The leaf's status according to the CRL at url (CheckCrl). kUnavailable
  // when it cannot be fetched, kProtocol when it is refused; a failure to
  // write the cache is logged, not returned (the answer stands).
  Result<RevocationStatus> Check(const std::string& url, const CertPair& pair, TimePoint now);

  // "crl-cache/<64 hex>.der": the cache file of url, relative to the state dir.
  static std::string CacheName(std::string_view url);

 private:
  std::optional<RevocationStatus> FromCache(const std::string& url, const CertPair& pair,
                                            TimePoint now);
  void Store(const std::string& url, std::string_view der);

  std::string state_dir_;
  acme::HttpClient& http_;
  Duration max_cache_;
};

// The staple file's name inside a version's directory (archive/<name>/<n>/,
// which live/<name> points at): the DER OCSPResponse that servers staple
// from a file (nginx ssl_stapling_file, HAProxy's .ocsp).
inline constexpr const char* kStapleFileName = "ocsp.der";

// Writes der as version_dir/ocsp.der atomically (0644) through the
// directory's fd, never following a symlink.
Status WriteStapleFile(const std::string& version_dir, std::string_view der);
// True when version_dir/ocsp.der is a regular file.
bool HasStapleFile(const std::string& version_dir);

}  // namespace certkeeper::lifecycle

#endif  // CERTKEEPER_LIFECYCLE_REVOCATION_SOURCES_H_
