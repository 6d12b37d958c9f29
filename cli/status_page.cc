#include "cli/status_page.h"

#include <algorithm>
#include <cstdio>
#include <map>
#include <tuple>

#include "base/text.h"
#include "cli/serve_health.h"
#include "cli/status_page_style.h"

namespace certkeeper::cli {

namespace {

using lifecycle::CertificateView;
using lifecycle::MonitorSnapshot;
using status_page::Relative;
using status_page::ShortTime;
using status_page::TimeTag;

constexpr size_t kDomainsShown = 6;
constexpr const char* kUrgencies[] = {"failing", "expired", "expiring", "pending", "valid"};

int UrgencyRank(const std::string& urgency) {
  for (int i = 0; i < 5; ++i) {
    if (urgency == kUrgencies[i]) return i;
  }
  return 5;
}

std::string Percent(double p) {
  char buf[32];
  snprintf(buf, sizeof(buf), "%.2f", p);
  return buf;
}

std::string Domains(const CertificateView& c) {
  std::string out = "<ul class=\"names\">";
  for (size_t i = 0; i < c.domains.size() && i < kDomainsShown; ++i) {
    out += "<li>" + HtmlEscape(c.domains[i]) + "</li>";
  }
  if (c.domains.size() > kDomainsShown) {
    out += "<li class=\"more\">+" + std::to_string(c.domains.size() - kDomainsShown) +
           " more</li>";
  }
  return out + "</ul>";
}

std::string Lifetime(const CertificateView& c, TimePoint now) {
  if (!c.live) return "<td class=\"lifetime\"><span class=\"muted\">no live version</span></td>";
  const auto& v = *c.live;
  LifetimeBar bar = ComputeLifetimeBar(v.not_before, v.not_after, now, c.renew_at);
  std::string out = "<td class=\"lifetime\"><div class=\"bar\" data-now=\"" +
                    Percent(bar.now_percent) + "\"";
  if (bar.renew_percent) out += " data-renew=\"" + Percent(*bar.renew_percent) + "\"";
  out += "><div class=\"elapsed\" style=\"width:" + Percent(bar.now_percent) + "%\"></div>";
  if (bar.renew_percent) {
    out += "<div class=\"mark renew\" style=\"left:" + Percent(*bar.renew_percent) +
           "%\" title=\"renewal time " + HtmlEscape(ShortTime(*c.renew_at)) +
           "\"><span>renew</span></div>";
  }
  out += "<div class=\"mark now\" style=\"left:" + Percent(bar.now_percent) +
         "%\"><span>now</span></div></div>";
  out += "<div class=\"ends\"><span>" + HtmlEscape(ShortTime(v.not_before)) + "</span><span>" +
         HtmlEscape(ShortTime(v.not_after)) + "</span></div>";
  const bool expired = v.not_after <= now;
  out += "<div class=\"expiry\">" + std::string(expired ? "expired " : "expires ") +
         TimeTag(v.not_after, now);
  if (c.renew_at) out += " · renewal " + TimeTag(*c.renew_at, now);
  return out + "</div></td>";
}

std::string LastAttempt(const CertificateView& c, TimePoint now) {
  if (!c.last_attempt) return "<td class=\"attempt\"><span class=\"muted\">none yet</span></td>";
  const auto& a = *c.last_attempt;
  std::string out = "<td class=\"attempt\"><span class=\"outcome o-" + HtmlEscape(a.outcome) +
                    "\">" + HtmlEscape(a.outcome) + "</span> " +
                    TimeTag(a.finished_at.value_or(a.started_at), now);
  if (!a.challenge.empty()) out += " <span class=\"muted\">" + HtmlEscape(a.challenge) + "</span>";
  if (c.consecutive_failures > 1) {
    out += "<div class=\"muted\">" + std::to_string(c.consecutive_failures) +
           " failures in a row</div>";
  }
  if (!a.error_type.empty() || !a.error_detail.empty()) {
    out += "<div class=\"error\">";
    if (!a.error_type.empty()) out += "<code>" + HtmlEscape(a.error_type) + "</code> ";
    out += HtmlEscape(a.error_detail) + "</div>";
  }
  return out + "</td>";
}

std::string NextAttempt(const CertificateView& c, TimePoint now) {
  std::string out = "<td class=\"next\">" + TimeTag(c.next_attempt, now, "not scheduled");
  if (!c.next_attempt_reason.empty()) {
    out += "<div class=\"muted\">" + HtmlEscape(c.next_attempt_reason) + "</div>";
  }
  return out + "</td>";
}

std::string CertificateRow(const CertificateView& c, TimePoint now) {
  const std::string urgency = Urgency(c, now);
  std::string out = "<tr class=\"u-" + urgency + "\" data-certificate=\"" + HtmlEscape(c.name) +
                    "\" data-status=\"" + HtmlEscape(c.status) + "\" data-urgency=\"" + urgency +
                    "\">";
  out += "<td class=\"cert\"><div class=\"title\"><span class=\"badge b-" + urgency + "\">" +
         urgency + "</span> <strong>" + HtmlEscape(c.name) + "</strong></div>" + Domains(c);
  if (!c.status_reason.empty() && urgency != "valid") {
    out += "<div class=\"muted\">" + HtmlEscape(c.status_reason) + "</div>";
  }
  out += "</td><td class=\"issuer\">";
  if (c.live) {
    out += HtmlEscape(c.live->issuer);
    if (!c.live->ca.empty()) out += "<div class=\"muted\">CA " + HtmlEscape(c.live->ca) + "</div>";
    out += "<div class=\"muted\">v" + std::to_string(c.live->n) + " · " + HtmlEscape(c.key_type) +
           "</div>";
  } else {
    out += "<span class=\"muted\">" + HtmlEscape(c.key_type) + "</span>";
  }
  out += "</td>" + Lifetime(c, now) + LastAttempt(c, now) + NextAttempt(c, now) + "</tr>\n";
  return out;
}

std::string Summary(const MonitorSnapshot& snapshot, const Health& health) {
  std::map<std::string, size_t> counts;
  for (const CertificateView& c : snapshot.certificates) ++counts[Urgency(c, snapshot.now)];
  std::string out = "<section class=\"summary\">";
  for (const char* u : kUrgencies) {
    out += "<div class=\"tile t-" + std::string(u) + (counts[u] ? "" : " zero") +
           "\"><b>" + std::to_string(counts[u]) + "</b>" + u + "</div>";
  }
  out += "</section>";
  if (!health.ok()) {
    out += "<section class=\"reasons\"><h2>Needs attention</h2><ul>";
    for (const std::string& r : health.reasons) out += "<li>" + HtmlEscape(r) + "</li>";
    out += "</ul></section>";
  }
  return out;
}

}  // namespace

std::string HtmlEscape(std::string_view text) {
  std::string clean = SanitizeUtf8(text);
  std::string out;
  out.reserve(clean.size());
  for (char c : clean) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string Urgency(const CertificateView& c, TimePoint now) {
  if (c.status == "failing") return "failing";
  if (c.status == "expired" || (c.live && c.live->not_after <= now)) return "expired";
  if (c.status == "due" || (c.live && c.renew_at && now >= *c.renew_at)) return "expiring";
  if (c.status == "pending" || !c.live) return "pending";
  return "valid";
}

std::vector<size_t> StatusPageOrder(const std::vector<CertificateView>& certs, TimePoint now) {
  std::vector<size_t> order(certs.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  auto key = [&](size_t i) {
    const CertificateView& c = certs[i];
    return std::make_tuple(UrgencyRank(Urgency(c, now)), !c.live.has_value(),
                           c.live ? c.live->not_after : TimePoint{}, c.name);
  };
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return key(a) < key(b); });
  return order;
}

LifetimeBar ComputeLifetimeBar(TimePoint not_before, TimePoint not_after, TimePoint now,
                               std::optional<TimePoint> renew_at) {
  LifetimeBar bar;
  const double span = std::chrono::duration<double>(not_after - not_before).count();
  auto at = [&](TimePoint t) {
    if (span <= 0) return t >= not_after ? 100.0 : 0.0;
    double p = 100.0 * std::chrono::duration<double>(t - not_before).count() / span;
    return std::clamp(p, 0.0, 100.0);
  };
  bar.now_percent = at(now);
  if (renew_at) bar.renew_percent = at(*renew_at);
  return bar;
}

std::string RenderStatusPage(const MonitorSnapshot& snapshot) {
  Health health = EvaluateHealth(snapshot);
  std::string out =
      "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
      "<title>certkeeper: " +
      std::string(health.ok() ? "all good" : "degraded") + "</title><style>" +
      std::string(status_page::StyleSheet()) + "</style></head>\n<body data-health=\"" +
      (health.ok() ? "ok" : "degraded") + "\"><header><h1>certkeeper</h1><span class=\"health h-" +
      (health.ok() ? "ok\">all good" : "degraded\">degraded") + "</span><span class=\"stamp\">" +
      HtmlEscape(ShortTime(snapshot.now)) + " · " + status_page::RunsLine(snapshot) +
      "</span></header>\n<main>" + Summary(snapshot, health);
  out += "<section><h2>Certificates</h2>";
  if (snapshot.certificates.empty()) {
    out += "<p class=\"muted\">The inventory holds no certificate yet.</p>";
  } else {
    out += "<table class=\"certs\"><thead><tr><th>Certificate</th><th>Issuer</th>"
           "<th>Lifetime</th><th>Last attempt</th><th>Next attempt</th></tr></thead><tbody>\n";
    std::vector<size_t> order = StatusPageOrder(snapshot.certificates, snapshot.now);
    for (size_t i = 0; i < order.size() && i < kStatusPageMaxCertificates; ++i) {
      out += CertificateRow(snapshot.certificates[order[i]], snapshot.now);
    }
    out += "</tbody></table>";
    if (order.size() > kStatusPageMaxCertificates) {
      out += "<p class=\"muted\">" + std::to_string(order.size() - kStatusPageMaxCertificates) +
             " more certificates, less urgent than these, are in /api/certificates.</p>";
    }
  }
  out += "</section>" + status_page::CaSection(snapshot) + status_page::EndpointSection(snapshot);
  out += "</main><footer>Read-only view of the inventory · <a href=\"/api/certificates\">JSON"
         "</a> · <a href=\"/metrics\">metrics</a> · <a href=\"/healthz\">health</a></footer>"
         "</body></html>\n";
  return out;
}

}  // namespace certkeeper::cli
