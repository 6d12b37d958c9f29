// ACME problem documents (RFC 8555 §6.7, RFC 7807) and Retry-After, turned into
// certkeeper Status values that tell the caller what to do next.
#ifndef CERTKEEPER_ACME_PROBLEM_H_
#define CERTKEEPER_ACME_PROBLEM_H_

#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "acme/http.h"
#include "base/clock.h"
#include "base/status.h"

namespace certkeeper::acme {

// Parses a problem document. Missing members stay empty; `status` falls back to
// http_status. Subproblems (RFC 8555 §6.7.1) keep their identifier value.
// Fails with kProtocol when `doc` is not an object or a member has the wrong type.
Result<Problem> ParseProblem(const nlohmann::json& doc, int http_status);

// Retry-After (RFC 9110 §10.2.3): delta-seconds or an HTTP-date (IMF-fixdate,
// plus the obsolete RFC 850 and asctime forms). nullopt when malformed.
std::optional<TimePoint> ParseRetryAfter(std::string_view value, TimePoint now);

// Builds the Status for an error response to `operation` at `url`:
//  - kRateLimited for problem type rateLimited or HTTP 429,
//  - kUnavailable for HTTP 5xx,
//  - kAcme for any other problem document,
//  - kProtocol when the body is not a problem document and the status is 4xx.
// The problem (when present) and Retry-After are attached as data.
Status ErrorResponseStatus(std::string_view operation, const std::string& url,
                           const HttpResponse& response, TimePoint now);

}  // namespace certkeeper::acme

#endif  // CERTKEEPER_ACME_PROBLEM_H_
