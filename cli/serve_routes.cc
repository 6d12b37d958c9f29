#include "cli/serve_routes.h"

#include <openssl/crypto.h>

#include <algorithm>
#include <utility>

#include "base/encoding.h"
#include "challenges/http_server.h"
#include "cli/output.h"
#include "cli/serve_health.h"
#include "cli/status_page.h"
#include "lifecycle/metrics.h"

namespace certkeeper::cli {

namespace {

using challenges::HttpResponse;
using challenges::RequestHead;

constexpr std::string_view kCommonHeaders =
    "Cache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\n";
// The page needs nothing but its own inline CSS: no script may run, nothing is
// fetched, nothing may frame it (so that a hostile string that escaped the
// escaping still could not act).
constexpr std::string_view kPageHeaders =
    "Content-Security-Policy: default-src 'none'; style-src 'unsafe-inline'; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'none'\r\n"
    "Referrer-Policy: no-referrer\r\nX-Frame-Options: DENY\r\n";
constexpr std::string_view kText = "text/plain; charset=utf-8";
constexpr std::string_view kJson = "application/json";
constexpr std::string_view kMetricsType = "text/plain; version=0.0.4; charset=utf-8";

char Lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

bool ContainsCaseless(std::string_view haystack, std::string_view needle) {
  auto it = std::search(haystack.begin(), haystack.end(), needle.begin(), needle.end(),
                        [](char a, char b) { return Lower(a) == Lower(b); });
  return it != haystack.end();
}

std::string Answer(int status, std::string_view reason, std::string_view type,
                   std::string_view body, bool head_only, std::string_view extra = "") {
  return HttpResponse(status, reason, type, std::string(kCommonHeaders) + std::string(extra),
                      body, head_only);
}

// Content-Length = 1*DIGIT (RFC 9110 §8.6); nullopt when it is not.
std::optional<bool> BodyAnnounced(const RequestHead& head) {
  bool body = false;
  for (const auto& [name, value] : head.fields) {
    std::string lower(name);
    std::transform(lower.begin(), lower.end(), lower.begin(), Lower);
    if (lower == "transfer-encoding") body = true;
    if (lower != "content-length") continue;
    if (value.empty() || !std::all_of(value.begin(), value.end(),
                                      [](char c) { return c >= '0' && c <= '9'; })) {
      return std::nullopt;
    }
    if (value.find_first_not_of('0') != std::string::npos) body = true;
  }
  return body;
}

bool QueryHas(std::string_view query, std::string_view param) {
  while (!query.empty()) {
    size_t amp = query.find('&');
    if (query.substr(0, amp) == param) return true;
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return false;
}

}  // namespace

struct ServeRoutes::Cached {
  Status error;
  lifecycle::MonitorSnapshot snapshot;
};

bool BearerTokenMatches(std::string_view authorization, std::string_view token) {
  // credentials = auth-scheme 1*SP token68; the scheme is case-insensitive
  // (RFC 9110 §11.1, RFC 6750 §2.1).
  constexpr std::string_view kScheme = "bearer";
  if (authorization.size() <= kScheme.size() || authorization[kScheme.size()] != ' ') return false;
  for (size_t i = 0; i < kScheme.size(); ++i) {
    if (Lower(authorization[i]) != kScheme[i]) return false;
  }
  std::string_view presented = authorization.substr(kScheme.size());
  while (!presented.empty() && presented.front() == ' ') presented.remove_prefix(1);
  if (presented.empty() || token.empty()) return false;
  // Digests of both, so that neither the content nor the length of the token
  // shows in the time the comparison takes.
  std::string a = Sha256(presented);
  std::string b = Sha256(token);
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

ServeRoutes::ServeRoutes(SnapshotSource source, ServeRoutesOptions options)
    : source_(std::move(source)), options_(std::move(options)) {}

std::shared_ptr<const ServeRoutes::Cached> ServeRoutes::Read() {
  auto now = std::chrono::steady_clock::now();
  if (cached_ && now - cached_at_ < options_.snapshot_ttl) return cached_;
  auto fresh = std::make_shared<Cached>();
  Result<lifecycle::MonitorSnapshot> snapshot = source_();
  if (snapshot.ok()) {
    fresh->snapshot = std::move(*snapshot);
  } else {
    fresh->error = snapshot.status();
  }
  cached_ = std::move(fresh);
  cached_at_ = now;
  return cached_;
}

std::string ServeRoutes::Handle(const RequestHead& head) {
  const bool head_only = head.method == "HEAD";
  std::optional<bool> body = BodyAnnounced(head);
  if (!body) return Answer(400, "Bad Request", kText, "bad Content-Length\n", false);
  if (*body) {
    return Answer(413, "Content Too Large", kText, "this server reads no request body\n", false);
  }
  if (head.method != "GET" && !head_only) {
    return Answer(405, "Method Not Allowed", kText, "only GET and HEAD\n", false,
                  "Allow: GET, HEAD\r\n");
  }
  if (!options_.token.empty()) {
    const std::string* authorization = challenges::FindField(head, "Authorization");
    if (authorization == nullptr || !BearerTokenMatches(*authorization, options_.token)) {
      return Answer(401, "Unauthorized", kText, "a bearer token is required\n", head_only,
                    "WWW-Authenticate: Bearer realm=\"certkeeper\"\r\n");
    }
  }
  std::string_view target = head.target;
  size_t q = target.find('?');
  std::string_view query = q == std::string_view::npos ? "" : target.substr(q + 1);
  return Route(challenges::TargetPath(target), query, head, head_only);
}

std::string ServeRoutes::Route(std::string_view path, std::string_view query,
                               const RequestHead& head, bool head_only) {
  if (path != "/" && path != "/metrics" && path != "/healthz" && path != "/api/certificates") {
    return Answer(404, "Not Found", kText, "not found\n", head_only);
  }
  std::shared_ptr<const Cached> read = Read();
  if (path == "/healthz") {
    const std::string* accept = challenges::FindField(head, "Accept");
    const bool json = QueryHas(query, "format=json") ||
                      (accept != nullptr && ContainsCaseless(*accept, "application/json"));
    Health health = read->error.ok() ? EvaluateHealth(read->snapshot)
                                     : UnreadableHealth(read->error);
    const int status = health.ok() ? 200 : 503;
    const std::string_view reason = health.ok() ? "OK" : "Service Unavailable";
    return json ? Answer(status, reason, kJson, HealthJson(health), head_only)
                : Answer(status, reason, kText, HealthText(health), head_only);
  }
  if (!read->error.ok()) {
    return Answer(503, "Service Unavailable", kText,
                  HealthText(UnreadableHealth(read->error)), head_only);
  }
  const lifecycle::MonitorSnapshot& snap = read->snapshot;
  if (path == "/metrics") {
    return Answer(200, "OK", kMetricsType, lifecycle::RenderMetrics(snap), head_only);
  }
  if (path == "/api/certificates") {
    return Answer(200, "OK", kJson, DumpJson(ListJson(snap.certificates, snap.now)) + "\n",
                  head_only);
  }
  return Answer(200, "OK", "text/html; charset=utf-8", RenderStatusPage(snap), head_only,
                kPageHeaders);
}

}  // namespace certkeeper::cli
