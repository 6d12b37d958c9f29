// What `certkeeper serve` answers: /metrics, /healthz, /api/certificates and
// the status page /, each built from a fresh monitoring snapshot. Read-only:
// no route changes state. The transport (bounds on size, time and number of
// clients) is challenges/http_server.h; this is the handler behind it.
#ifndef CERTKEEPER_CLI_SERVE_ROUTES_H_
#define CERTKEEPER_CLI_SERVE_ROUTES_H_

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "base/status.h"
#include "challenges/http_request_head.h"
#include "lifecycle/monitor.h"

namespace certkeeper::cli {

// Reads a snapshot (Engine::Snapshot of a read-only engine).
using SnapshotSource = std::function<Result<lifecycle::MonitorSnapshot>()>;

struct ServeRoutesOptions {
  // When not empty every request MUST carry "Authorization: Bearer <token>"
  // (RFC 6750 §2.1), compared in constant time; else 401.
  std::string token;
  // A snapshot is reused this long, so that a burst of scrapes costs one read
  // of the inventory. Zero: every request reads.
  std::chrono::milliseconds snapshot_ttl{1000};
};

// Contract of Handle, in this order:
//  - a request with a body (Content-Length other than 0, or Transfer-Encoding)
//    gets 413 and a bad Content-Length 400: the server never reads a body;
//  - a method other than GET and HEAD gets 405 with "Allow: GET, HEAD";
//  - with a token, a request without the right bearer token gets 401 with
//    WWW-Authenticate (RFC 6750 §3);
//  - GET/HEAD /metrics: lifecycle::RenderMetrics of the snapshot, text
//    exposition 0.0.4; /healthz: 200 "ok" or 503 "degraded" with reasons
//    (cli/serve_health.h), JSON for ?format=json or Accept: application/json;
//    /api/certificates: the `list --json` document; /: the status page
//    (cli/status_page.h); anything else 404;
//  - an unreadable inventory gives 503 on every route (degraded on /healthz).
// Every response is complete (Content-Length, Connection: close) and carries
// Cache-Control: no-store and X-Content-Type-Options: nosniff; the page also a
// Content-Security-Policy that allows no script and no outside resource.
// Not thread-safe: the server calls it from its one thread.
class ServeRoutes {
 public:
  ServeRoutes(SnapshotSource source, ServeRoutesOptions options);
  std::string Handle(const challenges::RequestHead& head);

 private:
  struct Cached;
  std::string Route(std::string_view path, std::string_view query,
                    const challenges::RequestHead& head, bool head_only);
  // The snapshot to answer with (cached for options_.snapshot_ttl), or the
  // error reading it.
  std::shared_ptr<const Cached> Read();

  SnapshotSource source_;
  ServeRoutesOptions options_;
  std::shared_ptr<const Cached> cached_;
  std::chrono::steady_clock::time_point cached_at_;
};

// True when `authorization` (the field value) is "Bearer <token>" for exactly
// `token`; the comparison takes the same time wherever the values differ.
bool BearerTokenMatches(std::string_view authorization, std::string_view token);

}  // namespace certkeeper::cli

#endif  // CERTKEEPER_CLI_SERVE_ROUTES_H_
