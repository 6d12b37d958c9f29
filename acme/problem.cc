#include "acme/problem.h"

#include <time.h>

#include <array>
#include <cctype>
#include <charconv>
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

Result<std::string> OptionalString(const json& doc, const char* name) {
  auto it = doc.find(name);
  if (it == doc.end() || it->is_null()) return std::string();
  if (!it->is_string()) return BadMember(name);
  return it->get<std::string>();
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

std::optional<TimePoint> ParseHttpDate(std::string_view value) {
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
      consumed == static_cast<int>(text.size())) {
    // RFC 9110 §5.6.7: a two-digit year more than 50 years ahead is in the past.
    year += year < 70 ? 2000 : 1900;
    parsed = true;
  }
  // asctime: "Sun Nov  6 08:49:37 1994"
  if (!parsed &&
      std::sscanf(text.c_str(), "%3s %3s %d %2d:%2d:%2d %4d%n", weekday, month, &day,
                  &hour, &minute, &second, &year, &consumed) == 7 &&
      consumed == static_cast<int>(text.size())) {
    std::strcpy(zone, "GMT");
    parsed = true;
  }
  if (!parsed || std::string_view(zone) != "GMT") return std::nullopt;
  int mon = MonthIndex(month);
  // Years past kMaxTimePointYear would overflow the TimePoint conversion.
  if (mon < 0 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60 ||
      year < 1970 || year > kMaxTimePointYear) {
    return std::nullopt;
  }
  struct tm tm {};
  tm.tm_year = year - 1900;
  tm.tm_mon = mon;
  tm.tm_mday = day;
  tm.tm_hour = hour;
  tm.tm_min = minute;
  tm.tm_sec = second;
  time_t t = timegm(&tm);
  if (t == static_cast<time_t>(-1)) return std::nullopt;
  return std::chrono::system_clock::from_time_t(t);
}

}  // namespace

Result<Problem> ParseProblem(const json& doc, int http_status) {
  if (!doc.is_object()) {
    return Status(ErrorCode::kProtocol, "malformed problem document: not a JSON object");
  }
  Problem problem;
  CK_ASSIGN_OR_RETURN(problem.type, OptionalString(doc, "type"));
  CK_ASSIGN_OR_RETURN(problem.detail, OptionalString(doc, "detail"));
  problem.status = http_status;
  if (auto it = doc.find("status"); it != doc.end() && !it->is_null()) {
    if (!it->is_number_integer()) return BadMember("status");
    problem.status = it->get<int>();
  }
  if (auto it = doc.find("identifier"); it != doc.end() && !it->is_null()) {
    if (!it->is_object()) return BadMember("identifier");
    CK_ASSIGN_OR_RETURN(problem.identifier, OptionalString(*it, "value"));
  }
  if (auto it = doc.find("subproblems"); it != doc.end() && !it->is_null()) {
    if (!it->is_array()) return BadMember("subproblems");
    for (const json& sub : *it) {
      CK_ASSIGN_OR_RETURN(Problem p, ParseProblem(sub, 0));
      if (p.status == 0) p.status = problem.status;
      problem.subproblems.push_back(std::move(p));
    }
  }
  return problem;
}

std::optional<TimePoint> ParseRetryAfter(std::string_view value, TimePoint now) {
  while (!value.empty() && std::isspace(static_cast<unsigned char>(value.front()))) {
    value.remove_prefix(1);
  }
  while (!value.empty() && std::isspace(static_cast<unsigned char>(value.back()))) {
    value.remove_suffix(1);
  }
  if (value.empty()) return std::nullopt;
  if (std::isdigit(static_cast<unsigned char>(value.front()))) {
    int64_t seconds = 0;
    auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), seconds);
    if (ec != std::errc() || end != value.data() + value.size()) return std::nullopt;
    // A year is far beyond any sensible wait; clamp rather than overflow.
    constexpr int64_t kMaxSeconds = 366LL * 24 * 3600;
    if (seconds > kMaxSeconds) seconds = kMaxSeconds;
    return now + std::chrono::seconds(seconds);
  }
  return ParseHttpDate(value);
}

Status ErrorResponseStatus(std::string_view operation, const std::string& url,
                           const HttpResponse& response, TimePoint now) {
  std::optional<Problem> problem;
  std::string content_type = response.headers.Get("Content-Type").value_or("");
  if (IsJsonContentType(content_type)) {
    json doc = json::parse(response.body, nullptr, /*allow_exceptions=*/false);
    if (!doc.is_discarded()) {
      auto parsed = ParseProblem(doc, response.status);
      if (parsed.ok()) problem = std::move(*parsed);
    }
  }
  std::optional<TimePoint> retry_after;
  if (auto header = response.headers.Get("Retry-After")) {
    retry_after = ParseRetryAfter(*header, now);
  }

  ErrorCode code = ErrorCode::kAcme;
  if (response.status == 429 || (problem && problem->Is("rateLimited"))) {
    code = ErrorCode::kRateLimited;
  } else if (response.status >= 500) {
    code = ErrorCode::kUnavailable;
  } else if (!problem) {
    code = ErrorCode::kProtocol;
  }

  std::string message = std::string(operation) + " failed: HTTP " +
                        std::to_string(response.status);
  if (problem) {
    message += ": " + problem->ShortType();
    if (!problem->detail.empty()) message += ": " + problem->detail;
  } else {
    message += " without a problem document (Content-Type \"" + content_type + "\")";
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
    default:
      break;
  }
  return status;
}

}  // namespace certkeeper::acme
