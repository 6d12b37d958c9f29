// The status page's style sheet, time texts, and its CA, endpoint and run
// sections (cli/status_page.h).
#include <cstdio>

#include "cli/status_page.h"
#include "cli/status_page_style.h"

namespace certkeeper::cli::status_page {

namespace {

std::string Yes(bool b) { return b ? "yes" : "no"; }

std::string Cell(std::string_view escaped, std::string_view cls = "") {
  return cls.empty() ? "<td>" + std::string(escaped) + "</td>"
                     : "<td class=\"" + std::string(cls) + "\">" + std::string(escaped) + "</td>";
}

std::string Pill(bool good, std::string_view good_text, std::string_view bad_text) {
  return good ? "<span class=\"badge b-valid\">" + std::string(good_text) + "</span>"
              : "<span class=\"badge b-failing\">" + std::string(bad_text) + "</span>";
}

}  // namespace

std::string_view StyleSheet() {
  return R"css(
:root{--bg:#f4f6f9;--card:#fff;--ink:#1d2533;--muted:#667085;--line:#e4e7ec;
--red:#d92d20;--dark-red:#912018;--amber:#dc6803;--green:#079455;--blue:#2e6fdb;--grey:#98a2b3}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--ink);
font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif}
header{display:flex;align-items:center;gap:14px;padding:18px 32px;background:#101828;color:#fff}
header h1{margin:0;font-size:20px;letter-spacing:.3px}
header .stamp{margin-left:auto;color:#d0d5dd;font-size:13px}
.health{padding:3px 12px;border-radius:999px;font-weight:600;font-size:13px}
.h-ok{background:var(--green)}.h-degraded{background:var(--red)}
main{padding:20px 32px 8px;max-width:1500px}
h2{font-size:15px;margin:22px 0 10px;color:#344054;text-transform:uppercase;letter-spacing:.6px}
.summary{display:flex;gap:12px;flex-wrap:wrap}
.tile{background:var(--card);border-radius:10px;padding:10px 18px;min-width:120px;
box-shadow:0 1px 2px rgba(16,24,40,.08);border-top:4px solid var(--grey);color:var(--muted)}
.tile b{display:block;font-size:26px;color:var(--ink)}
.tile.zero{opacity:.55}
.t-failing{border-color:var(--red)}.t-expired{border-color:var(--dark-red)}
.t-expiring{border-color:var(--amber)}.t-valid{border-color:var(--green)}
.reasons{background:#fef3f2;border:1px solid #fecdca;border-radius:10px;padding:4px 18px;
margin-top:14px}
.reasons h2{color:var(--dark-red)}.reasons li{margin:3px 0;word-break:break-word}
table{width:100%;border-collapse:separate;border-spacing:0;background:var(--card);
border-radius:10px;box-shadow:0 1px 2px rgba(16,24,40,.08);overflow:hidden}
th{text-align:left;font-size:12px;color:var(--muted);font-weight:600;padding:10px 14px;
background:#f9fafb;border-bottom:1px solid var(--line)}
td{padding:12px 14px;border-bottom:1px solid var(--line);vertical-align:top;
word-break:break-word}
tr:last-child td{border-bottom:0}
.certs tbody tr{border-left:4px solid transparent}
.certs td:first-child{border-left:4px solid var(--grey)}
.u-failing td:first-child{border-left-color:var(--red)}
.u-expired td:first-child{border-left-color:var(--dark-red)}
.u-expiring td:first-child{border-left-color:var(--amber)}
.u-valid td:first-child{border-left-color:var(--green)}
.u-failing{background:#fffbfa}.u-expired{background:#fef3f2}
.cert{width:22%}.issuer{width:15%}.lifetime{width:27%}.attempt{width:21%}
.names{list-style:none;margin:4px 0 0;padding:0;color:var(--muted);font-size:13px}
.names li{display:inline-block;margin-right:8px}
.badge{display:inline-block;padding:1px 8px;border-radius:999px;font-size:11px;font-weight:700;
text-transform:uppercase;letter-spacing:.4px;color:#fff;background:var(--grey)}
.b-failing{background:var(--red)}.b-expired{background:var(--dark-red)}
.b-expiring{background:var(--amber)}.b-valid{background:var(--green)}
.muted{color:var(--muted);font-size:12.5px}
.error{margin-top:6px;padding:6px 8px;border-radius:6px;background:#fef3f2;color:var(--dark-red);
font-size:12.5px;white-space:pre-wrap}
code{font:12px ui-monospace,"DejaVu Sans Mono",monospace}
.outcome{font-weight:600}.o-failed{color:var(--red)}.o-success{color:var(--green)}
.o-deferred{color:var(--amber)}
.bar{position:relative;height:10px;margin:16px 0 4px;border-radius:5px;background:#eaecf0}
.elapsed{position:absolute;left:0;top:0;bottom:0;border-radius:5px;background:#a6e2c5}
.u-expiring .elapsed{background:#fdd49e}.u-failing .elapsed,.u-expired .elapsed{background:#fda29b}
.mark{position:absolute;top:-5px;bottom:-5px;width:0;border-left:2px solid var(--ink)}
.mark span{position:absolute;top:-16px;left:0;transform:translateX(-50%);white-space:nowrap;
font-size:10px;font-weight:700;color:var(--ink)}
.mark.renew{border-left:2px dashed var(--blue)}
.mark.renew span{top:auto;bottom:-16px;color:var(--blue)}
.ends{display:flex;justify-content:space-between;color:var(--muted);font-size:11px;
margin-top:18px}
.expiry{margin-top:2px}
footer{padding:18px 32px;color:var(--muted);font-size:12px}
footer a{color:var(--blue)}
)css";
}

std::string ShortTime(TimePoint t) {
  std::string s = FormatRfc3339(t);  // 2026-12-01T19:13:01Z
  if (s.size() >= 16) return s.substr(0, 10) + " " + s.substr(11, 5) + " UTC";
  return s;
}

std::string Relative(TimePoint t, TimePoint now) {
  const int64_t s = std::chrono::duration_cast<std::chrono::seconds>(t - now).count();
  const int64_t a = s < 0 ? -s : s;
  if (a < 60) return "now";
  int64_t n;
  const char* unit;
  if (a >= 2 * 86400) {
    n = a / 86400, unit = "days";
  } else if (a >= 2 * 3600) {
    n = a / 3600, unit = "hours";
  } else if (a >= 120) {
    n = a / 60, unit = "minutes";
  } else {
    n = 1, unit = "minute";
  }
  std::string text = std::to_string(n) + " " + unit;
  return s < 0 ? text + " ago" : "in " + text;
}

std::string TimeTag(TimePoint t, TimePoint now) {
  return "<time datetime=\"" + HtmlEscape(FormatRfc3339(t)) + "\" title=\"" +
         HtmlEscape(ShortTime(t)) + "\">" + HtmlEscape(Relative(t, now)) + "</time>";
}

std::string TimeTag(const std::optional<TimePoint>& t, TimePoint now, std::string_view none) {
  if (!t) return "<span class=\"muted\">" + HtmlEscape(none) + "</span>";
  return TimeTag(*t, now);
}

std::string CaSection(const lifecycle::MonitorSnapshot& snapshot) {
  if (snapshot.cas.empty()) return "";
  std::string out =
      "<section><h2>Certificate authorities</h2><table class=\"cas\"><thead><tr><th>CA</th>"
      "<th>State</th><th>Last contact</th><th>Retry-After</th><th>Last error</th></tr></thead>"
      "<tbody>\n";
  for (const lifecycle::CaStatusView& ca : snapshot.cas) {
    const std::string name = ca.ca.empty() ? "[acme]" : ca.ca;
    out += "<tr data-ca=\"" + HtmlEscape(name) + "\" data-up=\"" + Yes(ca.up) + "\">";
    out += Cell("<strong>" + HtmlEscape(name) + "</strong><div class=\"muted\">" +
                HtmlEscape(ca.server) + "</div>");
    std::string state = Pill(ca.up, "up", "down");
    if (ca.unreachable_runs > 0) {
      state += "<div class=\"muted\">unreachable for " + std::to_string(ca.unreachable_runs) +
               " run(s)</div>";
    }
    out += Cell(state);
    out += Cell("ok " + TimeTag(ca.last_ok_at, snapshot.now, "never") +
                (ca.last_failure_at ? "<div class=\"muted\">failed " +
                                          TimeTag(*ca.last_failure_at, snapshot.now) + "</div>"
                                    : std::string()));
    const bool waiting = ca.retry_after_until && *ca.retry_after_until > snapshot.now;
    out += Cell(waiting ? "until " + TimeTag(*ca.retry_after_until, snapshot.now)
                        : std::string("<span class=\"muted\">none</span>"));
    out += Cell(ca.last_error.empty() ? std::string()
                                      : "<div class=\"error\">" + HtmlEscape(ca.last_error) +
                                            "</div>");
    out += "</tr>\n";
  }
  return out + "</tbody></table></section>";
}

std::string EndpointSection(const lifecycle::MonitorSnapshot& snapshot) {
  if (snapshot.probes.empty()) return "";
  std::string out =
      "<section><h2>Endpoints</h2><table class=\"endpoints\"><thead><tr><th>Endpoint</th>"
      "<th>Probe</th><th>Served certificate</th><th>Checks</th><th>Error</th></tr></thead>"
      "<tbody>\n";
  for (const lifecycle::ProbeView& p : snapshot.probes) {
    const bool good = p.ok && p.error.empty();
    out += "<tr data-endpoint=\"" + HtmlEscape(p.endpoint) + "\" data-ok=\"" + Yes(good) + "\">";
    out += Cell("<strong>" + HtmlEscape(p.address) + "</strong><div class=\"muted\">SNI " +
                HtmlEscape(p.sni) +
                (p.certificate.empty() ? "" : " · serves " + HtmlEscape(p.certificate)) +
                "</div>");
    char ms[32];
    snprintf(ms, sizeof(ms), "%.1f ms", p.handshake_seconds * 1000);
    out += Cell(Pill(good, "ok", "failing") + " " + TimeTag(p.at, snapshot.now) +
                (p.ok ? "<div class=\"muted\">handshake " + std::string(ms) + "</div>" : ""));
    out += Cell(p.not_after ? "expires " + TimeTag(*p.not_after, snapshot.now) +
                                  "<div class=\"muted\">" + HtmlEscape(p.issuer) + "</div>"
                            : std::string("<span class=\"muted\">none</span>"));
    out += Cell("names " + Yes(p.names_match) + " · chain " + Yes(p.chain_valid) + " · live " +
                (p.live_match.empty() ? "?" : HtmlEscape(p.live_match)));
    out += Cell(p.error.empty() ? std::string()
                                : "<div class=\"error\">" + HtmlEscape(p.error) + "</div>");
    out += "</tr>\n";
  }
  return out + "</tbody></table></section>";
}

std::string RunsLine(const lifecycle::MonitorSnapshot& snapshot) {
  auto run = [&](const std::optional<lifecycle::RunView>& r, std::string_view kind) {
    if (!r) return "no " + std::string(kind) + " run yet";
    std::string out = "last " + std::string(kind) + " " + TimeTag(r->finished_at, snapshot.now);
    std::string counts;
    for (const auto& [outcome, n] : r->outcomes) {
      counts += (counts.empty() ? "" : ", ") + std::to_string(n) + " " + HtmlEscape(outcome);
    }
    return counts.empty() ? out : out + " (" + counts + ")";
  };
  return run(snapshot.last_renew, "renew") + " · " + run(snapshot.last_probe, "probe");
}

}  // namespace certkeeper::cli::status_page
