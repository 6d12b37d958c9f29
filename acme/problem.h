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

// RFC 8555 §6.7.1 defines one level of subproblems (one per identifier). A CA
// document nested deeper, or listing more, than this is refused: each level is
// a recursion, and a ~450 KB document of 25,000 levels would exhaust the stack.
inline constexpr int kMaxSubproblemDepth = 4;
// Counted over all levels; an order holds at most a few hundred identifiers.
inline constexpr size_t kMaxSubproblems = 1000;

// What is kept of a problem document's text: a CA (or a proxy in front of it)
// can send a detail of any length, and it ends up in error messages and in
// every stored attempt. Longer text is cut on a UTF-8 character boundary and
// ends in "…" (U+2026), so the result is at most this many bytes.
inline constexpr size_t kMaxProblemDetailBytes = 4 * 1024;
// "type" is a URI and the identifier a DNS name or IP address (RFC 8555 §9.7.8).
inline constexpr size_t kMaxProblemTypeBytes = 256;
inline constexpr size_t kMaxProblemIdentifierBytes = 256;
// At most this much of a header value is quoted in an error message.
inline constexpr size_t kMaxQuotedHeaderBytes = 100;

// Parses a problem document. Missing members stay empty; `status` falls back to
// http_status. Subproblems (RFC 8555 §6.7.1) keep their identifier value.
// type, detail and identifier are valid UTF-8 and cut to the limits above.
// Fails with kProtocol when `doc` is not an object, a member has the wrong type,
// subproblems nest deeper than kMaxSubproblemDepth or number more than
// kMaxSubproblems.
Result<Problem> ParseProblem(const nlohmann::json& doc, int http_status);

// The longest wait a CA can impose with one Retry-After. Let's Encrypt's
// longest limits are weekly; a longer wait is shortened to this, so a CA (or a
// proxy in front of it) can never stop renewals for longer than a week with a
// single answer. The lifecycle layer bounds it further by the certificate's
// remaining life.
inline constexpr Duration kMaxRetryAfter = std::chrono::hours(24 * 7);

// Retry-After (RFC 9110 §10.2.3): delay-seconds or an HTTP-date. All three date
// forms are accepted, as RFC 9110 §5.6.7 requires of recipients: IMF-fixdate
// ("Sun, 06 Nov 1994 08:49:37 GMT"), the obsolete RFC 850 form
// ("Sunday, 06-Nov-94 08:49:37 GMT") and asctime ("Sun Nov  6 08:49:37 1994"),
// with years 1900..9999 and calendar-valid days.
// The result lies in [now, now + kMaxRetryAfter] for every input: a date in the
// past means now, a longer wait (any number of digits, any year up to 9999) is
// shortened; nothing overflows. nullopt when malformed (negative, fractional,
// empty, an unknown zone or month, trailing text).
std::optional<TimePoint> ParseRetryAfter(std::string_view value, TimePoint now);

// A header value for an error message: its first kMaxQuotedHeaderBytes (cut
// on a character boundary, "…" appended when cut), made valid UTF-8, with
// control characters escaped (EscapeForTerminal), in double quotes. A header
// holding "\r\nX: \xff" thus cannot break a one-line message or the
// inventory's UTF-8.
std::string QuoteHeaderValue(std::string_view value);

// Builds the Status for an error response to `operation` at `url`:
//  - kRateLimited for problem type rateLimited or HTTP 429,
//  - kFailedPrecondition, "the CA at <scheme://host> does not support
//    <operation>", for HTTP 501 (RFC 9110 §15.6.2) or a 5xx whose problem detail
//    says "not implemented", "not supported" or "unsupported": retrying cannot
//    help, so it MUST NOT read as a CA that is down,
//  - kUnavailable for any other HTTP 5xx,
//  - kAcme for any other problem document,
//  - kProtocol when the body is not a problem document and the status is 4xx.
// The message is one line when the problem's detail is; header values in it
// are quoted with QuoteHeaderValue.
// The problem (when present) and Retry-After are attached as data.
Status ErrorResponseStatus(std::string_view operation, const std::string& url,
                           const HttpResponse& response, TimePoint now);

// The CA no longer knows the account (RFC 8555 §7.3.1 accountDoesNotExist,
// e.g. after it reset its database): register again. True when the Status
// carries that problem document.
bool IsAccountDoesNotExist(const Status& status);

// The CA refuses these identifiers or this account for policy reasons (RFC 8555
// §6.7: rejectedIdentifier, caa, unauthorized, externalAccountRequired,
// userActionRequired), at the top level or in a subproblem (§6.7.1): another
// CA may issue. False for every other Status, also a problem-less one.
bool IsCaRefusal(const Status& status);

}  // namespace certkeeper::acme

#endif  // CERTKEEPER_ACME_PROBLEM_H_
