#include "cli/output.h"

#include <algorithm>
#include <sstream>

#include "base/status.h"
#include "base/text.h"

namespace certkeeper::cli {

nlohmann::json TimeOrNull(const std::optional<TimePoint>& t) {
  return t ? nlohmann::json(FormatRfc3339(*t)) : nlohmann::json(nullptr);
}

namespace {

using nlohmann::json;

// Every string a table or a line shows goes through E().
std::string E(std::string_view s) { return EscapeForTerminal(s); }

std::string Join(const std::vector<std::string>& v, const std::string& sep) {
  std::string out;
  for (size_t i = 0; i < v.size(); ++i) {
    if (i) out += sep;
    out += E(v[i]);
  }
  return out;
}

// Pads columns to the widest cell; the last column is not padded.
std::string Table(const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> widths;
  for (const auto& row : rows) {
    widths.resize(std::max(widths.size(), row.size()));
    for (size_t i = 0; i < row.size(); ++i) widths[i] = std::max(widths[i], row[i].size());
  }
  // Each line is written straight into the table (a `list` has one per
  // certificate), then stripped of its trailing blanks.
  size_t line_width = 0;
  for (size_t w : widths) line_width += w + 2;
  std::string out;
  out.reserve(rows.size() * (line_width + 1));
  for (const auto& row : rows) {
    const size_t line_start = out.size();
    for (size_t i = 0; i < row.size(); ++i) {
      out += row[i];
      if (i + 1 < row.size()) out.append(widths[i] - row[i].size() + 2, ' ');
    }
    while (out.size() > line_start && out.back() == ' ') out.pop_back();
    out += '\n';
  }
  return out;
}

std::string DaysLeft(const lifecycle::CertificateView& c, TimePoint now) {
  if (!c.live) return "-";
  auto left = c.live->not_after - now;
  if (left <= Duration::zero()) return "expired";
  return FormatDurationHuman(left);
}

json PinsJson(const std::optional<lifecycle::CertificateView::KeyPinsView>& pins) {
  if (!pins) return nullptr;
  return json{{"spki_sha256", pins->spki_sha256}, {"tlsa_3_1_1", pins->tlsa}};
}

// `key pin (current): pin-sha256="..."  TLSA 3 1 1 <hex>`: what goes into a
// Public-Key-Pins style pin list (RFC 7469 §2.1.1) and a TLSA record's data.
std::string PinsLine(const char* which,
                     const std::optional<lifecycle::CertificateView::KeyPinsView>& pins) {
  if (!pins) return "";
  return std::string("  key pin (") + which + "): " + std::string(which[0] == 'n' ? "   " : "") +
         "pin-sha256=\"" + E(pins->spki_sha256) + "\"  TLSA 3 1 1 " + E(pins->tlsa) + "\n";
}

// "edge-1 v3, edge-2 v2 (failed: <error>)": what each host of a fleet
// delivered; with_errors false gives "edge-2 v2 failed" (a table cell).
std::string HostsLine(const lifecycle::CertificateView& c, bool with_errors) {
  if (c.hosts.empty()) return with_errors ? "(no host yet)" : "-";
  std::string out;
  for (const auto& h : c.hosts) {
    out += (out.empty() ? "" : ", ") + E(h.host) + " v" + std::to_string(h.version);
    if (h.state == "deployed") continue;
    out += with_errors ? " (" + E(h.state) + (h.error.empty() ? "" : ": " + E(h.error)) + ")"
                       : " " + E(h.state);
  }
  return out;
}

}  // namespace

json ToJson(const lifecycle::VersionView& v) {
  return json{{"n", v.n},
              {"serial", v.serial},
              {"not_before", FormatRfc3339(v.not_before)},
              {"not_after", FormatRfc3339(v.not_after)},
              {"issuer", v.issuer},
              {"fingerprint_sha256", v.fingerprint},
              {"state", v.state},
              {"domains", v.domains},
              {"directory", v.directory},
              {"created_at", FormatRfc3339(v.created_at)},
              {"ca", v.ca},
              {"server", v.server},
              {"profile", v.profile}};
}

json ToJson(const lifecycle::AttemptView& a) {
  json steps = json::array();
  for (const auto& s : a.steps) {
    json step = {{"kind", s.kind},
                 {"challenge", s.challenge.empty() ? json(nullptr) : json(s.challenge)},
                 {"identifier", s.identifier.empty() ? json(nullptr) : json(s.identifier)},
                 {"result", s.result},
                 {"error", s.error.empty() ? json(nullptr) : json(s.error)},
                 {"time", FormatRfc3339(s.time)}};
    if (!s.output.empty()) step["output"] = s.output;
    steps.push_back(std::move(step));
  }
  json error = nullptr;
  if (!a.error_type.empty() || !a.error_detail.empty()) {
    error = {{"type", a.error_type}, {"detail", a.error_detail}};
  }
  json j = {{"id", a.id},
            {"certificate", a.certificate},
            {"started_at", FormatRfc3339(a.started_at)},
            {"finished_at", TimeOrNull(a.finished_at)},
            {"server", a.server},
            {"reason", a.reason},
            {"outcome", a.outcome},
            {"steps", steps},
            {"error", error},
            {"retry_after", TimeOrNull(a.retry_after)}};
  // A fleet only (the engine leaves it empty on a single host).
  if (!a.host.empty()) j["host"] = a.host;
  return j;
}

json ToJson(const lifecycle::CertificateView& c, TimePoint now) {
  json j = {{"name", c.name},
            {"domains", c.domains},
            {"key_type", c.key_type},
            {"challenges", c.challenges},
            {"deploy", c.deploy},
            {"status", c.status},
            {"status_reason", c.status_reason},
            {"not_before", c.live ? json(FormatRfc3339(c.live->not_before)) : json(nullptr)},
            {"not_after", c.live ? json(FormatRfc3339(c.live->not_after)) : json(nullptr)},
            {"serial", c.live ? json(c.live->serial) : json(nullptr)},
            {"issuer", c.live ? json(c.live->issuer) : json(nullptr)},
            {"fingerprint_sha256", c.live ? json(c.live->fingerprint) : json(nullptr)},
            {"version", c.live ? json(c.live->n) : json(nullptr)},
            {"ca", c.live ? json(c.live->ca) : json(nullptr)},
            {"days_left", c.live ? json(std::chrono::duration_cast<std::chrono::hours>(
                                            c.live->not_after - now)
                                            .count() /
                                        24)
                                 : json(nullptr)},
            {"next_attempt", TimeOrNull(c.next_attempt)},
            {"next_attempt_reason", c.next_attempt_reason},
            {"live_directory", c.live_directory}};
  if (c.renewal_info) {
    const auto& r = *c.renewal_info;
    j["renewal_info"] = {{"window_start", FormatRfc3339(r.window_start)},
                         {"window_end", FormatRfc3339(r.window_end)},
                         {"renew_at", FormatRfc3339(r.renew_at)},
                         {"next_fetch", FormatRfc3339(r.next_fetch)},
                         {"explanation_url", r.explanation_url.empty()
                                                 ? json(nullptr)
                                                 : json(r.explanation_url)}};
  } else {
    j["renewal_info"] = nullptr;
  }
  if (c.last_attempt) {
    const auto& a = *c.last_attempt;
    j["last_attempt"] = {
        {"time", FormatRfc3339(a.finished_at.value_or(a.started_at))},
        {"outcome", a.outcome},
        {"challenge", a.challenge.empty() ? json(nullptr) : json(a.challenge)},
        {"error", a.error_detail.empty() && a.error_type.empty()
                      ? json(nullptr)
                      : json{{"type", a.error_type}, {"detail", a.error_detail}}}};
  } else {
    j["last_attempt"] = nullptr;
  }
  if (c.has_key_pins) {
    j["current_key"] = PinsJson(c.current_key);
    j["next_key"] = PinsJson(c.next_key);
    if (!c.key_pins_error.empty()) j["key_pins_error"] = c.key_pins_error;
  }
  if (!c.versions.empty()) {
    json versions = json::array();
    for (const auto& v : c.versions) versions.push_back(ToJson(v));
    j["versions"] = versions;
  }
  if (c.fleet) {
    // A fleet only: what each host delivered (docs/fleet.md).
    json hosts = json::array();
    for (const auto& h : c.hosts) {
      hosts.push_back({{"host", h.host},
                       {"version", h.version},
                       {"state", h.state},
                       {"at", FormatRfc3339(h.at)},
                       {"error", h.error.empty() ? json(nullptr) : json(h.error)}});
    }
    j["hosts"] = std::move(hosts);
    j["renewed_by"] = c.renewed_by.empty() ? json(nullptr) : json(c.renewed_by);
  }
  return j;
}

json ListJson(const std::vector<lifecycle::CertificateView>& certs, TimePoint now) {
  json arr = json::array();
  for (const auto& c : certs) arr.push_back(ToJson(c, now));
  return arr;
}

json ToJson(const lifecycle::CertificateOutcome& o) {
  json j = {{"name", o.name}, {"outcome", o.outcome}, {"reason", o.reason}};
  j["error"] = o.error.ok() ? json(nullptr) : ErrorJson(o.error);
  j["version"] = o.version ? ToJson(*o.version) : json(nullptr);
  // renew: the plan's decision (docs/planner.md).
  if (!o.decision.empty()) {
    j["decision"] = o.decision;
    j["until"] = o.until ? json(FormatRfc3339(*o.until)) : json(nullptr);
    j["limit"] = o.limit.empty() ? json(nullptr) : json(o.limit);
  }
  // renew in a fleet: another host held the certificate's claim (a lease
  // conflict, outcome "skipped"). Absent otherwise, so a single host's JSON
  // is unchanged.
  if (!o.held_by.empty()) {
    j["lease_conflict"] = true;
    j["held_by"] = o.held_by;
  }
  return j;
}

json ToJson(const lifecycle::AccountView& a) {
  return json{{"server", a.server}, {"url", a.url},         {"status", a.status},
              {"email", a.email},   {"key_path", a.key_path}, {"key_type", a.key_type}};
}

json ErrorJson(const Status& s) {
  json j = {{"code", std::string(ErrorCodeName(s.code()))}, {"message", s.ToString()}};
  if (!s.where().empty()) j["where"] = s.where();
  if (!s.hint().empty()) j["hint"] = s.hint();
  if (const Problem* p = s.problem()) {
    j["type"] = p->type;
    j["detail"] = p->detail;
    if (p->status) j["status"] = p->status;
  }
  if (auto ra = s.retry_after()) j["retry_after"] = FormatRfc3339(*ra);
  return j;
}

namespace {

void TimeField(JsonWriter& w, std::string_view key, TimePoint t) {
  w.Field(key, FormatRfc3339(t));
}

void TimeOrNullField(JsonWriter& w, std::string_view key, const std::optional<TimePoint>& t) {
  if (t) {
    TimeField(w, key, *t);
  } else {
    w.NullField(key);
  }
}

void PinsField(JsonWriter& w, std::string_view key,
               const std::optional<lifecycle::CertificateView::KeyPinsView>& pins) {
  if (!pins) return w.NullField(key);
  w.Key(key);
  w.BeginObject();
  w.Field("spki_sha256", pins->spki_sha256);
  w.Field("tlsa_3_1_1", pins->tlsa);
  w.EndObject();
}

// The members below are written in nlohmann::json's order (by key), so that
// the text is the one DumpJson(ToJson(...)) gives (tests/unit/cli).
void WriteVersion(JsonWriter& w, const lifecycle::VersionView& v) {
  w.BeginObject();
  w.Field("ca", v.ca);
  TimeField(w, "created_at", v.created_at);
  w.Field("directory", v.directory);
  w.Strings("domains", v.domains);
  w.Field("fingerprint_sha256", v.fingerprint);
  w.Field("issuer", v.issuer);
  w.Field("n", v.n);
  TimeField(w, "not_after", v.not_after);
  TimeField(w, "not_before", v.not_before);
  w.Field("profile", v.profile);
  w.Field("serial", v.serial);
  w.Field("server", v.server);
  w.Field("state", v.state);
  w.EndObject();
}

}  // namespace

void WriteJsonValue(JsonWriter& w, const json& j) {
  switch (j.type()) {
    case json::value_t::object:
      w.BeginObject();
      for (auto it = j.begin(); it != j.end(); ++it) {
        w.Key(it.key());
        WriteJsonValue(w, it.value());
      }
      return w.EndObject();
    case json::value_t::array:
      w.BeginArray();
      for (const json& value : j) WriteJsonValue(w, value);
      return w.EndArray();
    case json::value_t::string:
      return w.String(j.get_ref<const std::string&>());
    case json::value_t::boolean:
      return w.Bool(j.get<bool>());
    case json::value_t::number_integer:
      return w.Int(j.get<int64_t>());
    case json::value_t::null:
      return w.Null();
    default:  // unsigned and floating point numbers: nlohmann's own text
      return w.Number(j.dump());
  }
}

void WriteJson(JsonWriter& w, const lifecycle::CertificateView& c, TimePoint now) {
  const auto* live = c.live ? &*c.live : nullptr;
  w.BeginObject();
  if (live) {
    w.Field("ca", live->ca);
  } else {
    w.NullField("ca");
  }
  w.Strings("challenges", c.challenges);
  if (c.has_key_pins) PinsField(w, "current_key", c.current_key);
  w.Key("days_left");
  if (live) {
    w.Int(std::chrono::duration_cast<std::chrono::hours>(live->not_after - now).count() / 24);
  } else {
    w.Null();
  }
  w.Strings("deploy", c.deploy);
  w.Strings("domains", c.domains);
  if (live) {
    w.Field("fingerprint_sha256", live->fingerprint);
  } else {
    w.NullField("fingerprint_sha256");
  }
  if (c.fleet) {
    w.Key("hosts");
    w.BeginArray();
    for (const auto& h : c.hosts) {
      w.BeginObject();
      TimeField(w, "at", h.at);
      w.NullIfEmpty("error", h.error);
      w.Field("host", h.host);
      w.Field("state", h.state);
      w.Field("version", h.version);
      w.EndObject();
    }
    w.EndArray();
  }
  if (live) {
    w.Field("issuer", live->issuer);
  } else {
    w.NullField("issuer");
  }
  if (c.has_key_pins && !c.key_pins_error.empty()) w.Field("key_pins_error", c.key_pins_error);
  w.Field("key_type", c.key_type);
  w.Key("last_attempt");
  if (c.last_attempt) {
    const auto& a = *c.last_attempt;
    w.BeginObject();
    w.NullIfEmpty("challenge", a.challenge);
    w.Key("error");
    if (a.error_detail.empty() && a.error_type.empty()) {
      w.Null();
    } else {
      w.BeginObject();
      w.Field("detail", a.error_detail);
      w.Field("type", a.error_type);
      w.EndObject();
    }
    w.Field("outcome", a.outcome);
    TimeField(w, "time", a.finished_at.value_or(a.started_at));
    w.EndObject();
  } else {
    w.Null();
  }
  w.Field("live_directory", c.live_directory);
  w.Field("name", c.name);
  TimeOrNullField(w, "next_attempt", c.next_attempt);
  w.Field("next_attempt_reason", c.next_attempt_reason);
  if (c.has_key_pins) PinsField(w, "next_key", c.next_key);
  if (live) {
    TimeField(w, "not_after", live->not_after);
    TimeField(w, "not_before", live->not_before);
  } else {
    w.NullField("not_after");
    w.NullField("not_before");
  }
  w.Key("renewal_info");
  if (c.renewal_info) {
    const auto& r = *c.renewal_info;
    w.BeginObject();
    w.NullIfEmpty("explanation_url", r.explanation_url);
    TimeField(w, "next_fetch", r.next_fetch);
    TimeField(w, "renew_at", r.renew_at);
    TimeField(w, "window_end", r.window_end);
    TimeField(w, "window_start", r.window_start);
    w.EndObject();
  } else {
    w.Null();
  }
  if (c.fleet) w.NullIfEmpty("renewed_by", c.renewed_by);
  if (live) {
    w.Field("serial", live->serial);
  } else {
    w.NullField("serial");
  }
  w.Field("status", c.status);
  w.Field("status_reason", c.status_reason);
  if (live) {
    w.Field("version", live->n);
  } else {
    w.NullField("version");
  }
  if (!c.versions.empty()) {
    w.Key("versions");
    w.BeginArray();
    for (const auto& v : c.versions) WriteVersion(w, v);
    w.EndArray();
  }
  w.EndObject();
}

void WriteListJson(JsonWriter& w, const std::vector<lifecycle::CertificateView>& certs,
                   TimePoint now) {
  w.BeginArray();
  for (const auto& c : certs) WriteJson(w, c, now);
  w.EndArray();
}

void WriteJson(JsonWriter& w, const lifecycle::CertificateOutcome& o) {
  const bool planned = !o.decision.empty();
  w.BeginObject();
  if (planned) w.Field("decision", o.decision);
  w.Key("error");
  if (o.error.ok()) {
    w.Null();
  } else {
    WriteJsonValue(w, ErrorJson(o.error));
  }
  if (!o.held_by.empty()) {
    w.Field("held_by", o.held_by);
    w.Field("lease_conflict", true);
  }
  if (planned) w.NullIfEmpty("limit", o.limit);
  w.Field("name", o.name);
  w.Field("outcome", o.outcome);
  w.Field("reason", o.reason);
  if (planned) TimeOrNullField(w, "until", o.until);
  w.Key("version");
  if (o.version) {
    WriteVersion(w, *o.version);
  } else {
    w.Null();
  }
  w.EndObject();
}

std::string DumpJson(const json& j, int indent) {
  return j.dump(indent, ' ', false, json::error_handler_t::replace);
}

std::string RenderList(const std::vector<lifecycle::CertificateView>& certs, TimePoint now) {
  if (certs.empty()) return "No certificates in the inventory. Add one with `certkeeper issue NAME -d DOMAIN`.\n";
  // The issuing CA's column appears once a certificate came from a named CA.
  const bool named = std::any_of(certs.begin(), certs.end(),
                                 [](const auto& c) { return c.live && !c.live->ca.empty(); });
  std::vector<std::vector<std::string>> rows = {
      {"NAME", "STATUS", "EXPIRES", "LEFT", "DOMAINS", "NEXT"}};
  if (named) rows.front().push_back("CA");
  // A fleet: where each certificate is deployed.
  const bool fleet = std::any_of(certs.begin(), certs.end(), [](const auto& c) { return c.fleet; });
  if (fleet) rows.front().push_back("HOSTS");
  rows.reserve(certs.size() + 1);
  for (const auto& c : certs) {
    // Cells are moved into the row, not copied from an initializer list.
    std::vector<std::string>& row = rows.emplace_back();
    row.reserve(rows.front().size());
    row.push_back(E(c.name));
    row.push_back(E(c.status));
    row.push_back(c.live ? FormatRfc3339(c.live->not_after) : "-");
    row.push_back(DaysLeft(c, now));
    row.push_back(Join(c.domains, ","));
    std::string next;
    if (c.next_attempt) {
      AppendRfc3339(next, *c.next_attempt);
    } else {
      next = "-";
    }
    if (!c.next_attempt_reason.empty()) {
      next += " (";
      next += E(c.next_attempt_reason);
      next += ')';
    }
    row.push_back(std::move(next));
    if (named) row.push_back(c.live && !c.live->ca.empty() ? E(c.live->ca) : "-");
    if (fleet) row.push_back(HostsLine(c, false));
  }
  return Table(rows);
}

std::string RenderShow(const lifecycle::CertificateView& c, TimePoint now) {
  std::ostringstream out;
  out << "Certificate " << E(c.name) << "\n";
  out << "  status:      " << E(c.status);
  if (!c.status_reason.empty()) out << " (" << E(c.status_reason) << ")";
  out << "\n  domains:     " << Join(c.domains, ", ") << "\n";
  out << "  key type:    " << E(c.key_type) << "\n";
  out << "  challenges:  " << (c.challenges.empty() ? "(all configured)" : Join(c.challenges, ", "))
      << "\n";
  out << "  deploy:      " << (c.deploy.empty() ? "(none)" : Join(c.deploy, ", ")) << "\n";
  if (c.live) {
    out << "  live:        version " << c.live->n << ", serial " << E(c.live->serial) << "\n";
    out << "  valid:       " << FormatRfc3339(c.live->not_before) << " .. "
        << FormatRfc3339(c.live->not_after) << " (" << DaysLeft(c, now) << " left)\n";
    out << "  issuer:      " << E(c.live->issuer) << "\n";
    if (!c.live->ca.empty() || !c.live->server.empty()) {
      out << "  issued by:   " << E(c.live->ca.empty() ? c.live->server : c.live->ca);
      if (!c.live->ca.empty() && !c.live->server.empty()) out << " (" << E(c.live->server) << ")";
      out << "\n";
    }
    if (!c.live->profile.empty()) out << "  profile:     " << E(c.live->profile) << "\n";
    out << "  sha256:      " << E(c.live->fingerprint) << "\n";
    out << "  files:       " << E(c.live_directory) << "/{cert,chain,fullchain,privkey}.pem\n";
    if (c.fleet && !c.renewed_by.empty()) out << "  renewed by:  " << E(c.renewed_by) << "\n";
  } else {
    out << "  live:        (no version issued yet)\n";
  }
  if (c.fleet) out << "  deployed on: " << HostsLine(c, true) << "\n";
  out << PinsLine("current", c.current_key) << PinsLine("next", c.next_key);
  if (!c.key_pins_error.empty()) out << "  key pins:    " << E(c.key_pins_error) << "\n";
  out << "  next renewal: "
      << (c.next_attempt ? FormatRfc3339(*c.next_attempt) : std::string("-"));
  if (!c.next_attempt_reason.empty()) out << " (" << E(c.next_attempt_reason) << ")";
  out << "\n";
  if (c.renewal_info) {
    const auto& r = *c.renewal_info;
    out << "  CA window:   " << FormatRfc3339(r.window_start) << " .. "
        << FormatRfc3339(r.window_end) << ", renew at " << FormatRfc3339(r.renew_at)
        << ", asked again after " << FormatRfc3339(r.next_fetch) << "\n";
    if (!r.explanation_url.empty()) out << "  CA note:     " << E(r.explanation_url) << "\n";
  }
  if (c.last_attempt) {
    out << "  last attempt: " << FormatRfc3339(c.last_attempt->started_at) << " "
        << E(c.last_attempt->outcome);
    if (!c.last_attempt->error_detail.empty()) out << ": " << E(c.last_attempt->error_detail);
    out << "\n";
  }
  if (!c.versions.empty()) {
    out << "\nVersions:\n";
    const bool named = std::any_of(c.versions.begin(), c.versions.end(),
                                   [](const auto& v) { return !v.ca.empty(); });
    std::vector<std::vector<std::string>> rows = {
        {"  N", "STATE", "SERIAL", "NOT_BEFORE", "NOT_AFTER"}};
    if (named) rows.front().push_back("CA");
    for (const auto& v : c.versions) {
      rows.push_back({"  " + std::to_string(v.n), E(v.state), E(v.serial),
                      FormatRfc3339(v.not_before), FormatRfc3339(v.not_after)});
      if (named) rows.back().push_back(E(v.ca.empty() ? "-" : v.ca));
    }
    out << Table(rows);
  }
  return out.str();
}

std::string RenderHistory(const std::vector<lifecycle::AttemptView>& attempts) {
  if (attempts.empty()) return "No attempts recorded.\n";
  std::ostringstream out;
  for (const auto& a : attempts) {
    out << "#" << a.id << "  " << FormatRfc3339(a.started_at) << "  " << E(a.outcome);
    if (!a.host.empty()) out << "  on " << E(a.host);  // a fleet only
    if (!a.reason.empty()) out << "  (" << E(a.reason) << ")";
    out << "\n";
    if (!a.error_detail.empty() || !a.error_type.empty()) {
      out << "    error: ";
      if (!a.error_type.empty()) out << "[" << E(a.error_type) << "] ";
      out << E(a.error_detail) << "\n";
    }
    if (a.retry_after) out << "    retry after: " << FormatRfc3339(*a.retry_after) << "\n";
    for (const auto& s : a.steps) {
      out << "    - " << E(s.kind);
      if (!s.challenge.empty()) out << " " << E(s.challenge);
      if (!s.identifier.empty()) out << " " << E(s.identifier);
      out << ": " << E(s.result);
      if (!s.error.empty()) out << ": " << E(s.error);
      // The first line of what a solver or hook said, e.g. which file it wrote.
      std::string said = s.output.substr(0, s.output.find('\n'));
      if (!said.empty() && said.size() <= 160) out << " (" << E(said) << ")";
      out << "\n";
    }
  }
  return out.str();
}

std::string RenderOutcome(const lifecycle::CertificateOutcome& o) {
  std::string line = E(o.name) + ": " + E(o.outcome);
  if (o.version) {
    line += " (version " + std::to_string(o.version->n) + ", serial " + E(o.version->serial) +
            ", expires " + FormatRfc3339(o.version->not_after) + ")";
  }
  if (!o.reason.empty()) line += ": " + E(o.reason);
  // renew: what holds the certificate and until when (docs/planner.md).
  if (!o.limit.empty()) line += " [" + E(o.limit) + "]";
  if (o.until && (o.decision == "not-due" || o.decision == "deferred" || o.decision == "blocked")) {
    line += " [until " + FormatRfc3339(*o.until) + "]";
  }
  if (!o.error.ok()) line += "\n  error: " + EscapeLinesForTerminal(o.error.ToUserString());
  return line + "\n";
}

std::string RenderAccount(const lifecycle::AccountView& a) {
  std::ostringstream out;
  out << "Account at " << E(a.server) << "\n"
      << "  url:      " << E(a.url) << "\n"
      << "  status:   " << E(a.status) << "\n"
      << "  contact:  " << (a.email.empty() ? "(none)" : E(a.email)) << "\n"
      << "  key:      " << E(a.key_path) << " (" << E(a.key_type) << ")\n";
  return out.str();
}

std::string RenderError(const Status& s) {
  return "certkeeper: error: " + EscapeLinesForTerminal(s.ToUserString()) + "\n";
}

std::string RenderFinding(const lifecycle::CheckFinding& f) {
  return E(f.certificate) + ": " + E(f.severity) + ": " + E(f.message) + "\n";
}

}  // namespace certkeeper::cli
