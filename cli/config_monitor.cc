// The monitoring tables of certkeeper.toml: [metrics], [serve], [[alert]],
// [[endpoint]] and [revocation].
#include <optional>
#include <string>
#include <vector>

#include "cli/config_reader.h"

namespace certkeeper::cli {

Status TableReader::Time(std::string_view key, std::optional<TimePoint>& out) {
  const toml::node* n = Take(key);
  if (!n) return Status::Ok();
  std::string text;
  if (n->is_string()) {
    text = *n->value<std::string>();
  } else if (const auto* dt = n->as_date_time()) {
    std::ostringstream s;
    s << *dt;
    text = s.str();
  } else {
    return Error(*n, key, "must be an RFC 3339 time like \"2026-12-24T18:00:00Z\"");
  }
  auto t = ParseRfc3339(text);
  if (!t.ok()) return Error(*n, key, t.status().message());
  out = *t;
  return Status::Ok();
}

namespace {

Status ParseAlert(const toml::table& table, const std::string& source, size_t index,
                  lifecycle::AlertSettings& out) {
  TableReader r(table, "alert[" + std::to_string(index) + "]", source);
  CK_RETURN_IF_ERROR(r.String("name", out.name));
  CK_RETURN_IF_ERROR(r.String("type", out.type));
  CK_RETURN_IF_ERROR(r.StringList("command", out.command));
  CK_RETURN_IF_ERROR(r.String("url", out.url));
  CK_RETURN_IF_ERROR(r.String("format", out.format));
  CK_RETURN_IF_ERROR(r.String("token_file", out.token_file));
  CK_RETURN_IF_ERROR(r.String("ca_bundle", out.ca_bundle));
  CK_RETURN_IF_ERROR(r.StringList("to", out.to));
  CK_RETURN_IF_ERROR(r.String("from", out.from));
  CK_RETURN_IF_ERROR(r.String("sendmail", out.sendmail));
  CK_RETURN_IF_ERROR(r.StringList("events", out.events));
  CK_RETURN_IF_ERROR(r.StringList("certificates", out.certificates));
  CK_RETURN_IF_ERROR(r.Int("failures", out.failures, 1, 1000));
  CK_RETURN_IF_ERROR(r.Int("ca_unreachable_runs", out.ca_unreachable_runs, 1, 1000));
  CK_RETURN_IF_ERROR(r.DurationValue("expiring_grace", out.expiring_grace));
  int percent = -1;
  CK_RETURN_IF_ERROR(r.Int("expiring_percent", percent, 1, 99));
  if (percent > 0) out.expiring_fraction = percent / 100.0;
  CK_RETURN_IF_ERROR(r.Time("quiet_until", out.quiet_until));
  CK_RETURN_IF_ERROR(r.DurationValue("timeout", out.timeout));
  return r.Finish();
}

Status ParseEndpoint(const toml::table& table, const std::string& source, size_t index,
                     lifecycle::EndpointSettings& out) {
  TableReader r(table, "endpoint[" + std::to_string(index) + "]", source);
  CK_RETURN_IF_ERROR(r.String("address", out.address));
  CK_RETURN_IF_ERROR(r.String("sni", out.sni));
  CK_RETURN_IF_ERROR(r.String("certificate", out.certificate));
  CK_RETURN_IF_ERROR(r.String("ca_bundle", out.ca_bundle));
  CK_RETURN_IF_ERROR(r.DurationValue("timeout", out.timeout));
  return r.Finish();
}

Status ParseServe(const toml::table& table, const std::string& source,
                  lifecycle::ServeSettings& out) {
  TableReader r(table, "serve", source);
  CK_RETURN_IF_ERROR(r.String("listen", out.listen));
  CK_RETURN_IF_ERROR(r.String("token_file", out.token_file));
  Duration d{};
  if (table.contains("renew_every")) {
    CK_RETURN_IF_ERROR(r.DurationValue("renew_every", d));
    out.renew_every = d;
  }
  if (table.contains("probe_every")) {
    CK_RETURN_IF_ERROR(r.DurationValue("probe_every", d));
    out.probe_every = d;
  }
  return r.Finish();
}

}  // namespace

Status ParseMonitoring(TableReader& root, const toml::table&, const std::string& source,
                       lifecycle::Config& config) {
  const toml::table* metrics = nullptr;
  CK_RETURN_IF_ERROR(root.Table("metrics", metrics));
  if (metrics) {
    TableReader m(*metrics, "metrics", source);
    CK_RETURN_IF_ERROR(m.String("textfile", config.metrics.textfile));
    CK_RETURN_IF_ERROR(m.Finish());
  }
  const toml::table* serve = nullptr;
  CK_RETURN_IF_ERROR(root.Table("serve", serve));
  if (serve) CK_RETURN_IF_ERROR(ParseServe(*serve, source, config.serve));
  const toml::table* revocation = nullptr;
  CK_RETURN_IF_ERROR(root.Table("revocation", revocation));
  if (revocation) {
    TableReader rv(*revocation, "revocation", source);
    CK_RETURN_IF_ERROR(rv.Bool("check", config.revocation.enabled));
    CK_RETURN_IF_ERROR(rv.DurationValue("timeout", config.revocation.timeout));
    CK_RETURN_IF_ERROR(rv.DurationValue("max_cache", config.revocation.max_cache));
    CK_RETURN_IF_ERROR(rv.Bool("staple_file", config.revocation.staple_file));
    CK_RETURN_IF_ERROR(rv.Finish());
  }
  std::vector<const toml::table*> alerts;
  CK_RETURN_IF_ERROR(root.ArrayOfTables("alert", alerts));
  for (size_t i = 0; i < alerts.size(); ++i) {
    lifecycle::AlertSettings alert;
    CK_RETURN_IF_ERROR(ParseAlert(*alerts[i], source, i, alert));
    config.alerts.push_back(std::move(alert));
  }
  std::vector<const toml::table*> endpoints;
  CK_RETURN_IF_ERROR(root.ArrayOfTables("endpoint", endpoints));
  for (size_t i = 0; i < endpoints.size(); ++i) {
    lifecycle::EndpointSettings endpoint;
    CK_RETURN_IF_ERROR(ParseEndpoint(*endpoints[i], source, i, endpoint));
    config.endpoints.push_back(std::move(endpoint));
  }
  return Status::Ok();
}

}  // namespace certkeeper::cli
