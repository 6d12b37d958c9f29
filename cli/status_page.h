// serve's status page: one server-rendered HTML document (inline CSS, no
// script, no outside resource) that a person reads at a glance: every
// certificate with its names, issuer, a bar of its lifetime with "now" and the
// renewal time on it, the last attempt and its error, the next attempt and
// why; failing and expiring ones first, then by expiry; the CAs and the
// endpoints' newest probes.
//
// Contract:
//  - Every string from the inventory, a CA or a peer is HTML-escaped (and
//    invalid UTF-8 replaced), in text and in attributes alike.
//  - Machine-checkable hooks: each certificate is one
//    <tr data-certificate="NAME" data-status="STATUS" data-urgency="U"> with
//    STATUS as `list --json` gives it; CAs <tr data-ca=.. data-up="yes|no">;
//    endpoints <tr data-endpoint=.. data-ok="yes|no">; <body data-health=
//    "ok|degraded">.
//  - Pure: the same snapshot gives the same page.
#ifndef CERTKEEPER_CLI_STATUS_PAGE_H_
#define CERTKEEPER_CLI_STATUS_PAGE_H_

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lifecycle/monitor.h"

namespace certkeeper::cli {

// At most this many certificates are drawn (the most urgent ones, in page
// order); the page says how many more there are and where the rest is.
inline constexpr size_t kStatusPageMaxCertificates = 1000;

std::string RenderStatusPage(const lifecycle::MonitorSnapshot& snapshot);

// & < > " ' as character references, after SanitizeUtf8.
std::string HtmlEscape(std::string_view text);

// How urgent a certificate is on the page: "failing", "expired", "expiring"
// (due, or past its renewal time), "pending", "valid".
std::string Urgency(const lifecycle::CertificateView& c, TimePoint now);

// The page order: by urgency (in the order above), then by expiry (soonest
// first; without a live version last), then by name. Indexes into certs.
std::vector<size_t> StatusPageOrder(const std::vector<lifecycle::CertificateView>& certs,
                                    TimePoint now);

// Positions on the lifetime bar, in percent of not_before..not_after,
// clamped to [0, 100].
struct LifetimeBar {
  double now_percent = 0;
  std::optional<double> renew_percent;
};
LifetimeBar ComputeLifetimeBar(TimePoint not_before, TimePoint not_after, TimePoint now,
                               std::optional<TimePoint> renew_at);

}  // namespace certkeeper::cli

#endif  // CERTKEEPER_CLI_STATUS_PAGE_H_
