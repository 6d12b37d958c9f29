// Response header values the ACME client interprets: Retry-After
// (acme/problem.cc ParseRetryAfter, RFC 9110 §10.2.3), Link (acme/http.cc
// ParseLinks, RFC 8288) and Content-Type (IsJsonContentType). Each input line
// is one header value.
#include "acme/http.h"
#include "acme/problem.h"
#include "tests/fuzz/fuzz_util.h"

using namespace certkeeper;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text = fuzz::AsText(data, size);
  const TimePoint now = FromUnixSeconds(1'800'000'000);
  acme::HttpHeaders headers;
  while (!text.empty()) {
    size_t eol = text.find('\n');
    std::string_view line = text.substr(0, eol);
    text.remove_prefix(eol == std::string_view::npos ? text.size() : eol + 1);

    std::optional<TimePoint> retry = acme::ParseRetryAfter(line, now);
    if (retry && !line.empty() && line.front() >= '0' && line.front() <= '9') {
      // delta-seconds never point into the past.
      CK_FUZZ_CHECK(*retry >= now);
    }
    bool json = acme::IsJsonContentType(line);
    CK_FUZZ_CHECK(!json || acme::AsciiLower(line).find("json") != std::string::npos);
    headers.Add(size % 2 ? "Link" : "link", std::string(line));
  }
  for (const acme::Link& link : acme::ParseLinks(headers)) {
    CK_FUZZ_CHECK(!link.uri.empty() && !link.rel.empty());
  }
  return 0;
}
