#include "acme/problem.h"

#include "acme/internal/json_fields.h"
#include "base/text.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdio>
#include <cstring>

namespace certkeeper::acme {

namespace {

using nlohmann::json;

Status BadMember(std::string_view name) {
  return Status(ErrorCode::kProtocol,
                "malformed problem document: member \"" + std::string(name) +
                    "\" has the wrong type");
}

// Valid UTF-8 of at most max_bytes, ending in "…" when cut.
std::string Bounded(std::string_view text, size_t max_bytes) {
  static constexpr std::string_view kEllipsis = "\xe2\x80\xa6";  // U+2026
  std::string clean = SanitizeUtf8(text);
  if (clean.size() <= max_bytes) return clean;
  return std::string(Utf8Prefix(clean, max_bytes - kEllipsis.size())) + std::string(kEllipsis);
}

// The member as bounded text; the JSON parser already refused invalid UTF-8,
// the sanitizing is for documents built some other way.
Result<std::string> OptionalString(const json& doc, const char* name, size_t max_bytes) {
  auto it = doc.find(name);
  if (it == doc.end() || it->is_null()) return std::string();
  if (!it->is_string()) return BadMember(name);
  return Bounded(it->get_ref<const std::string&>(), max_bytes);
}

int MonthIndex(std::string_view name) {
  static constexpr std::array<std::string_view, 12> kMonths = {
      "Jan", "Feb", "Mar", "Apr", "May", "Jun",
      "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  for (size_t i = 0; i < kMonths.size(); ++i) {
    if (kMonths[i] == name) return static_cast<int>(i);
  }
  return -1;
}

bool IsLeapYear(int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

int DaysInMonth(int64_t year, int month0) {
  static constexpr std::array<int, 12> kDays = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return month0 == 1 && IsLeapYear(year) ? 29 : kDays[static_cast<size_t>(month0)];
}

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's
// days_from_civil); exact in int64_t for every year this parser accepts.
int64_t DaysFromCivil(int64_t y, int m /*1..12*/, int d) {
  y -= m <= 2 ? 1 : 0;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const int64_t yoe = y - era * 400;
  const int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

// An HTTP-date (RFC 9110 §5.6.7) as seconds since the Unix epoch. Computed
// without time_t or time_point, so year 9999 cannot overflow anything.
std::optional<int64_t> ParseHttpDate(std::string_view value) {
  if (value.size() > 64) return std::nullopt;
  std::string text(value);
  char weekday[16] = {0};
  char month[4] = {0};
  int day = 0, year = 0, hour = 0, minute = 0, second = 0;
  char zone[4] = {0};
  int consumed = 0;
  bool parsed = false;
  // IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT"
  if (std::sscanf(text.c_str(), "%15[A-Za-z], %2d %3s %4d %2d:%2d:%2d %3s%n", weekday,
                  &day, month, &year, &hour, &minute, &second, zone, &consumed) == 8 &&
      consumed == static_cast<int>(text.size()) && std::strlen(weekday) == 3) {
    parsed = true;
  }
  // RFC 850: "Sunday, 06-Nov-94 08:49:37 GMT"
  if (!parsed &&
      std::sscanf(text.c_str(), "%15[A-Za-z], %2d-%3s-%2d %2d:%2d:%2d %3s%n", weekday,
                  &day, month, &year, &hour, &minute, &second, zone, &consumed) == 8 &&
      consumed == static_cast<int>(text.size()) && year >= 0) {
    // RFC 9110 §5.6.7: a two-digit year more than 50 years ahead is in the past.
    year += year < 70 ? 2000 : 1900;
    parsed = true;
  }
  // asctime: "Sun Nov  6 08:49:37 1994"
  if (!parsed &&
      std::sscanf(text.c_str(), "%3s %3s %2d %2d:%2d:%2d %4d%n", weekday, month, &day,
                  &hour, &minute, &second, &year, &consumed) == 7 &&
      consumed == static_cast<int>(text.size())) {
    std::strcpy(zone, "GMT");
    parsed = true;
  }
  if (!parsed || std::string_view(zone) != "GMT") return std::nullopt;
  const int mon = MonthIndex(month);
  if (mon < 0 || year < 1900 || year > 9999 || day < 1 || day > DaysInMonth(year, mon) ||
      hour < 0 || hour > 23 || minute < 0 || minute > 59 || second < 0 || second > 60) {
    return std::nullopt;
  }
  return DaysFromCivil(year, mon + 1, day) * 86400 + hour * 3600 + minute * 60 + second;
}

// Delay-seconds (RFC 9110 §10.2.3: 1*DIGIT), saturating at `limit` instead of
// overflowing, whatever the number of digits.
std::optional<int64_t> ParseDelaySeconds(std::string_view value, int64_t limit) {
  int64_t seconds = 0;
  for (char c : value) {
    if (!std::isdigit(static_cast<unsigned char>(c))) return std::nullopt;
    if (seconds < limit) seconds = seconds * 10 + (c - '0');
  }
  return std::min(seconds, limit);
}

Status CheckSubproblems(const json& doc, int depth, size_t& count) {
  auto it = doc.find("subproblems");
  if (it == doc.end() || it->is_null()) return Status::Ok();
  if (!it->is_array()) return BadMember("subproblems");
  if (it->empty()) return Status::Ok();
  if (depth >= kMaxSubproblemDepth) {
    return Status(ErrorCode::kProtocol,
                  "malformed problem document: subproblems nested deeper than " +
                      std::to_string(kMaxSubproblemDepth) + " levels");
  }
  count += it->size();
  if (count > kMaxSubproblems) {
    return Status(ErrorCode::kProtocol, "malformed problem document: more than " +
                                            std::to_string(kMaxSubproblems) +
                                            " subproblems");
  }
  for (const json& sub : *it) {
    if (!sub.is_object()) continue;  // reported by ParseProblemAt
    CK_RETURN_IF_ERROR(CheckSubproblems(sub, depth + 1, count));
  }
  return Status::Ok();
}

Result<Problem> ParseProblemAt(const json& doc, int http_status) {
  if (!doc.is_object()) {
    return Status(ErrorCode::kProtocol, "malformed problem document: not a JSON object");
  }
  Problem problem;
  CK_ASSIGN_OR_RETURN(problem.type, OptionalString(doc, "type", kMaxProblemTypeBytes));
  CK_ASSIGN_OR_RETURN(problem.detail, OptionalString(doc, "detail", kMaxProblemDetailBytes));
  problem.status = http_status;
  if (auto it = doc.find("status"); it != doc.end() && !it->is_null()) {
    if (!it->is_number_integer()) return BadMember("status");
    problem.status = it->get<int>();
  }
  if (auto it = doc.find("identifier"); it != doc.end() && !it->is_null()) {
    if (!it->is_object()) return BadMember("identifier");
    CK_ASSIGN_OR_RETURN(problem.identifier,
                        OptionalString(*it, "value", kMaxProblemIdentifierBytes));
  }
  if (auto it = doc.find("subproblems"); it != doc.end() && !it->is_null()) {
    if (!it->is_array()) return BadMember("subproblems");
    for (const json& sub : *it) {
      CK_ASSIGN_OR_RETURN(Problem p, ParseProblemAt(sub, 0));
      if (p.status == 0) p.status = problem.status;
      problem.subproblems.push_back(std::move(p));
    }
  }
  return problem;
}

}  // namespace

Result<Problem> ParseProblem(const json& doc, int http_status) {
  // Depth and count first, by a walk that stops at kMaxSubproblemDepth, so the
  // parse below (one recursion per level) never meets a deeper document.
  if (doc.is_object()) {
    size_t count = 0;
    CK_RETURN_IF_ERROR(CheckSubproblems(doc, 0, count));
  }
  return ParseProblemAt(doc, http_status);
}

std::string QuoteHeaderValue(std::string_view value) {
  return "\"" + EscapeForTerminal(Bounded(value, kMaxQuotedHeaderBytes)) + "\"";
}

std::optional<TimePoint> ParseRetryAfter(std::string_view value, TimePoint now) {
  while (!value.empty() && std::isspace(static_cast<unsigned char>(value.front()))) {
    value.remove_prefix(1);
  }
  while (!value.empty() && std::isspace(static_cast<unsigned char>(value.back()))) {
    value.remove_suffix(1);
  }
  if (value.empty()) return std::nullopt;
  constexpr int64_t kMaxSeconds =
      std::chrono::duration_cast<std::chrono::seconds>(kMaxRetryAfter).count();
  if (std::isdigit(static_cast<unsigned char>(value.front()))) {
    auto seconds = ParseDelaySeconds(value, kMaxSeconds);
    if (!seconds) return std::nullopt;
    return now + std::chrono::seconds(*seconds);
  }
  auto at = ParseHttpDate(value);
  if (!at) return std::nullopt;
  const int64_t now_s = ToUnixSeconds(now);
  if (*at <= now_s) return now;
  if (*at - now_s >= kMaxSeconds) return now + kMaxRetryAfter;
  return now + std::chrono::seconds(*at - now_s);
}

namespace {

// scheme://authority of a URL: the CA a request went to.
std::string UrlOrigin(std::string_view url) {
  size_t sep = url.find("://");
  if (sep == std::string_view::npos) return std::string(url);
  size_t path = url.find('/', sep + 3);
  return std::string(url.substr(0, path));
}

bool ContainsIgnoreCase(std::string_view text, std::string_view word) {
  return AsciiLower(text).find(word) != std::string::npos;
}

// RFC 9110 §15.6.2: 501 means the server does not support the functionality;
// some CAs answer a missing feature with a 500 and a detail saying so. Either
// way retrying cannot help, unlike a 5xx of a CA that is down.
bool SaysNotSupported(int http_status, const std::optional<Problem>& problem) {
  if (http_status == 501) return true;
  if (http_status < 500 || !problem) return false;
  return ContainsIgnoreCase(problem->detail, "not implemented") ||
         ContainsIgnoreCase(problem->detail, "not supported") ||
         ContainsIgnoreCase(problem->detail, "unsupported");
}

}  // namespace

bool IsAccountDoesNotExist(const Status& status) {
  return status.problem() != nullptr && status.problem()->Is("accountDoesNotExist");
}

bool IsCaRefusal(const Status& status) {
  static constexpr std::string_view kRefusals[] = {
      "rejectedIdentifier", "caa", "unauthorized", "externalAccountRequired",
      "userActionRequired"};
  auto refuses = [](const Problem& problem) {
    for (std::string_view type : kRefusals) {
      if (problem.Is(type)) return true;
    }
    return false;
  };
  const Problem* problem = status.problem();
  if (problem == nullptr) return false;
  if (refuses(*problem)) return true;
  // §6.7.1: a compound problem names the refused identifiers in its subproblems.
  for (const Problem& sub : problem->subproblems) {
    if (refuses(sub)) return true;
  }
  return false;
}

Status ErrorResponseStatus(std::string_view operation, const std::string& url,
                           const HttpResponse& response, TimePoint now) {
  std::optional<Problem> problem;
  std::string malformed;  // why a JSON body is not a usable problem document
  std::string content_type = response.headers.Get("Content-Type").value_or("");
  if (IsJsonContentType(content_type)) {
    auto doc = internal::ParseJsonText(response.body);
    auto parsed = doc.ok() ? ParseProblem(*doc, response.status) : Result<Problem>(doc.status());
    if (parsed.ok()) {
      problem = std::move(*parsed);
    } else {
      malformed = parsed.status().message();
    }
  }
  std::optional<TimePoint> retry_after;
  if (auto header = response.headers.Get("Retry-After")) {
    retry_after = ParseRetryAfter(*header, now);
  }

  ErrorCode code = ErrorCode::kAcme;
  const bool not_supported = SaysNotSupported(response.status, problem);
  if (response.status == 429 || (problem && problem->Is("rateLimited"))) {
    code = ErrorCode::kRateLimited;
  } else if (not_supported) {
    code = ErrorCode::kFailedPrecondition;
  } else if (response.status >= 500) {
    code = ErrorCode::kUnavailable;
  } else if (!problem) {
    code = ErrorCode::kProtocol;
  }

  std::string message =
      not_supported && code == ErrorCode::kFailedPrecondition
          ? "the CA at " + UrlOrigin(url) + " does not support " + std::string(operation) +
                ": HTTP " + std::to_string(response.status)
          : std::string(operation) + " failed: HTTP " + std::to_string(response.status);
  if (problem) {
    message += ": " + problem->ShortType();
    if (!problem->detail.empty()) message += ": " + problem->detail;
  } else if (!malformed.empty()) {
    message += " with an unusable problem document: " + malformed;
  } else {
    message += " without a problem document (Content-Type " + QuoteHeaderValue(content_type) +
               ")";
  }
  Status status(code, std::move(message));
  status.Where(url);
  if (retry_after) status.WithRetryAfter(*retry_after);
  if (problem) {
    problem->retry_after = retry_after;
    status.WithProblem(std::move(*problem));
  }
  switch (code) {
    case ErrorCode::kRateLimited:
      status.Hint("the CA asked to wait; retry after the Retry-After time");
      break;
    case ErrorCode::kUnavailable:
      status.Hint("the CA is unavailable; retry later");
      break;
    case ErrorCode::kFailedPrecondition:
      status.Hint("the CA does not offer this operation, so retrying will not help; do "
                  "without it for this CA or use another CA");
      break;
    default:
      break;
  }
  return status;
}

}  // namespace certkeeper::acme
